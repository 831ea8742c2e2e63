"""Pixels to network inputs: the fixed normalization and the on-tensor augmentations.

Augmentation is the user's choice (`--augment`):

- ``none``: the images as they are;
- ``crop``: random shifts of up to 1/8 of the side, edge pixels repeated (a padded
  random crop without black borders);
- ``crop+flip``: the shifts plus horizontal flips, for images whose left and right are
  alike (photos of objects and scenes; not digits, text or most medical images).
"""

from __future__ import annotations

import torch

from search.device import memory_format

#: Each augmentation, described in words (for a model card's recipe).
AUGMENT_WORDS = {"none": "no augmentation", "crop": "random crops (shifts up to 1/8)",
                 "crop+flip": "random crops (shifts up to 1/8) and flips"}
AUGMENTS = tuple(AUGMENT_WORDS)


def check_augment(mode: str) -> str:
    """`mode` if it names an augmentation, else a ValueError listing the valid ones."""
    if mode not in AUGMENTS:
        raise ValueError(f"augment: must be one of {', '.join(AUGMENTS)}, got {mode!r}")
    return mode


def normalize(x: torch.Tensor) -> torch.Tensor:
    """uint8 pixels to float in [-1, 1], in the layout of x's device (search.device)."""
    return x.float().mul_(1 / 127.5).sub_(1.0).contiguous(memory_format=memory_format(x.device))


def augment(x: torch.Tensor, gen: torch.Generator, mode: str = "crop+flip") -> torch.Tensor:
    """uint8 images (N, C, H, W) shifted by up to 1/8 of the side (edge pixels repeat) and,
    with crop+flip, flipped left-right at random; `none` returns x itself."""
    if check_augment(mode) == "none":
        return x
    n, _, h, w = x.shape
    dev = x.device
    shift = torch.randint(-max(1, h // 8), max(1, h // 8) + 1, (1, n, 1), generator=gen,
                          device=dev)
    shift = torch.cat([shift, torch.randint(-max(1, w // 8), max(1, w // 8) + 1, (1, n, 1),
                                            generator=gen, device=dev)])
    rows = (torch.arange(h, device=dev) + shift[0]).clamp_(0, h - 1)
    cols = (torch.arange(w, device=dev) + shift[1]).clamp_(0, w - 1)
    if mode == "crop+flip":
        flip = torch.rand(n, 1, generator=gen, device=dev) < 0.5
        cols = torch.where(flip, cols.flip(1), cols)
    out = x[torch.arange(n, device=dev)[:, None, None], :, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2)  # N, C, H, W in channels_last memory
