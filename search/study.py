"""Creating, resuming and checking studies; samplers; which trials count."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import optuna
from optuna.samplers import BaseSampler, GridSampler
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from nas_space import Space
from search import records as R
from search.budgets import Fidelity
from search.config import RunConfig
from search.storage import ROOT

#: Study attributes that must agree when a study is resumed.
FIXED_ATTRS = (R.SPACE, R.DATASET, R.OBJECTIVES, R.BUDGET, R.AUGMENT, R.IMAGE_SIZE)


class StudyError(Exception):
    """A study that cannot be resumed with these options (one-line message)."""


class QuietGrid(GridSampler):
    """GridSampler that leaves stopping to the caller (ask/tell has no study.stop())."""

    def after_trial(self, study: optuna.Study, trial: Any, state: Any, values: Any) -> None:
        return None


def make_sampler(cfg: RunConfig, space: Space, *, worker: bool = False) -> BaseSampler:
    """The sampler named in the config, seeded (workers get their own seed)."""
    seed = cfg.seed + (os.getpid() if worker else 0)
    if cfg.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True,
                                          n_startup_trials=10)
    if cfg.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=20)
    if cfg.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    grid = {}
    for name, values in cfg.grid.items():
        if name not in space.axes_by_name:
            raise ValueError(f"[grid] {name}: not an axis of space {space.name!r}")
        grid[name] = [space.axes_by_name[name].check(v) for v in values]
    return QuietGrid(grid, seed=seed)


def open_study(cfg: RunConfig, storage: BaseStorage, space: Space, fid: Fidelity, *,
               command: str, worker: bool = False, augment: str | None = None) -> optuna.Study:
    """Create the study or load it, refusing to mix spaces, datasets, objectives, budgets,
    augmentations or image sizes; `augment` is the one in force (the dataset's default
    when cfg.augment is None)."""
    study = optuna.create_study(
        study_name=cfg.study_name, storage=storage, directions=cfg.directions,
        sampler=make_sampler(cfg, space, worker=worker), load_if_exists=True)
    wanted = {R.SPACE: cfg.space, R.DATASET: cfg.dataset, R.OBJECTIVES: list(cfg.objectives),
              R.BUDGET: fid.images, R.AUGMENT: augment or cfg.augment,
              R.IMAGE_SIZE: cfg.image_size}
    stored = study.user_attrs
    for key in FIXED_ATTRS:
        if key in stored and stored[key] != wanted[key]:
            raise StudyError(
                f"study {cfg.study_name!r} was made with {key} {stored[key]!r}, not "
                f"{wanted[key]!r}; use --study NAME for a new study")
    if not stored:
        for key, value in {**wanted, R.DIRECTIONS: cfg.directions, R.SAMPLER: cfg.sampler,
                           R.SEED: cfg.seed, R.COMMAND: command,
                           R.CONSTRAINTS: {"max_mflops": cfg.max_mflops,
                                           "max_params": cfg.max_params}}.items():
            study.set_user_attr(key, value)
    return study


def counted_trials(study: optuna.Study) -> int:
    """Searched architectures evaluated: trained fully or stopped early."""
    return sum(map(_counts, study.get_trials(
        deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))))


def places(study: optuna.Study, run: str, below: int | None = None) -> tuple[int, int]:
    """(counted trials, trials that run `run` has in flight), read in one snapshot; with
    `below`, only the trials in flight numbered below it."""
    done = flying = 0
    for t in study.get_trials(deepcopy=False, states=(
            TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)):
        if t.state != TrialState.RUNNING:
            done += _counts(t)
        elif t.user_attrs.get(R.RUN) == run and (below is None or t.number < below):
            flying += 1
    return done, flying


def taken_places(study: optuna.Study, run: str, below: int | None = None) -> int:
    """The places toward --trials already taken: counted trials plus those in flight."""
    return sum(places(study, run, below))


def _counts(t: FrozenTrial) -> bool:
    return (t.user_attrs.get(R.ROLE) == R.ROLE_SEARCH
            and t.user_attrs.get(R.STATUS) in (R.COMPLETE, R.STOPPED))


def weights_dir(cfg: RunConfig, study: optuna.Study) -> Path:
    """Where trained weights of a study's trials go: beside a file storage, else studies/."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", study.study_name)
    for prefix in ("sqlite:///", "journal://"):
        if cfg.storage.startswith(prefix):
            return Path(cfg.storage[len(prefix):]).parent / "weights" / safe
    return ROOT / "studies" / "weights" / safe
