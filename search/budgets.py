"""Named training budgets (fidelities), counted in training images seen."""

from __future__ import annotations

from dataclasses import dataclass

from nas_space.registry import Registry


@dataclass(frozen=True)
class Fidelity:
    """How long a trial trains, how often it is measured, and on how many validation images.

    Rungs sit at images / 2^k (k = rungs-1 .. 0). Spacing them by 2 rather than by eta
    keeps the first rung near the end of the learning-rate warm-up (15 % of the budget),
    where accuracy starts to rank models; deeper in the warm-up it is mostly noise (seen
    in development: a trial at 0.10 at images / 9 ended at 0.83, its study's best). The
    default budget's first rung, at 1/8 of an epoch, is the cheapest filter for which
    200 trials fit in half an hour (docs/RESULTS.md)."""

    images: int
    rungs: int = 3
    val_images: int = 5000
    about: str = ""
    spacing: float = 2.0


BUDGETS: Registry[Fidelity] = Registry("budget")
BUDGETS.register("smoke")(Fidelity(600, 2, 500, "seconds a trial; for tests on digits"))
BUDGETS.register("short")(Fidelity(6_000, 2, 5000, "a quick look at a space"))
BUDGETS.register("default")(Fidelity(50_000, 4, 5000, "one epoch of the 50k split; the "
                                                     "default search fidelity"))
BUDGETS.register("long")(Fidelity(150_000, 3, 10_000, "three epochs"))
BUDGETS.register("full")(Fidelity(250_000, 4, 10_000, "five epochs; for finalists"))


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
