"""Opening storages: one-line errors, untouched files, hidden passwords."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import optuna
import pytest

from search.storage import (
    DEFAULT_LOG,
    ENV_STORAGE,
    StorageError,
    default_storage_url,
    open_storage,
    redact,
    stored_studies,
)


def test_redact_hides_passwords() -> None:
    assert redact("postgresql://me:s3cret@db:5432/x") == "postgresql://me:***@db:5432/x"
    assert redact("sqlite:///a.db") == "sqlite:///a.db"


def test_missing_database_when_reading(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no study database"):
        open_storage(f"sqlite:///{tmp_path / 'none.db'}", create=False)
    assert not (tmp_path / "none.db").exists()


def test_corrupted_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "bad.db"
    db.write_bytes(b"garbage" * 500)
    with pytest.raises(StorageError, match="not a readable study database"):
        open_storage(f"sqlite:///{db}")
    assert db.read_bytes() == b"garbage" * 500


def test_foreign_sqlite_file_is_not_written_when_reading(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE notes (x TEXT)")
    before = db.read_bytes()
    with pytest.raises(StorageError, match="not a study database"):
        open_storage(f"sqlite:///{db}", create=False)
    assert db.read_bytes() == before


@pytest.mark.parametrize("scheme", ["sqlite", "journal"])
def test_real_storages_round_trip(tmp_path: Path, scheme: str) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}" if scheme == "sqlite" else \
        f"journal://{tmp_path / 's.log'}"
    study = optuna.create_study(study_name="x", storage=open_storage(url))
    study.add_trial(optuna.trial.create_trial(value=1.0))
    again = optuna.load_study(study_name="x", storage=open_storage(url, create=False))
    assert [t.value for t in again.trials] == [1.0]


@pytest.mark.parametrize("scheme", ["sqlite:///", "journal://"])
def test_stored_studies_reads_without_creating(tmp_path: Path, scheme: str) -> None:
    path = tmp_path / "none" / "s.db"
    assert stored_studies(f"{scheme}{path}") == (None, set())
    assert not path.parent.exists()
    optuna.create_study(study_name="a", storage=open_storage(f"{scheme}{path}"))
    store, names = stored_studies(f"{scheme}{path}")
    assert store is not None and names == {"a"}


def test_the_default_storage_is_nas_storage_else_the_journal_file(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """search.run, search.export and the dashboard share one default."""
    monkeypatch.delenv(ENV_STORAGE, raising=False)
    assert default_storage_url() == f"journal://{DEFAULT_LOG}"
    monkeypatch.setenv(ENV_STORAGE, f"sqlite:///{tmp_path}/s.db")
    assert default_storage_url() == f"sqlite:///{tmp_path}/s.db"
