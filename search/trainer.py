"""The short-training engine: one network, a budget of training images, a learning curve.

The whole training split lives on the device as one uint8 tensor. Each step gathers a
batch by index from a seeded permutation, augments it on the tensor (the budget's
`augment`, else the dataset's default: none, crop, or crop+flip), converts it to float
and normalizes it on the fly, and runs in channels_last on CUDA (with bf16 autocast). There
is no DataLoader and no per-sample Python. The loss is checked for NaN/inf every few
steps without a per-step device sync.

The recipe (optimizer, schedule, budget knobs) is in search.recipe; evaluation and precise
BN in search.evaluation; augmentation in search.augment. This module re-exports them.

See docs/training.md for the measured effect of these choices.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from search.augment import augment, normalize
from search.data import Dataset
from search.device import autocast, memory_format, pick_device, seeded
from search.evaluation import evaluate, recalibrate_bn
from search.recipe import RECIPES, TrainBudget, make_optimizer

__all__ = [
    "RECIPES", "NonFiniteLossError", "TrainBudget", "TrainResult", "augment", "autocast",
    "evaluate", "make_optimizer", "normalize", "pick_device", "recalibrate_bn", "seeded",
    "train",
]

#: Steps between two NaN/inf checks of the loss (one device sync per check).
CHECK_EVERY = 8


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite; `images_seen` says when."""

    def __init__(self, images_seen: int, value: float) -> None:
        super().__init__(f"non-finite loss ({value}) after {images_seen} training images; "
                         "lower the learning rate")
        self.images_seen = images_seen



@dataclass
class TrainResult:
    """The learning curve and the cost of one run (train_seconds: all of it, with the rung
    evaluations; images_per_s: the training steps only)."""

    rungs: list[tuple[int, float]] = field(default_factory=list)
    train_seconds: float = 0.0
    images_per_s: float = 0.0
    stopped: bool = False
    device: str = "cpu"
    eval_seconds: float = 0.0
    optimizer: str = ""
    lr: float = 0.0

    @property
    def val_acc(self) -> float:
        """The validation accuracy at the last rung reached."""
        return self.rungs[-1][1] if self.rungs else float("nan")


class _Run:
    """The state of one training run: data on the device, optimizer, generator, counters."""

    def __init__(self, model: nn.Module, data: Dataset, budget: TrainBudget, seed: int,
                 dev: torch.device) -> None:
        self.model = model.to(dev, memory_format=memory_format(dev))
        self.budget, self.dev = budget, dev
        self.x = data.train_x.to(dev)
        self.y = data.train_y.to(dev)
        n_val = budget.val_images or len(data.val_y)
        self.val_x, self.val_y = data.val_x[:n_val].to(dev), data.val_y[:n_val].to(dev)
        self.augment = budget.augment or data.augment
        self.gen = torch.Generator(device=dev).manual_seed(seed)
        # Precise BN's images: a seeded random sample, since a user's folder lists its
        # images class by class and its first images would be a few classes only.
        sample = torch.randperm(len(self.y), generator=torch.Generator().manual_seed(seed))
        self.bn_x = self.x[sample[: budget.bn_images].to(dev)]
        self.opt = make_optimizer(model, budget)
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.seen, self.order, self.pos = 0, torch.empty(0, dtype=torch.long, device=dev), 0
        self.losses: list[tuple[int, torch.Tensor]] = []
        self.step_seconds = 0.0

    def batch_indices(self, size: int) -> torch.Tensor:
        """The next `size` indices of the seeded shuffle; a new permutation each epoch."""
        parts = []
        while size > 0:
            if self.pos >= len(self.order):
                self.order = torch.randperm(len(self.y), generator=self.gen, device=self.dev)
                self.pos = 0
            take = min(size, len(self.order) - self.pos)
            parts.append(self.order[self.pos : self.pos + take])
            self.pos, size = self.pos + take, size - take
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def step(self, size: int) -> None:
        """One optimizer step on the next `size` images."""
        idx = self.batch_indices(size)
        xb = self.x[idx]
        xb = augment(xb, self.gen, self.augment)
        for g in self.opt.param_groups:
            g["lr"] = self.budget.lr_at(self.seen)
        with autocast(self.dev, self.budget.precision):
            out = self.model(normalize(xb))
            loss = F.cross_entropy(out.float(), self.y[idx],
                                   label_smoothing=self.budget.label_smoothing)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.budget.grad_clip:
            nn.utils.clip_grad_norm_(self.params, self.budget.grad_clip, foreach=True)
        self.opt.step()
        self.seen += size
        self.losses.append((self.seen, loss.detach()))

    def check_loss(self) -> float:
        """Raise NonFiniteLossError if a pending loss is NaN/inf; return their mean."""
        if not self.losses:
            return float("nan")
        values = torch.stack([v for _, v in self.losses])
        finite = torch.isfinite(values)
        if not bool(finite.all()):
            first = int((~finite).nonzero()[0, 0])
            raise NonFiniteLossError(self.losses[first][0], float(values[first]))
        self.losses.clear()
        return float(values.mean())


def train(
    model: nn.Module, data: Dataset, budget: TrainBudget, *, seed: int,
    device: str | torch.device = "auto", on_rung: Callable[[int, float], bool] | None = None,
    progress: bool = False,
) -> TrainResult:
    """Train `model` on `data` for `budget.images` images; measure val accuracy at each rung.

    The model is moved to the device (in its layout: search.device) and left there in eval
    mode. Dropout draws from the global RNG seeded with `seed` inside the call and restored
    after it.
    """
    dev = pick_device(device)
    start = time.perf_counter()
    budget = budget.resolve(model)
    run = _Run(model, data, budget, seed, dev)
    result = TrainResult(device=str(dev), optimizer=budget.optimizer, lr=float(budget.lr or 0))
    with seeded(seed), tqdm(total=budget.images, unit="img", unit_scale=True,
                            dynamic_ncols=True, disable=not progress) as bar:
        for rung in budget.rungs:
            _train_until(run, rung, bar)
            t = time.perf_counter()
            recalibrate_bn(model, run.bn_x, batch_size=budget.eval_batch,
                           precision=budget.precision)
            acc = evaluate(model, run.val_x, run.val_y, device=dev, batch_size=budget.eval_batch,
                           precision=budget.precision)
            result.eval_seconds += time.perf_counter() - t
            result.rungs.append((run.seen, acc))
            bar.set_postfix(val_acc=f"{acc:.4f}")
            if on_rung is not None and on_rung(run.seen, acc) is False:
                result.stopped = True
                break
    result.train_seconds = time.perf_counter() - start
    result.images_per_s = run.seen / max(run.step_seconds, 1e-9)
    return result


def _train_until(run: _Run, target: int, bar: tqdm) -> None:
    """Train up to exactly `target` images seen (the last batch is cut at the rung)."""
    run.model.train()
    t = time.perf_counter()
    steps = 0
    while run.seen < target:
        size = min(run.budget.batch_size, target - run.seen)
        run.step(size)
        steps += 1
        if steps % CHECK_EVERY == 0 or run.seen == target:
            loss = run.check_loss()
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
        bar.update(size)
    if run.dev.type == "cuda":
        torch.cuda.synchronize(run.dev)
    run.step_seconds += time.perf_counter() - t
