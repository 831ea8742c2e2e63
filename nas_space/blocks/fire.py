"""SqueezeNet's Fire module, generalized with grouped 1x1s, channel shuffle and bypasses."""

from __future__ import annotations

import torch
from torch import nn

from nas_space.blocks.base import Block, register_block, squeeze_width
from nas_space.layers import Conv, activation, channel_shuffle, round_half_up
from nas_space.spec import BlockSpec


@register_block("fire")
class Fire(Block):
    """[pool] -> squeeze 1x1 (squeeze_groups) [-> shuffle] -> [expand 1x1 (groups) | expand 3x3
    (spatial_groups)] -> concat (+ x: simple bypass, + 1x1 conv(x): complex bypass)."""

    uses = frozenset({"sr", "pct3x3", "squeeze_groups", "groups", "spatial_groups", "bypass"})

    def __init__(self, spec: BlockSpec, c_in: int, bn: bool, act: str) -> None:
        super().__init__(spec, c_in, bn, act)
        self.tail: nn.Module = nn.Identity()
        if self.has("expand1x1") and self.has("expand3x3"):
            # BN (per channel) and the activation commute with the concat: one pass over
            # all w_out channels replaces two over narrow slices, whose channels_last
            # gradients the CPU walks a few values at a time. The convs keep their names
            # and state_dict order.
            self.expand1x1, self.expand3x3 = self.expand1x1[:1], self.expand3x3[:1]
            norm = [nn.BatchNorm2d(spec.w_out)] if bn else []
            self.tail = nn.Sequential(*norm, activation(act))

    @staticmethod
    def plan(b: BlockSpec, c_in: int, bn: bool) -> dict[str, Conv]:
        s = squeeze_width(b, "block")
        e3 = round_half_up(b.pct3x3 * b.w_out)
        e1 = b.w_out - e3
        plan = {"squeeze": Conv(c_in, s, groups=b.squeeze_groups, bn=bn)}
        if e1:
            plan["expand1x1"] = Conv(s, e1, groups=b.groups, bn=bn)
        if e3:
            plan["expand3x3"] = Conv(s, e3, 3, groups=b.spatial_groups, bn=bn)
        if b.bypass == "complex":
            plan["bypass"] = Conv(c_in, b.w_out, bn=bn, act=False)
        return plan

    @staticmethod
    def check(b: BlockSpec, c_in: int, path: str) -> None:
        if b.stride != 1:
            raise ValueError(f"{path}.stride: a fire block downsamples with `pool`, not stride")
        if b.bypass == "simple" and c_in != b.w_out:
            raise ValueError(
                f"{path}.bypass: a simple bypass needs equal input and output widths "
                f"({c_in} != {b.w_out}); use 'complex'"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)
        s = self.squeeze(x)
        if self.spec.squeeze_groups > 1:
            s = channel_shuffle(s, self.spec.squeeze_groups)
        parts = [getattr(self, n)(s) for n in ("expand1x1", "expand3x3") if self.has(n)]
        out = self.tail(torch.cat(parts, 1)) if len(parts) > 1 else parts[0]
        if self.spec.bypass == "simple":
            out = out + x
        elif self.spec.bypass == "complex":
            out = out + self.bypass(x)
        return out
