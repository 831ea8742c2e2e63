"""The width arithmetic of the spaces, written once: e_i, s_i and the 3x3 split."""

from __future__ import annotations

from nas_space.layers import make_divisible, round_half_up


def expand_width(base_e: int, incr_e: int, step: int, width: float, divisor: int) -> int:
    """e = (base_e + incr_e * step) * width, rounded to a multiple of divisor."""
    return make_divisible((base_e + incr_e * step) * width, divisor)


def multiple_of(x: float, divisor: int, minimum: int = 1) -> int:
    """x rounded (halves up) to a multiple of divisor, at least minimum multiples."""
    return divisor * max(minimum, round_half_up(x / divisor))


def squeeze_ratio(sr: float, e: int, divisor: int) -> float:
    """The exact ratio s / e for s = round(SR * e) kept a multiple of divisor."""
    return multiple_of(sr * e, divisor) / e


def pct3x3_ratio(pct: float, e: int, divisor: int) -> float:
    """The exact share e3 / e for e3 = round(pct3x3 * e) kept a multiple of divisor."""
    return multiple_of(pct * e, divisor, minimum=0) / e
