"""Block kinds (one file per family) and the spec-level rules that walk a whole network."""

from __future__ import annotations

import dataclasses

from nas_space.blocks import fire, mobile, resnet, shuffle  # noqa: F401  (fill the registry)
from nas_space.blocks.base import BLOCKS, COMMON, Block, register_block
from nas_space.layers import Conv, conv_out, pool_out
from nas_space.spec import ArchSpec, BlockSpec, StemSpec

__all__ = ["BLOCKS", "Block", "canonical", "check_blocks", "register_block", "walk"]

_GROUP_FIELDS = ("squeeze_groups", "groups", "spatial_groups")


def stem_conv(arch: ArchSpec) -> Conv:
    s: StemSpec = arch.stem
    return Conv(arch.in_channels, s.w_out, s.kernel, s.stride, padding=s.padding, bn=arch.bn)


def walk(arch: ArchSpec) -> list[tuple[int, BlockSpec, int, int, int]]:
    """(index, block, c_in, size_in, size_out) for every block; size_in is after its pool."""
    size = pool_out(stem_conv(arch).out_size(arch.input_size), arch.stem.pool)
    c, rows = arch.stem.w_out, []
    for i, b in enumerate(arch.blocks):
        size_in = pool_out(size, b.pool)
        size = -(-size_in // b.stride)
        rows.append((i, b, c, size_in, size))
        c = b.w_out
    return rows


def check_blocks(arch: ArchSpec) -> None:
    """Validate every block against its input width; errors name the field."""
    if pool_out(stem_conv(arch).out_size(arch.input_size), arch.stem.pool) < 1:
        raise ValueError(f"input_size: {arch.input_size} is too small for the stem")
    c = arch.stem.w_out
    for i, b in enumerate(arch.blocks):
        path = f"blocks[{i}]"
        b.check(path)
        if b.kind not in BLOCKS:
            raise ValueError(f"{path}.kind: unknown block kind {b.kind!r}; valid: "
                             + ", ".join(BLOCKS.names()))
        kind = BLOCKS[b.kind]
        kind.check(b, c, path)
        try:
            plan = kind.plan(b, c, arch.bn)
        except ValueError as e:
            raise ValueError(str(e).replace("block.", f"{path}.", 1)) from None
        for name, conv in plan.items():
            _check_groups(conv, b, f"{path}", name)
        c = b.w_out
    _, _, _, size_in, size_out = walk(arch)[-1]
    if min(size_in, size_out) < 1:
        raise ValueError(f"input_size: {arch.input_size} is too small: the feature map "
                         f"collapses before the last block")


def _check_groups(conv: Conv, b: BlockSpec, path: str, name: str) -> None:
    if conv.c_in % conv.groups == 0 and conv.c_out % conv.groups == 0:
        return
    field = next((f for f in _GROUP_FIELDS if getattr(b, f) == conv.groups), "w_out")
    raise ValueError(
        f"{path}.{field}: {conv.groups} groups do not divide conv {name!r} "
        f"({conv.c_in} -> {conv.c_out} channels)"
    )


def canonical(arch: ArchSpec) -> ArchSpec:
    """The same network with every knob its block kind ignores reset to the default."""
    defaults = {f.name: f.default for f in dataclasses.fields(BlockSpec)}
    blocks = []
    for b in arch.blocks:
        used = COMMON | BLOCKS[b.kind].uses
        blocks.append(dataclasses.replace(
            b, **{k: v for k, v in defaults.items() if k not in used}
        ))
    head = arch.head
    if head.kind == "conv":
        head = dataclasses.replace(head, w_mid=0)
    return dataclasses.replace(arch, blocks=tuple(blocks), head=head)


def head_plan(arch: ArchSpec, c_in: int) -> tuple[dict[str, Conv], int]:
    """The head's convs and the linear layer's input width (0: no linear, a conv classifier)."""
    h = arch.head
    if h.kind == "conv":
        return {"classifier": Conv(c_in, arch.num_classes, bn=False)}, 0
    convs = {"conv": Conv(c_in, h.w_mid, bn=arch.bn)} if h.w_mid else {}
    return convs, h.w_mid or c_in


__all__ += ["conv_out", "head_plan", "stem_conv"]
