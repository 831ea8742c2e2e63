"""search.objective: a searched trial gives way when the trials in flight fill --trials."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import optuna
import pytest
import torch
from optuna.trial import TrialState

from nas_space import Space, get_space
from search import objective
from search import records as R
from search.baselines import run_baseline
from search.data import Dataset
from search.objective import BuildError, Evaluator
from search.run import main
from search.storage import open_storage
from search.study import QuietGrid
from search.trainer import NonFiniteLossError, TrainBudget
from search.view import StudyView
from tests.search.workers import dead_worker, study_file


def evaluator(data: Dataset, run: str) -> Evaluator:
    space = get_space("squeeze", in_channels=data.in_channels, input_size=data.input_size,
                      num_classes=data.num_classes)
    return Evaluator(space, data, TrainBudget(256), ("val_acc", "macs"), torch.device("cpu"),
                     fixed={"bn": True, "width": 0.0625}, run_id=run)


def test_a_trial_gives_way_to_earlier_ones_in_flight(digits: Dataset) -> None:
    study = optuna.create_study(directions=["maximize", "minimize"])
    view = StudyView(study)
    ev = evaluator(digits, "run-b")
    view.ask("run-b")  # another worker of the same run, training
    view.ask("run-a")  # a worker of another machine's run, training

    surplus = ev.run(view, target=2)
    trial = study.trials[surplus.number]
    assert surplus.status == R.FAILED and not surplus.counts
    assert trial.state == TrialState.FAIL and trial.user_attrs[R.FAIL_REASON] == "surplus"
    assert trial.params == {} and R.SPEC not in trial.user_attrs  # given way before sampling

    kept = ev.run(view, target=3)
    assert kept.counts and study.trials[kept.number].user_attrs[R.RUN] == "run-b"
    assert ev.run(view).counts  # without a target nothing gives way


@pytest.mark.parametrize("stamp, gives_way", [(R.RUN, True), (R.WORKER, False)])
def test_a_trial_waits_for_an_earlier_one_to_declare_itself(digits: Dataset, stamp: str,
                                                             gives_way: bool) -> None:
    """Two workers ask at once for the last place: the later-numbered trial waits until the
    earlier one, created but not yet stamped, says whether it is searched (a place) or not
    (a baseline), instead of taking it for neither and both training."""
    study = optuna.create_study(directions=["maximize", "minimize"])
    view = StudyView(study)
    earlier = study.ask()  # the other worker has asked, and has yet to stamp its trial
    timer = threading.Timer(0.5, earlier.set_user_attr, (stamp, "run-a"))
    timer.start()
    try:
        outcome = evaluator(digits, "run-b").run(view, target=1)
    finally:
        timer.join()
    trial = study.trials[outcome.number]
    assert outcome.number > earlier.number
    assert (trial.user_attrs.get(R.FAIL_REASON) == "surplus") == gives_way
    assert outcome.counts != gives_way


def test_a_grid_point_goes_only_to_a_searched_trial_that_samples(digits: Dataset) -> None:
    """A baseline and a trial that gives way hold no grid point, so the grid trains every
    point (they used to take points 0 and 1 and leave them untrained, as visited)."""
    grid = {"bypass": ["none", "simple", "complex"]}
    study = optuna.create_study(directions=["maximize", "minimize"],
                                sampler=QuietGrid(grid, seed=0))
    view = StudyView(study)
    ev = evaluator(digits, "run-b")
    ev = replace(ev, fixed={**{k: v for k, v in ev.space.defaults.items() if k not in grid},
                            **ev.fixed})  # as search.run fixes a grid's other axes
    assert run_baseline(view, ev, "squeezenet1_1", 0.3) == R.COMPLETE
    assert ev.run(view, target=0).status == R.FAILED  # gives way: the target is met
    trained = [ev.run(view) for _ in grid["bypass"]]
    assert all(o.counts for o in trained)
    assert sorted(study.trials[o.number].params["bypass"] for o in trained) == sorted(
        grid["bypass"])
    assert [t.number for t in study.trials if "grid_id" in t.system_attrs] == [
        o.number for o in trained]
    assert ev.grid_exhausted(study)


def test_a_baseline_leaves_a_re_queued_search_to_a_search(digits: Dataset) -> None:
    """A searched trial whose worker died is re-queued; a baseline asked next is a new
    trial, and the next searched trial takes the retry."""
    study = optuna.create_study(directions=["maximize", "minimize"])
    view = StudyView(study)
    ev = evaluator(digits, "run-b")
    dead = view.ask("run-a")
    spec = ev.space.sample(dead, ev.fixed)
    for key, value in {R.ROLE: R.ROLE_SEARCH, R.SPEC: spec.to_json(),
                       R.WORKER: dead_worker()}.items():
        dead.set_user_attr(key, value)
    view.read()  # fails it and re-queues it
    assert len(study.get_trials(states=(TrialState.WAITING,))) == 1
    assert run_baseline(view, ev, "squeezenet1_1", 0.3) == R.COMPLETE
    assert len(study.get_trials(states=(TrialState.WAITING,))) == 1
    retried = ev.run(view)
    assert retried.counts
    assert study.trials[retried.number].user_attrs[R.RETRY_OF] == dead.number
    assert study.trials[retried.number].user_attrs[R.SPEC] == spec.to_json()


def _raise(e: BaseException) -> Callable[..., object]:
    def fail(*args: object, **kwargs: object) -> object:
        raise e
    return fail


@pytest.mark.parametrize("where, error, reason", [
    ("_build", BuildError("build failed: RuntimeError: channels do not divide"),
     "build failed: RuntimeError: channels do not divide"),
    ("train", torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
     "out of memory: CUDA out of memory. Tried to allocate 2.00 GiB"),
    ("train", RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't "
                           "allocate memory: you tried to allocate 9999999999 bytes"),
     "out of memory: [enforce fail"),
    ("train", NonFiniteLossError(12, float("nan")), "non-finite loss"),
])
def test_a_failure_inside_a_trial_is_stored_and_the_search_goes_on(
        digits: Dataset, monkeypatch: pytest.MonkeyPatch, where: str, error: Exception,
        reason: str) -> None:
    study = optuna.create_study(directions=["maximize", "minimize"])
    view = StudyView(study)
    ev = evaluator(digits, "run")
    with monkeypatch.context() as m:
        m.setattr(objective, where, _raise(error))
        failed = ev.run(view)
    trial = study.trials[failed.number]
    assert trial.state == TrialState.FAIL and not failed.counts
    assert trial.user_attrs[R.FAIL_REASON].startswith(reason)
    assert ev.run(view).counts  # the search goes on


def test_a_bug_inside_a_trial_stops_the_run_with_its_traceback(
        digits: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    study = optuna.create_study(directions=["maximize", "minimize"])
    ev = evaluator(digits, "run")
    monkeypatch.setattr(objective, "train", _raise(KeyError("a bug")))
    with pytest.raises(KeyError, match="a bug"):
        ev.run(StudyView(study))
    trial = study.trials[-1]
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs[R.FAIL_REASON] == "crashed: KeyError: 'a bug'"


def test_a_value_error_while_sampling_is_a_bug_not_a_usage_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It raises at once, with its traceback, rather than failing trial after trial."""
    monkeypatch.setattr(Space, "sample", _raise(ValueError("a bug in the space")))
    with pytest.raises(ValueError, match="a bug in the space"):
        main(["--study-file", str(study_file(tmp_path)), "--storage",
              f"journal://{tmp_path / 's.log'}", "--trials", "1", "--no-baselines"])
    ts = optuna.load_study(study_name="squeeze-digits",
                           storage=open_storage(f"journal://{tmp_path / 's.log'}")).trials
    assert len(ts) == 1
