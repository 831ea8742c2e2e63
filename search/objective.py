"""One trial: sample a spec, gate it on cost, reuse duplicates, train with early stopping.

Everything a trial learns goes into its user attrs (names in search.records) before it
is told, so an interrupted or failed trial still shows what it got to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import optuna
import torch
from optuna.trial import FrozenTrial, TrialState

from nas_space import ArchSpec, Cost, Space, build, cost
from search import records as R
from search import weights
from search.early_stop import promising
from search.latency import latency_ms
from search.trainer import NonFiniteLossError, TrainBudget, seeded, train
from search.view import StudyView


@dataclass
class Outcome:
    """What a searched trial came to: its status and whether it counts toward --trials."""

    number: int
    status: str
    counts: bool
    val_acc: float | None = None


@dataclass
class Evaluator:
    """Evaluates trials of one study on one dataset with one budget."""

    space: Space
    data: Any  # search.data.Dataset (validation already cut to the budget's size)
    budget: TrainBudget
    objectives: tuple[str, ...]
    device: torch.device
    seed: int = 0
    max_mflops: float | None = None
    max_params: int | None = None
    early_stop: bool = True
    eta: int = 3
    fixed: dict[str, Any] = field(default_factory=dict)
    weights_dir: Path | None = None
    run_id: str = ""
    current: optuna.Trial | None = field(default=None, init=False, repr=False)

    # -- the searched trial ------------------------------------------------
    def run(self, view: StudyView, target: int | None = None) -> Outcome:
        """Ask the sampler for one architecture and evaluate it; always tells the trial.

        With a target, the new trial first takes its place in flight, and gives way
        (fails, reason "surplus") if counted trials and trials in flight that asked
        before it already reach the target: parallel workers stop at the target.
        """
        study = view.study
        trial = self.current = view.ask(self.run_id)
        if target is not None and view.places_before(trial.number) >= target:
            return self._fail(study, trial, "surplus")
        spec = self.space.sample(trial, self.fixed)  # a ValueError here is a bug: raise
        c = cost(spec)
        self._describe(trial, spec, c, R.ROLE_SEARCH)
        if self._gate(trial, c):
            trial.set_user_attr(R.STATUS, R.INFEASIBLE)
            study.tell(trial, self._values(0.0, c, None))
            return Outcome(trial.number, R.INFEASIBLE, counts=False)
        twin = view.claim(trial, spec.digest())
        if twin is not None:
            return self._reuse(study, trial, twin)
        return self.train_spec(view, trial, spec, c, self.seed * 1_000_003 + trial.number)

    def _gate(self, trial: optuna.Trial, c: Cost) -> bool:
        """Record the constraints (<= 0 is feasible); True if the spec is over a limit."""
        over = False
        if self.max_mflops is not None:
            trial.set_constraint("mflops", c.macs / 1e6 - self.max_mflops)
            over |= c.macs / 1e6 > self.max_mflops
        if self.max_params is not None:
            trial.set_constraint("params", float(c.params - self.max_params))
            over |= c.params > self.max_params
        return over

    def _reuse(self, study: optuna.Study, trial: optuna.Trial, twin: FrozenTrial) -> Outcome:
        trial.set_user_attr(R.STATUS, R.DUPLICATE)
        trial.set_user_attr(R.DUPLICATE_OF, twin.number)
        for key in (R.RUNGS, R.VAL_ACC, R.LATENCY_MS):
            if key in twin.user_attrs:
                trial.set_user_attr(key, twin.user_attrs[key])
        if twin.state == TrialState.COMPLETE:
            study.tell(trial, twin.values)
        else:  # stopped early, or still training (in flight)
            study.tell(trial, state=TrialState.PRUNED)
        return Outcome(trial.number, R.DUPLICATE, counts=False)

    def train_spec(self, view: StudyView, trial: optuna.Trial, spec: ArchSpec, c: Cost,
                   seed: int) -> Outcome:
        """Train a described trial's network, stopping early if it is not promising.

        A non-finite loss, running out of memory or a network that fails to build fails
        the trial with the reason stored; any other exception fails it and is raised."""
        study = view.study
        trial.set_user_attr(R.SEED, seed)
        peers = view.read().rung_peers(trial.number)
        curve: list[list[float]] = []

        def on_rung(images: int, acc: float) -> bool:
            curve.append([images, acc])
            trial.set_user_attr(R.RUNGS, curve)
            if not self.early_stop or images >= self.budget.images:
                return True
            return promising(acc, c.macs, peers.get(images, []), eta=self.eta)

        try:
            with seeded(seed), view.heartbeat(trial):  # init and dropout draw from this seed
                model = _build(spec)
                result = train(model, self.data, self.budget, seed=seed, device=self.device,
                               on_rung=on_rung)
        except (NonFiniteLossError, BuildError) as e:
            return self._fail(study, trial, str(e))
        except Exception as e:
            if not _out_of_memory(e):
                self._fail(study, trial, f"crashed: {type(e).__name__}: {e}")
                raise
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            return self._fail(study, trial, f"out of memory: {str(e).splitlines()[0][:200]}")
        acc = curve[-1][1]
        self._record_run(trial, result, acc)
        if result.stopped:
            trial.set_user_attr(R.STATUS, R.STOPPED)
            study.tell(trial, state=TrialState.PRUNED)
            return Outcome(trial.number, R.STOPPED, counts=True, val_acc=acc)
        self._save_weights(study, trial, model)
        latency = latency_ms(model, spec, self.device) if "latency_ms" in self.objectives else None
        if latency is not None:
            trial.set_user_attr(R.LATENCY_MS, latency)
        trial.set_user_attr(R.STATUS, R.COMPLETE)
        study.tell(trial, self._values(acc, c, latency))
        return Outcome(trial.number, R.COMPLETE, counts=True, val_acc=acc)

    # -- shared by searched trials and baselines ---------------------------
    def _describe(self, trial: optuna.Trial, spec: ArchSpec, c: Cost, role: str) -> None:
        trial.set_user_attr(R.SPEC, spec.to_json())
        trial.set_user_attr(R.DIGEST, spec.digest())
        for key in (R.MACS, R.PARAMS, R.ACTIVATIONS, R.SIZE_BYTES):
            trial.set_user_attr(key, getattr(c, key))
        trial.set_user_attr(R.ROLE, role)
        trial.set_user_attr(R.DEVICE, str(self.device))

    def _record_run(self, trial: optuna.Trial, result: Any, acc: float) -> None:
        trial.set_user_attr(R.VAL_ACC, acc)
        trial.set_user_attr(R.TRAIN_SECONDS, round(result.train_seconds, 3))
        trial.set_user_attr(R.IMAGES_PER_S, round(result.images_per_s, 1))

    def _values(self, acc: float, c: Cost, latency: float | None) -> list[float]:
        named = {"val_acc": acc, "macs": float(c.macs), "params": float(c.params),
                 "size_bytes": float(c.size_bytes),
                 "latency_ms": latency if latency is not None else math.inf}
        return [named[o] for o in self.objectives]

    def _fail(self, study: optuna.Study, trial: optuna.Trial, reason: str) -> Outcome:
        trial.set_user_attr(R.STATUS, R.FAILED)
        trial.set_user_attr(R.FAIL_REASON, reason)
        study.tell(trial, state=TrialState.FAIL)
        return Outcome(trial.number, R.FAILED, counts=False)

    def _save_weights(self, study: optuna.Study, trial: optuna.Trial,
                      model: torch.nn.Module) -> None:
        """Keep the trained weights in the study's artifact store (search.weights)."""
        if self.weights_dir is not None:
            weights.save(study, trial, model, self.weights_dir)

    def interrupt(self, study: optuna.Study) -> None:
        """Mark the trial in progress failed with reason "interrupted"."""
        trial, self.current = self.current, None
        if trial is None:
            return
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if any(t.number == trial.number for t in running):
            self._fail(study, trial, "interrupted")

    def grid_exhausted(self, study: optuna.Study) -> bool:
        sampler = study.sampler
        return isinstance(sampler, optuna.samplers.GridSampler) and sampler.is_exhausted(study)

    def with_early_stop(self, on: bool) -> Evaluator:
        return replace(self, early_stop=on)


class BuildError(Exception):
    """A sampled spec whose network cannot be built."""


def _build(spec: ArchSpec) -> torch.nn.Module:
    try:
        return build(spec)
    except Exception as e:
        raise BuildError(f"build failed: {type(e).__name__}: {e}") from e


def _out_of_memory(e: BaseException) -> bool:
    """CUDA's OutOfMemoryError, Python's MemoryError, or the CPU allocator's failure."""
    return isinstance(e, torch.OutOfMemoryError | MemoryError) or (
        isinstance(e, RuntimeError) and "can't allocate memory" in str(e))
