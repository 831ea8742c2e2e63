"""search.weights: trial weights as Optuna artifacts, read without pickle, disk use bounded."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import torch

from search import records as R
from search import weights
from search.storage import open_storage
from tests.exported import calibrated, digits_spec


def test_save_load_and_the_store_keeps_only_two_fronts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    study = optuna.create_study(storage=open_storage(url), study_name="w",
                                directions=["maximize", "minimize"])
    root = tmp_path / "store"
    model = calibrated(digits_spec(0.25))
    # (accuracy, MACs): fronts {0, 1}, then {2, 3}, then {4}, then {5}
    plane = [(0.9, 200), (0.8, 100), (0.85, 300), (0.7, 150), (0.6, 400), (0.5, 500)]
    for acc, macs in plane:
        trial = study.ask()
        trial.set_user_attr(R.STATUS, R.COMPLETE)
        trial.set_user_attr(R.VAL_ACC, acc)
        trial.set_user_attr(R.MACS, macs)
        weights.save(study, trial, model, root)
        study.tell(trial, [acc, macs])
    assert study.user_attrs[weights.WEIGHTS_STORE] == str(root)
    trials = study.get_trials()
    kept = {t.number for t in trials if weights.load(study, t) is not None}
    assert kept == {0, 1, 2, 3, 5}  # 4 was dropped when 5 came; 5 is kept as the newest
    assert len(list(root.iterdir())) == 5
    weights.prune(study, root, keep=set())
    assert {t.number for t in trials if weights.load(study, t) is not None} == {0, 1, 2, 3}
    loaded = weights.load(study, trials[0])
    assert all(torch.equal(loaded[k], v) for k, v in weights.tensors(model).items())


def test_another_machine_reads_the_weights_from_the_recorded_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    study = optuna.create_study(storage=open_storage(url), study_name="w")
    trial = study.ask()
    weights.save(study, trial, calibrated(digits_spec(0.25)), tmp_path / "shared")
    study.tell(trial, 1.0)
    elsewhere = optuna.load_study(study_name="w", storage=url)  # a new connection
    assert weights.load(elsewhere, elsewhere.trials[0]) is not None
    assert weights.load(elsewhere, elsewhere.trials[0], tmp_path / "other") is None


def test_a_file_that_is_not_safetensors_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "weights.safetensors"
    path.write_bytes(b"\x80\x04not a safetensors file")
    with pytest.raises(weights.WeightsError, match="not a readable safetensors file"):
        weights.read_file(path)
