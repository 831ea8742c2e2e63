"""Datasets as uint8 tensors: a registry of loaders, an on-disk tensor cache, a seeded split.

Every dataset is decoded once into uint8 tensors (N, C, H, W) and int64 labels,
cached under $XDG_CACHE_HOME/nas-explorer (default ~/.cache/nas-explorer) with
`torch.save` and read back with `torch.load(weights_only=True)`: the cache never
unpickles code. An entry is keyed by the source files' paths, sizes and modification
times. The validation split is drawn from the training set with a seeded
`torch.Generator`; the test split is kept apart. See docs/training.md.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import os
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from nas_space.registry import Registry

#: Where Debian's package `dataset-fashion-mnist` puts the original IDX files.
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
CACHE_VERSION = 2
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
    natural: bool

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
    """A registered dataset: its loader, whether it holds natural images, its default val size."""

    name: str
    load: Loader
    natural: bool
    val_size: int | float


DATASETS: Registry[DatasetInfo] = Registry("dataset")


def register_dataset(
    name: str, *, natural: bool, val_size: int | float,
) -> Callable[[Loader], Loader]:
    """Register a loader; val_size is a count or a share of the training set."""
    def add(fn: Loader) -> Loader:
        DATASETS.register(name)(DatasetInfo(name, fn, natural, val_size))
        return fn

    return add


def list_datasets() -> list[str]:
    """The names of the registered datasets."""
    return DATASETS.names()


# -- the tensor cache ---------------------------------------------------------


def cache_dir() -> Path:
    """$XDG_CACHE_HOME/nas-explorer, or ~/.cache/nas-explorer."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nas-explorer"


def _cache_key(name: str, files: Sequence[Path], extra: str) -> str:
    stats = []
    for f in files:
        st = f.stat()
        stats.append([str(f.resolve()), st.st_size, st.st_mtime_ns])
    text = json.dumps([CACHE_VERSION, name, extra, stats])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def cached(
    name: str, files: Sequence[Path], decode: Callable[[], Tensors], extra: str = "",
) -> Tensors:
    """Decoded tensors from the cache, or decode() them and store them (best effort)."""
    path = cache_dir() / f"{name}-{_cache_key(name, files, extra)}.pt"
    if path.exists():
        try:
            data = torch.load(path, weights_only=True)
            if isinstance(data, dict) and all(isinstance(data.get(k), torch.Tensor)
                                              for k in TENSORS):
                return data
        except Exception:  # a damaged cache entry is decoded again
            pass
    data = decode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        torch.save(data, tmp)
        os.replace(tmp, path)
    except OSError:  # a read-only cache only costs speed
        pass
    return data


# -- IDX files (MNIST, Fashion-MNIST) -------------------------------------------


def read_idx(path: Path) -> torch.Tensor:
    """Read an IDX file of unsigned bytes (optionally gzipped); ValueError names what is wrong."""
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f"cannot decompress ({e})") from None
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise ValueError("not an IDX file of unsigned bytes")
    ndim = raw[3]
    start = 4 + 4 * ndim
    if ndim == 0 or len(raw) < start:
        raise ValueError("truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4:start])
    if len(raw) != start + math.prod(shape):
        raise ValueError(f"size {len(raw) - start} bytes does not match the header's shape {shape}")
    return torch.frombuffer(bytearray(raw[start:]), dtype=torch.uint8).view(shape)


def _idx_files(folders: Sequence[Path]) -> list[Path] | None:
    """The four IDX files (plain or gzipped) from the first folder that holds all of them."""
    for folder in folders:
        found = [next((f for f in (folder / s, folder / f"{s}.gz") if f.is_file()), None)
                 for s in IDX_FILES]
        if all(found):
            return found  # type: ignore[return-value]
    return None


def _decode_idx(name: str, files: Sequence[Path], how: str) -> Tensors:
    out = {}
    for key, f in zip(TENSORS, (files[0], files[1], files[2], files[3]), strict=True):
        try:
            t = read_idx(f)
            if key.endswith("_x") and (t.dim() != 3 or t.shape[1:] != (28, 28)):
                raise ValueError(f"expected 28x28 images, got shape {tuple(t.shape)}")
            if key.endswith("_y") and (t.dim() != 1 or int(t.max()) > 9):
                raise ValueError("expected labels 0-9")
        except ValueError as e:
            raise DataError(f"{name}: {f} is corrupted ({e}); {how}") from None
        out[key] = t.unsqueeze(1) if key.endswith("_x") else t.long()
    for split in ("train", "test"):
        if len(out[f"{split}_x"]) != len(out[f"{split}_y"]):
            raise DataError(f"{name}: the {split} images and labels differ in count; {how}")
    return out


def _load_idx(name: str, src: Source, tv_name: str, defaults: Sequence[Path], how: str) -> Tensors:
    """Find the IDX files (user root, default folders, then torchvision's download) and decode."""
    downloads = src.root or cache_dir() / "data"
    roots = [src.root] if src.root else [*defaults, downloads]
    folders = [p for r in roots for p in (r, r / tv_name / "raw")]
    files = _idx_files(folders)
    if files is None and src.download:
        _download(name, tv_name, downloads, how)
        files = _idx_files([downloads / tv_name / "raw"])
    if files is None:
        where = src.root if src.root else " or ".join(str(r) for r in roots)
        if src.root and not src.root.is_dir():
            raise DataError(f"{name}: no such directory {src.root}; {how}")
        raise DataError(f"{name}: the IDX files are not in {where}; {how}")
    return cached(name, files, lambda: _decode_idx(name, files, how))


def _download(name: str, tv_name: str, root: Path, how: str) -> None:
    import torchvision.datasets as tvd

    try:
        getattr(tvd, tv_name)(str(root), train=True, download=True)
        getattr(tvd, tv_name)(str(root), train=False, download=True)
    except Exception as e:  # network and checksum failures alike
        raise DataError(f"{name}: the download failed ({str(e).splitlines()[0]}); {how}") from None


FASHION_HOW = ("install the apt package dataset-fashion-mnist, pass --data-root DIR holding the "
               "IDX files, or allow the download (--download)")


@register_dataset("fashion-mnist", natural=False, val_size=10_000)
def fashion_mnist(src: Source) -> Tensors:
    """Fashion-MNIST: Debian's IDX files, a user directory, or torchvision's download."""
    return _load_idx("fashion-mnist", src, "FashionMNIST", [DEBIAN_FASHION], FASHION_HOW)


@register_dataset("mnist", natural=False, val_size=10_000)
def mnist(src: Source) -> Tensors:
    """MNIST: IDX files in a user directory (torchvision's layout too), or the download."""
    how = "pass --data-root DIR holding the MNIST IDX files, or allow the download (--download)"
    return _load_idx("mnist", src, "MNIST", [], how)


# -- CIFAR-10, ImageFolder, scikit-learn's digits ------------------------------


@register_dataset("cifar10", natural=True, val_size=5_000)
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


def _decode_image(path: str, size: int) -> torch.Tensor:
    """One image file as RGB uint8 (3, size, size): shorter side resized, then centre-cropped."""
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        im = ImageOps.fit(im.convert("RGB"), (size, size), Image.BILINEAR)
        pixels = torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8)
        return pixels.view(size, size, 3).permute(2, 0, 1)


def _read_folder(
    folder: Path, size: int, classes: list[str] | None,
) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset

    if classes is None:
        classes, _ = find_classes(str(folder))
    samples = make_dataset(str(folder), {c: i for i, c in enumerate(classes)}, IMG_EXTENSIONS)
    images = []
    for path, _ in samples:
        try:
            images.append(_decode_image(path, size))
        except Exception as e:  # PIL raises many kinds for a bad file
            raise DataError(f"imagefolder: cannot read {path} ({e})") from None
    labels = torch.tensor([c for _, c in samples], dtype=torch.long)
    return torch.stack(images), labels, classes


def _decode_folder(root: Path, size: int) -> Tensors:
    """train/ and test/ (or val/) sub-folders when present, else a fixed 1/6 test hold-out."""
    test_dir = next((root / d for d in ("test", "val") if (root / d).is_dir()), None)
    try:
        if (root / "train").is_dir() and test_dir is not None:
            train_x, train_y, classes = _read_folder(root / "train", size, None)
            test_x, test_y, _ = _read_folder(test_dir, size, classes)
        else:
            x, y, _ = _read_folder(root, size, None)
            train, test = split_indices(len(y), len(y) // 6, seed=0)
            train_x, train_y, test_x, test_y = x[train], y[train], x[test], y[test]
    except (FileNotFoundError, RuntimeError) as e:  # no class folders, or no images in one
        raise DataError(f"imagefolder: {e}") from None
    out = {"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y}
    if all(bool((t[:, 0:1] == t[:, 1:]).all()) for t in (train_x, test_x)):  # greyscale
        out["train_x"], out["test_x"] = train_x[:, :1].contiguous(), test_x[:, :1].contiguous()
    return out


@register_dataset("imagefolder", natural=True, val_size=1 / 6)
def imagefolder(src: Source) -> Tensors:
    """Any directory of class sub-folders of images, resized to image_size (default 32)."""
    how = "pass --data-root DIR with one sub-folder of images per class"
    if src.root is None:
        raise DataError(f"imagefolder: no directory given; {how}")
    if not src.root.is_dir():
        raise DataError(f"imagefolder: no such directory {src.root}; {how}")
    size = src.image_size or 32
    files = sorted(p for p in src.root.rglob("*") if p.is_file())
    if not files:
        raise DataError(f"imagefolder: {src.root} holds no files; {how}")
    return cached("imagefolder", files, lambda: _decode_folder(src.root, size), extra=str(size))  # type: ignore[arg-type]


@register_dataset("digits", natural=False, val_size=300)
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


# -- the split ------------------------------------------------------------------


def resize(x: torch.Tensor, size: int, chunk: int = 4096) -> torch.Tensor:
    """Resize uint8 images (N, C, H, W) to size x size, bilinear with antialiasing."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    parts = [F.interpolate(c.float(), size=(size, size), mode="bilinear", antialias=True,
                           align_corners=False).round().clamp(0, 255).to(torch.uint8)
             for c in x.split(chunk)]
    return torch.cat(parts)


def _val_count(info: DatasetInfo, n_train: int, val_size: int | None) -> int:
    if val_size is None:
        share = info.val_size
        val_size = share if isinstance(share, int) else round(share * n_train)
    if isinstance(val_size, bool) or not isinstance(val_size, int) or not 0 < val_size < n_train:
        raise ValueError(f"val_size: must be an integer in 1..{n_train - 1} for {info.name}, "
                         f"got {val_size!r}")
    return val_size


def split_indices(n: int, val_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Sorted (train, val) indices of a seeded random split of range(n)."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[val_size:].sort().values, perm[:val_size].sort().values


def load_dataset(
    name: str = "fashion-mnist", root: str | Path | None = None, *, val_size: int | None = None,
    seed: int = 0, download: bool = False, image_size: int | None = None,
) -> Dataset:
    """Load a dataset and split a seeded validation set off its training set."""
    info = DATASETS[name]
    if image_size is not None and (isinstance(image_size, bool) or not 1 <= image_size <= 1024):
        raise ValueError(f"image_size: must be an integer in 1..1024, got {image_size!r}")
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
        in_channels=x.shape[1], input_size=x.shape[-1], natural=info.natural,
    )
