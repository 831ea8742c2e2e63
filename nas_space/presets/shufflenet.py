"""ShuffleNet v1 (paper Table 2, g = 1, 2, 3, 4, 8 at 1x, 0.5x, 0.25x) and torchvision's v2."""

from __future__ import annotations

import dataclasses
import math

from nas_space.presets.base import Shape, register_preset
from nas_space.spec import ArchSpec, BlockSpec, HeadSpec, StemSpec

#: ShuffleNet v1 stage output widths at 1x, by group count (paper Table 1).
V1_WIDTHS = {1: (144, 288, 576), 2: (200, 400, 800), 3: (240, 480, 960),
             4: (272, 544, 1088), 8: (384, 768, 1536)}
V1_SCALES = {"x1_0": 1.0, "x0_5": 0.5, "x0_25": 0.25}
REPEATS = (4, 8, 4)

#: torchvision's stage_out_channels: stem, three stages, conv5.
V2_WIDTHS = {"x0_5": (24, 48, 96, 192, 1024), "x1_0": (24, 116, 232, 464, 1024),
             "x1_5": (24, 176, 352, 704, 1024), "x2_0": (24, 244, 488, 976, 2048)}


def shufflenet_v1(shape: Shape, g: int, scale: float) -> ArchSpec:
    """conv3x3/2 24 -> max pool -> stages of 4/8/4 v1 units (first unit stride 2) -> linear.

    Scaled stage widths are multiples of 4g and the stem a multiple of g, so the
    bottleneck (a quarter) and the stride-2 branch (stage width - input) divide by g."""
    scaled = dataclasses.replace(shape, width=shape.width * scale)
    divisor = 4 * g
    c = shape.w(24, math.lcm(8, g))
    stem, blocks = StemSpec(c, kernel=3, stride=2, padding=1, pool="max"), []
    for stage, (width, repeats) in enumerate(zip(V1_WIDTHS[g], REPEATS, strict=True)):
        c = max(scaled.w(width, divisor), (c // divisor + 1) * divisor)  # stride 2 widens
        for i in range(repeats):
            blocks.append(BlockSpec(
                "shuffle_v1", c, stride=2 if i == 0 else 1, sr=0.25,
                squeeze_groups=1 if stage == i == 0 else g, groups=g,
            ))
    return shape.arch(stem=shape.stem(stem), blocks=tuple(blocks), head=HeadSpec("linear"))


def shufflenet_v2(shape: Shape, size: str) -> ArchSpec:
    """torchvision's ShuffleNet v2: conv3x3/2 -> max pool -> 4/8/4 v2 units -> conv5 -> linear."""
    stem_w, *stages, last = (shape.w(c) for c in V2_WIDTHS[size])
    blocks = [
        BlockSpec("shuffle_v2", w, stride=2 if i == 0 else 1, sr=0.5)
        for w, repeats in zip(stages, REPEATS, strict=True)
        for i in range(repeats)
    ]
    stem = StemSpec(stem_w, kernel=3, stride=2, padding=1, pool="max")
    return shape.arch(stem=shape.stem(stem), blocks=tuple(blocks), head=HeadSpec("linear", last))


def _register_v1(g: int, name: str, scale: float) -> None:
    register_preset(f"shufflenet_v1_g{g}_{name}")(lambda shape: shufflenet_v1(shape, g, scale))


def _register_v2(size: str) -> None:
    register_preset(f"shufflenet_v2_{size}")(lambda shape: shufflenet_v2(shape, size))


for _g in V1_WIDTHS:
    for _name, _scale in V1_SCALES.items():
        _register_v1(_g, _name, _scale)
for _size in V2_WIDTHS:
    _register_v2(_size)
