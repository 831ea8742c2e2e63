"""Full training of an exported network: many epochs, checkpointed, resumable.

The search trains each network for a short budget; a winner deserves the recipe for
full training:

- augmentation: random crops (shifts of up to 1/8 of the side, edge pixels repeated) and
  horizontal flips, drawn on the tensor from a seeded generator (`augment` picks `crop`
  or `none` instead, for images whose mirror image is another class);
- SGD with Nesterov momentum 0.9 for networks with BatchNorm (AdamW for plain ones),
  batch 128, label smoothing 0.1, weight decay on conv and linear weights only;
- a schedule over the E epochs: linear warm-up for WARMUP_EPOCHS epochs, then cosine
  decay to zero, set at every step;
- gradient clipping at norm 2 (it guards plain networks' first steps).

Every epoch ends with a checkpoint (weights, optimizer state, history), written
atomically, and the validation accuracy. Each epoch draws its shuffle, its crops and its
dropout from generators seeded by (seed, epoch), so a run killed at any point and resumed
from its last checkpoint ends with the same weights, bit for bit on the CPU, as a run
that was never interrupted. The test split is evaluated once, at the end.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from nas_space import ArchSpec, build
from search.augment import AUGMENT_WORDS, check_augment
from search.data import Dataset
from search.device import memory_format
from search.trainer import (
    NonFiniteLossError,
    augment,
    autocast,
    evaluate,
    normalize,
    pick_device,
    seeded,
)

CHECKPOINT = "checkpoint.pt"
WARMUP_EPOCHS = 2.0
#: Optimizer, peak learning rate (batch 128) and weight decay, by whether the net has BN.
RECIPES = {"sgd": (0.1, 5e-5), "adamw": (0.002, 0.0)}
CHECK_EVERY = 16


class CheckpointError(ValueError):
    """A checkpoint that does not belong to this run; one line."""


@dataclass(frozen=True)
class FullRecipe:
    """How to train fully: epochs, batch, optimizer knobs; None picks the net's default."""

    epochs: int
    batch_size: int = 128
    lr: float | None = None
    weight_decay: float | None = None
    label_smoothing: float = 0.1
    augment: str = "crop+flip"
    grad_clip: float = 2.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: must be an integer >= 1, got {value!r}")
        if self.lr is not None and not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr: must be a positive number, got {self.lr}")
        check_augment(self.augment)

    def optimizer(self, model: nn.Module) -> tuple[str, float, float]:
        """(name, peak lr, weight decay) for `model`."""
        has_bn = any(isinstance(m, nn.modules.batchnorm._NormBase) for m in model.modules())
        name = "sgd" if has_bn else "adamw"
        lr, wd = RECIPES[name]
        return name, self.lr or lr, wd if self.weight_decay is None else self.weight_decay

    def describe(self, model: nn.Module) -> str:
        name, lr, wd = self.optimizer(model)
        opt = "SGD (Nesterov 0.9)" if name == "sgd" else "AdamW"
        crops = AUGMENT_WORDS[self.augment]
        return (f"{self.epochs} epochs, {opt}, batch {self.batch_size}, peak lr {lr:g}, "
                f"{WARMUP_EPOCHS:g}-epoch warm-up then cosine, weight decay {wd:g}, label "
                f"smoothing {self.label_smoothing:g}, {crops}, seed {self.seed}")

    def lr_at(self, peak: float, step: int, steps_per_epoch: int) -> float:
        """Linear warm-up from peak/10, then cosine to zero, at a step of the whole run."""
        total = self.epochs * steps_per_epoch
        warm = min(WARMUP_EPOCHS * steps_per_epoch, total / 2)
        if step < warm:
            return peak * (0.1 + 0.9 * step / warm)
        return peak * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))


@dataclass
class FullResult:
    """The outcome of a full run: per-epoch history and the final figures."""

    epochs: int
    val_acc: float
    test_acc: float
    seconds: float
    device: str
    history: list[dict[str, float]] = field(default_factory=list)
    resumed_from: int = 0


def make_optimizer(model: nn.Module, recipe: FullRecipe) -> torch.optim.Optimizer:
    name, lr, wd = recipe.optimizer(model)
    decay = [p for p in model.parameters() if p.dim() > 1]
    rest = [p for p in model.parameters() if p.dim() <= 1]
    groups = [{"params": decay, "weight_decay": wd}, {"params": rest, "weight_decay": 0.0}]
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    return torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True)


def _key(spec: ArchSpec, data: Dataset, recipe: FullRecipe) -> dict[str, Any]:
    """What a checkpoint must match to be resumed."""
    return {"digest": spec.digest(), "dataset": data.name, "train": len(data.train_y),
            **asdict(recipe)}


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write atomically: a kill during the write leaves the previous checkpoint intact."""
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path, key: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's state (weights_only: tensors and plain data, never arbitrary objects)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a truncated or foreign file; say so in one line
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(e).__name__}); "
                              "delete it to start over") from None
    stored = state.get("key") if isinstance(state, dict) else None
    if stored != key:
        diff = sorted(k for k in key if not isinstance(stored, dict) or stored.get(k) != key[k])
        raise CheckpointError(f"{path}: made for another run (differs in {', '.join(diff)}); "
                              "use the same options or delete it to start over")
    return state


class _Epochs:
    """The state of a full run on its device."""

    def __init__(self, model: nn.Module, data: Dataset, recipe: FullRecipe,
                 dev: torch.device) -> None:
        self.model = model.to(dev, memory_format=memory_format(dev))
        self.recipe, self.dev = recipe, dev
        self.x, self.y = data.train_x.to(dev), data.train_y.to(dev)
        self.opt = make_optimizer(self.model, recipe)
        self.peak = recipe.optimizer(self.model)[1]
        self.steps = math.ceil(len(self.y) / recipe.batch_size)
        self.params = list(self.model.parameters())

    def run_epoch(self, epoch: int, bar: tqdm) -> float:
        """One pass over the training split; returns the mean loss."""
        seed = self.recipe.seed * 1_000_003 + epoch
        gen = torch.Generator(device=self.dev).manual_seed(seed)
        order = torch.randperm(len(self.y), generator=gen, device=self.dev)
        self.model.train()
        losses = []
        with seeded(seed):
            for i, idx in enumerate(order.split(self.recipe.batch_size)):
                losses.append(self.step(idx, gen, epoch * self.steps + i))
                if (i + 1) % CHECK_EVERY == 0 or i + 1 == self.steps:
                    mean = self.check(losses, epoch, i)
                    bar.set_postfix(loss=f"{mean:.3f}", refresh=False)
                bar.update(1)
        return float(torch.stack(losses).mean())

    def step(self, idx: torch.Tensor, gen: torch.Generator, step: int) -> torch.Tensor:
        xb = self.x[idx]
        xb = augment(xb, gen, self.recipe.augment)
        for g in self.opt.param_groups:
            g["lr"] = self.recipe.lr_at(self.peak, step, self.steps)
        with autocast(self.dev):
            out = self.model(normalize(xb))
            loss = F.cross_entropy(out.float(), self.y[idx],
                                   label_smoothing=self.recipe.label_smoothing)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.recipe.grad_clip:
            nn.utils.clip_grad_norm_(self.params, self.recipe.grad_clip, foreach=True)
        self.opt.step()
        return loss.detach()

    def check(self, losses: list[torch.Tensor], epoch: int, i: int) -> float:
        recent = torch.stack(losses[-CHECK_EVERY:])
        if not bool(torch.isfinite(recent).all()):
            images = (epoch * self.steps + i + 1) * self.recipe.batch_size
            raise NonFiniteLossError(images, float(recent[~torch.isfinite(recent)][0]))
        return float(recent.mean())


def train_full(spec: ArchSpec, data: Dataset, recipe: FullRecipe, out: Path, *,
               device: str | torch.device = "auto", progress: bool = True,
               require_checkpoint: bool = False) -> tuple[nn.Module, FullResult]:
    """Train build(spec) fully, checkpointing to out/checkpoint.pt; resume if one is there."""
    dev = pick_device(device)
    path, key = out / CHECKPOINT, _key(spec, data, recipe)
    if require_checkpoint and not path.exists():
        raise CheckpointError(f"--resume: there is no checkpoint at {path}")
    with seeded(recipe.seed):
        model = build(spec)
    run = _Epochs(model, data, recipe, dev)
    state = load_checkpoint(path, key) if path.exists() else None
    start, history, seconds = 0, [], 0.0
    if state is not None:
        model.load_state_dict(state["model"])
        run.opt.load_state_dict(state["optimizer"])
        start, history, seconds = state["epoch"], state["history"], state["seconds"]
        tqdm.write(f"resuming from the checkpoint after epoch {start} of {recipe.epochs}")
    out.mkdir(parents=True, exist_ok=True)
    with tqdm(total=recipe.epochs * run.steps, initial=start * run.steps, unit="step",
              dynamic_ncols=True, disable=not progress, desc="full training") as bar:
        for epoch in range(start, recipe.epochs):
            t = time.perf_counter()
            loss = run.run_epoch(epoch, bar)
            val = evaluate(model, data.val_x, data.val_y, device=dev)
            seconds += time.perf_counter() - t
            history.append({"epoch": epoch + 1, "loss": loss, "val_acc": val})
            bar.set_postfix(loss=f"{loss:.3f}", val_acc=f"{val:.4f}")
            tqdm.write(f"epoch {epoch + 1}/{recipe.epochs}  loss {loss:.4f}  val_acc {val:.4f}")
            save_checkpoint(path, {"key": key, "epoch": epoch + 1, "history": history,
                                   "seconds": seconds, "model": model.state_dict(),
                                   "optimizer": run.opt.state_dict()})
    test = evaluate(model, data.test_x, data.test_y, device=dev)
    val = history[-1]["val_acc"] if history else float("nan")
    return model, FullResult(recipe.epochs, val, test, seconds, str(dev), history, start)


def write_result(out: Path, spec: ArchSpec, model: nn.Module, result: FullResult,
                 recipe: FullRecipe, command: str, dataset: str) -> None:
    """Put the trained weights (and the programs made from them) and the figures in the
    bundle at `out`, keeping what its card already says about where the network came from."""
    from search import bundle  # the exporters are only needed here

    card = bundle.read(out)[2] if (out / bundle.CARD).exists() else {}
    card.setdefault("dataset", dataset)
    card["training"] = {"epochs": result.epochs, "recipe": recipe.describe(model),
                        "val_acc": round(result.val_acc, 4), "test_acc": round(result.test_acc, 4),
                        "seconds": round(result.seconds, 1), "device": result.device,
                        "command": command, "history": result.history}
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    bundle.write(out, spec, state, card)
