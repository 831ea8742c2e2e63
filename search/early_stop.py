"""Pareto-aware early stopping for multi-objective searches (Optuna's pruners refuse them).

The rule, applied at every rung but the last, is successive halving that selects the way
NSGA-II does (as in multi-objective ASHA). The trials that reached a rung, this one
included, are sorted into non-dominated fronts by (validation accuracy at the rung, MACs);
every non-dominated trial goes on, and so do further fronts in order until ceil(n / eta)
trials go on, taking from the front that does not fit its most isolated members
(crowding distance; the front's two ends first).
Larger networks gain more accuracy late in training, so their early ranks understate them:
a trial whose accuracy is in the top ceil(n / eta^2) of the rung also goes on. Until
`min_peers` trials reached the rung there is no evidence, and every trial goes on.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from search.pareto import pareto_mask

DIRECTIONS = ("maximize", "minimize")  # accuracy at the rung, MACs


def promising(acc: float, macs: float, peers: Iterable[tuple[float, float]], *, eta: int = 3,
              min_peers: int = 4) -> bool:
    """Whether a trial with accuracy `acc` at this rung and cost `macs` should go on;
    `peers` are (accuracy at this rung, MACs) of the other trials that reached it."""
    if eta < 2:
        raise ValueError(f"eta: must be >= 2, got {eta}")
    group = [(a, m) for a, m in peers if math.isfinite(a)]
    group.append((acc, macs))
    n = len(group)
    if n < min_peers:
        return True
    if sum(a > acc for a, _ in group) < math.ceil(n / eta**2):
        return True
    return selected(np.array(group), n - 1, math.ceil(n / eta))


def selected(points: np.ndarray, i: int, keep: int) -> bool:
    """Whether row i of `points` (accuracy, MACs) is among the rows NSGA-II selects: the
    first front whole, then further fronts in order while they fit in `keep` rows, then
    the most isolated rows of the next front."""
    left = np.arange(len(points))
    first = True
    while True:
        front = pareto_mask(points[left], DIRECTIONS)
        if front[left == i].any():
            members = left[front]
            if first or len(members) <= keep:
                return True
            order = np.argsort(-crowding(points[members]), kind="stable")
            return i in members[order[:keep]]
        keep -= int(front.sum())
        if keep <= 0:
            return False
        left, first = left[~front], False


def crowding(front: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance of each row of one front: the normalized side lengths of
    the box its neighbours span, summed over the objectives; the ends get infinity."""
    dist = np.zeros(len(front))
    for col in front.T:
        order = np.argsort(col, kind="stable")
        span = col[order[-1]] - col[order[0]]
        dist[order[[0, -1]]] = np.inf
        if span > 0:
            dist[order[1:-1]] += (col[order[2:]] - col[order[:-2]]) / span
    return dist
