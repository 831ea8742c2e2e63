"""Pure functions on the trial frame: fronts, hypervolume, EDFs, binned effects, importance."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from search import records as R
from search.hypervolume import hypervolume
from search.pareto import pareto_mask

#: Cost axes a front can be drawn against: column -> (label, stored column it scales).
AXES = {
    "mflops": ("MFLOPs (multiply-adds)", R.MACS),
    "mparams": ("Params (M)", R.PARAMS),
    "size_mb": ("Model size (MB, fp32)", R.SIZE_BYTES),
    "latency_ms": ("Latency (ms, batch 1)", R.LATENCY_MS),
}
#: Columns read from each spec, offered next to the sampled metaparameters.
SPEC_COLUMNS = ("sr", "pct3x3", "groups", "kind", "bypass", "depth")
GROUPINGS = ("study", "space", "kind", "status", "role")
FRACTIONS = (0.25, 0.5, 0.75, 1.0)


def usable(df: pd.DataFrame, x: str = "mflops") -> pd.Series:
    """Trials that count for fronts and statistics: fully trained, not a duplicate, finite."""
    if df.empty or x not in df:
        return pd.Series(False, index=df.index, dtype=bool)
    ok = (df["state"] == "COMPLETE") & df["status"].isin([R.COMPLETE])
    return ok & np.isfinite(df[R.VAL_ACC]) & np.isfinite(df[x]) & (df[x] > 0)


def searched(df: pd.DataFrame, x: str = "mflops") -> pd.Series:
    """Usable trials of the search itself (baselines are drawn apart)."""
    return usable(df, x) & (df["role"] == R.ROLE_SEARCH)


def axes_present(df: pd.DataFrame) -> list[str]:
    """The cost axes with at least one usable value."""
    return [a for a in AXES if a in df and bool(usable(df, a).any())]


def front_mask(df: pd.DataFrame, x: str = "mflops", y: str = R.VAL_ACC) -> pd.Series:
    """True for the search trials on the (max y, min x) front of their own study."""
    mask = pd.Series(False, index=df.index, dtype=bool)
    ok = searched(df, x)
    for _, part in df[ok].groupby("study", sort=False):
        pts = part[[y, x]].to_numpy(dtype=float)
        mask.loc[part.index] = pareto_mask(pts, ["maximize", "minimize"])
    return mask


def with_front(df: pd.DataFrame, x: str = "mflops") -> pd.DataFrame:
    """A copy of the frame with an `on_front` column for axis x."""
    out = df.copy()
    out["on_front"] = front_mask(df, x)
    return out


def front_points(df: pd.DataFrame, x: str = "mflops", y: str = R.VAL_ACC) -> pd.DataFrame:
    """The front of one study's trials, sorted by cost (a staircase when drawn 'hv')."""
    front = df[front_mask(df, x, y)]
    return front.sort_values([x, y], ascending=[True, True])


def hypervolume_curve(df: pd.DataFrame) -> pd.DataFrame:
    """The shared hypervolume (search/hypervolume.py, on MACs) of the search front after
    each trial, by number."""
    ordered = df.sort_values("number")
    ok = searched(ordered, "mflops").to_numpy()
    accs = ordered[R.VAL_ACC].to_numpy(float)
    macs = _macs(ordered)
    front: list[tuple[float, float]] = []
    hv, out = 0.0, []
    for i, number in enumerate(ordered["number"].to_numpy()):
        if ok[i]:
            a, c = accs[i], macs[i]
            if not any(fa >= a and fc <= c for fa, fc in front):
                front = [(fa, fc) for fa, fc in front if not (a >= fa and c <= fc)]
                front.append((a, c))
                hv = hypervolume([f[0] for f in front], [f[1] for f in front])
        out.append((int(number), hv))
    return pd.DataFrame(out, columns=["number", "hypervolume"])


def study_hypervolume(df: pd.DataFrame) -> float:
    """The shared hypervolume of one study's searched trials: the value the CLI prints."""
    ok = searched(df, "mflops")
    return hypervolume(df.loc[ok, R.VAL_ACC].to_numpy(float), _macs(df[ok]))


def _macs(df: pd.DataFrame) -> np.ndarray:
    """MACs per image: the stored count where the frame has it, else from MFLOPs."""
    return (df[R.MACS] if R.MACS in df else df["mflops"] * 1e6).to_numpy(float)


def fronts_over_time(df: pd.DataFrame, x: str = "mflops",
                     fractions: Sequence[float] = FRACTIONS) -> pd.DataFrame:
    """The search front after each fraction of one study's trials (by trial number)."""
    ordered = df.sort_values("number")
    parts = []
    for f in fractions:
        k = max(1, math.ceil(f * len(ordered)))
        front = front_points(ordered.iloc[:k], x)
        parts.append(front.assign(after=f"{f:.0%} ({k} trials)"))
    if not parts:
        return ordered.iloc[:0].assign(after=[])
    return pd.concat(parts, ignore_index=True)


def edf(errors: Sequence[float] | np.ndarray, at: Sequence[float] | np.ndarray) -> np.ndarray:
    """F(e) = fraction of models with error < e, for each e in `at` (NaN errors dropped)."""
    err = np.sort(np.asarray(errors, dtype=float))
    err = err[np.isfinite(err)]
    if err.size == 0:
        return np.full(len(at), np.nan)
    return np.searchsorted(err, np.asarray(at, dtype=float), side="left") / err.size


def edf_curve(errors: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The EDF as a step curve: sorted errors and the fraction at or below each."""
    err = np.sort(np.asarray(errors, dtype=float))
    err = err[np.isfinite(err)]
    return err, np.arange(1, err.size + 1) / max(err.size, 1)


def edf_frame(df: pd.DataFrame, by: str = "study",
              mflops_range: tuple[float, float] | None = None) -> pd.DataFrame:
    """Error EDF curves of usable search trials, one per value of `by`, within a MFLOPs range."""
    ok = searched(df)
    if mflops_range is not None:
        ok &= df["mflops"].between(*mflops_range)
    parts = []
    for key, part in df[ok].groupby(by, sort=True):
        err, frac = edf_curve(1.0 - part[R.VAL_ACC].to_numpy(float))
        parts.append(pd.DataFrame({"group": f"{key} (n={err.size})", "error": err,
                                   "fraction": frac}))
    if not parts:
        return pd.DataFrame(columns=["group", "error", "fraction"])
    return pd.concat(parts, ignore_index=True)


def candidate_columns(df: pd.DataFrame) -> list[str]:
    """Metaparameters worth plotting against: the sampled params_* and the spec's knobs."""
    cols = [c for c in df.columns if c.startswith("params_")]
    sampled = {c.removeprefix("params_").lower() for c in cols}
    cols += [c for c in SPEC_COLUMNS if c in df and c not in sampled]
    return [c for c in cols if df[c].nunique(dropna=True) > 1]


def label(col: str) -> str:
    """A short display name for a column."""
    if col in AXES:
        return AXES[col][0]
    names = {"sr": "SR (spec mean)", "pct3x3": "pct3x3 (spec mean)", "groups": "groups (max)",
             "kind": "block kind", "bypass": "bypass (spec)", "depth": "depth (blocks)",
             "val_acc": "validation accuracy", "acc_per_mflop":
             "accuracy per MFLOP"}
    return names.get(col, col.removeprefix("params_"))


def bins(values: pd.Series, n: int = 8) -> pd.Series:
    """Category labels: the values themselves when few or not numeric, else quantile bins."""
    if not pd.api.types.is_numeric_dtype(values) or values.nunique() <= n:
        return values.astype(str).where(values.notna(), None)
    cut = pd.qcut(values, n, duplicates="drop")
    return cut.astype(str).where(cut.notna(), None)


def binned_means(df: pd.DataFrame, col: str, y: str) -> pd.DataFrame:
    """Mean, std, median and count of y per value (or quantile bin) of col, ordered along col."""
    ok = df[[col, y]].dropna()
    if ok.empty:
        return pd.DataFrame(columns=["bin", "center", "mean", "std", "median", "count"])
    key = bins(ok[col])
    grouped = ok.assign(bin=key).groupby("bin", sort=False)
    numeric = pd.api.types.is_numeric_dtype(ok[col])
    out = pd.DataFrame({
        "center": grouped[col].median() if numeric else grouped[col].first(),
        "mean": grouped[y].mean(), "std": grouped[y].std().fillna(0.0),
        "median": grouped[y].median(), "count": grouped[y].size(),
    }).reset_index()
    return out.sort_values("center" if numeric else "bin").reset_index(drop=True)


def variance_explained(values: pd.Series, target: pd.Series) -> float:
    """Share of the target's variance explained by its per-bin means (eta squared)."""
    ok = pd.DataFrame({"k": bins(values), "t": target.astype(float)}).dropna()
    if len(ok) < 3 or ok["t"].var(ddof=0) == 0:
        return math.nan
    means = ok.groupby("k")["t"].transform("mean")
    return float(((means - ok["t"].mean()) ** 2).sum() / ((ok["t"] - ok["t"].mean()) ** 2).sum())


def importance(df: pd.DataFrame) -> pd.DataFrame:
    """Eta squared of each metaparameter for accuracy and for being on the front."""
    ok = searched(df)
    part = df[ok]
    on_front = front_mask(df)[ok]
    rows = [{"metaparameter": label(c),
             "accuracy": variance_explained(part[c], part[R.VAL_ACC]),
             "on the front": variance_explained(part[c], on_front)}
            for c in candidate_columns(part)]
    out = pd.DataFrame(rows, columns=["metaparameter", "accuracy", "on the front"])
    return out.sort_values("accuracy", ascending=False, na_position="last").reset_index(drop=True)
