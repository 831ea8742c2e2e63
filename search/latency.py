"""Measured forward latency of one image on the current device (an optional objective)."""

from __future__ import annotations

import statistics
import time

import torch

from nas_space import ArchSpec
from search.device import memory_format


def latency_ms(model: torch.nn.Module, spec: ArchSpec, device: torch.device,
               repeats: int = 20) -> float:
    """Median milliseconds of a batch-1 forward pass in eval mode, after warm-up."""
    x = torch.zeros(1, spec.in_channels, spec.input_size, spec.input_size, device=device)
    x = x.contiguous(memory_format=memory_format(device))  # the layout the trainer uses
    was_training = model.training
    model.eval()
    times = []
    with torch.inference_mode():
        for i in range(repeats + 3):
            start = time.perf_counter()
            model(x)
            if device.type == "cuda":
                torch.cuda.synchronize()
            if i >= 3:
                times.append((time.perf_counter() - start) * 1e3)
    model.train(was_training)
    return round(statistics.median(times), 4)
