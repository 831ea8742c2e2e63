"""The SqueezeNet macro-architecture space: Fire blocks with e_i = base_e + incr_e*floor(i/freq)."""

from __future__ import annotations

from typing import Any

from nas_space.layers import make_divisible, round_half_up
from nas_space.spaces.base import Axis, Space, register_space
from nas_space.spaces.widths import expand_width, pct3x3_ratio, squeeze_ratio
from nas_space.spec import ArchSpec, BlockSpec, HeadSpec, StemSpec

#: The axes every space shares. The ranges hold the classic networks' values and stop
#: where one block alone would pass ~30M parameters (the largest e_i is 2,560 channels).
SHARED_AXES = (
    Axis("base_e", 128, 16, 256, step=16),
    Axis("incr_e", 128, 0, 256, step=16),
    Axis("freq", 2, 1, 4),
    Axis("SR", 0.125, 0.0625, 1.0, log=True),
    Axis("pct3x3", 0.5, 0.0, 1.0),
    Axis("groups", 1, choices=(1, 2, 4)),
    Axis("width", 1.0, 0.0625, 1.0, log=True),
)


def pool_positions(depth: int, layout: str) -> set[int]:
    """Where the two in-network max pools go: SqueezeNet 1.0's late (3/8, 7/8 of the depth) or
    1.1's early (1/4, 1/2) placement."""
    fractions = (3 / 8, 7 / 8) if layout == "late" else (1 / 4, 1 / 2)
    return {min(max(round_half_up(depth * f), 1), depth - 1) for f in fractions} - {0}


@register_space
class SqueezeSpace(Space):
    """Fire blocks; pools before blocks at SqueezeNet's positions; bypass, BN, depth searched."""

    name = "squeeze"
    axes = (
        *SHARED_AXES,
        Axis("depth", 8, 2, 10),
        Axis("bypass", "none", choices=("none", "simple", "complex")),
        Axis("pooling", "late", choices=("late", "early")),
        Axis("bn", False, choices=(False, True)),
    )

    def make(self, p: dict[str, Any]) -> ArchSpec:
        g, d = p["groups"], 4 * p["groups"]
        stem_w = make_divisible(96 * p["width"], d)
        if self.small:
            stem = StemSpec(stem_w, kernel=3, stride=1, padding=1)
        else:
            stem = StemSpec(stem_w, kernel=7, stride=2, padding=0, pool="max_ceil")
        pools, blocks, c_in = pool_positions(p["depth"], p["pooling"]), [], stem_w
        for i in range(p["depth"]):
            e = expand_width(p["base_e"], p["incr_e"], i // p["freq"], p["width"], d)
            blocks.append(BlockSpec(
                "fire", e, pool="max_ceil" if i in pools else "none",
                sr=squeeze_ratio(p["SR"], e, g), pct3x3=pct3x3_ratio(p["pct3x3"], e, g),
                squeeze_groups=g, groups=g, bypass=_bypass(p["bypass"], c_in, e),
            ))
            c_in = e
        return self.arch(stem=stem, blocks=tuple(blocks), bn=p["bn"],
                         head=HeadSpec("conv", dropout=0.5))


def _bypass(choice: str, c_in: int, c_out: int) -> str:
    """Simple bypass where the widths match; complex bypass (if chosen) elsewhere."""
    if choice == "none":
        return "none"
    if c_in == c_out:
        return "simple"
    return "complex" if choice == "complex" else "none"
