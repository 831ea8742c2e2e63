"""Datasets decoded from arrays: CIFAR-10 (torchvision's format) and scikit-learn's digits."""

from __future__ import annotations

from pathlib import Path

import torch

from search.data_cache import cache_dir, cached
from search.dataset_registry import DataError, Source, Tensors, register_dataset
from search.split import split_indices


@register_dataset("cifar10", augment="crop+flip", val_size=5_000)
def cifar10(src: Source) -> Tensors:
    """CIFAR-10 in torchvision's format (cifar-10-batches-py) under a user directory."""
    import torchvision.datasets as tvd

    how = "pass --data-root DIR holding cifar-10-batches-py, or allow the download (--download)"
    root = src.root or cache_dir() / "data"
    folder = root / tvd.CIFAR10.base_folder

    def decode() -> Tensors:
        try:
            parts = [tvd.CIFAR10(str(root), train=t, download=src.download) for t in (True, False)]
        except Exception as e:  # missing, corrupted (checksums) or a failed download
            why = str(e).splitlines()[0]
            raise DataError(f"cifar10: cannot load from {root} ({why}); {how}") from None
        out = {}
        for split, d in zip(("train", "test"), parts, strict=True):
            out[f"{split}_x"] = torch.from_numpy(d.data).permute(0, 3, 1, 2).contiguous()
            out[f"{split}_y"] = torch.tensor(d.targets, dtype=torch.long)
        return out

    if not folder.is_dir():
        return decode()  # raises, or downloads
    return cached("cifar10", sorted(p for p in folder.iterdir() if p.is_file()), decode)


@register_dataset("digits", augment="none", val_size=300)
def digits(src: Source) -> Tensors:
    """scikit-learn's bundled 8x8 digits (1797 images): 1500 train, 297 test, for fast tests."""
    import sklearn.datasets

    csv = Path(sklearn.datasets.__file__).parent / "data" / "digits.csv.gz"

    def decode() -> Tensors:
        d = sklearn.datasets.load_digits()
        x = torch.from_numpy(d.images * (255 / 16)).round().to(torch.uint8).unsqueeze(1)
        y = torch.from_numpy(d.target).long()
        train, test = split_indices(len(y), len(y) - 1500, seed=0)
        return {"train_x": x[train], "train_y": y[train], "test_x": x[test], "test_y": y[test]}

    return cached("digits", [csv], decode)
