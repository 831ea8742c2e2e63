"""ImageFolder: any directory of class sub-folders of images, at their own size by default."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import torch

from search.data_cache import cached
from search.dataset_registry import DataError, Source, Tensors, register_dataset
from search.split import split_indices


def _decode_image(path: str, size: int) -> torch.Tensor:
    """One image file as RGB uint8 (3, size, size): shorter side resized to size (a no-op at
    its own size), then centre-cropped."""
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        im = ImageOps.fit(im.convert("RGB"), (size, size), Image.BILINEAR)
        pixels = torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8)
        return pixels.view(size, size, 3).permute(2, 0, 1)


Samples = list[tuple[str, int]]


def _samples(folder: Path, classes: list[str] | None) -> tuple[Samples, list[str]]:
    """(path, class index) of every image under folder's class sub-folders, and the classes."""
    from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset

    if classes is None:
        classes, _ = find_classes(str(folder))
    return make_dataset(str(folder), {c: i for i, c in enumerate(classes)}, IMG_EXTENSIONS), classes


def native_size(samples: Samples) -> int:
    """The images' own side: the most common shorter side (read from the file headers)."""
    from PIL import Image

    sides: Counter[int] = Counter()
    for path, _ in samples:
        try:
            with Image.open(path) as im:
                sides[min(im.size)] += 1
        except Exception as e:  # PIL raises many kinds for a bad file
            raise DataError(f"imagefolder: cannot read {path} ({e})") from None
    return sides.most_common(1)[0][0]


def _read(samples: Samples, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    images = []
    for path, _ in samples:
        try:
            images.append(_decode_image(path, size))
        except Exception as e:  # PIL raises many kinds for a bad file
            raise DataError(f"imagefolder: cannot read {path} ({e})") from None
    return torch.stack(images), torch.tensor([c for _, c in samples], dtype=torch.long)


def _decode_folder(root: Path, size: int | None) -> Tensors:
    """train/ and test/ (or val/) sub-folders when present, else a fixed 1/6 test hold-out;
    at `size`, or the images' own size (native_size) when None."""
    test_dir = next((root / d for d in ("test", "val") if (root / d).is_dir()), None)
    try:
        if (root / "train").is_dir() and test_dir is not None:
            train, classes = _samples(root / "train", None)
            test, _ = _samples(test_dir, classes)
            size = size or native_size(train)
            (train_x, train_y), (test_x, test_y) = _read(train, size), _read(test, size)
        else:
            samples, _ = _samples(root, None)
            x, y = _read(samples, size or native_size(samples))
            tr, te = split_indices(len(y), len(y) // 6, seed=0)
            train_x, train_y, test_x, test_y = x[tr], y[tr], x[te], y[te]
    except (FileNotFoundError, RuntimeError) as e:  # no class folders, or no images in one
        raise DataError(f"imagefolder: {e}") from None
    out = {"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y}
    if all(bool((t[:, 0:1] == t[:, 1:]).all()) for t in (train_x, test_x)):  # greyscale
        out["train_x"], out["test_x"] = train_x[:, :1].contiguous(), test_x[:, :1].contiguous()
    return out


@register_dataset("imagefolder", augment="none", val_size=1 / 6)
def imagefolder(src: Source) -> Tensors:
    """Any directory of class sub-folders of images, at image_size or their own size."""
    how = "pass --data-root DIR with one sub-folder of images per class"
    if src.root is None:
        raise DataError(f"imagefolder: no directory given; {how}")
    if not src.root.is_dir():
        raise DataError(f"imagefolder: no such directory {src.root}; {how}")
    size = src.image_size
    files = sorted(p for p in src.root.rglob("*") if p.is_file())
    if not files:
        raise DataError(f"imagefolder: {src.root} holds no files; {how}")
    root = src.root
    return cached("imagefolder", files, lambda: _decode_folder(root, size),
                  extra=str(size or "native"))
