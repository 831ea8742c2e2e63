"""search.latency: a measured batch-1 forward time, in the layout the trainer uses."""

from __future__ import annotations

import torch

from nas_space import build, get_preset
from search.device import memory_format
from search.latency import latency_ms


def test_latency_times_the_net_in_the_trainers_layout_and_restores_its_mode() -> None:
    spec = get_preset("squeezenet1_1", in_channels=3, input_size=28, num_classes=10,
                      width=0.125)
    model, device, layouts = build(spec), torch.device("cpu"), []
    model.register_forward_pre_hook(lambda _, args: layouts.append(
        args[0].is_contiguous(memory_format=memory_format(device))))
    model.train()  # 3 channels: one layout's tensor is not contiguous in the other
    ms = latency_ms(model, spec, device, repeats=5)
    assert ms > 0 and model.training
    assert len(layouts) == 5 + 3 and all(layouts)  # 3 warm-up passes, then the timed ones
