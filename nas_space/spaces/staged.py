"""Staged spaces: ShuffleNet, MobileNet, ResNet and mixed-family networks.

Block i sits in stage k = min(floor(i / freq), 3) and has width e_i = base_e + incr_e * k
(the SqueezeNet formula, with the step count capped at the fourth stage). Stage 0 runs at
the stem's resolution; stages 1-3 start with a stride-2 block (a 3x3/2 max pool before a
Fire block). The stem outputs e_0 channels, so stage 0 keeps its width throughout.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from nas_space.spaces.base import Axis, Space, register_space
from nas_space.spaces.squeeze import SHARED_AXES
from nas_space.spaces.widths import expand_width, multiple_of, pct3x3_ratio
from nas_space.spec import ArchSpec, BlockSpec, StemSpec

STAGES = 4
#: Block kinds of the staged spaces and the BlockSpec fields their knobs fill.
KINDS = ("fire", "shuffle_v1", "shuffle_v2", "dwsep", "inverted", "basic", "bottleneck")


def _axis(name: str, **changes: Any) -> Axis:
    from dataclasses import replace

    base = next(a for a in SHARED_AXES if a.name == name)
    return replace(base, **changes)


class StagedSpace(Space):
    """Shared maker: stage widths, strides and one block kind per stage."""

    act: ClassVar[str] = "relu"

    def kinds(self, p: dict[str, Any]) -> tuple[str, ...]:
        """The block kind of each of the 4 stages."""
        return (p["block"],) * STAGES

    def make(self, p: dict[str, Any]) -> ArchSpec:
        g = p["groups"]
        kinds, divisor = self.kinds(p), 4 * math.lcm(g, p.get("cardinality", 1))
        widths = _stage_widths(p, divisor, "shuffle_v1" in kinds)
        stem = StemSpec(widths[0], 3, 1 if self.small else 2, 1, "none" if self.small else "max")
        blocks, c_in = [], widths[0]
        for i in range(p["depth"]):
            k = min(i // p["freq"], STAGES - 1)
            first = i > 0 and k > min((i - 1) // p["freq"], STAGES - 1)
            blocks.append(_block(kinds[k], widths[k], c_in, first, p))
            c_in = widths[k]
        return self.arch(stem=stem, blocks=tuple(blocks), bn=True, act=self.act)


def _stage_widths(p: dict[str, Any], divisor: int, increasing: bool) -> list[int]:
    """e_k for the 4 stages; ShuffleNet v1's concat units need each stage wider than the last."""
    widths: list[int] = []
    for k in range(STAGES):
        e = expand_width(p["base_e"], p["incr_e"], k, p["width"], divisor)
        if increasing and widths:
            e = max(e, widths[-1] + divisor)
        widths.append(e)
    return widths


def _block(kind: str, w: int, c_in: int, first: bool, p: dict[str, Any]) -> BlockSpec:
    """One block of `kind` with the space's knobs, made divisible by its group counts."""
    g, card = p["groups"], p.get("cardinality", 1)
    stride = 2 if first else 1
    if kind == "fire":
        return BlockSpec("fire", w, pool="max" if first else "none",
                         sr=multiple_of(p["SR"] * w, g) / w,
                         pct3x3=pct3x3_ratio(p["pct3x3"], w, g), squeeze_groups=g, groups=g)
    if kind == "shuffle_v1":
        return BlockSpec(kind, w, stride, sr=multiple_of(p["SR"] * w, g) / w,
                         squeeze_groups=g, groups=g)
    if kind == "shuffle_v2":
        return BlockSpec(kind, w, stride, sr=multiple_of(p["SR"] * w, 1) / w)
    if kind == "dwsep":
        return BlockSpec(kind, w, stride, groups=g)
    if kind == "inverted":
        return BlockSpec(kind, w, stride, sr=multiple_of(p["SR"] * w, g) / w,
                         squeeze_groups=g, groups=g)
    if kind == "basic":
        return BlockSpec(kind, w, stride, spatial_groups=card)
    mid = multiple_of(p["SR"] * w, math.lcm(g, card))
    return BlockSpec("bottleneck", w, stride, sr=mid / w, squeeze_groups=g, groups=g,
                     spatial_groups=card)


def _staged_axes(defaults: dict[str, Any], *extra: Axis) -> tuple[Axis, ...]:
    """The shared axes with this space's defaults and ranges, plus its own axes.
    pct3x3 is fixed at 1.0 here: every spatial filter of these blocks is 3x3."""
    axes = [a for a in SHARED_AXES if a.name != "pct3x3"]
    axes.append(_axis("pct3x3", default=1.0, low=1.0, high=1.0))
    axes.append(Axis("depth", 12, 4, 16))
    return tuple(_axis(a.name, **defaults[a.name]) if a.name in defaults and a.name != "depth"
                 else a for a in axes) + extra


@register_space
class ShuffleSpace(StagedSpace):
    """ShuffleNet v1 (grouped 1x1 + shuffle) or v2 (split + shuffle) units."""

    name = "shuffle"
    axes = _staged_axes(
        {"base_e": {"default": 240}, "incr_e": {"default": 240}, "freq": {"default": 4},
         "SR": {"default": 0.25, "low": 0.125, "high": 1.0},
         "groups": {"default": 3, "choices": (1, 2, 3, 4, 8)}},
        Axis("block", "shuffle_v1", choices=("shuffle_v1", "shuffle_v2")),
    )


@register_space
class MobileSpace(StagedSpace):
    """MobileNet v2 inverted residuals (SR = expansion ratio) or MobileNet v1 separable blocks."""

    name = "mobile"
    act = "relu6"
    axes = _staged_axes(
        {"base_e": {"default": 32}, "incr_e": {"default": 32}, "freq": {"default": 3},
         "SR": {"default": 6.0, "low": 0.5, "high": 8.0}},
        Axis("block", "inverted", choices=("inverted", "dwsep")),
    )


@register_space
class ResNetSpace(StagedSpace):
    """ResNet basic or bottleneck blocks; cardinality > 1 gives ResNeXt's grouped 3x3."""

    name = "resnet"
    axes = _staged_axes(
        {"base_e": {"default": 64}, "incr_e": {"default": 64}, "freq": {"default": 2},
         "SR": {"default": 0.25, "low": 0.0625, "high": 1.0}},
        Axis("block", "basic", choices=("basic", "bottleneck")),
        Axis("cardinality", 1, choices=(1, 2, 4, 8, 16, 32)),
    )


@register_space
class AnySpace(StagedSpace):
    """The block family itself is searched, one choice per stage. SR stays a squeeze (<= 1)
    here, since dense 3x3 blocks share it; the mobile space searches expansion ratios."""

    name = "any"
    axes = _staged_axes(
        {"SR": {"default": 0.25, "low": 0.0625, "high": 1.0}},
        *(Axis(f"block_{k}", "fire", choices=tuple(x for x in KINDS if x != "shuffle_v1"))
          for k in range(STAGES)),
    )

    def kinds(self, p: dict[str, Any]) -> tuple[str, ...]:
        return tuple(p[f"block_{k}"] for k in range(STAGES))
