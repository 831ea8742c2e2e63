"""Pareto fronts and hypervolume of accuracy-vs-cost points (pure numpy, no Optuna).

Points are rows of objective values; `directions` says, per column, "maximize" or
"minimize". The search (progress, early stopping, the final table) and the dashboard
(fronts, hypervolume over trials) both use these functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def _as_min(points: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """Flip maximized columns so every column is minimized."""
    pts = np.asarray(points, dtype=float).reshape(len(points), len(directions))
    signs = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    return pts * signs


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether minimized point a dominates b (no worse everywhere, better somewhere)."""
    return bool(np.all(a <= b) and np.any(a < b))


def pareto_mask(points: Sequence[Sequence[float]] | np.ndarray,
                directions: Sequence[str]) -> np.ndarray:
    """Boolean mask of the non-dominated points (duplicates of a front point are kept)."""
    pts = _as_min(np.asarray(points, dtype=float), directions)
    n = len(pts)
    mask = np.ones(n, dtype=bool)
    if n == 0:
        return mask
    order = np.lexsort(pts.T[::-1])  # sort by first column, then the next ones
    best: list[np.ndarray] = []
    for i in order:
        p = pts[i]
        if any(dominates(q, p) for q in best):
            mask[i] = False
        else:
            best = [q for q in best if not dominates(p, q)] + [p]
    return mask


def dominators(point: Sequence[float], points: Sequence[Sequence[float]] | np.ndarray,
               directions: Sequence[str]) -> np.ndarray:
    """Indices of the points that dominate `point`."""
    p = _as_min(np.asarray([point], dtype=float), directions)[0]
    pts = _as_min(np.asarray(points, dtype=float), directions)
    return np.array([i for i, q in enumerate(pts) if dominates(q, p)], dtype=int)


def hypervolume(acc: Sequence[float], macs: Sequence[float], *, ref_macs: float,
                min_macs: float = 1e3, ref_acc: float = 0.0) -> float:
    """Area dominated in (accuracy up, log10 MACs down) space, bounded by the reference point
    (ref_acc, ref_macs) and by min_macs on the cheap side; points at or over ref_macs or at or
    under ref_acc add nothing. Log cost makes a 2x saving count the same at any model size."""
    if ref_macs <= min_macs:
        raise ValueError(f"ref_macs: must exceed min_macs={min_macs}, got {ref_macs}")
    hi, lo = math.log10(ref_macs), math.log10(min_macs)
    pts = sorted(
        (max(math.log10(max(m, min_macs)), lo), a)
        for a, m in zip(acc, macs, strict=True)
        if m < ref_macs and a > ref_acc and math.isfinite(a)
    )
    area, best = 0.0, ref_acc
    for i, (x, a) in enumerate(pts):
        best = max(best, a)
        x_next = pts[i + 1][0] if i + 1 < len(pts) else hi
        area += (x_next - x) * (best - ref_acc)
    return area / (hi - lo)
