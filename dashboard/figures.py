"""DataFrame -> plotly figure. Each function draws what dashboard.analysis computed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from dashboard.analysis import AXES, binned_means, label, searched, usable
from search import records as R

PALETTE = qualitative.Plotly
SYMBOLS = ("circle", "square", "triangle-up", "diamond-open", "cross", "star")
DOMINATED_OPACITY = 0.22
HOVER_PARAMS = 8
ACC_LABEL = "validation accuracy"


def _empty(title: str) -> go.Figure:
    """A placeholder figure that says there is nothing to draw."""
    fig = go.Figure()
    fig.update_layout(title=title, height=300, annotations=[dict(
        text="no trained trials to show", showarrow=False, xref="paper", yref="paper",
        x=0.5, y=0.5)])
    return fig


def _hover(df: pd.DataFrame, x: str) -> tuple[np.ndarray, str]:
    """customdata and a hovertemplate: study, trial, accuracy, cost and key metaparameters."""
    cols = ["study", "number", "label", "status", "kind"]
    params = [c for c in df.columns if c.startswith("params_")][:HOVER_PARAMS]
    if not params:
        params = [c for c in ("sr", "pct3x3", "groups", "bypass") if c in df]
    data = df[cols + params].astype(object).where(df[cols + params].notna(), "n/a").to_numpy()
    lines = ["<b>%{customdata[2]}</b> (%{customdata[0]}, trial %{customdata[1]})",
             f"{ACC_LABEL}: %{{y:.4f}}", f"{AXES[x][0]}: %{{x:.4g}}",
             "status: %{customdata[3]}, block kind: %{customdata[4]}"]
    lines += [f"{label(c)}: %{{customdata[{i + len(cols)}]}}" for i, c in enumerate(params)]
    return data, "<br>".join(lines) + "<extra></extra>"


def _points(df: pd.DataFrame, x: str, color: str, studies: list[str]) -> list[go.Scatter]:
    """Search trials: front points solid, dominated ones faded; coloured by `color`."""
    opacity = np.where(df["on_front"], 1.0, DOMINATED_OPACITY)
    symbol = [SYMBOLS[studies.index(s) % len(SYMBOLS)] for s in df["study"]]
    custom, template = _hover(df, x)
    values = df[color] if color in df else pd.Series(np.nan, index=df.index)
    if pd.api.types.is_numeric_dtype(values) and values.nunique() > 1:
        marker = dict(color=values, colorscale="Viridis", opacity=opacity, symbol=symbol,
                      size=8, colorbar=dict(title=label(color)), line=dict(width=0))
        return [go.Scatter(x=df[x], y=df[R.VAL_ACC], mode="markers", marker=marker,
                           name="trials", customdata=custom, hovertemplate=template)]
    traces = []
    keys = values.astype(object).where(values.notna(), "n/a")
    for i, key in enumerate(sorted(keys.unique(), key=str)):
        m = (keys == key).to_numpy()
        marker = dict(color=PALETTE[i % len(PALETTE)], opacity=opacity[m],
                      symbol=np.asarray(symbol, dtype=object)[m], size=8, line=dict(width=0))
        name = str(key) if color == "study" else f"{label(color)}={key}"
        traces.append(go.Scatter(x=df.loc[m, x], y=df.loc[m, R.VAL_ACC], mode="markers",
                                 marker=marker, name=name,
                                 customdata=custom[m], hovertemplate=template))
    return traces


def _front_lines(df: pd.DataFrame, x: str, studies: list[str]) -> list[go.Scatter]:
    """One staircase per study through its front points."""
    lines = []
    for i, study in enumerate(studies):
        front = df[(df["study"] == study) & df["on_front"]].sort_values([x, R.VAL_ACC])
        if front.empty:
            continue
        lines.append(go.Scatter(
            x=front[x], y=front[R.VAL_ACC], mode="lines", line_shape="hv",
            line=dict(color="#222" if len(studies) == 1 else PALETTE[i % len(PALETTE)],
                      width=2, dash=("solid", "dash", "dot", "dashdot")[i % 4]),
            name=f"front: {study}", hoverinfo="skip"))
    return lines


def _baselines(df: pd.DataFrame, x: str) -> go.Scatter:
    """Reference networks as stars (every study's; hover names them)."""
    base = df[usable(df, x) & (df["role"] == R.ROLE_BASELINE)]
    custom, template = _hover(base, x)
    return go.Scatter(x=base[x], y=base[R.VAL_ACC], mode="markers",
                      marker=dict(symbol="star", size=13, color="#d62728",
                                  line=dict(width=1, color="#222")),
                      name="baselines", customdata=custom, hovertemplate=template)


def baseline_labels(df: pd.DataFrame, x: str) -> list[dict[str, Any]]:
    """Arrow labels for the first study's baselines, alternately above and below, staggered."""
    base = df[usable(df, x) & (df["role"] == R.ROLE_BASELINE)]
    base = base[base["study"] == base["study"].min()].sort_values(x) if len(base) else base
    labels = []
    for k, (_, row) in enumerate(base.iterrows()):
        side = -1 if k % 2 == 0 else 1
        labels.append(dict(x=float(np.log10(row[x])), y=float(row[R.VAL_ACC]),
                           text=str(row["label"]), showarrow=True, arrowhead=0, arrowwidth=1,
                           arrowcolor="#888", ax=0, ay=side * (24 + 14 * ((k // 2) % 3)),
                           font=dict(size=10, color="#444"), bgcolor="rgba(255,255,255,0.7)"))
    return labels


def _stopped(df: pd.DataFrame, x: str) -> go.Scatter:
    """Early-stopped trials at their partial accuracy, as grey crosses."""
    part = df[(df["status"] == R.STOPPED) & np.isfinite(df[R.VAL_ACC]) & np.isfinite(df[x])]
    custom, template = _hover(part, x)
    return go.Scatter(x=part[x], y=part[R.VAL_ACC], mode="markers", name="stopped early",
                      marker=dict(symbol="x-thin-open", size=7, color="#999"),
                      customdata=custom, hovertemplate=template)


def pareto_figure(df: pd.DataFrame, x: str = "mflops", color: str = "study",
                  show_stopped: bool = False) -> go.Figure:
    """Accuracy vs cost (log x): faded dominated points, front staircases, labelled baselines."""
    if "on_front" not in df:
        raise ValueError("pareto_figure: the frame needs an on_front column (with_front)")
    ok = searched(df, x)
    if not (ok.any() or usable(df, x).any()):
        return _empty("Pareto front")
    studies = sorted(df["study"].unique())
    traces: list[go.Scatter] = []
    if show_stopped:
        traces.append(_stopped(df, x))
    traces += _points(df[ok], x, color, studies) + _front_lines(df, x, studies)
    traces.append(_baselines(df, x))
    fig = go.Figure(traces)
    fig.update_layout(annotations=baseline_labels(df, x))
    fig.update_layout(height=560, legend=dict(orientation="h", y=-0.15), hovermode="closest",
                      margin=dict(t=30), clickmode="event+select")
    fig.update_xaxes(type="log", title=AXES[x][0])
    fig.update_yaxes(title=ACC_LABEL)
    return fig


def hypervolume_figure(curves: pd.DataFrame) -> go.Figure:
    """Hypervolume of the search front against trial number, one line per study."""
    if curves.empty:
        return _empty("Hypervolume")
    fig = go.Figure([go.Scatter(x=part["number"], y=part["hypervolume"], mode="lines",
                                line_shape="hv", name=str(study))
                     for study, part in curves.groupby("study", sort=True)])
    fig.update_layout(height=360, margin=dict(t=30), xaxis_title="trial number",
                      yaxis_title="hypervolume (accuracy x log MACs, normalized)")
    return fig


def fronts_over_time_figure(fronts: pd.DataFrame, x: str = "mflops") -> go.Figure:
    """The front after 25/50/75/100% of the trials, darker as the search goes on."""
    if fronts.empty:
        return _empty("Front over time")
    groups = list(dict.fromkeys(fronts["after"]))
    fig = go.Figure()
    for i, after in enumerate(groups):
        part = fronts[fronts["after"] == after]
        shade = int(200 - 170 * (i + 1) / len(groups))
        fig.add_trace(go.Scatter(x=part[x], y=part[R.VAL_ACC], mode="lines+markers",
                                 line_shape="hv", name=f"after {after}",
                                 line=dict(color=f"rgb({shade},{shade},{min(255, shade + 80)})"),
                                 text=part["label"], hovertemplate="%{text}: %{y:.4f} at %{x:.4g}"))
    fig.update_layout(height=420, margin=dict(t=30), yaxis_title=ACC_LABEL)
    fig.update_xaxes(type="log", title=AXES[x][0])
    return fig


EFFECT_PANELS = ((R.VAL_ACC, ACC_LABEL, False), ("size_mb", "model size (MB)", True),
                 ("acc_per_mflop", "accuracy per MFLOP", True))


def _effect_traces(part: pd.DataFrame, col: str, y: str, log: bool, color: str,
                   name: str) -> list[go.Scatter]:
    """One study's trials and its per-bin mean (± std; the median on log panels)."""
    xs = part[col] if pd.api.types.is_numeric_dtype(part[col]) else part[col].astype(str)
    stats = binned_means(part, col, y)
    centre = stats["median"] if log else stats["mean"]
    error = None if log else dict(array=stats["std"])
    what = "median" if log else "mean"
    return [go.Scatter(x=xs, y=part[y], mode="markers", showlegend=False, legendgroup=name,
                       marker=dict(size=5, opacity=0.3, color=color), text=part["label"],
                       hovertemplate="%{text}: %{y:.4g}<extra>" + name + "</extra>"),
            go.Scatter(x=stats["center"], y=centre, mode="lines+markers", error_y=error,
                       line=dict(color=color, width=2.5), name=name, legendgroup=name,
                       showlegend=y == R.VAL_ACC, customdata=stats["count"],
                       hovertemplate=what + " %{y:.4g} (n=%{customdata})<extra></extra>")]


def wide_positive(values: pd.Series, ratio: float = 20.0) -> bool:
    """Whether numbers are all positive and span at least `ratio` (a log axis reads better)."""
    if not pd.api.types.is_numeric_dtype(values) or values.empty or values.min() <= 0:
        return False
    return bool(values.max() / values.min() >= ratio)


def effects_figure(df: pd.DataFrame, col: str) -> go.Figure:
    """Accuracy, model size and accuracy per MFLOP against one metaparameter, per study."""
    part = df[searched(df)].assign(acc_per_mflop=lambda d: d[R.VAL_ACC] / d["mflops"])
    part = part[part[col].notna()] if col in part else part.iloc[:0]
    if part.empty:
        return _empty(f"Effect of {label(col)}")
    fig = make_subplots(rows=1, cols=3, subplot_titles=[t for _, t, _ in EFFECT_PANELS])
    for k, (study, rows) in enumerate(part.groupby("study", sort=True)):
        for i, (y, _, log) in enumerate(EFFECT_PANELS, start=1):
            for trace in _effect_traces(rows, col, y, log, PALETTE[k % len(PALETTE)],
                                        str(study)):
                fig.add_trace(trace, row=1, col=i)
    x_log = wide_positive(part[col])
    for i, (_, title, log) in enumerate(EFFECT_PANELS, start=1):
        fig.update_xaxes(title_text=label(col), row=1, col=i, type="log" if x_log else None)
        fig.update_yaxes(title_text=title, row=1, col=i, type="log" if log else None)
    fig.update_layout(height=400, margin=dict(t=40), legend=dict(orientation="h", y=-0.25))
    return fig


def edf_figure(curves: pd.DataFrame) -> go.Figure:
    """Error EDFs: the fraction of models with error below e, one curve per group."""
    if curves.empty:
        return _empty("Error EDF")
    fig = go.Figure([go.Scatter(x=part["error"], y=part["fraction"], mode="lines",
                                line_shape="hv", name=str(group))
                     for group, part in curves.groupby("group", sort=True)])
    fig.update_layout(height=380, margin=dict(t=30), xaxis_title="validation error e",
                      yaxis_title="fraction of models with error < e", yaxis_range=[0, 1.02])
    return fig


def importance_figure(table: pd.DataFrame) -> go.Figure:
    """Variance explained (eta squared) per metaparameter, for accuracy and for the front."""
    if table.empty:
        return _empty("Metaparameter importance")
    rows = table.iloc[::-1]
    fig = go.Figure([go.Bar(y=rows["metaparameter"], x=rows[col], orientation="h", name=col)
                     for col in ("accuracy", "on the front")])
    fig.update_layout(barmode="group", height=120 + 40 * len(rows), margin=dict(t=30),
                      xaxis_title="share of variance explained (η²)", xaxis_range=[0, 1])
    return fig


def learning_curve_figure(curve: pd.DataFrame, title: str = "") -> go.Figure:
    """Validation accuracy at each rung against images seen."""
    if curve.empty:
        return _empty("Learning curve")
    fig = go.Figure(go.Scatter(x=curve["images_seen"], y=curve["val_acc"],
                               mode="lines+markers", name="val_acc"))
    fig.update_layout(height=320, margin=dict(t=40), title=title,
                      xaxis_title="images seen", yaxis_title=ACC_LABEL)
    return fig


def figure_summary(fig: go.Figure) -> dict[str, Any]:
    """Trace names and point counts of a figure (for tests and the benchmark)."""
    out: dict[str, Any] = {}
    for trace in fig.data:
        n = len(trace.x) if trace.x is not None else 0
        out[trace.name or "?"] = n
    return out

