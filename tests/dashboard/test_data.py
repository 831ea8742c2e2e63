"""dashboard.data on real Optuna storages: SQLite files and journal files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from dashboard import data
from search import records as R
from search.storage import StorageError
from tests.dashboard.conftest import make_study


def test_lists_studies_with_counts(populated_db: str) -> None:
    table = data.studies_frame(data.connect(populated_db))
    assert table["study"].tolist() == ["empty", "fire-a", "fire-b"]
    assert table.set_index("study")["trials"].to_dict() == {"empty": 0, "fire-a": 64,
                                                             "fire-b": 34}
    assert set(table["space"]) == {"squeeze"}


def test_one_row_per_trial_with_every_state(populated_db: str) -> None:
    df = data.load_trials(data.connect(populated_db), "fire-a")
    assert df["number"].tolist() == list(range(64))
    assert set(df["state"]) == {"COMPLETE", "PRUNED", "FAIL", "RUNNING"}
    assert set(df["status"]) == {R.COMPLETE, R.STOPPED, R.INFEASIBLE, R.DUPLICATE, R.FAILED,
                                 "running"}
    base = df[df["role"] == R.ROLE_BASELINE]
    assert base["preset"].tolist()[:2] == ["squeezenet1_0", "squeezenet1_1"]
    assert base["label"].tolist() == base["preset"].tolist()
    assert np.allclose(df["mflops"] * 1e6, df["macs"], equal_nan=True)
    assert {"params_SR", "params_pct3x3", "params_width", "value_val_acc"} <= set(df.columns)


def test_failed_trial_keeps_its_nan_accuracy(populated_db: str) -> None:
    df = data.load_trials(data.connect(populated_db), "fire-a")
    failed = df[df["state"] == "FAIL"]
    assert failed["val_acc"].isna().all()
    assert failed["fail_reason"].str.len().gt(0).all()
    assert df.loc[df["state"] == "RUNNING", "value_val_acc"].isna().all()


def test_spec_features_read_the_block_knobs(populated_db: str) -> None:
    df = data.load_trials(data.connect(populated_db), "fire-a")
    search = df[df["role"] == R.ROLE_SEARCH]
    assert (search["kind"] == "fire").all()
    assert search["depth"].equals(search["params_depth"].astype(int))
    assert (search["pct3x3"] - search["params_pct3x3"]).abs().max() < 0.1  # rounded to widths
    assert data.spec_features("not json")["kind"] is None
    assert math.isnan(data.spec_features(None)["depth"])


def test_bulk_sql_read_equals_optuna_read(populated_db: str) -> None:
    storage = data.connect(populated_db)
    info = data.study_info(storage, "fire-a")
    fast = data.trials_frame(data.records(storage, info), info)
    trials = storage.get_all_trials(info.study_id, deepcopy=False)
    slow = data.trials_frame([data.from_frozen(t) for t in trials], info)
    pd.testing.assert_frame_equal(fast, slow)


def test_journal_storage(tmp_path: Path) -> None:
    url = f"journal://{tmp_path / 'studies.log'}"
    make_study(url, "journal-study", 12, seed=5)
    storage = data.connect(url)
    assert not isinstance(storage, optuna.storages.RDBStorage)
    df = data.load_trials(storage, "journal-study")
    assert len(df) == 16 and set(df["role"]) == {R.ROLE_SEARCH, R.ROLE_BASELINE}


def test_empty_study_gives_an_empty_frame(populated_db: str) -> None:
    df = data.load_trials(data.connect(populated_db), "empty")
    assert df.empty and {"number", "val_acc", "mflops", "status"} <= set(df.columns)


def test_unknown_study_names_the_valid_ones(populated_db: str) -> None:
    with pytest.raises(data.DashboardError, match=r"unknown study 'nope'.*fire-a"):
        data.load_trials(data.connect(populated_db), "nope")


def test_missing_database_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "absent.db"
    with pytest.raises(StorageError, match="no study database") as e:
        data.connect(f"sqlite:///{path}")
    assert "\n" not in str(e.value) and not path.exists()
    assert data.missing(f"sqlite:///{path}") == f"no study database at {path}"
    assert data.missing(f"journal://{tmp_path / 'x.log'}").startswith("no journal file")


def test_corrupted_database_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError) as e:
        data.connect(f"sqlite:///{path}")
    assert "\n" not in str(e.value)


def test_password_never_in_messages() -> None:
    with pytest.raises(StorageError) as e:
        data.connect("postgresql://user:s3cret@127.0.0.1:1/nodb")
    assert "s3cret" not in str(e.value) and "***" in str(e.value)


def test_blank_url() -> None:
    with pytest.raises(StorageError, match="no storage URL"):
        data.connect("  ")


def test_test_accuracy_from_the_study_attribute(tmp_path: Path) -> None:
    """Finished trials are read-only, so the search stores front members' test accuracy
    in the study attribute test_acc ({trial number: accuracy})."""
    url = f"sqlite:///{tmp_path / 'tested.db'}"
    study = make_study(url, "tested", 10, seed=6)
    study.set_user_attr(R.TEST_ACC, {"5": 0.91, "6": None})
    df = data.load_trials(data.connect(url), "tested").set_index("number")
    assert df.loc[5, "test_acc"] == 0.91 and math.isnan(df.loc[6, "test_acc"])
    assert df.loc[0, "test_acc"] == pytest.approx(df.loc[0, "val_acc"] - 0.004)  # trial attr
