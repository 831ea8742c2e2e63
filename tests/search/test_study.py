"""search.study: which trials count toward --trials, and the places taken by trials in flight."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from nas_space import get_space
from search import records as R
from search.budgets import BUDGETS
from search.config import RunConfig
from search.study import StudyError, counted_trials, open_study, taken_places


def finished(study: optuna.Study, state: TrialState, role: str, status: str) -> None:
    study.add_trial(create_trial(state=state, value=0.5 if state == TrialState.COMPLETE else None,
                                 user_attrs={R.ROLE: role, R.STATUS: status}))


def in_flight(study: optuna.Study, run: str) -> int:
    trial = study.ask()
    trial.set_user_attr(R.RUN, run)
    return trial.number


def test_searched_trials_in_flight_of_this_run_hold_places() -> None:
    study = optuna.create_study()
    finished(study, TrialState.COMPLETE, R.ROLE_SEARCH, R.COMPLETE)
    finished(study, TrialState.PRUNED, R.ROLE_SEARCH, R.STOPPED)
    finished(study, TrialState.COMPLETE, R.ROLE_SEARCH, R.DUPLICATE)
    finished(study, TrialState.COMPLETE, R.ROLE_SEARCH, R.INFEASIBLE)
    finished(study, TrialState.COMPLETE, R.ROLE_BASELINE, R.COMPLETE)
    mine = in_flight(study, "run-b")
    in_flight(study, "run-a")  # left RUNNING by an earlier run that died: holds no place
    later = in_flight(study, "run-b")
    assert counted_trials(study) == 2
    assert taken_places(study, "run-b") == 4
    assert taken_places(study, "run-b", below=later) == 3
    assert taken_places(study, "run-b", below=mine) == 2
    assert taken_places(study, "run-c") == 2


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
    open_study(made, storage, space, fid, command="first", augment=made.augment or "none")
    same = open_study(made, storage, space, fid, command="again", augment=made.augment or "none")
    assert same.user_attrs[R.AUGMENT] == (made.augment or "none")
    other = RunConfig(dataset="digits", storage="", **then)
    with pytest.raises(StudyError, match=f"was made with {key} "):
        open_study(other, storage, space, fid, command="other", augment=other.augment or "none")
