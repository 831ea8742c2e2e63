"""search.objective: a searched trial gives way when the trials in flight fill --trials."""

from __future__ import annotations

import optuna
import torch
from optuna.trial import TrialState

from nas_space import get_space
from search import records as R
from search.data import Dataset
from search.objective import Evaluator
from search.trainer import TrainBudget
from search.view import StudyView


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
