"""Studies written exactly as search/records.py says, for the dashboard's tests and benchmark.

`make_study` samples real specs from a design space with a real Optuna trial (and
uses the SqueezeNet presets as baselines), stores their real analytic cost, and gives them
synthetic accuracies and learning curves. Every trial state the search writes
appears: complete, stopped (PRUNED), infeasible, duplicate, failed (FAIL, one with a
NaN accuracy) and one RUNNING trial at the end.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

from nas_space import ArchSpec, cost, get_preset
from nas_space.spaces import Space, get_space
from search import records as R
from search.storage import open_storage

BASELINES = ("squeezenet1_0", "squeezenet1_1", "squeezenet1_0_simple_bypass",
             "squeezenet1_0_complex_bypass")
RUNGS_AT = (15_000, 30_000, 60_000)
MAX_MFLOPS = 600.0

optuna.logging.set_verbosity(optuna.logging.WARNING)


def sample(space: Space, sampler: optuna.Study) -> tuple[ArchSpec, dict[str, Any]]:
    """A point of the space sampled by a real Optuna trial; create_trial's params keywords."""
    trial = sampler.ask()
    spec = space.sample(trial)
    return spec, {"params": trial.params, "distributions": trial.distributions}


def _accuracy(macs: int, p: dict[str, Any], rng: random.Random) -> float:
    """A plausible accuracy: rises with log cost, SR and pct3x3 (saturating), plus noise."""
    acc = 0.80 + 0.035 * math.log10(macs / 1e5) + 0.02 * min(p.get("SR", 0.5), 0.75)
    acc += 0.015 * min(p.get("pct3x3", 0.5), 0.5) + rng.gauss(0.0, 0.01)
    return min(max(acc, 0.1), 0.95)


def _rungs(acc: float, n: int) -> list[list[float]]:
    """A learning curve that approaches acc at the last of n rungs."""
    return [[RUNGS_AT[i], round(acc - 0.06 * (len(RUNGS_AT) - 1 - i) ** 1.2, 4)]
            for i in range(n)]


def _cost_attrs(spec: ArchSpec) -> dict[str, Any]:
    c = cost(spec)
    return {R.SPEC: spec.to_json(), R.DIGEST: spec.digest(), R.MACS: c.macs,
            R.PARAMS: c.params, R.ACTIVATIONS: c.activations, R.SIZE_BYTES: c.size_bytes}


def baseline_trial(name: str, rng: random.Random) -> FrozenTrial:
    """A trained preset, stored with role baseline."""
    spec = get_preset(name, in_channels=1, input_size=28, num_classes=10)
    attrs = _cost_attrs(spec)
    acc = _accuracy(attrs[R.MACS], {"SR": 0.125, "pct3x3": 0.5}, rng)
    attrs |= {R.ROLE: R.ROLE_BASELINE, R.PRESET: name, R.STATUS: R.COMPLETE,
              R.RUNGS: _rungs(acc, 3), R.VAL_ACC: acc, R.TEST_ACC: acc - 0.004,
              R.TRAIN_SECONDS: 30.0, R.IMAGES_PER_S: 2000.0, R.DEVICE: "cpu", R.SEED: 0}
    return optuna.trial.create_trial(values=[acc, attrs[R.MACS]], user_attrs=attrs)


def search_trial(i: int, n: int, rng: random.Random, space: Space,
                 sampler: optuna.Study) -> FrozenTrial:
    """One sampled architecture; its state follows a fixed mix of outcomes."""
    spec, kw = sample(space, sampler)
    p = kw["params"]
    attrs = _cost_attrs(spec) | {R.ROLE: R.ROLE_SEARCH, R.SEED: i, R.DEVICE: "cpu"}
    acc = _accuracy(attrs[R.MACS], p, rng)
    if i == n - 1:
        attrs |= {R.RUNGS: _rungs(acc, 1)}
        return optuna.trial.create_trial(state=TrialState.RUNNING, user_attrs=attrs, **kw)
    if attrs[R.MACS] > MAX_MFLOPS * 1e6:
        attrs[R.STATUS] = R.INFEASIBLE
        return optuna.trial.create_trial(values=[0.0, attrs[R.MACS]], user_attrs=attrs, **kw)
    if i % 17 == 5:
        reason = "non-finite loss at rung 1" if i % 34 == 5 else "interrupted"
        attrs |= {R.STATUS: R.FAILED, R.FAIL_REASON: reason, R.VAL_ACC: math.nan,
                  R.RUNGS: [[RUNGS_AT[0], math.nan]]}
        return optuna.trial.create_trial(state=TrialState.FAIL, user_attrs=attrs, **kw)
    if i % 11 == 9:
        attrs |= {R.STATUS: R.DUPLICATE, R.DUPLICATE_OF: i + 3, R.RUNGS: _rungs(acc, 3),
                  R.VAL_ACC: acc}
        return optuna.trial.create_trial(values=[acc, attrs[R.MACS]], user_attrs=attrs, **kw)
    if i % 7 == 3:
        rungs = _rungs(acc - 0.05, 2)
        attrs |= {R.STATUS: R.STOPPED, R.RUNGS: rungs, R.VAL_ACC: rungs[-1][1]}
        return optuna.trial.create_trial(state=TrialState.PRUNED, user_attrs=attrs, **kw)
    attrs |= {R.STATUS: R.COMPLETE, R.RUNGS: _rungs(acc, 3), R.VAL_ACC: acc,
              R.TRAIN_SECONDS: 1e-7 * attrs[R.MACS] + 5, R.IMAGES_PER_S: 3e12 / attrs[R.MACS]}
    return optuna.trial.create_trial(values=[acc, attrs[R.MACS]], user_attrs=attrs, **kw)


def make_study(storage_url: str, name: str, n_trials: int, seed: int,
               space: str = "squeeze") -> optuna.Study:
    """A study of a space (28x28 grey inputs) with 4 baselines and n_trials search trials."""
    storage = open_storage(storage_url, create=True)
    study = optuna.create_study(storage=storage, study_name=name,
                                directions=["maximize", "minimize"])
    attrs = {R.OBJECTIVES: ["val_acc", "macs"], R.DIRECTIONS: ["maximize", "minimize"],
             R.SPACE: space, R.DATASET: "fashion_mnist", R.BUDGET: RUNGS_AT[-1],
             R.SEED: seed, R.SAMPLER: "tpe",
             R.CONSTRAINTS: {"max_mflops": MAX_MFLOPS},
             R.COMMAND: f"python -m search.run --space {space} --trials {n_trials}"}
    for key, value in attrs.items():
        study.set_user_attr(key, value)
    if n_trials == 0:
        return study
    rng = random.Random(seed)
    points = get_space(space, in_channels=1, input_size=28, num_classes=10)
    sampler = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed))
    trials = [baseline_trial(b, rng) for b in BASELINES]
    trials += [search_trial(i, n_trials, rng, points, sampler) for i in range(n_trials)]
    study.add_trials(trials)
    return study


def make_unfinished_study(storage_url: str, name: str, seed: int) -> optuna.Study:
    """A study where nothing finished training: failed (one NaN accuracy), stopped, running."""
    study = make_study(storage_url, name, 0, seed)
    space = get_space("squeeze", in_channels=1, input_size=28, num_classes=10)
    spec, kw = sample(space, optuna.create_study(sampler=optuna.samplers.RandomSampler(seed)))
    attrs = _cost_attrs(spec) | {R.ROLE: R.ROLE_SEARCH}
    study.add_trials([
        optuna.trial.create_trial(state=TrialState.FAIL, user_attrs=attrs | {
            R.STATUS: R.FAILED, R.VAL_ACC: math.nan, R.RUNGS: [[RUNGS_AT[0], math.nan]],
            R.FAIL_REASON: "non-finite loss at rung 1"}, **kw),
        optuna.trial.create_trial(state=TrialState.FAIL, user_attrs={
            R.STATUS: R.FAILED, R.FAIL_REASON: "interrupted"}),
        optuna.trial.create_trial(state=TrialState.PRUNED, user_attrs=attrs | {
            R.STATUS: R.STOPPED, R.VAL_ACC: 0.5, R.RUNGS: [[RUNGS_AT[0], 0.5]]}, **kw),
        optuna.trial.create_trial(state=TrialState.RUNNING, user_attrs=attrs, **kw),
    ])
    return study


@pytest.fixture(scope="session")
def populated_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite storage with two studies ("fire-a", 60 trials; "fire-b", 30) and an empty one."""
    path = Path(tmp_path_factory.mktemp("db")) / "studies.db"
    url = f"sqlite:///{path}"
    make_study(url, "fire-a", 60, seed=1)
    make_study(url, "fire-b", 30, seed=2)
    make_study(url, "empty", 0, seed=3)
    return url


@pytest.fixture(scope="session")
def unfinished_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite storage whose only study has failed, stopped and running trials."""
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('db')) / 'unfinished.db'}"
    make_unfinished_study(url, "unfinished", seed=4)
    return url


