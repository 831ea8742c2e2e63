"""Pareto fronts of accuracy-vs-cost points (pure numpy, no Optuna).

Points are rows of objective values; `directions` says, per column, "maximize" or
"minimize". The search (progress, early stopping, the final table) and the dashboard
(fronts) both use these functions; the hypervolume is in search/hypervolume.py.
"""

from __future__ import annotations

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
