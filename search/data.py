"""Datasets as uint8 tensors: load a registered dataset and split a seeded validation set off it.

Every dataset is decoded once into uint8 tensors (N, C, H, W) and int64 labels and
cached (search.data_cache). The loaders register themselves: IDX files
(search.idx_loaders), CIFAR-10 and scikit-learn's digits (search.array_loaders), and
ImageFolder (search.folder_loader). The validation split is drawn from the training set
with a seeded `torch.Generator` (search.split); the test split is kept apart. See
docs/training.md.
"""

from __future__ import annotations

from pathlib import Path

from search import array_loaders, folder_loader, idx_loaders  # noqa: F401  (registration)
from search.augment import check_augment
from search.data_cache import cache_dir, cached
from search.dataset_registry import DATASETS, DataError, Dataset, Source, list_datasets
from search.idx_loaders import DEBIAN_FASHION, read_idx
from search.split import MAX_IMAGE_SIZE, _val_count, resize, split_indices

__all__ = [
    "DATASETS", "DEBIAN_FASHION", "DataError", "Dataset", "cache_dir", "cached",
    "list_datasets", "load_dataset", "read_idx", "resize", "split_indices",
]


def load_dataset(
    name: str = "fashion-mnist", root: str | Path | None = None, *, val_size: int | None = None,
    seed: int = 0, download: bool = False, image_size: int | None = None,
    augment: str | None = None,
) -> Dataset:
    """Load a dataset and split a seeded validation set off its training set.

    Images keep their own size unless image_size is given; augment overrides the
    dataset's default augmentation (search.augment.AUGMENTS)."""
    info = DATASETS[name]
    if augment is not None:
        check_augment(augment)
    if image_size is not None and (isinstance(image_size, bool)
                                   or not 1 <= image_size <= MAX_IMAGE_SIZE):
        raise ValueError(f"image_size: must be an integer in 1..{MAX_IMAGE_SIZE}, "
                         f"got {image_size!r}")
    data = info.load(Source(Path(root).expanduser() if root else None, download, image_size))
    x, y = data["train_x"], data["train_y"]
    test_x, test_y = data["test_x"], data["test_y"]
    if image_size is not None:
        x, test_x = resize(x, image_size), resize(test_x, image_size)
    n_val = _val_count(info, len(y), val_size)
    train, val = split_indices(len(y), n_val, seed)
    return Dataset(
        name=name, train_x=x[train], train_y=y[train], val_x=x[val], val_y=y[val],
        test_x=test_x.contiguous(), test_y=test_y,
        num_classes=int(max(int(y.max()), int(test_y.max())) + 1),
        in_channels=x.shape[1], input_size=x.shape[-1], augment=augment or info.augment,
    )
