"""The dataset registry: what a loader returns, the Dataset it becomes, and the errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from nas_space.registry import Registry

TENSORS = ("train_x", "train_y", "test_x", "test_y")


class DataError(Exception):
    """A dataset is missing or unreadable; the message says how to get it."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train / validation / test splits as uint8 images (N, C, H, W) and int64 labels."""

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int
    in_channels: int
    input_size: int
    augment: str

    def __repr__(self) -> str:
        return (f"Dataset({self.name}: {len(self.train_y)} train / {len(self.val_y)} val / "
                f"{len(self.test_y)} test, {self.in_channels}x{self.input_size}x{self.input_size}, "
                f"{self.num_classes} classes)")


@dataclass(frozen=True)
class Source:
    """What a loader needs: the user's directory, whether to download, the image size."""

    root: Path | None
    download: bool
    image_size: int | None


Tensors = dict[str, torch.Tensor]
Loader = Callable[[Source], Tensors]


@dataclass(frozen=True)
class DatasetInfo:
    """A registered dataset: its loader, its default augmentation and validation size."""

    name: str
    load: Loader
    augment: str
    val_size: int | float


DATASETS: Registry[DatasetInfo] = Registry("dataset")


def register_dataset(
    name: str, *, augment: str, val_size: int | float,
) -> Callable[[Loader], Loader]:
    """Register a loader; augment is its default augmentation (search.augment.AUGMENTS),
    val_size a count or a share of the training set."""
    def add(fn: Loader) -> Loader:
        DATASETS.register(name)(DatasetInfo(name, fn, augment, val_size))
        return fn

    return add


def list_datasets() -> list[str]:
    """The names of the registered datasets."""
    return DATASETS.names()
