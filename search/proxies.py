"""Zero-cost proxies: scores of an untrained network that may rank networks as training does.

synflow (Tanaka et al. 2020, "Pruning neural networks without any data by iteratively
conserving synaptic flow"; as a NAS proxy in Abdelfattah et al. 2021, "Zero-cost proxies
for lightweight NAS"): with every parameter replaced by its absolute value and an input of
ones, R = sum of the outputs, and the score is sum over parameters of |theta * dR/dtheta|.
It needs no data and one forward and backward pass.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


@torch.no_grad()
def _absolute(model: nn.Module) -> None:
    for p in model.parameters():
        p.abs_()


def synflow(model: nn.Module, input_shape: tuple[int, ...]) -> float:
    """The synflow score of `model` at its current (initial) weights, for inputs of
    `input_shape` (C, H, W); computed in float64 on a copy in eval mode, so BatchNorm
    applies its running statistics and the model itself is left unchanged."""
    net = copy.deepcopy(model).double().eval()
    _absolute(net)
    net.zero_grad(set_to_none=True)
    out = net(torch.ones((1, *input_shape), dtype=torch.float64))
    out.sum().backward()
    return float(sum((p.detach() * p.grad).abs().sum() for p in net.parameters()
                     if p.grad is not None))
