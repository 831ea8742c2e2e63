"""The project's one hypervolume: accuracy against log multiply-adds, between fixed bounds.

The CLI's progress bar and summary, the dashboard and the benchmarks all call
`hypervolume`, so one study has one hypervolume wherever it is shown. The bounds are
fixed, not taken from the data, so that values of different studies, samplers and seeds
compare directly:

- cost axis: log10 of MACs (multiply-adds) per image, from `MIN_MACS` to `REF_MACS`.
  A 2x saving counts the same at any model size. Cheaper points count as `MIN_MACS`;
  points at or above `REF_MACS` add nothing.
- accuracy axis: from `REF_ACC` (0) up to 1; points at or below it add nothing.

The area is divided by the box's (log10 REF_MACS - log10 MIN_MACS) x 1, so the value lies
in [0, 1]: 1 would be a network of accuracy 1 at `MIN_MACS` or less.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

#: Lower cost bound: 10 thousand MACs per image, below any network of the spaces at 28 px.
MIN_MACS = 1e4
#: Reference cost: 1 billion MACs per image, above SqueezeNet 1.0 at 224 px (0.82e9).
REF_MACS = 1e9
#: Reference accuracy: 0, so that every trained network with a cost under REF_MACS counts.
REF_ACC = 0.0
#: One line saying what the number is, for captions and reports.
DESCRIPTION = (f"hypervolume: share of the box accuracy {REF_ACC:g}..1 x log10 MACs "
               f"{MIN_MACS:.0e}..{REF_MACS:.0e} that the front dominates")


def hypervolume(acc: Iterable[float], macs: Iterable[float]) -> float:
    """Normalized area dominated by the points (accuracy up, log10 MACs down) in the box
    [MIN_MACS, REF_MACS] x [REF_ACC, 1]; dominated points and NaN accuracies add nothing."""
    lo, hi = math.log10(MIN_MACS), math.log10(REF_MACS)
    pts = sorted(
        (math.log10(max(float(m), MIN_MACS)), float(a))
        for a, m in zip(acc, macs, strict=True)
        if m < REF_MACS and math.isfinite(a) and a > REF_ACC
    )
    area, best = 0.0, REF_ACC
    for i, (x, a) in enumerate(pts):
        best = max(best, a)
        x_next = pts[i + 1][0] if i + 1 < len(pts) else hi
        area += (x_next - x) * (best - REF_ACC)
    return area / ((hi - lo) * (1.0 - REF_ACC))
