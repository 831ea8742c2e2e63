"""Rules that pick one member of a study's Pareto front (validation accuracy up, MACs down).

    knee                     the member farthest above the straight line joining the front's
                             two ends, in (accuracy, log10 MACs) with both axes scaled to
                             [0, 1] over the front: where extra MACs stop buying accuracy
                             (the most accurate member when none lies above the line)
    max-acc                  the most accurate member
    max-acc-under-mflops X   the most accurate member with at most X MFLOPs
    min-mflops-over-acc A    the cheapest member with at least accuracy A
"""

from __future__ import annotations

import math

from search.report import Point

RULES = ("knee", "max-acc", "max-acc-under-mflops", "min-mflops-over-acc")
#: The rules that take a number.
NEEDS_VALUE = {"max-acc-under-mflops": "X (MFLOPs)", "min-mflops-over-acc": "A (accuracy)"}


class PickError(ValueError):
    """No front member satisfies the rule; one line."""


def knee(front: list[Point]) -> Point:
    """The front member farthest above the chord between its cheapest and its most accurate
    member; the most accurate when none lies above it. A member below the chord (accuracy
    that comes only with many more MACs) is never a knee: on such a front the cheap end
    may be far from trained, even at chance."""
    pts = sorted(front, key=lambda p: p.macs)
    if len(pts) <= 2:
        return pts[-1]
    xs = [math.log10(p.macs) for p in pts]
    ys = [p.acc for p in pts]
    sx = (max(xs) - min(xs)) or 1.0
    sy = (max(ys) - min(ys)) or 1.0
    x = [(v - xs[0]) / sx for v in xs]
    y = [(v - ys[0]) / sy for v in ys]
    dx, dy = x[-1] - x[0], y[-1] - y[0]
    norm = math.hypot(dx, dy) or 1.0
    above = [(dx * (yi - y[0]) - dy * (xi - x[0])) / norm for xi, yi in zip(x, y, strict=True)]
    best = max(range(len(pts)), key=lambda i: (above[i], -i))
    return pts[best] if above[best] > 0 else pts[-1]


def pick(front: list[Point], rule: str, value: float | None = None,
         max_params: int | None = None) -> Point:
    """The front member the rule picks, among those with fewer than max_params params."""
    if rule not in RULES:
        raise PickError(f"--pick: unknown rule {rule!r}; valid: {', '.join(RULES)}")
    if rule in NEEDS_VALUE and value is None:
        raise PickError(f"--pick {rule}: needs a value {NEEDS_VALUE[rule]}")
    members = [p for p in front if max_params is None or p.params < max_params]
    if not members:
        limit = f" with fewer than {max_params:,} params" if max_params is not None else ""
        raise PickError(f"--pick {rule}: the study's front has no trained member{limit}")
    if rule == "knee":
        return knee(members)
    if rule == "max-acc":
        return max(members, key=lambda p: (p.acc, -p.macs))
    if rule == "max-acc-under-mflops":
        fits = [p for p in members if p.macs / 1e6 <= value]
        if not fits:
            raise PickError(f"--pick {rule} {value:g}: no front member has at most "
                            f"{value:g} MFLOPs (the cheapest has "
                            f"{min(p.macs for p in members) / 1e6:.3f})")
        return max(fits, key=lambda p: (p.acc, -p.macs))
    fits = [p for p in members if p.acc >= value]
    if not fits:
        raise PickError(f"--pick {rule} {value:g}: no front member reaches accuracy {value:g} "
                        f"(the best has {max(p.acc for p in members):.4f})")
    return min(fits, key=lambda p: (p.macs, -p.acc))
