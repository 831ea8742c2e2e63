"""The split and the resize: a seeded validation split and bilinear resizing of uint8 images."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from search.dataset_registry import DatasetInfo

#: The largest --image-size: a bound on the memory that resized images take.
MAX_IMAGE_SIZE = 1024


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
    """(train, val) indices of a seeded random split of range(n): train sorted, val in its
    random order, so that a prefix of the validation split (the rungs score the first
    `val_images`) is a random sample even of a folder listed class by class."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[val_size:].sort().values, perm[:val_size]
