"""Measurements the analytic cost is held against: parameter counts and fvcore's MACs."""

from __future__ import annotations

import torch
from fvcore.nn import FlopCountAnalysis
from torch import nn

from nas_space import ArchSpec

#: fvcore's operator names for conv and linear layers (addmm: a linear layer traced as one).
MAC_OPS = ("conv", "linear", "addmm")


def numel(model: nn.Module) -> int:
    """The measured parameter count."""
    return sum(p.numel() for p in model.parameters())


def fvcore_macs(model: nn.Module, spec: ArchSpec) -> int:
    """fvcore's conv + linear multiply-accumulates for one input of the spec's shape."""
    x = torch.zeros(1, spec.in_channels, spec.input_size, spec.input_size)
    analysis = FlopCountAnalysis(model.eval(), x)
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    by_op = analysis.by_operator()
    return sum(by_op.get(op, 0) for op in MAC_OPS)
