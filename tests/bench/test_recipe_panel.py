"""bench.recipe_panel: the ranking statistic, the panel's own datasets, the plain loop."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from bench.panel_data import _write_pngs, sample_patches
from bench.recipe_panel import kendall_tau, plain_loop
from search.data import load_dataset
from search.device import seeded


def test_kendall_tau() -> None:
    assert kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    assert kendall_tau([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)
    assert kendall_tau([1, 1, 2], [1, 2, 3]) == pytest.approx(2 / 6**0.5)


def test_sample_patches_are_rgb_32px_in_8_classes() -> None:
    x, y = sample_patches()
    assert x.shape[1:] == (3, 32, 32) and x.dtype == torch.uint8 and len(x) > 1500
    assert sorted(y.unique().tolist()) == list(range(8))


def test_written_pngs_load_back_pixel_for_pixel(tmp_path: Path) -> None:
    x, y = sample_patches()
    pick = torch.arange(0, len(y), len(y) // 24)[:24]
    root = _write_pngs(tmp_path / "patches", x[pick], y[pick])
    data = load_dataset("imagefolder", root, val_size=4)
    loaded = torch.cat([data.train_x, data.val_x, data.test_x])
    assert data.input_size == 32 and data.in_channels == 3 and data.augment == "none"
    assert {bytes(i.flatten().tolist()) for i in loaded} == \
        {bytes(i.flatten().tolist()) for i in x[pick]}


def test_the_plain_loop_learns_digits() -> None:
    data = load_dataset("digits")
    with seeded(0):
        model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Flatten(),
                              nn.Linear(16 * 64, 10))
    acc, rate = plain_loop(model, data, 3000, seed=0)
    assert acc > 0.8 and rate > 0
