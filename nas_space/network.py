"""build(spec): the only constructor of networks."""

from __future__ import annotations

import torch
from torch import nn

from nas_space.blocks import BLOCKS, head_plan, stem_conv
from nas_space.layers import Dropout, max_pool
from nas_space.spec import ArchSpec


class Head(nn.Module):
    """linear: [conv1x1 BN act] -> avg pool -> dropout -> linear;
    conv: dropout -> conv1x1 act -> avg pool."""

    def __init__(self, spec: ArchSpec, c_in: int) -> None:
        super().__init__()
        convs, features = head_plan(spec, c_in)
        self.dropout = Dropout(spec.head.dropout)
        for name, conv in convs.items():
            self.add_module(name, conv.module(spec.act))
        self.fc = nn.Linear(features, spec.num_classes) if features else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fc is None:
            return self.classifier(self.dropout(x)).mean((2, 3))
        if "conv" in self._modules:
            x = self.conv(x)
        return self.fc(self.dropout(x.mean((2, 3))))


class Network(nn.Module):
    """stem conv [-> max pool] -> blocks -> head."""

    def __init__(self, spec: ArchSpec) -> None:
        super().__init__()
        self.spec = spec
        self.stem = nn.Sequential(stem_conv(spec).module(spec.act), max_pool(spec.stem.pool))
        blocks, c = [], spec.stem.w_out
        for b in spec.blocks:
            blocks.append(BLOCKS[b.kind](b, c, spec.bn, spec.act))
            c = b.w_out
        self.blocks = nn.Sequential(*blocks)
        self.head = Head(spec, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


def build(spec: ArchSpec) -> Network:
    """Build the network a spec describes, He-initialized (see `init_weights`)."""
    if not isinstance(spec, ArchSpec):
        raise TypeError(f"build() takes an ArchSpec, got {type(spec).__name__}")
    return init_weights(Network(spec))


def init_weights(net: Network) -> Network:
    """He (fan-in) normal convs, zero biases, unit norms; a linear classifier N(0, 0.01).

    PyTorch's default (uniform, gain 1/3) shrinks the activations' variance about 6x a
    layer, so a plain net with no BatchNorm, SqueezeNet's own setting, trains to chance.
    A conv classifier (SqueezeNet's, followed by ReLU) keeps He init: at N(0, 0.01), as
    torchvision has it, most of its ReLUs die at once at a BN net's learning rate.
    """
    for m in net.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            if m is net.head.fc:
                nn.init.normal_(m.weight, 0.0, 0.01)
            else:
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.modules.batchnorm._NormBase | nn.GroupNorm) and m.affine:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return net
