"""Training throughput: this project's engine against the tutorial DataLoader loop.

    python -m bench.train_throughput [--images 1536] [--repeats 7]

Both loops train the same network (squeezenet1_1 at width 0.25, small-input variant,
with BatchNorm, 4.3 MFLOPs) from the same init on the same Fashion-MNIST images with
the same optimizer (SGD, Nesterov momentum 0.9). The tutorial loop is the one from
PyTorch's quickstart: a Dataset that turns each sample into a PIL image and applies
ToTensor and Normalize, a DataLoader with batch 64, NCHW tensors. The engine keeps
the images as one uint8 tensor, gathers, normalizes and runs each batch in
the CPU's layout (search.device.memory_format). Each rate is the median of `--repeats`
short runs taken in turn, so that a busy moment of a shared machine slows all loops alike.
The same run measures the fp32 sgemm peak (torch.mm of 2048x2048 matrices) and the
seconds a search trial costs at three budgets. The figures go to docs/RESULTS.md.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import replace

import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader
from torchvision import transforms

from bench.results import machine, write_section
from nas_space import ArchSpec, build, cost, get_preset
from search.config import cpu_cores
from search.data import Dataset, load_dataset
from search.device import memory_format
from search.trainer import TrainBudget, make_optimizer, seeded, train

TUTORIAL_BATCH = 64
#: Validation images of the engine's single-threaded runs: one batch, as the tutorial
#: loop validates nothing.
LAYOUT_VAL = 64
#: The engine's layout on the CPU, as the table names it.
LAYOUT = ("channels_last" if memory_format(torch.device("cpu")) == torch.channels_last
          else "NCHW")


class TutorialSet(torch.utils.data.Dataset):
    """torchvision's MNIST-style dataset: each sample becomes a PIL image, then a tensor."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x[:, 0].numpy(), y.tolist()
        self.transform = transforms.Compose([transforms.ToTensor(),
                                             transforms.Normalize((0.5,), (0.5,))])

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(Image.fromarray(self.x[i], mode="L")), self.y[i]


def tutorial_rate(model: nn.Module, data: Dataset, budget: TrainBudget, seed: int) -> float:
    """Images per second of the quickstart loop (per-sample transforms, DataLoader, NCHW)."""
    n = budget.images
    loader = DataLoader(TutorialSet(data.train_x[:n], data.train_y[:n]), batch_size=TUTORIAL_BATCH,
                        shuffle=True, generator=torch.Generator().manual_seed(seed))
    opt = make_optimizer(model, budget)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    start = time.perf_counter()
    with seeded(seed):
        for batch, (x, y) in enumerate(loader):
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()
            if batch % 100 == 0:
                loss.item()  # the tutorial prints the loss every 100 batches
    return n / (time.perf_counter() - start)


def loader_rate(model: nn.Module, data: Dataset, budget: TrainBudget, seed: int) -> float:
    """Images per second of the tutorial's data path alone (no model)."""
    n = budget.images
    loader = DataLoader(TutorialSet(data.train_x[:n], data.train_y[:n]), batch_size=TUTORIAL_BATCH,
                        shuffle=True, generator=torch.Generator().manual_seed(seed))
    start = time.perf_counter()
    for _ in loader:
        pass
    return n / (time.perf_counter() - start)


def engine_rate(model: nn.Module, data: Dataset, budget: TrainBudget, seed: int) -> float:
    """Images per second of search.trainer's training steps."""
    return train(model, data, budget, seed=seed, device="cpu").images_per_s


RateFn = Callable[[nn.Module, Dataset, TrainBudget, int], float]


def _layout_worker(fn: RateFn, spec: ArchSpec, data: Dataset, budget: TrainBudget, seed: int,
                   barrier: mp.synchronize.Barrier, out: mp.Queue) -> None:
    """One single-threaded process of a layout run: (start, end) of its training."""
    torch.set_num_threads(1)
    with seeded(seed):
        model = build(spec)
    barrier.wait()
    start = time.monotonic()
    fn(model, data, budget, seed)
    out.put((start, time.monotonic()))


def layout_rate(fn: RateFn, spec: ArchSpec, data: Dataset, budget: TrainBudget, seed: int,
                procs: int) -> float:
    """Images per second of `procs` single-threaded processes training at once, each its own
    copy of the network (how the search runs its workers)."""
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(procs), ctx.Queue()
    workers = [ctx.Process(target=_layout_worker, args=(fn, spec, data, budget, seed + i,
                                                         barrier, out)) for i in range(procs)]
    for w in workers:
        w.start()
    spans = [out.get() for _ in workers]
    for w in workers:
        w.join()
    wall = max(e for _, e in spans) - min(s for s, _ in spans)
    return procs * budget.images / wall


def sgemm_peak(n: int = 2048, reps: int = 5) -> float:
    """The best fp32 matrix-multiply rate in GFLOP/s (2 n^3 flops per product)."""
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(n, n, generator=gen), torch.randn(n, n, generator=gen)
    torch.mm(a, b)
    best = 0.0
    for _ in range(reps):
        start = time.perf_counter()
        torch.mm(a, b)
        best = max(best, 2 * n**3 / (time.perf_counter() - start) / 1e9)
    return best


def trial_seconds(spec: ArchSpec, data: Dataset, images: int, val_images: int) -> float:
    """Wall seconds of one search trial: build, then train with 3 rungs on val_images."""
    start = time.perf_counter()
    with seeded(0):
        model = build(spec)
    train(model, data, TrainBudget.spread(images, 3, val_images=val_images), seed=0, device="cpu")
    return time.perf_counter() - start


def measure(args: argparse.Namespace) -> str:
    """Run every measurement and return the markdown section."""
    load = os.getloadavg()[0]
    full = load_dataset("fashion-mnist")
    data = replace(full, val_x=full.val_x[:256], val_y=full.val_y[:256])
    spec = replace(get_preset("squeezenet1_1", in_channels=1, input_size=28, num_classes=10,
                              width=0.25), bn=True)
    macs = cost(spec).macs
    budget = TrainBudget(args.images, optimizer="sgd", lr=0.05, batch_size=TUTORIAL_BATCH)
    engine = replace(budget, batch_size=args.batch_size)
    loops = (("engine", engine_rate, engine), ("tutorial", tutorial_rate, budget),
             ("loader", loader_rate, budget))
    rates: dict[str, list[float]] = {name: [] for name, _, _ in loops}
    for r in range(args.repeats + 1):  # the first round warms up and is dropped
        for name, fn, b in loops:
            with seeded(0):
                model = build(spec)
            rate = fn(model, data, b, r)
            if r:
                rates[name].append(rate)
    layouts = measure_layouts(spec, data, engine, budget, args.repeats)
    peak = sgemm_peak()
    trials = [(n, trial_seconds(spec, full, n, args.val_images)) for n in (5000, 10_000, 20_000)]
    args.load = (load, os.getloadavg()[0])
    return report(args, macs, rates, layouts, peak, trials)


def measure_layouts(spec: ArchSpec, data: Dataset, engine: TrainBudget, tutorial: TrainBudget,
                    repeats: int) -> dict[str, float]:
    """Both loops as one single-threaded process and as one such process per core (the
    search's worker layout): medians of `repeats` runs, images/s summed over processes.
    The wall time spans each whole call, so the engine skips precise BN and validates on
    one batch (LAYOUT_VAL images) here: both loops then time their training alone."""
    procs = cpu_cores()
    engine = replace(engine, bn_images=0, val_images=LAYOUT_VAL)
    rates: dict[str, list[float]] = {}
    for r in range(repeats):
        for loop, fn, b in (("engine", engine_rate, engine), ("tutorial", tutorial_rate, tutorial)):
            for n in (1, procs):
                rates.setdefault(f"{loop} {n}", []).append(layout_rate(fn, spec, data, b, r, n))
    return {k: statistics.median(v) for k, v in rates.items()}


def report(args: argparse.Namespace, macs: int, rates: dict[str, list[float]],
           layouts: dict[str, float], peak: float, trials: list[tuple[int, float]]) -> str:
    """The markdown section."""
    med = {k: statistics.median(v) for k, v in rates.items()}
    engine, tutorial = med["engine"], med["tutorial"]
    achieved = engine * 3 * macs * 2 / 1e9
    runs = {k: ", ".join(f"{v:.0f}" for v in vs) for k, vs in rates.items()}
    data_us = 1e6 / med["loader"]
    lines = [
        "## Training throughput (`python -m bench.train_throughput`)",
        "",
        f"squeezenet1_1 x0.25 with BN, 1x28x28 Fashion-MNIST, {macs / 1e6:.2f} MFLOPs "
        "(multiply-adds); "
        f"{args.images} training images per run, median of {args.repeats} runs; {machine()}; "
        f"load average {args.load[0]:.1f} at the start, {args.load[1]:.1f} at the end.",
        "",
        "| loop | images/s | runs |",
        "|---|---|---|",
        f"| search.trainer (uint8 tensor, {LAYOUT}, batch {args.batch_size}) | {engine:.0f} "
        f"| {runs['engine']} |",
        f"| tutorial (PIL + ToTensor + Normalize, DataLoader, NCHW, batch {TUTORIAL_BATCH}) "
        f"| {tutorial:.0f} | {runs['tutorial']} |",
        "",
        f"Speed-up: **{engine / tutorial:.2f}x**. "
        f"The engine achieves {achieved:.1f} GFLOP/s "
        f"(3 x forward MACs x 2 per image) against an fp32 sgemm peak of {peak:.0f} GFLOP/s "
        f"measured in the same run ({100 * achieved / peak:.0f} % of peak). The tutorial's "
        f"data path alone (PIL, ToTensor, Normalize, collation) costs {data_us:.0f} µs an "
        f"image, {100 * tutorial / med['loader']:.0f} % of its time: for this model both "
        "loops are bound by the network's own compute.",
        "",
        "Single-threaded processes (wall time around each loop, images/s summed over the "
        f"processes; median of {args.repeats}; the engine without precise BN and with "
        f"{LAYOUT_VAL} validation images, so that both loops time their training alone):",
        "",
        "| processes | engine | tutorial | ratio |",
        "|---|---|---|---|",
        *(f"| {n} | {layouts[f'engine {n}']:.0f} | {layouts[f'tutorial {n}']:.0f} "
          f"| {layouts[f'engine {n}'] / layouts[f'tutorial {n}']:.2f}x |"
          for n in sorted({int(k.split()[1]) for k in layouts})),
        "",
        "The search runs one such process per core (`--jobs auto`), so its machine-wide rate "
        "is the last row's engine figure.",
        "",
        "Seconds per search trial (build + train + 3 validation rungs on "
        f"{args.val_images} images):",
        "",
        "| budget (images) | seconds |",
        "|---|---|",
        *(f"| {n:,} | {s:.1f} |" for n, s in trials),
    ]
    return "\n".join(lines)


def main() -> None:
    """Measure, print and record."""
    p = argparse.ArgumentParser(prog="python -m bench.train_throughput",
                                description=(__doc__ or "").split("\n")[0])
    p.add_argument("--images", type=int, default=1536, help="training images per run")
    p.add_argument("--repeats", type=int, default=7, help="runs per loop (median)")
    p.add_argument("--batch-size", type=int, default=TrainBudget.batch_size, help="engine batch")
    p.add_argument("--val-images", type=int, default=5000, help="validation images per rung")
    p.add_argument("--no-write", action="store_true", help="print only; leave docs/RESULTS.md")
    args = p.parse_args()
    text = measure(args)
    print(text)
    if not args.no_write:
        print(f"wrote {write_section('train_throughput', text)}")


if __name__ == "__main__":
    main()
