"""The block registry and the base class: a block is a plan of convs plus a forward."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from nas_space.layers import Conv, max_pool, round_half_up
from nas_space.registry import Registry
from nas_space.spec import BlockSpec

BLOCKS: Registry[type[Block]] = Registry("block kind")
register_block = BLOCKS.register

#: BlockSpec fields every kind reads; each kind adds the knobs it uses in `uses`.
COMMON = frozenset({"kind", "w_out", "stride", "pool"})


class Block(nn.Module):
    """Base block: [optional max pool] -> the kind's layers, built from `plan()`."""

    uses: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, spec: BlockSpec, c_in: int, bn: bool, act: str) -> None:
        super().__init__()
        self.spec, self.c_in = spec, c_in
        self.pool = max_pool(spec.pool)
        self.act = nn.ReLU6() if act == "relu6" else nn.ReLU()
        for name, conv in self.plan(spec, c_in, bn).items():
            self.add_module(name, conv.module(act))

    @staticmethod
    def plan(b: BlockSpec, c_in: int, bn: bool) -> dict[str, Conv]:
        """The block's convs in registration order (state_dict order matches torchvision)."""
        raise NotImplementedError

    @staticmethod
    def check(b: BlockSpec, c_in: int, path: str) -> None:
        """Kind-specific shape rules; raise ValueError naming the field."""

    def has(self, name: str) -> bool:
        return name in self._modules

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def squeeze_width(b: BlockSpec, path: str) -> int:
    """The squeeze / bottleneck / expansion width s = round(sr * w_out)."""
    s = round_half_up(b.sr * b.w_out)
    if s < 1:
        raise ValueError(f"{path}.sr: round(sr * w_out) = round({b.sr} * {b.w_out}) is 0 channels")
    return s


def same_shape(b: BlockSpec, c_in: int) -> bool:
    return b.stride == 1 and c_in == b.w_out


def shortcut(b: BlockSpec, c_in: int, bn: bool) -> dict[str, Conv]:
    """The projection shortcut (1x1/stride conv, BN) when the shape changes, else nothing."""
    if same_shape(b, c_in):
        return {}
    return {"proj": Conv(c_in, b.w_out, 1, b.stride, bn=bn, act=False)}
