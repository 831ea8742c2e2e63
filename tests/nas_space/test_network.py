"""build(spec) is the only constructor: every preset runs at the small input shapes."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from nas_space import build, get_preset, list_presets
from nas_space.blocks import walk
from nas_space.layers import Dropout

SMALL = {"1x28x28": (1, 28), "3x32x32": (3, 32)}


@pytest.mark.parametrize("shape", list(SMALL))
@pytest.mark.parametrize("name", list_presets())
def test_preset_runs_at_small_input(name: str, shape: str) -> None:
    c, size = SMALL[shape]
    spec = get_preset(name, in_channels=c, input_size=size, num_classes=10)
    model = build(spec).eval()
    x = torch.randn(2, c, size, size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        features = model.blocks(model.stem(x))
        out = model.head(features)
    last = walk(spec)[-1]
    assert tuple(features.shape) == (2, spec.blocks[-1].w_out, last[4], last[4])
    assert out.shape == (2, 10)
    assert torch.isfinite(out).all()


def test_build_takes_only_a_spec() -> None:
    with pytest.raises(TypeError, match="ArchSpec"):
        build(get_preset("resnet18").to_dict())  # type: ignore[arg-type]


def test_build_is_deterministic_in_structure() -> None:
    spec = get_preset("shufflenet_v1_g3_x0_5", input_size=32, num_classes=10)
    a, b = build(spec).state_dict(), build(spec).state_dict()
    assert list(a) == list(b)
    assert [t.shape for t in a.values()] == [t.shape for t in b.values()]


@pytest.mark.parametrize("name", ["squeezenet1_0", "squeezenet1_1", "resnet18", "mobilenet_v2"])
def test_he_init_keeps_a_plain_net_signal_alive(name: str) -> None:
    """Without BN, PyTorch's default init shrinks activations ~6x a layer; He init keeps
    the features of every block at the input's scale (measured 0.3-3)."""
    spec = dataclasses.replace(get_preset(name, in_channels=1, input_size=28, num_classes=10),
                               bn=False)
    torch.manual_seed(0)
    model = build(spec)
    x = torch.randn(16, 1, 28, 28)
    stds = []
    with torch.no_grad():
        x = model.stem(x)
        for block in model.blocks:
            x = block(x)
            stds.append(float(x.std()))
    assert min(stds) > 0.05 and max(stds) < 50, stds


def test_init_weights_conventions() -> None:
    torch.manual_seed(0)
    squeeze = build(get_preset("squeezenet1_1"))
    mobile = build(get_preset("mobilenet_v2"))
    assert float(mobile.head.fc.weight.detach().std()) == pytest.approx(0.01, rel=0.05)
    assert not mobile.head.fc.bias.any()
    conv = squeeze.head.classifier[0]  # a conv classifier before ReLU: He, not N(0, 0.01)
    fan_in = conv.weight[0].numel()
    assert float(conv.weight.detach().std()) == pytest.approx((2 / fan_in) ** 0.5, rel=0.1)
    for m in mobile.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert bool((m.weight == 1).all()) and not m.bias.any()


def test_dropout_drops_at_rate_p_and_keeps_the_mean() -> None:
    drop = Dropout(0.5)
    x = torch.ones(64, 32, 7, 7)
    torch.manual_seed(0)
    y = drop(x)
    assert float((y == 0).float().mean()) == pytest.approx(0.5, abs=0.01)
    assert set(y.unique().tolist()) == {0.0, 2.0}
    assert float(y.mean()) == pytest.approx(1.0, abs=0.02)
    y.sum()  # differentiable in x
    x.requires_grad_(True)
    drop(x).sum().backward()
    assert set(x.grad.unique().tolist()) <= {0.0, 2.0}
    assert torch.equal(drop.eval()(x), x)
    assert torch.equal(Dropout(0.0).train()(x), x)
