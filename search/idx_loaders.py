"""IDX files (MNIST, Fashion-MNIST): the parser, where the files are looked up, the loaders."""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import torch

from search.data_cache import cache_dir, cached
from search.dataset_registry import TENSORS, DataError, Source, Tensors, register_dataset

#: Where Debian's package `dataset-fashion-mnist` puts the original IDX files.
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


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


@register_dataset("fashion-mnist", augment="none", val_size=10_000)
def fashion_mnist(src: Source) -> Tensors:
    """Fashion-MNIST: Debian's IDX files, a user directory, or torchvision's download."""
    return _load_idx("fashion-mnist", src, "FashionMNIST", [DEBIAN_FASHION], FASHION_HOW)


@register_dataset("mnist", augment="none", val_size=10_000)
def mnist(src: Source) -> Tensors:
    """MNIST: IDX files in a user directory (torchvision's layout too), or the download."""
    how = "pass --data-root DIR holding the MNIST IDX files, or allow the download (--download)"
    return _load_idx("mnist", src, "MNIST", [], how)
