"""ResNet's basic and bottleneck residual blocks (ResNeXt: a grouped 3x3)."""

from __future__ import annotations

import torch

from nas_space.blocks.base import Block, register_block, shortcut, squeeze_width
from nas_space.layers import Conv, channel_shuffle
from nas_space.spec import BlockSpec


class Residual(Block):
    """Shared forward: [pool] -> the kind's convs in order -> + x or projection(x) -> act."""

    body: tuple[str, ...] = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)
        y = x
        for name in self.body:
            y = getattr(self, name)(y)
            if name == "conv1" and self.spec.squeeze_groups > 1:
                y = channel_shuffle(y, self.spec.squeeze_groups)
        return self.act(y + (self.proj(x) if self.has("proj") else x))


@register_block("basic")
class Basic(Residual):
    """[pool] -> conv3x3/stride (spatial_groups) BN act -> conv3x3 BN; + x or 1x1/stride
    conv BN(x) -> act."""

    uses = frozenset({"spatial_groups"})
    body = ("conv1", "conv2")

    @staticmethod
    def plan(b: BlockSpec, c_in: int, bn: bool) -> dict[str, Conv]:
        g, w = b.spatial_groups, b.w_out
        return {
            "conv1": Conv(c_in, w, 3, b.stride, groups=g, bn=bn),
            "conv2": Conv(w, w, 3, groups=g, bn=bn, act=False, at_out=True),
            **shortcut(b, c_in, bn),
        }


@register_block("bottleneck")
class Bottleneck(Residual):
    """[pool] -> conv1x1 (squeeze_groups) BN act [-> shuffle] -> conv3x3/stride (spatial_groups)
    BN act -> conv1x1 (groups) BN; + x or 1x1/stride conv BN(x) -> act."""

    uses = frozenset({"sr", "squeeze_groups", "groups", "spatial_groups"})
    body = ("conv1", "conv2", "conv3")

    @staticmethod
    def plan(b: BlockSpec, c_in: int, bn: bool) -> dict[str, Conv]:
        mid = squeeze_width(b, "block")
        return {
            "conv1": Conv(c_in, mid, groups=b.squeeze_groups, bn=bn),
            "conv2": Conv(mid, mid, 3, b.stride, groups=b.spatial_groups, bn=bn),
            "conv3": Conv(mid, b.w_out, groups=b.groups, bn=bn, act=False, at_out=True),
            **shortcut(b, c_in, bn),
        }
