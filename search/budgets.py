"""Named training budgets (fidelities): epochs of the user's data, with a floor of steps.

A budget is resolved against the training split: it trains for `epochs` passes or
`min_steps` steps of `batch` images, whichever is more, and never less than `images`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from nas_space.registry import Registry
from search.recipe import TrainBudget

#: The training batch the budgets count steps in (the recipe's, search.recipe.TrainBudget).
BATCH = 64
#: The floor of the default budget: one epoch of a small dataset is too few steps for the
#: schedule to warm up and decay (docs/training.md).
MIN_STEPS = 300


@dataclass(frozen=True)
class Fidelity:
    """How long a trial trains, how often it is measured, and on how many validation images.

    Rungs sit at images / 2^k (k = rungs-1 .. 0). Spacing them by 2 rather than by eta
    keeps the first rung near the end of the learning-rate warm-up (15 % of the budget),
    where accuracy starts to rank models; deeper in the warm-up it is mostly noise (seen
    in development: a trial at 0.10 at images / 9 ended at 0.83, its study's best). The
    default budget's first rung sits at 1/8 of its images: 1/8 of an epoch on a split of
    at least 300 steps. Whether its rungs rank networks as long training does is measured
    by bench.fidelity (docs/RESULTS.md)."""

    images: int = 0
    rungs: int = 3
    val_images: int = 5000
    about: str = ""
    spacing: float = 2.0
    epochs: float = 0.0
    min_steps: int = 0

    def images_for(self, n_train: int, batch: int = BATCH) -> int:
        """Training images for a split of n_train images: the most of `images`, `epochs`
        passes and `min_steps` steps of `batch`."""
        return max(self.images, round(self.epochs * n_train), self.min_steps * batch, 1)

    def resolve(self, n_train: int, batch: int = BATCH) -> Fidelity:
        """This budget as a fixed number of images for a split of n_train images."""
        return replace(self, images=self.images_for(n_train, batch), epochs=0.0, min_steps=0)

    def train_budget(self, n_train: int, n_val: int, batch: int = BATCH) -> TrainBudget:
        """What a trial trains for on a split of n_train training and n_val validation
        images: this budget's images, rungs spaced by `spacing`, validated on at most
        `val_images`."""
        return TrainBudget.spread(self.images_for(n_train, batch), self.rungs,
                                  factor=self.spacing, val_images=min(self.val_images, n_val))

    def rule(self) -> str:
        """The budget in words, e.g. "1 epoch or 300 steps, whichever is more"."""
        parts = [f"{self.epochs:g} epoch{'s' * (self.epochs != 1)}" if self.epochs else "",
                 f"{self.min_steps:,} steps" if self.min_steps else "",
                 f"{self.images:,} images" if self.images else ""]
        parts = [p for p in parts if p]
        return parts[0] if len(parts) == 1 else " or ".join(parts) + ", whichever is more"

    def describe(self, n_train: int, batch: int = BATCH) -> str:
        """What a trial gets on a split of n_train images, in images, epochs and steps."""
        images = self.images_for(n_train, batch)
        return (f"{images:,} training images = {images / n_train:.2f} epochs of {n_train:,} "
                f"= {-(-images // batch):,} steps of {batch}")


BUDGETS: Registry[Fidelity] = Registry("budget")
BUDGETS.register("smoke")(Fidelity(600, 2, 500, "seconds a trial; for tests on digits"))
BUDGETS.register("short")(Fidelity(6_000, 2, 5000, "a quick look at a space"))
BUDGETS.register("default")(Fidelity(0, 4, 5000, "the default search fidelity",
                                     epochs=1, min_steps=MIN_STEPS))
BUDGETS.register("long")(Fidelity(0, 3, 10_000, "", epochs=3, min_steps=3 * MIN_STEPS))
BUDGETS.register("full")(Fidelity(0, 4, 10_000, "for finalists", epochs=5,
                                  min_steps=5 * MIN_STEPS))


def parse_budget(text: str) -> Fidelity:
    """A named budget, or an explicit number of training images (e.g. 20000 or 20k)."""
    t = text.strip().lower()
    if t in BUDGETS:
        return BUDGETS[t]
    scale = 1000 if t.endswith("k") else 1
    try:
        images = int(float(t.rstrip("k")) * scale)
    except ValueError:
        raise ValueError(f"--budget: {text!r} is neither a number of images nor one of "
                         f"{', '.join(BUDGETS.names())}") from None
    if images < 1:
        raise ValueError(f"--budget: must be at least 1 image, got {text!r}")
    return Fidelity(images, 3 if images >= 9 else 1, 5000 if images >= 5000 else 2000)
