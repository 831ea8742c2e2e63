"""Creating, resuming and checking studies; samplers; which trials count."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, GridSampler
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial

from nas_space import Space
from search import records as R
from search.config import Fingerprint, RunConfig
from search.storage import ROOT, redact
from search.view import Snapshot

#: What studies made before fingerprints stored of one; a resume of those compares these.
LEGACY_ATTRS = (R.SPACE, R.DATASET, R.OBJECTIVES, R.BUDGET)


class StudyError(Exception):
    """A study that cannot be resumed with these options (one-line message)."""


class QuietGrid(GridSampler):
    """GridSampler that leaves stopping to the caller (ask/tell has no study.stop()), and
    gives a trial its grid point at its first suggestion rather than when it is asked: a
    baseline, or a searched trial that gives way before sampling, holds no point, which the
    grid would otherwise count as visited and never train."""

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        return None

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        if "grid_id" not in trial.system_attrs:  # a retry keeps the point it had
            super().before_trial(study, trial)  # picks a point and stores it
            trial = study._storage.get_trial(trial._trial_id)
        return super().sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study: optuna.Study, trial: Any, state: Any, values: Any) -> None:
        return None


def grid_points(grid: dict[str, list[Any]], space: Space) -> dict[str, list[Any]]:
    """A study file's [grid], each value checked against its axis of the space; raises
    ValueError naming the first bad axis or value."""
    points = {}
    for name, values in grid.items():
        if name not in space.axes_by_name:
            raise ValueError(f"[grid] {name}: not an axis of space {space.name!r}")
        try:
            points[name] = [space.axes_by_name[name].check(v) for v in values]
        except ValueError as e:
            raise ValueError(f"[grid] {e}") from None
    return points


def make_sampler(cfg: RunConfig, space: Space, *, worker: bool = False) -> BaseSampler:
    """The sampler named in the config, seeded (workers get their own seed, except for the
    grid, whose order every worker shares)."""
    seed = cfg.seed + (os.getpid() if worker else 0)
    if cfg.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True,
                                          n_startup_trials=10)
    if cfg.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=20)
    if cfg.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    grid = grid_points(cfg.grid, space)
    # The seed orders the grid, and a trial stores only its point's index in that order,
    # so every worker must use the same seed or they train other points than they claim.
    return QuietGrid(grid, seed=cfg.seed)


def open_study(cfg: RunConfig, storage: BaseStorage, space: Space, print_: Fingerprint, *,
               command: str, worker: bool = False, create: bool = True) -> optuna.Study:
    """Create the study or load it, refusing a resume whose fingerprint differs."""
    names = optuna.get_all_study_names(storage)
    if not create and cfg.study_name not in names:
        raise StudyError(f"no study {cfg.study_name!r} in {redact(cfg.storage)} (studies: "
                         f"{', '.join(names) or 'none'}); leave out --resume to start it")
    sampler = make_sampler(cfg, space, worker=worker)
    if cfg.study_name in names:  # loading writes nothing (creating first would, in a journal)
        study = optuna.load_study(study_name=cfg.study_name, storage=storage, sampler=sampler)
    else:
        study = optuna.create_study(study_name=cfg.study_name, storage=storage,
                                    directions=cfg.directions, sampler=sampler,
                                    load_if_exists=True)
    stored = study.user_attrs
    if R.FINGERPRINT in stored:
        _check(cfg.study_name, stored[R.FINGERPRINT], print_)
    elif stored:  # made before fingerprints: compare what it stored, then adopt one
        _check(cfg.study_name, {k: stored[k] for k in LEGACY_ATTRS if k in stored},
               {k: v for k, v in _flat(print_).items() if k in LEGACY_ATTRS})
    if R.FINGERPRINT not in stored:
        _label(study, cfg, print_, command, fresh=not stored)
    return study


def _label(study: optuna.Study, cfg: RunConfig, print_: Fingerprint, command: str, *,
           fresh: bool) -> None:
    study.set_user_attr(R.FINGERPRINT, print_)
    if not fresh:
        return
    for key, value in {R.SPACE: cfg.space, R.DATASET: cfg.dataset,
                       R.OBJECTIVES: list(cfg.objectives), R.BUDGET: print_["budget"]["images"],
                       R.DIRECTIONS: cfg.directions, R.SAMPLER: cfg.sampler, R.SEED: cfg.seed,
                       R.COMMAND: command, R.CONSTRAINTS: print_["constraints"]}.items():
        study.set_user_attr(key, value)


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"budget": {"rungs": 4}} -> {"budget.rungs": 4}; "budget" is also the image count,
    the one budget field that studies made before fingerprints stored."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    if "budget.images" in out:
        out["budget"] = out["budget.images"]
    return out


def _check(name: str, stored: dict[str, Any], wanted: dict[str, Any]) -> None:
    """StudyError naming the first field where a resume differs from the stored study."""
    have, want = _flat(stored), _flat(wanted)
    for key in [*want, *(k for k in have if k not in want)]:  # the fingerprint's order
        if key == "budget" and "budget.images" in have:
            continue
        if have.get(key) != want.get(key):
            raise StudyError(
                f"study {name!r} was made with {key} = {_show(have.get(key))}, not "
                f"{_show(want.get(key))}; rerun with the study's settings, or use "
                f"--study NAME for a new study")


def _show(value: Any) -> str:
    return "(unset)" if value is None else json.dumps(value, sort_keys=True)


def counted_trials(study: optuna.Study) -> int:
    """Searched architectures evaluated: trained fully or stopped early."""
    return Snapshot(study.get_trials(deepcopy=False)).counted()


def weights_dir(cfg: RunConfig, study: optuna.Study) -> Path:
    """Where trained weights of a study's trials go: beside a file storage, else studies/."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", study.study_name)
    for prefix in ("sqlite:///", "journal://"):
        if cfg.storage.startswith(prefix):
            return Path(cfg.storage[len(prefix):]).parent / "weights" / safe
    return ROOT / "studies" / "weights" / safe
