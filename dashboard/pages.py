"""The dashboard's pages: Streamlit layout only, drawing dashboard.analysis and .figures."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import analysis as A
from dashboard import detail as D
from dashboard import figures as F
from dashboard.data import DashboardError
from search import records as R
from search.export import EXPORT_ERRORS, bundle_zip
from search.hypervolume import DESCRIPTION as HV_DESCRIPTION

COLOR_FIRST = ("study", "space", "kind", "params_SR", "params_pct3x3", "params_groups",
               "params_width", "sr", "pct3x3", "groups", "bypass")
IMPORTANCE_NOTE = ("Importance is η², the share of the variance of accuracy (or of being on the "
                   "front) explained by the mean per value or quantile bin of one metaparameter "
                   "alone; it ignores interactions.")
HV_NOTE = (f"The {HV_DESCRIPTION}; higher is better. It is the number the search prints, "
           "and it is always taken on MACs, whichever cost axis the fronts below use.")
NO_RESULTS = ("No trial has a finished training result with its cost (val_acc and MACs) yet; "
              "the front appears with the first one.")
FRONT_COLUMNS = ["study", "number", "val_acc", "test_acc", "mflops", "mparams", "size_mb",
                 "kind"]


def overview(df: pd.DataFrame) -> None:
    """Counts by outcome, one metric each."""
    status = df["status"].value_counts()
    front = A.front_mask(df)
    cells = [("trials", len(df)), ("complete", status.get(R.COMPLETE, 0)),
             ("stopped early", status.get(R.STOPPED, 0)),
             ("infeasible", status.get(R.INFEASIBLE, 0)), ("failed", status.get(R.FAILED, 0)),
             ("running", int((df["state"] == "RUNNING").sum())), ("on the front", int(front.sum()))]
    for col, (name, value) in zip(st.columns(len(cells)), cells, strict=True):
        col.metric(name, int(value))


def _color_options(df: pd.DataFrame) -> list[str]:
    """Columns to colour trials by: the usual knobs first, then the rest."""
    present = [c for c in COLOR_FIRST if c in df and df[c].nunique(dropna=True) > 0]
    rest = [c for c in A.candidate_columns(df) if c not in present]
    return present + rest + ["status"]


def pareto_page(df: pd.DataFrame) -> None:
    """Accuracy vs cost with the front, baselines and a drill-down into a clicked trial."""
    overview(df)
    axes = A.axes_present(df)
    if not axes:
        st.info(NO_RESULTS)
        return
    left, mid, right = st.columns([1, 1, 1])
    x = left.selectbox("Cost axis", axes, format_func=A.label, key="pareto_x")
    options = _color_options(df)
    first = next((c for c in ("params_SR", "sr") if c in options), "study")
    default = "study" if df["study"].nunique() > 1 else first
    color = mid.selectbox("Colour by", options, index=options.index(default),
                          format_func=A.label, key="pareto_color")
    stopped = right.checkbox("Show early-stopped trials (partial accuracy)", key="pareto_stop")
    marked = A.with_front(df, x)
    st.caption("MFLOPs count multiply-adds. Solid points are on the front (the staircase); "
               "faded ones are dominated; stars are baselines. Click a point for its details.")
    event = st.plotly_chart(F.pareto_figure(marked, x, color, stopped), key="pareto_chart",
                            on_select="rerun", selection_mode="points")
    picked = _picked(event)
    if picked:
        with st.expander(f"Trial {picked[1]} of {picked[0]}", expanded=True):
            trial_detail(df, picked[0], picked[1], key="picked")
    st.subheader("Front members")
    front = marked[marked["on_front"]].sort_values(["study", x])
    params = [c for c in front.columns if c.startswith("params_")]
    table = front[FRONT_COLUMNS + params].dropna(axis=1, how="all")
    short = {c: c.removeprefix("params_") for c in params
             if c.removeprefix("params_") not in FRONT_COLUMNS}
    st.dataframe(table.rename(columns=short), hide_index=True)


def _picked(event: Any) -> tuple[str, int] | None:
    """(study, number) of the first selected point that carries trial data."""
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return None
    for p in points:
        custom = p.get("customdata") if isinstance(p, dict) else None
        if isinstance(custom, list | tuple) and len(custom) >= 2:
            return str(custom[0]), int(custom[1])
    return None


def progress_page(df: pd.DataFrame) -> None:
    """Hypervolume over trials and the front after a quarter, half, ... of the trials."""
    axes = A.axes_present(df)
    if not axes:
        st.info(NO_RESULTS)
        return
    x = st.selectbox("Cost axis", axes, format_func=A.label, key="progress_x")
    curves = [A.hypervolume_curve(part).assign(study=study)
              for study, part in df.groupby("study", sort=True)]
    st.subheader("Hypervolume over trials")
    st.caption(HV_NOTE)
    st.dataframe(hypervolume_table(df), hide_index=True)
    st.plotly_chart(F.hypervolume_figure(pd.concat(curves, ignore_index=True)),
                    key="hv_chart")
    st.subheader("How the front moved")
    for study, part in df.groupby("study", sort=True):
        st.markdown(f"**{study}**")
        st.plotly_chart(F.fronts_over_time_figure(A.fronts_over_time(part, x), x),
                        key=f"fronts_{study}")


def hypervolume_table(df: pd.DataFrame) -> pd.DataFrame:
    """Each study's hypervolume, rounded as the search's summary prints it."""
    rows = [{"study": study, "hypervolume": f"{A.study_hypervolume(part):.4f}"}
            for study, part in df.groupby("study", sort=True)]
    return pd.DataFrame(rows, columns=["study", "hypervolume"])


def design_page(df: pd.DataFrame) -> None:
    """Effects of each metaparameter, error EDFs, and importance."""
    usable = df[A.searched(df)]
    cols = A.candidate_columns(usable)
    if usable.empty or not cols:
        st.info("Design-space analysis needs trained search trials with varied metaparameters.")
        return
    st.subheader("Accuracy and size against a metaparameter")
    first = next((cols.index(c) for c in ("params_SR", "sr") if c in cols), 0)
    col = st.selectbox("Metaparameter", cols, index=first, format_func=A.label,
                       key="design_col")
    st.plotly_chart(F.effects_figure(df, col), key="effects_chart")
    st.caption("Points are trials; lines join the mean (± one standard deviation) or, on the "
               "log panels, the median per value or quantile bin, one colour per study; as in "
               "SqueezeNet's Fig. 3 (accuracy and model size against SR and pct3x3).")
    edf_section(df, usable)
    st.subheader("Metaparameter importance")
    st.caption(IMPORTANCE_NOTE)
    table = A.importance(df)
    st.plotly_chart(F.importance_figure(table), key="importance_chart")
    st.dataframe(table, hide_index=True)


def edf_section(df: pd.DataFrame, usable: pd.DataFrame) -> None:
    """Error EDF curves grouped by a chosen column, within a MFLOPs range."""
    st.subheader("Error EDF")
    st.caption("The fraction of models whose validation error is below e "
               "(Radosavovic et al., Designing Network Design Spaces).")
    left, right = st.columns(2)
    groups = [g for g in (*A.GROUPINGS, "bypass") if g in df and usable[g].notna().any()]
    by = left.selectbox("One curve per", groups, format_func=A.label, key="edf_by")
    lo, hi = float(usable["mflops"].min()), float(usable["mflops"].max())
    span = (lo, hi)
    if hi > lo:
        span = right.slider("MFLOPs range", lo, hi, (lo, hi), key="edf_range",
                            format="%.3g")
    st.plotly_chart(F.edf_figure(A.edf_frame(df, by, span)), key="edf_chart")


def detail_page(df: pd.DataFrame) -> None:
    """Pick a study and a trial; show its detail."""
    studies = sorted(df["study"].unique())
    study = st.selectbox("Study", studies, key="detail_study") if len(studies) > 1 else studies[0]
    part = df[df["study"] == study]
    with_spec = part[part[R.SPEC].notna()] if R.SPEC in part else part.iloc[:0]
    if with_spec.empty:
        st.info(f"No trial of {study!r} has a stored architecture yet.")
        return
    numbers = with_spec["number"].astype(int).tolist()
    front = A.front_mask(part)
    best = part[front].sort_values(R.VAL_ACC, ascending=False)["number"].tolist()
    default = numbers.index(int(best[0])) if best else 0
    labels = dict(zip(numbers, with_spec["label"] + " · " + with_spec["status"], strict=True))
    number = st.selectbox("Trial", numbers, index=default, key="detail_trial",
                          format_func=lambda n: labels.get(n, str(n)))
    trial_detail(df, study, int(number), key="page")


def trial_detail(df: pd.DataFrame, study: str, number: int, key: str) -> None:
    """Metrics, block table (sums checked), learning curve and the spec download of a trial."""
    try:
        row = D.trial_row(df, study, number)
        spec = D.parse_spec(row)
    except DashboardError as e:
        st.warning(str(e))
        return
    left, right = st.columns([1, 2])
    left.dataframe(D.metrics(row), hide_index=True, key=f"{key}_metrics")
    right.plotly_chart(F.learning_curve_figure(D.learning_curve(row[R.RUNGS]),
                                               f"Learning curve of trial {number}"),
                       key=f"{key}_curve")
    table = D.block_table(spec)
    st.dataframe(table, hide_index=True, key=f"{key}_blocks")
    st.caption(_sums_line(table, row))
    st.download_button("Download config (ArchSpec JSON)", spec.to_json(indent=2),
                       file_name=f"{study}-trial{number}-spec.json", mime="application/json",
                       key=f"{key}_download")
    export_section(study, number, key)


def export_section(study: str, number: int, key: str) -> None:
    """Build the trial's export bundle on request (search.export's code path); offer the zip."""
    held = f"{key}_bundle_zip"
    if st.button("Export bundle (model.py, weights, ONNX, torch.export, model card)",
                 key=f"{key}_export"):
        st.session_state.pop(held, None)
        try:
            with st.spinner(f"Exporting trial {number} ..."):
                zipped, done = bundle_zip(st.session_state["storage_url"], study, number)
        except EXPORT_ERRORS as e:
            st.warning(str(e))
            return
        st.session_state[held] = {"study": study, "number": number, "zip": zipped,
                                  "note": done.note}
    got = st.session_state.get(held)
    if got and (got["study"], got["number"]) == (study, number):
        if got["note"]:
            st.info(got["note"])
        st.download_button("Download bundle (zip)", got["zip"], mime="application/zip",
                           file_name=f"{study}-trial-{number}.zip", key=f"{key}_bundle")


def _sums_line(table: pd.DataFrame, row: pd.Series) -> str:
    """Sum over parts against the stored totals."""
    sums = D.table_totals(table)
    parts = []
    for name in (R.MACS, R.PARAMS):
        stored = row.get(name)
        ok = stored is not None and np.isfinite(stored) and int(stored) == sums[name]
        mark = "matches the stored value" if ok else f"stored: {stored}"
        parts.append(f"{name}: {sums[name]:,} ({mark})")
    return "Sum over parts — " + "; ".join(parts)

