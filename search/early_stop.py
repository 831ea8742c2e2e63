"""Pareto-aware early stopping for multi-objective searches (Optuna's pruners refuse them).

The rule, applied at every rung but the last: a trial goes on if its validation accuracy
at this rung is in the top 1/eta of the trials that reached the rung with the same or
fewer MACs (itself included). A trial can only join the front by beating the cheaper
models, so those are the ones it must keep up with; the cheapest model always goes on,
which keeps the front's cheap end explored. Until `min_peers` such trials exist there
is no evidence, and every trial goes on.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def promising(acc: float, macs: float, peers: Iterable[tuple[float, float]], *, eta: int = 3,
              min_peers: int = 4) -> bool:
    """Whether a trial with accuracy `acc` at this rung and cost `macs` should go on;
    `peers` are (accuracy at this rung, MACs) of the other trials that reached it."""
    if eta < 2:
        raise ValueError(f"eta: must be >= 2, got {eta}")
    group = [a for a, m in peers if m <= macs and math.isfinite(a)]
    group.append(acc)
    if len(group) < min_peers:
        return True
    keep = math.ceil(len(group) / eta)
    better = sum(a > acc for a in group)
    return better < keep

