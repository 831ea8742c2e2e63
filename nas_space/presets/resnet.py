"""torchvision's ResNet 18/34/50 and ResNeXt-50 32x4d."""

from __future__ import annotations

from nas_space.presets.base import Shape, register_preset
from nas_space.spec import ArchSpec, BlockSpec, HeadSpec, StemSpec

STAGE_WIDTHS = (64, 128, 256, 512)


def resnet(shape: Shape, kind: str, depths: tuple[int, ...], cardinality: int = 1,
           group_width: int = 64) -> ArchSpec:
    """conv7x7/2 64 -> max pool -> four stages (first block of stages 2-4 stride 2) -> linear.

    Basic blocks output the stage width; bottlenecks output 4x it around a 3x3 of
    width * group_width / 64 * cardinality channels (ResNeXt: a grouped 3x3)."""
    blocks = []
    for stage, (width, depth) in enumerate(zip(STAGE_WIDTHS, depths, strict=True)):
        if kind == "basic":
            w, sr = shape.w(width), 1.0
        else:
            w = shape.w(width * 4)
            mid = width * group_width // 64 * cardinality
            sr = shape.w(mid, max(8, cardinality)) / w
        for i in range(depth):
            blocks.append(BlockSpec(kind, w, stride=2 if stage > 0 and i == 0 else 1, sr=sr,
                                    spatial_groups=cardinality))
    stem = StemSpec(shape.w(64), kernel=7, stride=2, padding=3, pool="max")
    return shape.arch(stem=shape.stem(stem), blocks=tuple(blocks), head=HeadSpec("linear"))


@register_preset("resnet18")
def resnet18(shape: Shape) -> ArchSpec:
    return resnet(shape, "basic", (2, 2, 2, 2))


@register_preset("resnet34")
def resnet34(shape: Shape) -> ArchSpec:
    return resnet(shape, "basic", (3, 4, 6, 3))


@register_preset("resnet50")
def resnet50(shape: Shape) -> ArchSpec:
    return resnet(shape, "bottleneck", (3, 4, 6, 3))


@register_preset("resnext50_32x4d")
def resnext50_32x4d(shape: Shape) -> ArchSpec:
    return resnet(shape, "bottleneck", (3, 4, 6, 3), cardinality=32, group_width=4)
