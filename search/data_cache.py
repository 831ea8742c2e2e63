"""The on-disk tensor cache: each dataset decoded once, stored with torch.save, read back
with torch.load(weights_only=True) so that it never unpickles code."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from search.dataset_registry import TENSORS, Tensors

CACHE_VERSION = 3

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
