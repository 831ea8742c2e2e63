"""cost() is exact: params equal sum(p.numel()) and MACs equal fvcore's conv + linear count."""

from __future__ import annotations

import itertools

import pytest

from nas_space import build, cost, cost_rows, get_preset, list_presets
from nas_space.cost import ZERO
from tests.nas_space.measure import fvcore_macs, numel

#: (in_channels, input_size, num_classes): the two small inputs and ImageNet.
INPUTS = {"1x28x28": (1, 28, 10), "3x32x32": (3, 32, 10), "3x224x224": (3, 224, 1000)}


@pytest.mark.parametrize("shape", list(INPUTS))
@pytest.mark.parametrize("name", list_presets())
def test_cost_equals_measurement(name: str, shape: str) -> None:
    c, size, classes = INPUTS[shape]
    spec = get_preset(name, in_channels=c, input_size=size, num_classes=classes)
    model = build(spec)
    measured = cost(spec)
    assert measured.params == numel(model)
    assert measured.macs == fvcore_macs(model, spec)
    assert measured.size_bytes == 4 * measured.params


@pytest.mark.slow
@pytest.mark.parametrize("width", [0.3, 0.6, 1.5])
@pytest.mark.parametrize("name", list_presets())
def test_cost_equals_measurement_at_other_widths(name: str, width: float) -> None:
    spec = get_preset(name, in_channels=3, input_size=32, num_classes=10, width=width)
    model = build(spec)
    assert cost(spec).params == numel(model)
    assert cost(spec).macs == fvcore_macs(model, spec)


@pytest.mark.parametrize("shape", list(INPUTS))
@pytest.mark.parametrize("name", list_presets())
def test_cost_rows_sum_to_cost(name: str, shape: str) -> None:
    c, size, classes = INPUTS[shape]
    spec = get_preset(name, in_channels=c, input_size=size, num_classes=classes)
    rows = cost_rows(spec)
    total = ZERO
    for row in rows:
        total = total + row.cost
    assert total == cost(spec)
    assert [r.name for r in rows] == ["stem", *(f"blocks[{i}]" for i in range(len(spec.blocks))),
                                      "head"]
    assert rows[-1].c_out == spec.num_classes


@pytest.mark.parametrize("name", list_presets())
def test_cost_rows_chain(name: str) -> None:
    rows = cost_rows(get_preset(name, in_channels=1, input_size=28, num_classes=10))
    for before, after in itertools.pairwise(rows):
        assert after.c_in == before.c_out
        assert after.size_in <= before.size_out


def test_mflops_is_macs_in_millions() -> None:
    c = cost(get_preset("mobilenet_v1"))
    assert c.mflops == pytest.approx(c.macs / 1e6)
