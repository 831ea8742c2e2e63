"""Every registered block kind builds, trains, and costs exactly what it measures."""

from __future__ import annotations

import contextlib
import dataclasses

import pytest
import torch

from nas_space import BLOCKS, ArchSpec, BlockSpec, StemSpec, build, cost, cost_rows
from nas_space.blocks import canonical
from nas_space.blocks.base import COMMON
from tests.nas_space.measure import fvcore_macs, numel

STEM = 16  # the width every candidate block receives

#: Generic blocks tried for every kind; each kind must accept at least two of them.
CANDIDATES = (
    BlockSpec("?", STEM, sr=0.5),
    BlockSpec("?", 2 * STEM, stride=2, sr=0.5),
    BlockSpec("?", STEM, sr=0.5, squeeze_groups=2, groups=2, spatial_groups=2, bypass="simple"),
    BlockSpec("?", 2 * STEM, pool="max", sr=0.5, pct3x3=0.25, bypass="complex"),
    BlockSpec("?", 2 * STEM, pool="max_ceil", sr=2.0, groups=4, squeeze_groups=4),
    BlockSpec("?", 3 * STEM, stride=2, sr=0.25, pct3x3=1.0, squeeze_groups=2, spatial_groups=4),
)


def valid_archs(kind: str) -> list[ArchSpec]:
    """One-block networks for every candidate this kind accepts, with BN/ReLU and without/ReLU6."""
    archs = []
    for candidate in CANDIDATES:
        block = dataclasses.replace(candidate, kind=kind)
        for bn, act in ((True, "relu"), (False, "relu6")):
            with contextlib.suppress(ValueError):  # a kind rejects what it cannot build
                archs.append(ArchSpec(StemSpec(STEM), (block,), num_classes=5, input_size=9,
                                      bn=bn, act=act))
    return archs


@pytest.mark.parametrize("kind", BLOCKS.names())
def test_kind_accepts_generic_blocks(kind: str) -> None:
    assert len(valid_archs(kind)) >= 4
    assert BLOCKS[kind].__doc__, "every block kind documents its layer sequence"


@pytest.mark.parametrize("kind", BLOCKS.names())
def test_forward_backward(kind: str) -> None:
    generator = torch.Generator().manual_seed(0)
    for arch in valid_archs(kind):
        model = build(arch).train()
        x = torch.randn(2, arch.in_channels, arch.input_size, arch.input_size,
                        generator=generator)
        out = model(x)
        assert out.shape == (2, arch.num_classes)
        assert torch.isfinite(out).all()
        out.square().sum().backward()
        for name, p in model.named_parameters():
            assert p.grad is not None, f"{arch.blocks[0]}: {name} gets no gradient"
            assert torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize("kind", BLOCKS.names())
def test_cost_equals_measurement(kind: str) -> None:
    for arch in valid_archs(kind):
        model = build(arch)
        assert cost(arch).params == numel(model), arch.blocks[0]
        assert cost(arch).macs == fvcore_macs(model, arch), arch.blocks[0]


@pytest.mark.parametrize("kind", BLOCKS.names())
def test_block_output_shape_matches_walk(kind: str) -> None:
    for arch in valid_archs(kind):
        model = build(arch).eval()
        x = torch.zeros(1, arch.in_channels, arch.input_size, arch.input_size)
        with torch.no_grad():
            y = model.blocks(model.stem(x))
        size = cost_rows(arch)[1].size_out
        assert tuple(y.shape) == (1, arch.blocks[0].w_out, size, size)


@pytest.mark.parametrize("kind", BLOCKS.names())
def test_digest_ignores_unused_knobs(kind: str) -> None:
    arch = valid_archs(kind)[0]
    block = arch.blocks[0]
    unused = {"pct3x3": 0.75, "bypass": "none", "sr": 0.5, "squeeze_groups": 1, "groups": 1,
              "spatial_groups": 1}
    used = COMMON | BLOCKS[kind].uses
    for name, value in unused.items():
        if name in used:
            continue
        other = dataclasses.replace(arch, blocks=(dataclasses.replace(block, **{name: value}),))
        assert other.digest() == arch.digest()
        assert canonical(other) == canonical(arch)
    wider = dataclasses.replace(arch, num_classes=arch.num_classes + 1)
    assert wider.digest() != arch.digest()


@pytest.mark.parametrize("bn", [True, False])
def test_fire_shared_tail_equals_a_norm_and_activation_per_branch(bn: bool) -> None:
    """Fire's one BN + ReLU after the concat is the per-branch BN + ReLU of the paper."""
    torch.manual_seed(0)
    fire = BLOCKS["fire"](BlockSpec("fire", 24, sr=0.25, pct3x3=0.5), STEM, bn, "relu").train()
    x = torch.randn(4, STEM, 6, 6)
    s = fire.squeeze(x)
    e1, e3 = fire.expand1x1(s), fire.expand3x3(s)
    if bn:
        tail = fire.tail[0]
        tail.weight.data.uniform_(0.5, 2)
        tail.bias.data.normal_()
        e1, e3 = (torch.nn.functional.batch_norm(e, None, None, tail.weight[sl], tail.bias[sl],
                                                 training=True, eps=tail.eps)
                  for e, sl in ((e1, slice(0, 12)), (e3, slice(12, 24))))
    expected = torch.cat([e1.relu(), e3.relu()], 1)
    torch.testing.assert_close(fire(x), expected)
