"""Presets match torchvision and the published figures (DESIGN.md §5), at every input shape."""

from __future__ import annotations

import re

import pytest
import torch
import torchvision.models as tvm
from torch import nn

from nas_space import ArchSpec, UnknownNameError, build, cost, get_preset, list_presets
from nas_space.blocks import walk
from nas_space.presets.shufflenet import V1_WIDTHS
from tests.nas_space.measure import numel

#: torchvision 0.29.1 parameter counts, as published in DESIGN.md §5.
TORCHVISION_PARAMS = {
    "squeezenet1_0": 1_248_424,
    "squeezenet1_1": 1_235_496,
    "shufflenet_v2_x0_5": 1_366_792,
    "shufflenet_v2_x1_0": 2_278_604,
    "shufflenet_v2_x1_5": 3_503_624,
    "shufflenet_v2_x2_0": 7_393_996,
    "mobilenet_v2": 3_504_872,
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnext50_32x4d": 25_028_904,
}

#: Presets whose torchvision state_dict is copied in and whose outputs must then agree.
TOPOLOGY = ("squeezenet1_0", "squeezenet1_1", "resnet18", "mobilenet_v2", "shufflenet_v2_x1_0")

SMALL = {"1x28x28": (1, 28), "3x32x32": (3, 32)}
V1_1X = [n for n in list_presets() if re.fullmatch(r"shufflenet_v1_g\d+_x1_0", n)]


def torchvision_model(name: str) -> nn.Module:
    """torchvision's network of this name, randomly initialized (no weights downloaded)."""
    return getattr(tvm, name)(weights=None)


@pytest.mark.parametrize("name", list(TORCHVISION_PARAMS))
def test_params_equal_torchvision(name: str) -> None:
    ours = numel(build(get_preset(name)))
    assert ours == TORCHVISION_PARAMS[name]
    assert ours == numel(torchvision_model(name))
    assert cost(get_preset(name)).params == TORCHVISION_PARAMS[name]


@pytest.mark.parametrize("width", [0.35, 0.75, 1.4])
def test_mobilenet_v2_width_equals_torchvision_width_mult(width: float) -> None:
    ours = build(get_preset("mobilenet_v2", width=width))
    assert numel(ours) == numel(tvm.mobilenet_v2(weights=None, width_mult=width))


def load_in_order(ours: nn.Module, theirs: nn.Module) -> None:
    """Copy `theirs`'s state_dict into `ours` entry by entry, in registration order.

    The two networks name their tensors differently (torchvision's
    `features.3.squeeze.weight` is our `blocks.0.squeeze.0.weight`) but register the
    same tensors in the same order: the i-th state_dict entry of one is the i-th of
    the other. That the shapes line up one-to-one, and the outputs then agree, is
    the check that the topologies are the same.
    """
    mine, ref = ours.state_dict(), theirs.state_dict()
    assert len(mine) == len(ref)
    copied = {}
    for (key, mine_t), (ref_key, ref_t) in zip(mine.items(), ref.items(), strict=True):
        assert mine_t.shape == ref_t.shape, f"{key} {tuple(mine_t.shape)} != {ref_key}"
        copied[key] = ref_t
    ours.load_state_dict(copied)


def randomize_norms(model: nn.Module, generator: torch.Generator) -> None:
    """Give every BN layer random affine parameters and running statistics (in place), so
    that eval-mode outputs are far from the near-constant ones of a fresh network."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                for t, low, high in ((m.weight, 0.5, 1.5), (m.running_var, 0.5, 1.5),
                                     (m.bias, -0.2, 0.2), (m.running_mean, -0.2, 0.2)):
                    t.copy_(torch.rand(t.shape, generator=generator) * (high - low) + low)


@pytest.mark.parametrize("name", TOPOLOGY)
def test_outputs_equal_torchvision(name: str) -> None:
    torch.manual_seed(0)  # torchvision's initializers draw from the global generator
    generator = torch.Generator().manual_seed(0)
    theirs, ours = torchvision_model(name).eval(), build(get_preset(name)).eval()
    randomize_norms(theirs, generator)
    load_in_order(ours, theirs)
    x = torch.randn(2, 3, 224, 224, generator=generator)
    with torch.no_grad():
        want, got = theirs(x), ours(x)
    assert got.shape == want.shape == (2, 1000)
    assert want.std().item() > 1e-3  # the outputs differ enough for the check to mean something
    assert (got - want).abs().max().item() <= 1e-5 * max(1.0, want.abs().max().item())


@pytest.mark.parametrize("name", V1_1X)
def test_shufflenet_v1_1x_costs_about_140_mflops(name: str) -> None:
    assert 130e6 <= cost(get_preset(name)).macs <= 150e6


def test_mobilenet_v1_published_figures() -> None:
    c = cost(get_preset("mobilenet_v1"))
    assert c.params == pytest.approx(4.2e6, rel=0.02)
    assert c.macs == pytest.approx(569e6, rel=0.03)


@pytest.mark.parametrize("g", sorted(V1_WIDTHS))
@pytest.mark.parametrize("scale", ["x1_0", "x0_5", "x0_25"])
def test_shufflenet_v1_structure(g: int, scale: str) -> None:
    spec = get_preset(f"shufflenet_v1_g{g}_{scale}")
    assert len(spec.blocks) == 16
    assert spec.stem.w_out == 24
    assert spec.stem.pool == "max"
    firsts = [spec.blocks[i] for i in (0, 4, 12)]
    assert [b.stride for b in spec.blocks] == [2 if b in firsts else 1 for b in spec.blocks]
    assert spec.blocks[0].squeeze_groups == 1
    assert all(b.squeeze_groups == g for b in spec.blocks[1:])
    assert all(b.groups == g and b.sr == 0.25 and b.w_out % (4 * g) == 0 for b in spec.blocks)
    if scale == "x1_0":
        assert tuple(b.w_out for b in firsts) == V1_WIDTHS[g]


@pytest.mark.parametrize("shape", list(SMALL))
@pytest.mark.parametrize("name", list_presets())
def test_small_input_keeps_feature_maps(name: str, shape: str) -> None:
    c, size = SMALL[shape]
    spec = get_preset(name, in_channels=c, input_size=size, num_classes=10)
    assert (spec.in_channels, spec.input_size, spec.num_classes) == (c, size, 10)
    assert spec.stem.stride == 1 and spec.stem.pool == "none"
    assert min(size_out for *_, size_out in walk(spec)) >= 2


@pytest.mark.parametrize("name", list_presets())
def test_width_multiplier(name: str) -> None:
    assert get_preset(name, width=1.0) == get_preset(name)
    half, wide = get_preset(name, width=0.5), get_preset(name, width=1.5)
    assert cost(half).params < cost(get_preset(name)).params < cost(wide).params
    for width in (0.05, 0.1, 0.3, 0.75, 2.0):  # every width gives a valid spec
        assert isinstance(get_preset(name, width=width, input_size=32), ArchSpec)


def test_width_must_be_positive() -> None:
    with pytest.raises(ValueError, match=r"^width"):
        get_preset("resnet18", width=0.0)


def test_unknown_preset_lists_valid_names() -> None:
    with pytest.raises(UnknownNameError) as info:
        get_preset("resnet19")
    message = str(info.value)
    assert "resnet19" in message
    assert all(name in message for name in list_presets())
    assert isinstance(info.value, ValueError)


def test_load_in_order_rejects_another_topology() -> None:
    with pytest.raises(AssertionError):
        load_in_order(build(get_preset("squeezenet1_0")), torchvision_model("squeezenet1_1"))
