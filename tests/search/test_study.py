"""search.study: which trials count toward --trials, and the places taken by trials in flight."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState, create_trial

from search import records as R
from search.study import counted_trials, taken_places


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
