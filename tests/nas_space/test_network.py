"""build(spec) is the only constructor: every preset runs at the small input shapes."""

from __future__ import annotations

import pytest
import torch

from nas_space import build, get_preset, list_presets
from nas_space.blocks import walk

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
