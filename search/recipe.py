"""The short-training recipe: the budget in images, the optimizer and the learning-rate schedule.

The recipe, chosen by measurement for tiny budgets (from 5k images to a few epochs):

- The optimizer follows the network. With BatchNorm: SGD, Nesterov momentum 0.9, peak
  lr 0.2, label smoothing 0.1, weight decay 5e-4 (not on biases or norm weights).
  Without any normalization layer (plain SqueezeNet): AdamW at 3e-3, no smoothing or
  decay. A plain deep net is badly conditioned: Adam's per-weight steps train it to
  0.74 in 20k images where SGD at 0.02-0.1 stays below 0.5 (Fashion-MNIST,
  squeezenet1_1 x0.25); on BN nets SGD beats AdamW (0.83 against 0.80).
- Batch 64: at these budgets more steps beat larger batches, and on a small CPU a
  batch that stays in cache is no slower per image.
- One-cycle schedule counted in images seen: linear warm-up from 0.1x over the first
  15 % of the budget, then linear decay to zero. The schedule spans the whole budget,
  so an early-stopped run is a prefix of the full one and its rungs compare.
- Gradient clipping at norm 2 guards the first steps of nets without BatchNorm.
- Precise BN before each rung: the statistics are re-estimated on 1024 training
  images; the running averages lag the weights at a high learning rate and scored a
  net 0.27 that was 0.61, which would mislead early stopping.
- Precision "auto": bf16 autocast on CUDA, fp32 on the CPU. On an AVX512-BF16 CPU bf16
  trains faster at about the same accuracy, but oneDNN's bf16 kernels are not
  deterministic (MobileNet v2 repeats with one seed differ), so it is opt-in there
  (`precision="bf16"`).
- Inputs scaled to [-1, 1] (x / 127.5 - 1): a fixed normalization that needs no
  dataset statistics, so `evaluate` and exported models need nothing but the pixels.

The choices and the measurements behind them are in docs/training.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from itertools import pairwise

import torch
from torch import nn

from search.augment import AUGMENTS
from search.device import PRECISIONS

#: The recipe of each optimizer: what a knob left at None becomes (peak lr for batch 64).
RECIPES: dict[str, dict[str, float]] = {
    "sgd": {"lr": 0.2, "weight_decay": 5e-4, "label_smoothing": 0.1},
    "adamw": {"lr": 0.003, "weight_decay": 0.0, "label_smoothing": 0.0},
}
OPTIMIZERS = ("auto", *RECIPES)
NORMS = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)


@dataclass(frozen=True)
class TrainBudget:
    """How much to train (images seen), where to measure validation accuracy, and the recipe.

    optimizer "auto" picks SGD for networks with normalization layers and AdamW for
    networks without; lr, weight_decay and label_smoothing left at None take the
    optimizer's values in RECIPES. val_images limits the rung evaluations to the first
    images of the validation split; bn_images is how many training images re-estimate
    the BatchNorm statistics before each rung (0: never). eval_batch None picks the
    device's batch in search.evaluation.EVAL_BATCH. augment None takes the
    dataset's default (`Dataset.augment`).
    """

    images: int
    rungs: tuple[int, ...] = ()
    batch_size: int = 64
    optimizer: str = "auto"
    lr: float | None = None
    momentum: float = 0.9
    weight_decay: float | None = None
    label_smoothing: float | None = None
    warmup: float = 0.15
    grad_clip: float = 2.0
    augment: str | None = None
    val_images: int | None = None
    eval_batch: int | None = None
    bn_images: int = 1024
    precision: str = "auto"

    def __post_init__(self) -> None:
        for name, low in (("images", 1), ("batch_size", 1), ("eval_batch", 1),
                          ("val_images", 1), ("bn_images", 0)):
            if getattr(self, name) is not None:
                _check_int(name, getattr(self, name), low)
        object.__setattr__(self, "rungs", tuple(self.rungs) or (self.images,))
        for r in self.rungs:
            _check_int("rungs", r, 1)
        if any(a >= b for a, b in pairwise(self.rungs)) or self.rungs[-1] != self.images:
            raise ValueError(f"rungs: must increase and end at images={self.images}, "
                             f"got {self.rungs}")
        if self.augment is not None and self.augment not in AUGMENTS:
            raise ValueError(f"augment: must be one of {', '.join(AUGMENTS)}, "
                             f"got {self.augment!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision: must be one of {', '.join(PRECISIONS)}, "
                             f"got {self.precision!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer: must be one of {', '.join(OPTIMIZERS)}, "
                             f"got {self.optimizer!r}")
        for name, high in (("lr", math.inf), ("momentum", 1.0), ("weight_decay", 1.0),
                           ("label_smoothing", 1.0), ("warmup", 1.0), ("grad_clip", math.inf)):
            value = getattr(self, name)
            if value is None and name in RECIPES["sgd"]:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not math.isfinite(value) or not 0 <= value < high:
                raise ValueError(f"{name}: must be a finite number in [0, {high}), got {value!r}")
        if self.lr == 0:
            raise ValueError("lr: must be > 0, got 0")

    @classmethod
    def spread(cls, images: int, n_rungs: int = 3, factor: float = 2.0,
               **knobs: object) -> TrainBudget:
        """A budget whose rungs are geometrically spaced: images / factor**k, ..., images."""
        _check_int("images", images, 1)
        _check_int("n_rungs", n_rungs, 1)
        if not factor > 1:
            raise ValueError(f"factor: must be > 1, got {factor}")
        rungs = sorted({max(1, round(images / factor**k)) for k in range(n_rungs)})
        return cls(images, tuple(rungs), **knobs)  # type: ignore[arg-type]

    def resolve(self, model: nn.Module) -> TrainBudget:
        """This budget with optimizer "auto" and the None knobs made concrete for `model`."""
        opt = self.optimizer
        if opt == "auto":
            opt = "sgd" if any(isinstance(m, NORMS) for m in model.modules()) else "adamw"
        knobs = {k: v if getattr(self, k) is None else getattr(self, k)
                 for k, v in RECIPES[opt].items()}
        return replace(self, optimizer=opt, **knobs)

    def lr_at(self, seen: int) -> float:
        """The one-cycle learning rate after `seen` training images (linear up, linear down)."""
        peak = self.lr if self.lr is not None else RECIPES["sgd"]["lr"]
        t = seen / self.images
        if t < self.warmup:
            return peak * (0.1 + 0.9 * t / self.warmup)
        return peak * max(0.0, 1 - t) / max(1e-12, 1 - self.warmup)


def _check_int(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name}: must be an integer >= {low}, got {value!r}")


def make_optimizer(model: nn.Module, budget: TrainBudget) -> torch.optim.Optimizer:
    """The recipe's optimizer; weight decay skips biases and norm weights (1-d tensors)."""
    budget = budget.resolve(model)
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() > 1]
    rest = [p for p in model.parameters() if p.requires_grad and p.dim() <= 1]
    groups = [{"params": decay, "weight_decay": budget.weight_decay},
              {"params": rest, "weight_decay": 0.0}]
    if budget.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=budget.lr_at(0), betas=(budget.momentum, 0.999))
    return torch.optim.SGD(groups, lr=budget.lr_at(0), momentum=budget.momentum,
                           nesterov=budget.momentum > 0)


