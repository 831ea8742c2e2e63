"""A small Xception-style network: entry, middle and exit flows of xception blocks."""

from __future__ import annotations

from nas_space.presets.base import Shape, register_preset
from nas_space.spec import ArchSpec, BlockSpec, HeadSpec, StemSpec

#: (output width, stride) of each xception block: entry flow, 4 middle-flow blocks, exit flow.
XCEPTION_SMALL = ((64, 2), (128, 2), (256, 2), (256, 1), (256, 1), (256, 1), (256, 1), (512, 2))


@register_preset("xception_small")
def xception_small(shape: Shape) -> ArchSpec:
    """conv3x3/2 32 -> 8 xception blocks (4 of them stride 2) -> conv1x1 1024 -> linear."""
    blocks = tuple(BlockSpec("xception", shape.w(c), stride=s) for c, s in XCEPTION_SMALL)
    stem = StemSpec(shape.w(32), kernel=3, stride=2, padding=1)
    return shape.arch(stem=shape.stem(stem), blocks=blocks,
                      head=HeadSpec("linear", shape.w(1024), dropout=0.2))
