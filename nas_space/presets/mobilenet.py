"""MobileNet v1 (depthwise-separable blocks) and torchvision's MobileNet v2."""

from __future__ import annotations

import dataclasses

from nas_space.presets.base import Shape, register_preset
from nas_space.spec import ArchSpec, BlockSpec, HeadSpec, StemSpec

#: MobileNet v1's 13 depthwise-separable blocks: (output width, stride).
V1_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
             (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))

#: MobileNet v2's inverted-residual settings: (expansion t, output width c, repeats n, stride s).
V2_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
               (6, 160, 3, 2), (6, 320, 1, 1))


def mobilenet_v1(shape: Shape, alpha: float) -> ArchSpec:
    """conv3x3/2 32 -> 13 dw3x3 + pw1x1 blocks -> avg pool -> linear."""
    scaled = dataclasses.replace(shape, width=shape.width * alpha)
    blocks = tuple(BlockSpec("dwsep", scaled.w(c), stride=s) for c, s in V1_BLOCKS)
    stem = StemSpec(scaled.w(32), kernel=3, stride=2, padding=1)
    return shape.arch(stem=shape.stem(stem), blocks=blocks, head=HeadSpec("linear"))


def mobilenet_v2(shape: Shape) -> ArchSpec:
    """torchvision's MobileNet v2: conv3x3/2 32 -> 17 inverted residuals -> conv1x1 1280 ->
    avg pool -> dropout 0.2 -> linear; ReLU6 throughout."""
    c_in, blocks = shape.w(32), []
    for t, c, n, s in V2_SETTINGS:
        w = shape.w(c)
        for i in range(n):
            # torchvision's hidden width is round(c_in * t); the spec stores it as sr * w_out.
            blocks.append(BlockSpec("inverted", w, stride=s if i == 0 else 1, sr=c_in * t / w))
            c_in = w
    last = shape.w(1280) if shape.width > 1.0 else 1280
    stem = StemSpec(shape.w(32), kernel=3, stride=2, padding=1)
    return shape.arch(stem=shape.stem(stem), blocks=tuple(blocks), act="relu6",
                      head=HeadSpec("linear", last, dropout=0.2))


@register_preset("mobilenet_v1")
def mobilenet_v1_1_0(shape: Shape) -> ArchSpec:
    return mobilenet_v1(shape, 1.0)


@register_preset("mobilenet_v1_x0_5")
def mobilenet_v1_0_5(shape: Shape) -> ArchSpec:
    return mobilenet_v1(shape, 0.5)


@register_preset("mobilenet_v2")
def mobilenet_v2_1_0(shape: Shape) -> ArchSpec:
    return mobilenet_v2(shape)
