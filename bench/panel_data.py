"""The recipe panel's datasets: Fashion-MNIST and its subsets, digits, and two ImageFolders
that the benchmark writes itself as PNG files (Fashion-MNIST images; 32x32 colour patches
of scikit-learn's sample photos)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch
from PIL import Image

from search.data import Dataset, cache_dir, load_dataset

#: Validation images per panel dataset (at most): the same for both loops.
VAL_IMAGES = 2000
#: Images of the Fashion-MNIST ImageFolder (taken from its test split, apart from the others).
FOLDER_IMAGES = 4200
PATCH, STRIDE = 32, 16


def panel_dir() -> Path:
    """Where the benchmark writes its ImageFolders (beside the dataset cache)."""
    return cache_dir() / "recipe-panel"


def _capped(data: Dataset, n_train: int | None = None) -> Dataset:
    n = n_train or len(data.train_y)
    return replace(data, name=data.name if n_train is None else f"{data.name}-{n // 1000}k",
                   train_x=data.train_x[:n], train_y=data.train_y[:n],
                   val_x=data.val_x[:VAL_IMAGES], val_y=data.val_y[:VAL_IMAGES])


def _write_pngs(root: Path, images: torch.Tensor, labels: torch.Tensor) -> Path:
    """Class sub-folders of PNG files; written once (a complete folder is reused)."""
    done = root / ".complete"
    if done.exists():
        return root
    for i, (x, y) in enumerate(zip(images, labels, strict=True)):
        folder = root / f"class{int(y):02d}"
        folder.mkdir(parents=True, exist_ok=True)
        pixels = x.permute(1, 2, 0).numpy()
        Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(
            folder / f"{i:05d}.png")
    done.write_text(str(len(labels)))
    return root


def fashion_folder() -> Dataset:
    """An ImageFolder of 28x28 grey PNGs from Fashion-MNIST's test split, loaded as a user's."""
    fm = load_dataset("fashion-mnist")
    root = _write_pngs(panel_dir() / "fashion-png", fm.test_x[:FOLDER_IMAGES],
                       fm.test_y[:FOLDER_IMAGES])
    return replace(_capped(load_dataset("imagefolder", root)), name="fashion-png")


def sample_patches() -> tuple[torch.Tensor, torch.Tensor]:
    """32x32 RGB patches (stride 16) of scikit-learn's two sample photos; 8 classes: the
    photo and the quadrant that holds the patch's centre."""
    from sklearn.datasets import load_sample_images

    xs, ys = [], []
    for k, photo in enumerate(load_sample_images().images):
        img = torch.from_numpy(photo.copy()).permute(2, 0, 1)  # 3, H, W
        h, w = img.shape[1:]
        for top in range(0, h - PATCH + 1, STRIDE):
            for left in range(0, w - PATCH + 1, STRIDE):
                xs.append(img[:, top : top + PATCH, left : left + PATCH])
                quadrant = 2 * (top + PATCH // 2 >= h // 2) + (left + PATCH // 2 >= w // 2)
                ys.append(4 * k + quadrant)
    return torch.stack(xs), torch.tensor(ys)


def patch_folder() -> Dataset:
    """The sample-photo patches written as an ImageFolder of RGB PNGs and loaded as a user's."""
    x, y = sample_patches()
    root = _write_pngs(panel_dir() / "photo-patches", x, y)
    return replace(_capped(load_dataset("imagefolder", root)), name="photo-patches")


PANEL: dict[str, Callable[[], Dataset]] = {
    "fashion-mnist": lambda: _capped(load_dataset("fashion-mnist")),
    "fashion-5k": lambda: _capped(load_dataset("fashion-mnist"), 5000),
    "fashion-2k": lambda: _capped(load_dataset("fashion-mnist"), 2000),
    "digits": lambda: _capped(load_dataset("digits")),
    "fashion-png": fashion_folder,
    "photo-patches": patch_folder,
}
_LOADED: dict[str, Dataset] = {}


def panel_dataset(name: str) -> Dataset:
    """A panel dataset, loaded once per process."""
    if name not in _LOADED:
        _LOADED[name] = PANEL[name]()
    return _LOADED[name]
