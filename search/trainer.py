"""The short-training engine: one network, a budget of training images, a learning curve.

The whole training split lives on the device as one uint8 tensor. Each step gathers a
batch by index from a seeded permutation, augments it on the tensor (random crop by
edge-clamped shifts and horizontal flip, natural images only), converts it to float
and normalizes it on the fly, and runs in channels_last (bf16 autocast on CUDA). There
is no DataLoader and no per-sample Python. The loss is checked for NaN/inf every few
steps without a per-step device sync.

The recipe, chosen by measurement for tiny budgets (5k images to one epoch):

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

See docs/training.md for the measured effect of these choices.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from search.data import Dataset

#: The recipe of each optimizer: what a knob left at None becomes (peak lr for batch 64).
RECIPES: dict[str, dict[str, float]] = {
    "sgd": {"lr": 0.2, "weight_decay": 5e-4, "label_smoothing": 0.1},
    "adamw": {"lr": 0.003, "weight_decay": 0.0, "label_smoothing": 0.0},
}
OPTIMIZERS = ("auto", *RECIPES)
NORMS = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)
BATCHNORMS = nn.modules.batchnorm._BatchNorm
#: Evaluation batch per device type: on the CPU a batch that stays in cache measured 3.8x
#: faster than batch 1024 (8,900 against 2,350 images/s); on CUDA large batches win.
EVAL_BATCH = {"cpu": 128, "cuda": 1024}
#: Steps between two NaN/inf checks of the loss (one device sync per check).
CHECK_EVERY = 8
PRECISIONS = ("auto", "fp32", "bf16")


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite; `images_seen` says when."""

    def __init__(self, images_seen: int, value: float) -> None:
        super().__init__(f"non-finite loss ({value}) after {images_seen} training images; "
                         "lower the learning rate")
        self.images_seen = images_seen


@dataclass(frozen=True)
class TrainBudget:
    """How much to train (images seen), where to measure validation accuracy, and the recipe.

    optimizer "auto" picks SGD for networks with normalization layers and AdamW for
    networks without; lr, weight_decay and label_smoothing left at None take the
    optimizer's values in RECIPES. val_images limits the rung evaluations to the first
    images of the validation split; bn_images is how many training images re-estimate
    the BatchNorm statistics before each rung (0: never). eval_batch None picks the
    device's batch in EVAL_BATCH.
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
    augment: bool | None = None
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


def normalize(x: torch.Tensor) -> torch.Tensor:
    """uint8 pixels to float in [-1, 1], channels_last."""
    return x.float().mul_(1 / 127.5).sub_(1.0).contiguous(memory_format=torch.channels_last)


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random shifts of up to 1/8 of the side (edge pixels repeat) and horizontal flips."""
    n, _, h, w = x.shape
    pad = max(1, h // 8)
    dev = x.device
    shift = torch.randint(-pad, pad + 1, (2, n, 1), generator=gen, device=dev)
    rows = (torch.arange(h, device=dev) + shift[0]).clamp_(0, h - 1)
    cols = (torch.arange(w, device=dev) + shift[1]).clamp_(0, w - 1)
    flip = torch.rand(n, 1, generator=gen, device=dev) < 0.5
    cols = torch.where(flip, cols.flip(1), cols)
    out = x[torch.arange(n, device=dev)[:, None, None], :, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2)  # N, C, H, W in channels_last memory


def autocast(device: torch.device, precision: str = "auto") -> torch.autocast:
    """bf16 autocast where asked, or with "auto" on CUDA (the CPU's bf16 is not repeatable)."""
    on = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=on)


def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, device: str | torch.device = "auto",
    batch_size: int | None = None, precision: str = "auto",
) -> float:
    """Top-1 accuracy of the model on uint8 images x (N, C, H, W) and labels y."""
    dev = pick_device(device)
    batch_size = batch_size or EVAL_BATCH.get(dev.type, 1024)
    # Move outside inference mode: weights converted inside it could not be trained later.
    model.to(dev, memory_format=torch.channels_last).eval()
    correct = torch.zeros((), dtype=torch.long, device=dev)
    with torch.inference_mode():
        for xb, yb in zip(x.split(batch_size), y.split(batch_size), strict=True):
            with autocast(dev, precision):
                out = model(normalize(xb.to(dev, non_blocking=True)))
            correct += (out.argmax(1) == yb.to(dev, non_blocking=True)).sum()
    return correct.item() / max(1, len(y))


def recalibrate_bn(model: nn.Module, x: torch.Tensor, *, batch_size: int | None = None,
                   precision: str = "auto") -> None:
    """Precise BN (as in pycls): re-estimate BatchNorm statistics from uint8 images x.

    At a high learning rate the running averages lag far behind the weights, and a net
    evaluated with them scores much lower than it is; the rungs would mislead early stopping.
    """
    bns = [m for m in model.modules() if isinstance(m, BATCHNORMS)]
    if not bns or not len(x):
        return
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches below
    model.train()
    for m in model.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd):
            m.eval()
    with torch.no_grad(), autocast(x.device, precision):
        for xb in x.split(batch_size or EVAL_BATCH.get(x.device.type, 1024)):
            model(normalize(xb))
    for m, momentum in zip(bns, momenta, strict=True):
        m.momentum = momentum
    model.eval()


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


class _Run:
    """The state of one training run: data on the device, optimizer, generator, counters."""

    def __init__(self, model: nn.Module, data: Dataset, budget: TrainBudget, seed: int,
                 dev: torch.device) -> None:
        self.model = model.to(dev, memory_format=torch.channels_last)
        self.budget, self.dev = budget, dev
        self.x = data.train_x.to(dev)
        self.y = data.train_y.to(dev)
        n_val = budget.val_images or len(data.val_y)
        self.val_x, self.val_y = data.val_x[:n_val].to(dev), data.val_y[:n_val].to(dev)
        self.augment = data.natural if budget.augment is None else budget.augment
        self.gen = torch.Generator(device=dev).manual_seed(seed)
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
        if self.augment:
            xb = augment(xb, self.gen)
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

    The model is moved to the device (channels_last) and left there in eval mode. Dropout
    draws from the global RNG seeded with `seed` inside the call and restored after it.
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
            recalibrate_bn(model, run.x[: budget.bn_images], batch_size=budget.eval_batch,
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
