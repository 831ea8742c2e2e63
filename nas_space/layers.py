"""Layer descriptions shared by build() and cost(): a conv is described once, then
either instantiated as modules or counted, so widths are never computed twice."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


def round_half_up(x: float) -> int:
    """Round to the nearest integer, halves up (Python's round() rounds halves to even)."""
    return math.floor(x + 0.5 + 1e-9)


def make_divisible(value: float, divisor: int, min_value: int | None = None) -> int:
    """Round `value` to the nearest multiple of `divisor`, never below `min_value`
    (default `divisor`) and never more than 10% below `value` (the timm/MobileNet rule)."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def conv_out(size: int, kernel: int, stride: int, padding: int, ceil: bool = False) -> int:
    """Spatial output size of a conv or pool along one axis."""
    span = size + 2 * padding - kernel
    steps = -(-span // stride) if ceil else span // stride
    return steps + 1


def pool_out(size: int, pool: str) -> int:
    """Spatial size after a block's optional 3x3/2 max pool."""
    if pool == "none":
        return size
    return conv_out(size, 3, 2, 1 if pool == "max" else 0, ceil=pool == "max_ceil")


@dataclass(frozen=True)
class Conv:
    """conv kxk/stride/groups -> optional BN -> optional activation.

    `at_out` marks a conv that runs at its block's output resolution (after the
    block's stride), which is all cost() needs to know about the data flow."""

    c_in: int
    c_out: int
    k: int = 1
    stride: int = 1
    groups: int = 1
    bn: bool = True
    act: bool = True
    bias: bool | None = None  # None: a bias exactly when there is no BN
    padding: int | None = None  # None: k // 2
    at_out: bool = False

    @property
    def has_bias(self) -> bool:
        return (not self.bn) if self.bias is None else self.bias

    @property
    def pad(self) -> int:
        return self.k // 2 if self.padding is None else self.padding

    def params(self) -> int:
        weight = self.c_out * (self.c_in // self.groups) * self.k * self.k
        return weight + self.c_out * (int(self.has_bias) + 2 * int(self.bn))

    def out_size(self, size: int) -> int:
        return conv_out(size, self.k, self.stride, self.pad)

    def macs(self, size: int) -> int:
        """Multiply-accumulates at input size `size` (fvcore's count: no bias, no BN)."""
        out = self.out_size(size)
        return out * out * self.c_out * (self.c_in // self.groups) * self.k * self.k

    def activations(self, size: int) -> int:
        out = self.out_size(size)
        return out * out * self.c_out

    def module(self, act: str) -> nn.Sequential:
        layers: list[nn.Module] = [
            nn.Conv2d(
                self.c_in, self.c_out, self.k, self.stride, self.pad,
                groups=self.groups, bias=self.has_bias,
            )
        ]
        if self.bn:
            layers.append(nn.BatchNorm2d(self.c_out))
        if self.act:
            layers.append(activation(act))
        return nn.Sequential(*layers)


def activation(name: str) -> nn.Module:
    return nn.ReLU6(inplace=True) if name == "relu6" else nn.ReLU(inplace=True)


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of `groups` groups (ShuffleNet)."""
    n, c, h, w = x.shape
    x = x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous()
    return x.view(n, c, h, w)


def max_pool(kind: str) -> nn.Module:
    if kind == "max_ceil":
        return nn.MaxPool2d(3, 2, ceil_mode=True)
    if kind == "max":
        return nn.MaxPool2d(3, 2, 1)
    return nn.Identity()


class Dropout(nn.Dropout):
    """Dropout whose mask comes from torch.rand, several times faster on the CPU than
    bernoulli_; same distribution, no parameters."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.rand(x.shape, device=x.device) >= self.p
        return x * keep.to(x.dtype) * (1.0 / (1.0 - self.p))
