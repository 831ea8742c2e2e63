"""Zero-cost proxies: synflow against its hand-computed value and on built networks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nas_space import build, get_preset
from search.proxies import synflow


def test_synflow_of_a_linear_chain_is_depth_times_the_flow() -> None:
    # For a chain of L bias-free linear layers, each layer's sum of |theta dR/dtheta| equals
    # R = 1^T |W2| |W1| 1 (synaptic flow is conserved layer by layer), so the score is L * R.
    gen = torch.Generator().manual_seed(0)
    w1, w2 = torch.randn(5, 3, generator=gen), torch.randn(2, 5, generator=gen)
    net = nn.Sequential(nn.Flatten(), nn.Linear(3, 5, bias=False), nn.Linear(5, 2, bias=False))
    with torch.no_grad():
        net[1].weight.copy_(w1)
        net[2].weight.copy_(w2)
    flow = float(torch.ones(2).double() @ w2.abs().double() @ w1.abs().double()
                 @ torch.ones(3).double())
    assert synflow(net, (3,)) == pytest.approx(2 * flow, rel=1e-9)
    assert torch.equal(net[1].weight, w1)  # the model itself is left as it was


def test_synflow_grows_with_width_and_is_deterministic() -> None:
    scores = []
    for width in (0.25, 0.5):
        spec = get_preset("squeezenet1_1", in_channels=1, input_size=28, num_classes=10,
                          width=width)
        torch.manual_seed(0)
        model = build(spec)
        scores.append(synflow(model, (1, 28, 28)))
        assert synflow(model, (1, 28, 28)) == scores[-1]
    assert 0 < scores[0] < scores[1]
