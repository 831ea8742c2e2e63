"""ShuffleNet v1 and v2 units."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from nas_space.blocks.base import Block, register_block, squeeze_width
from nas_space.layers import Conv, channel_shuffle
from nas_space.spec import BlockSpec


@register_block("shuffle_v1")
class ShuffleV1(Block):
    """[pool] -> gconv 1x1 (squeeze_groups) BN act -> shuffle -> dw3x3/stride BN -> gconv 1x1
    (groups) BN; + x (stride 1) or concat with avgpool3x3/2(x) (stride 2) -> act."""

    uses = frozenset({"sr", "squeeze_groups", "groups"})

    @staticmethod
    def plan(b: BlockSpec, c_in: int, bn: bool) -> dict[str, Conv]:
        mid = squeeze_width(b, "block")
        out = b.w_out - c_in if b.stride == 2 else b.w_out
        return {
            "squeeze": Conv(c_in, mid, groups=b.squeeze_groups, bn=bn),
            "dw": Conv(mid, mid, 3, b.stride, groups=mid, bn=bn, act=False),
            "expand": Conv(mid, out, groups=b.groups, bn=bn, act=False, at_out=True),
        }

    @staticmethod
    def check(b: BlockSpec, c_in: int, path: str) -> None:
        if b.stride == 1 and c_in != b.w_out:
            raise ValueError(f"{path}.w_out: a stride-1 shuffle_v1 unit keeps its width {c_in}")
        if b.stride == 2 and b.w_out <= c_in:
            raise ValueError(f"{path}.w_out: a stride-2 shuffle_v1 unit must widen {c_in}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)
        y = self.squeeze(x)
        if self.spec.squeeze_groups > 1:
            y = channel_shuffle(y, self.spec.squeeze_groups)
        y = self.expand(self.dw(y))
        if self.spec.stride == 2:
            return self.act(torch.cat([F.avg_pool2d(x, 3, 2, 1), y], 1))
        return self.act(x + y)


@register_block("shuffle_v2")
class ShuffleV2(Block):
    """[pool] -> split (stride 1) or dw3x3/2 BN -> 1x1 BN act (stride 2) | 1x1 BN act -> dw3x3
    /stride BN -> 1x1 BN act; concat -> shuffle 2."""

    uses = frozenset({"sr"})

    @staticmethod
    def plan(b: BlockSpec, c_in: int, bn: bool) -> dict[str, Conv]:
        half, mid = b.w_out // 2, squeeze_width(b, "block")
        plan: dict[str, Conv] = {}
        if b.stride == 2:
            plan["left_dw"] = Conv(c_in, c_in, 3, 2, groups=c_in, bn=bn, act=False)
            plan["left_pw"] = Conv(c_in, half, bn=bn, at_out=True)
        plan["right_pw1"] = Conv(c_in if b.stride == 2 else half, mid, bn=bn)
        plan["right_dw"] = Conv(mid, mid, 3, b.stride, groups=mid, bn=bn, act=False)
        plan["right_pw2"] = Conv(mid, half, bn=bn, at_out=True)
        return plan

    @staticmethod
    def check(b: BlockSpec, c_in: int, path: str) -> None:
        if b.w_out % 2:
            raise ValueError(f"{path}.w_out: a shuffle_v2 unit needs an even width, got {b.w_out}")
        if b.stride == 1 and c_in != b.w_out:
            raise ValueError(f"{path}.w_out: a stride-1 shuffle_v2 unit keeps its width {c_in}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)
        if self.spec.stride == 2:
            left, right = self.left_pw(self.left_dw(x)), x
        else:
            left, right = x.chunk(2, dim=1)
        right = self.right_pw2(self.right_dw(self.right_pw1(right)))
        return channel_shuffle(torch.cat([left, right], 1), 2)
