"""Every registered space: samples build, train a step, cost exactly, round-trip, validate."""

from __future__ import annotations

import math

import optuna
import pytest
import torch

from nas_space import ArchSpec, build, cost, get_preset, get_space, list_spaces
from nas_space.registry import UnknownNameError
from tests.nas_space.measure import fvcore_macs, numel

optuna.logging.set_verbosity(optuna.logging.WARNING)
SHAPE = {"in_channels": 1, "input_size": 28, "num_classes": 10}


def samples(name: str, n: int, seed: int = 0, **shape: int) -> list[ArchSpec]:
    """n specs from a fixed-seed RandomSampler."""
    space = get_space(name, **(shape or SHAPE))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    out = []
    for _ in range(n):
        trial = study.ask()
        out.append(space.sample(trial))
        study.tell(trial, 0.0)
    return out


@pytest.mark.parametrize("name", list_spaces())
def test_500_samples_build_and_train_a_step(name: str) -> None:
    """At 1x8x8 input (the small-input variant, as for the digits dataset) to keep it quick."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 1, 8, 8, generator=gen)
    for spec in samples(name, 500, in_channels=1, input_size=8, num_classes=10):
        model = build(spec).train()
        out = model(x)
        assert out.shape == (2, 10)
        assert torch.isfinite(out).all(), spec.to_json()
        out.square().mean().backward()
        missing = [n for n, p in model.named_parameters() if p.grad is None]
        assert not missing, (missing, spec.to_json())


@pytest.mark.parametrize("name", list_spaces())
def test_cost_is_exact_on_50_samples(name: str) -> None:
    for spec in samples(name, 50, seed=1):
        model = build(spec)
        c = cost(spec)
        assert c.params == numel(model)
        assert c.macs == fvcore_macs(model, spec)


@pytest.mark.parametrize("name", list_spaces())
def test_samples_round_trip_through_json(name: str) -> None:
    for spec in samples(name, 100, seed=2):
        assert ArchSpec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize("name", list_spaces())
def test_defaults_are_deterministic_and_inside_the_ranges(name: str) -> None:
    space = get_space(name, **SHAPE)
    a, b = space.from_params(space.defaults), space.from_params(dict(space.defaults))
    assert a == b and a.digest() == b.digest()
    for axis in space.axes_by_name.values():
        assert axis.check(axis.default) == axis.default


@pytest.mark.parametrize("name", list_spaces())
def test_all_spaces_share_the_axis_names(name: str) -> None:
    axes = set(get_space(name).defaults)
    assert {"base_e", "incr_e", "freq", "SR", "pct3x3", "groups", "width"} <= axes


def test_squeeze_default_is_squeezenet_1_0() -> None:
    space = get_space("squeeze")
    spec = space.from_params(space.defaults)
    assert spec == get_preset("squeezenet1_0")
    assert cost(spec).params == 1_248_424
    es = [b.w_out for b in spec.blocks]
    ss = [round(b.sr * b.w_out) for b in spec.blocks]
    assert es == [128, 128, 256, 256, 384, 384, 512, 512]
    assert ss == [16, 16, 32, 32, 48, 48, 64, 64]


def test_squeeze_formulas_hold() -> None:
    space = get_space("squeeze", **SHAPE)
    p = {**space.defaults, "base_e": 64, "incr_e": 32, "freq": 3, "SR": 0.25, "pct3x3": 0.75,
         "width": 1.0, "depth": 7}
    spec = space.from_params(p)
    for i, b in enumerate(spec.blocks):
        e = 64 + 32 * math.floor(i / 3)
        assert b.w_out == e
        assert round(b.sr * e) == round(0.25 * e)
        assert round(b.pct3x3 * e) == round(0.75 * e)


@pytest.mark.parametrize("name", list_spaces())
def test_groups_keep_every_conv_divisible(name: str) -> None:
    space = get_space(name, **SHAPE)
    for g in space.axes_by_name["groups"].choices:
        spec = space.from_params({**space.defaults, "groups": g, "width": 0.3})
        build(spec)  # ArchSpec validation already checked divisibility; building must work


def test_bad_params_name_the_axis() -> None:
    space = get_space("squeeze")
    with pytest.raises(ValueError, match=r"^SR:"):
        space.from_params({"SR": -1.0})
    with pytest.raises(ValueError, match=r"^pct3x3:"):
        space.from_params({"pct3x3": 1.5})
    with pytest.raises(ValueError, match=r"^groups:"):
        space.from_params({"groups": 3})
    with pytest.raises(ValueError, match=r"^nonsense: not an axis"):
        space.from_params({"nonsense": 1})
    with pytest.raises(ValueError, match=r"^depth: expected an integer"):
        space.from_params({"depth": 2.5})


def test_ranges_narrow_an_axis_and_are_checked() -> None:
    space = get_space("squeeze", ranges={"width": {"low": 0.125, "high": 0.5}})
    axis = space.axes_by_name["width"]
    assert (axis.low, axis.high, axis.default) == (0.125, 0.5, 0.5)
    with pytest.raises(ValueError, match=r"^width:"):
        get_space("squeeze", ranges={"width": {"low": 0.5, "high": 0.125}})
    with pytest.raises(ValueError, match=r"^nope: not an axis"):
        get_space("squeeze", ranges={"nope": {"low": 1}})


def test_unknown_space_lists_valid_names() -> None:
    with pytest.raises(UnknownNameError, match="valid: any, mobile, resnet, shuffle, squeeze"):
        get_space("squeez")
