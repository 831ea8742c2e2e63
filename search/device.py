"""Where and in what precision a network runs: the device, bf16 autocast, seeded blocks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

PRECISIONS = ("auto", "fp32", "bf16")


def pick_device(name: str | torch.device = "auto") -> torch.device:
    """auto: CUDA when available, else CPU; cpu and cuda[:n] as asked."""
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu" or name.startswith("cuda"):
        if name.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device: {name} was asked for but CUDA is not available")
        return torch.device(name)
    raise ValueError(f"device: must be auto, cpu or cuda[:n], got {name!r}")


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed the global RNG inside the block only (e.g. a model's init), restoring it after."""
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def memory_format(device: torch.device) -> torch.memory_format:
    """channels_last on CUDA; the default layout on the CPU, where oneDNN's single-threaded
    channels_last backward corrupts the heap for some small nets (torch 2.14.1)."""
    return torch.channels_last if device.type == "cuda" else torch.contiguous_format


def autocast(device: torch.device, precision: str = "auto") -> torch.autocast:
    """bf16 autocast where asked, or with "auto" on CUDA (the CPU's bf16 is not repeatable)."""
    on = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=on)
