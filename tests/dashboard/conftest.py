"""Studies written exactly as search/records.py says, for the dashboard's tests and benchmark.

`make_study` builds real Fire-net specs from squeeze-space metaparameters (and the
SqueezeNet presets as baselines), stores their real analytic cost, and gives them
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
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import FrozenTrial, TrialState

from nas_space import ArchSpec, BlockSpec, HeadSpec, StemSpec, cost, get_preset
from search import records as R
from search.storage import open_storage

BASELINES = ("squeezenet1_0", "squeezenet1_1", "squeezenet1_0_simple_bypass",
             "squeezenet1_0_complex_bypass")
RUNGS_AT = (15_000, 30_000, 60_000)
MAX_MFLOPS = 400.0
CHOICES: dict[str, tuple[Any, ...]] = {
    "base_e": (16, 32, 64, 128),
    "incr_e": (16, 32, 64, 128),
    "freq": (1, 2, 4),
    "SR": (0.125, 0.25, 0.5, 0.75, 1.0),
    "width": (0.25, 0.5, 1.0),
    "bypass": ("none", "simple", "complex"),
}
DISTRIBUTIONS = {k: CategoricalDistribution(v) for k, v in CHOICES.items()}
DISTRIBUTIONS["pct3x3"] = FloatDistribution(0.01, 0.99)

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _width(e: float, width: float) -> int:
    """Scale and round a width to a multiple of 4 (at least 4)."""
    return max(4, int(round(e * width / 4)) * 4)


def fire_spec(p: dict[str, Any]) -> ArchSpec:
    """8 Fire modules with e_i = base_e + incr_e * floor(i / freq), for 28x28 grey images."""
    blocks, c_in = [], _width(96, p["width"])
    for i in range(8):
        w = _width(p["base_e"] + p["incr_e"] * (i // p["freq"]), p["width"])
        sr = max(p["SR"], 1.0 / w)
        bypass = p["bypass"]
        if bypass == "simple" and c_in != w:
            bypass = "none"
        blocks.append(BlockSpec("fire", w, pool="max_ceil" if i in (3, 7) else "none",
                                sr=sr, pct3x3=p["pct3x3"], bypass=bypass))
        c_in = w
    return ArchSpec(stem=StemSpec(_width(96, p["width"])), blocks=tuple(blocks),
                    head=HeadSpec("conv", dropout=0.5), num_classes=10, in_channels=1,
                    input_size=28, bn=True)


def _accuracy(macs: int, p: dict[str, Any], rng: random.Random) -> float:
    """A plausible accuracy: rises with log cost, SR and pct3x3 (saturating), plus noise."""
    acc = 0.80 + 0.035 * math.log10(macs / 1e5) + 0.02 * min(p["SR"], 0.75)
    acc += 0.015 * min(p["pct3x3"], 0.5) + rng.gauss(0.0, 0.01)
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


def search_trial(i: int, n: int, rng: random.Random) -> FrozenTrial:
    """One sampled architecture; its state follows a fixed mix of outcomes."""
    p = {k: rng.choice(v) for k, v in CHOICES.items()}
    p["pct3x3"] = round(rng.uniform(0.01, 0.99), 3)
    spec = fire_spec(p)
    attrs = _cost_attrs(spec) | {R.ROLE: R.ROLE_SEARCH, R.SEED: i, R.DEVICE: "cpu"}
    acc = _accuracy(attrs[R.MACS], p, rng)
    kw: dict[str, Any] = {"params": p, "distributions": DISTRIBUTIONS}
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


def make_study(storage_url: str, name: str, n_trials: int, seed: int) -> optuna.Study:
    """A study of the squeeze space with 4 baselines and n_trials search trials (n_trials >= 0)."""
    storage = open_storage(storage_url, create=True)
    study = optuna.create_study(storage=storage, study_name=name,
                                directions=["maximize", "minimize"])
    attrs = {R.OBJECTIVES: ["val_acc", "macs"], R.DIRECTIONS: ["maximize", "minimize"],
             R.SPACE: "squeeze", R.DATASET: "fashion_mnist", R.BUDGET: RUNGS_AT[-1],
             R.RUNGS_AT: list(RUNGS_AT), R.SEED: seed, R.SAMPLER: "tpe",
             R.CONSTRAINTS: {"max_mflops": MAX_MFLOPS},
             R.COMMAND: f"python -m search.run --space squeeze --trials {n_trials}"}
    for key, value in attrs.items():
        study.set_user_attr(key, value)
    if n_trials == 0:
        return study
    rng = random.Random(seed)
    trials = [baseline_trial(b, rng) for b in BASELINES]
    trials += [search_trial(i, n_trials, rng) for i in range(n_trials)]
    study.add_trials(trials)
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
