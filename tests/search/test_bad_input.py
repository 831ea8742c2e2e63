"""Bad input, one test each: a one-line error, the documented exit code (2: a bad option
or study file; 1: unusable data, storage or study), no traceback, and the stored study
byte-for-byte as it was."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import optuna
import pytest

from bench.pgserver import LocalPostgres, free_port
from search.data import DEBIAN_FASHION
from search.run import main
from search.storage import open_storage
from tests.search.workers import TINY, copy_made


def refused(args: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    got = main(args)
    err = capsys.readouterr().err
    assert got == code, err
    assert message in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    return err


def fixed_file(folder: Path, line: str) -> Path:
    path = folder / "bad.toml"
    path.write_text(TINY.format(budget="smoke").replace("bn = true", f"bn = true\n{line}"))
    return path


CLI = {
    "unknown space": (["--space", "nope"], 2, "unknown space 'nope'; valid:"),
    "unknown dataset": (["--dataset", "nope"], 2, "unknown dataset 'nope'; valid:"),
    "trials 0": (["--trials", "0"], 2, "--trials: must be >= 1, got 0"),
    "trials -1": (["--trials", "-1"], 2, "--trials: must be >= 1, got -1"),
    "SR <= 0": ("SR = 0", 2, "SR: 0 is outside"),
    "pct3x3 > 1": ("pct3x3 = 1.5", 2, "pct3x3: 1.5 is outside [0.0, 1.0]"),
    "groups that cannot divide": ("groups = 3", 2, "groups: 3 is not one of"),
    "a grid axis the space lacks": ("[grid]\nnosuch = [1]", 2,
                                    "[grid] nosuch: not an axis of space 'squeeze'"),
    "a grid value out of range": ("[grid]\nSR = [0.5, 5.0]", 2, "[grid] SR: 5.0 is outside"),
    "image size too large": (["--image-size", "2000"], 2,
                             "--image-size: must be at most 1024, got 2000"),
    "nonexistent study": (["--resume", "--study", "nope"], 1, "no study 'nope'"),
    "missing dataset files": (["--dataset", "fashion-mnist", "--data-root", "{tmp}/none"], 1,
                              "fashion-mnist: no such directory"),
}


@pytest.mark.parametrize("case", CLI)
def test_bad_input_leaves_the_study_alone(made: tuple[Path, Path], tmp_path: Path, case: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    log, before = copy_made(made[0], tmp_path)
    change, code, message = CLI[case]
    f = made[1] if isinstance(change, list) else fixed_file(tmp_path, change)
    extra = [a.format(tmp=tmp_path) for a in change] if isinstance(change, list) else []
    refused(["--study-file", str(f), "--storage", f"journal://{log}", *extra], code, message,
            capsys)
    assert log.read_bytes() == before


def test_a_corrupted_dataset_file(made: tuple[Path, Path], tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    if not DEBIAN_FASHION.is_dir():
        pytest.skip("needs the apt package dataset-fashion-mnist")
    root = tmp_path / "fm"
    shutil.copytree(DEBIAN_FASHION, root)
    for labels in root.glob("*labels*"):
        head = labels.read_bytes()[:100]
        labels.chmod(0o644)
        labels.write_bytes(head + b"garbage" * 20)
    log, before = copy_made(made[0], tmp_path)
    refused(["--study-file", str(made[1]), "--storage", f"journal://{log}",
             "--dataset", "fashion-mnist", "--data-root", str(root)], 1, "is corrupted",
            capsys)
    assert log.read_bytes() == before


def _newer_schema(path: Path) -> None:
    optuna.create_study(study_name="squeeze-digits", storage=f"sqlite:///{path}",
                        directions=["maximize", "minimize"])
    with sqlite3.connect(path) as con:
        con.execute("UPDATE alembic_version SET version_num = 'v99.0.0.a'")


@pytest.mark.parametrize("case, make, message", [
    ("not a database", lambda p: p.write_bytes(b"not a database" * 100),
     "not a readable study database"),
    ("a newer schema", _newer_schema, "cannot open storage"),
])
def test_bad_database_files(made: tuple[Path, Path], tmp_path: Path, case: str, make,
                            message: str, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.db"
    make(db)
    before = db.read_bytes()
    refused(["--study-file", str(made[1]), "--storage", f"sqlite:///{db}"], 1, message, capsys)
    assert db.read_bytes() == before


def test_a_journal_that_is_not_a_journal(made: tuple[Path, Path], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "s.log"
    log.write_bytes(b"not a journal\n" * 10)
    refused(["--study-file", str(made[1]), "--storage", f"journal://{log}"], 1,
            "is not an Optuna journal file", capsys)
    assert log.read_bytes() == b"not a journal\n" * 10


@pytest.mark.parametrize("url", ["postgresql://::not a url", "nonsense"])
def test_an_unparseable_storage_url(made: tuple[Path, Path], url: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    refused(["--study-file", str(made[1]), "--storage", url], 1, "cannot open storage", capsys)


def dump(url: str) -> str:
    study = optuna.load_study(study_name="squeeze-digits", storage=open_storage(url))
    return repr([(t.number, t.state, t.params, t.user_attrs) for t in study.get_trials()])


@pytest.fixture
def pg_study(made: tuple[Path, Path], pg_url: str) -> str:
    """The made study, copied into a fresh PostgreSQL database."""
    optuna.copy_study(from_study_name="squeeze-digits", from_storage=open_storage(
        f"journal://{made[0]}"), to_storage=open_storage(pg_url))
    return pg_url


def test_a_postgresql_server_that_is_down(made: tuple[Path, Path], postgres: LocalPostgres,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    url = postgres.url().replace(f":{postgres.port}/", f":{free_port()}/")
    err = refused(["--study-file", str(made[1]), "--storage", url], 1, "cannot open storage",
                  capsys)
    assert postgres.password not in err and "***" in err


def test_a_wrong_password(made: tuple[Path, Path], postgres: LocalPostgres, pg_study: str,
                          capsys: pytest.CaptureFixture[str]) -> None:
    before = dump(pg_study)
    url = pg_study.replace(postgres.password, "wrong-password")
    err = refused(["--study-file", str(made[1]), "--storage", url], 1,
                  "password authentication failed", capsys)
    assert "wrong-password" not in err
    assert dump(pg_study) == before
