"""Depthwise-separable blocks: MobileNet v1, MobileNet v2's inverted residual, Xception."""

from __future__ import annotations

import torch

from nas_space.blocks.base import Block, register_block, same_shape, shortcut, squeeze_width
from nas_space.layers import Conv, channel_shuffle
from nas_space.spec import BlockSpec


@register_block("dwsep")
class DWSep(Block):
    """[pool] -> dw3x3/stride BN act -> pw 1x1 (groups) BN act (+ x or 1x1/stride conv(x))."""

    uses = frozenset({"groups", "bypass"})

    @staticmethod
    def plan(b: BlockSpec, c_in: int, bn: bool) -> dict[str, Conv]:
        plan = {
            "dw": Conv(c_in, c_in, 3, b.stride, groups=c_in, bn=bn),
            "pw": Conv(c_in, b.w_out, groups=b.groups, bn=bn, at_out=True),
        }
        if b.bypass == "complex":
            plan["bypass"] = Conv(c_in, b.w_out, 1, b.stride, bn=bn, act=False)
        return plan

    @staticmethod
    def check(b: BlockSpec, c_in: int, path: str) -> None:
        if b.bypass == "simple" and not same_shape(b, c_in):
            raise ValueError(f"{path}.bypass: a simple bypass needs stride 1 and equal widths")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)
        out = self.pw(self.dw(x))
        if self.spec.bypass == "simple":
            out = out + x
        elif self.spec.bypass == "complex":
            out = out + self.bypass(x)
        return out


@register_block("inverted")
class InvertedResidual(Block):
    """[pool] -> [1x1 expand (squeeze_groups) BN act -> shuffle] -> dw3x3/stride BN act ->
    1x1 linear (groups) BN (+ x when the shape is kept). No expand conv when sr*w_out == c_in."""

    uses = frozenset({"sr", "squeeze_groups", "groups"})

    @staticmethod
    def plan(b: BlockSpec, c_in: int, bn: bool) -> dict[str, Conv]:
        mid = squeeze_width(b, "block")
        plan = {}
        if mid != c_in:
            plan["expand"] = Conv(c_in, mid, groups=b.squeeze_groups, bn=bn)
        plan["dw"] = Conv(mid, mid, 3, b.stride, groups=mid, bn=bn)
        plan["project"] = Conv(mid, b.w_out, groups=b.groups, bn=bn, act=False, at_out=True)
        return plan

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)
        y = x
        if self.has("expand"):
            y = self.expand(y)
            if self.spec.squeeze_groups > 1:
                y = channel_shuffle(y, self.spec.squeeze_groups)
        y = self.project(self.dw(y))
        return x + y if same_shape(self.spec, self.c_in) else y


@register_block("xception")
class Xception(Block):
    """[pool] -> dw3x3/stride -> pw 1x1 (groups) BN act -> dw3x3 -> pw 1x1 (groups) BN;
    + x or 1x1/stride conv BN(x) -> act."""

    uses = frozenset({"groups"})

    @staticmethod
    def plan(b: BlockSpec, c_in: int, bn: bool) -> dict[str, Conv]:
        w = b.w_out
        return {
            "dw1": Conv(c_in, c_in, 3, b.stride, groups=c_in, bn=False, act=False, bias=False),
            "pw1": Conv(c_in, w, groups=b.groups, bn=bn, at_out=True),
            "dw2": Conv(w, w, 3, groups=w, bn=False, act=False, bias=False, at_out=True),
            "pw2": Conv(w, w, groups=b.groups, bn=bn, act=False, at_out=True),
            **shortcut(b, c_in, bn),
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)
        y = self.pw2(self.dw2(self.pw1(self.dw1(x))))
        return self.act(y + (self.proj(x) if self.has("proj") else x))
