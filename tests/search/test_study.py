"""search.view: which trials count toward --trials, the places taken by trials in flight,
and the clean-up of trials whose worker died."""

from __future__ import annotations

import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from nas_space import get_space
from search import records as R
from search.budgets import BUDGETS
from search.config import RunConfig, fingerprint
from search.study import QuietGrid, StudyError, counted_trials, open_study
from search.view import StudyView
from tests.search.workers import dead_worker


def finished(study: optuna.Study, state: TrialState, role: str, status: str) -> None:
    study.add_trial(create_trial(state=state, value=0.5 if state == TrialState.COMPLETE else None,
                                 user_attrs={R.ROLE: role, R.STATUS: status}))


def test_searched_trials_in_flight_hold_places_and_dead_ones_are_failed() -> None:
    study = optuna.create_study()
    finished(study, TrialState.COMPLETE, R.ROLE_SEARCH, R.COMPLETE)
    finished(study, TrialState.PRUNED, R.ROLE_SEARCH, R.STOPPED)
    finished(study, TrialState.COMPLETE, R.ROLE_SEARCH, R.DUPLICATE)
    finished(study, TrialState.COMPLETE, R.ROLE_SEARCH, R.INFEASIBLE)
    finished(study, TrialState.COMPLETE, R.ROLE_BASELINE, R.COMPLETE)
    view = StudyView(study)
    mine = view.ask("run-b").number
    other_run = view.ask("run-a").number  # another machine's worker: holds a place too
    dead = view.ask("run-a")
    dead.set_user_attr(R.WORKER, dead_worker())  # its process is gone
    later = view.ask("run-b").number
    snap = view.read()
    assert counted_trials(study) == snap.counted() == 2
    assert snap.taken() == 5
    assert snap.taken(below=later) == 4
    assert snap.taken(below=other_run) == 3
    assert snap.taken(below=mine) == 2
    failed = study.trials[dead.number]
    assert failed.state == TrialState.FAIL
    assert failed.user_attrs[R.FAIL_REASON].startswith("worker died")
    assert not any(t.state == TrialState.WAITING for t in study.trials)  # nothing sampled yet


def test_a_dead_searched_trial_is_retried_and_a_dead_baseline_is_not() -> None:
    study = optuna.create_study()
    view = StudyView(study)
    searched = view.ask("run-a")
    searched.suggest_float("SR", 0.1, 1.0)
    searched.set_user_attr(R.ROLE, R.ROLE_SEARCH)
    searched.set_user_attr(R.SPEC, "{}")
    baseline = view.ask()
    baseline.set_user_attr(R.ROLE, R.ROLE_BASELINE)
    baseline.set_user_attr(R.PRESET, "squeezenet1_0")
    for t in (searched, baseline):
        t.set_user_attr(R.WORKER, dead_worker())
    assert view.read().trained_baselines() == set()
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert len(waiting) == 1
    assert waiting[0].params == study.trials[searched.number].params
    assert waiting[0].user_attrs == {R.RETRY_OF: searched.number}
    again = view.ask("run-b")  # the next ask takes the retry, with the same parameters
    assert again.suggest_float("SR", 0.1, 1.0) == searched.params["SR"]
    assert not study.get_trials(states=(TrialState.WAITING,))


def test_a_dead_grid_point_is_retried_at_its_own_point_and_the_grid_goes_on() -> None:
    """A retried grid point keeps its grid id: after two of three points die and are
    retried, the grid is not exhausted until the third point has been asked too."""
    grid = {"width": [0.25, 0.5, 1.0]}
    study = optuna.create_study(sampler=QuietGrid(grid, seed=0))  # the search's grid
    view = StudyView(study)
    dead, gone = [], dead_worker()
    for _ in range(2):
        trial = view.ask("run-a")
        trial.suggest_categorical("width", grid["width"])
        for key, value in {R.ROLE: R.ROLE_SEARCH, R.SPEC: "{}", R.WORKER: gone}.items():
            trial.set_user_attr(key, value)
        dead.append(trial.number)
    assert len(study.get_trials(states=(TrialState.WAITING,))) == 0
    view.read()  # fails both and re-queues them
    assert len(study.get_trials(states=(TrialState.WAITING,))) == 2
    widths = []
    for _ in range(3):
        trial = view.ask("run-b")
        widths.append(trial.suggest_categorical("width", grid["width"]))
        study.tell(trial, 0.5)
    assert sorted(widths) == sorted(grid["width"])  # the two retries, then the third point
    retried = [t for t in study.trials if t.user_attrs.get(R.RETRY_OF) in dead]
    assert [t.system_attrs["grid_id"] for t in retried] == [
        study.trials[n].system_attrs["grid_id"] for n in dead]
    assert study.sampler.is_exhausted(study)


def test_a_worker_on_another_machine_that_stops_beating_is_failed(pg_url: str) -> None:
    """PostgreSQL heartbeats: a trial of another host whose heartbeat is older than the
    grace period is failed (with a short grace period here) and retried."""
    storage = optuna.storages.RDBStorage(pg_url, heartbeat_interval=1, grace_period=2)
    view = StudyView(optuna.create_study(storage=storage))
    trial = view.ask("run-a")
    trial.suggest_float("SR", 0.1, 1.0)
    for key, value in {R.ROLE: R.ROLE_SEARCH, R.SPEC: "{}",
                       R.WORKER: "another-host:4242:1"}.items():
        trial.set_user_attr(key, value)
    assert view.read().in_flight() == 1  # beating (ask records the first beat)
    time.sleep(3.5)
    assert view.read().in_flight() == 0
    failed = view.study.trials[trial.number]
    assert failed.state == TrialState.FAIL
    assert failed.user_attrs[R.FAIL_REASON].startswith("no heartbeat")
    assert len(view.study.get_trials(states=(TrialState.WAITING,))) == 1


@pytest.mark.parametrize(("first", "then", "key"), [
    ({"augment": "crop"}, {"augment": "none"}, "augment"),
    ({}, {"augment": "crop+flip"}, "augment"),
    ({"image_size": 32}, {}, "image_size"),
])
def test_a_resume_with_another_augment_or_image_size_is_refused(
        tmp_path: Path, first: dict, then: dict, key: str) -> None:
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 's.db'}")
    space = get_space("squeeze", in_channels=1, input_size=8, num_classes=10)
    fid = BUDGETS["smoke"]
    made = RunConfig(dataset="digits", storage="", **first)
    split = {"train": 1000, "val": 200}
    made_print = fingerprint(made, fid, split, made.augment or "none")
    open_study(made, storage, space, made_print, command="first")
    same = open_study(made, storage, space, made_print, command="again")
    assert same.user_attrs[R.FINGERPRINT]["augment"] == (made.augment or "none")
    other = RunConfig(dataset="digits", storage="", **then)
    with pytest.raises(StudyError, match=key):
        open_study(other, storage, space, fingerprint(other, fid, split, other.augment or "none"),
                   command="other")


def test_every_worker_orders_the_grid_alike() -> None:
    """A grid trial stores only its point's index, so a helper whose grid order differed
    would train another point than the one it claimed (duplicates and skipped points)."""
    from search.study import make_sampler

    space = get_space("squeeze", in_channels=1, input_size=28, num_classes=10)
    cfg = RunConfig(sampler="grid", grid={"SR": [0.125, 0.25, 0.5, 0.75, 1.0]}, seed=3)
    main, helper = make_sampler(cfg, space), make_sampler(cfg, space, worker=True)
    assert main._all_grids == helper._all_grids  # type: ignore[attr-defined]
    assert sorted(main._all_grids) == [(0.125,), (0.25,), (0.5,), (0.75,), (1.0,)]  # type: ignore[attr-defined]
