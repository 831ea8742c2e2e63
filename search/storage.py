"""Opening Optuna storages from one URL form, with one-line errors and hidden passwords.

Accepted:
    journal:///path/to/file.log   Optuna's journal file (the default, studies/studies.log):
                                  many worker processes on one machine, no lock errors
    postgresql://user@host/db     PostgreSQL, for workers on many machines (the password
                                  may also come from $PGPASSWORD, ~/.pgpass or a libpq
                                  service; the whole URL from $NAS_STORAGE)
    sqlite:///path.db             SQLite, for a few processes on one machine (older default)
and any other SQLAlchemy URL Optuna takes. SQL storages record heartbeats of running
trials, so a trial whose worker died is found and failed (search.view.StudyView).
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
import warnings
from pathlib import Path

import optuna
import sqlalchemy.exc
from optuna.storages import BaseStorage

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LOG = ROOT / "studies" / "studies.log"
#: The stored results of the evidence (the design-space study files and the long
#: benchmarks), tracked in git so that `make results` rebuilds docs/RESULTS.md on a clean
#: clone and a resumable benchmark continues where an earlier machine stopped.
RESULTS_DIR = ROOT / "studies" / "results"
#: The environment variable that may carry the storage URL (keeps a password off argv).
ENV_STORAGE = "NAS_STORAGE"
#: SQL storages: seconds between heartbeats of a running trial, and the silence after
#: which its worker is taken for dead.
HEARTBEAT_S = 10
GRACE_S = 60


# The search runs trials by ask and tell and starts their heartbeats itself
# (search.view.StudyView.heartbeat); Optuna's heartbeat and retry are marked experimental.
warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning,
                        message=".*(RetryHeartbeatStaleTrialCallback|heartbeat_interval|"
                        "grace_period)")


class StorageError(Exception):
    """A storage that cannot be opened; the message is one line and shows no password."""


def default_storage_url() -> str:
    """The URL in $NAS_STORAGE when set, else the journal file studies/studies.log."""
    return os.environ.get(ENV_STORAGE) or f"journal://{DEFAULT_LOG}"


def redact(text: str) -> str:
    """The URL (or any text holding one) with passwords replaced by ***."""
    text = re.sub(r"(://[^:/@\s]+:)[^@\s]*@", r"\1***@", text)
    return re.sub(r"(?i)(password=)[^&\s]*", r"\1***", text)


FILE_PREFIXES = ("sqlite:///", "journal://")


def file_path(url: str) -> Path | None:
    """The file behind a sqlite:/// or journal:// URL, else None."""
    for prefix in FILE_PREFIXES:
        if url.startswith(prefix):
            return Path(url[len(prefix):])
    return None


def anchored(url: str, base: Path) -> str:
    """The URL with a relative file path taken from `base` (a study file's folder), so a
    study file names its storage the same from any working directory; other URLs as given."""
    path = file_path(url)
    if path is None or path.is_absolute():
        return url
    return next(p for p in FILE_PREFIXES if url.startswith(p)) + str(base / path)


def open_storage(url: str, *, create: bool = True) -> BaseStorage:
    """Open (or, with create, make) a storage; raise StorageError with a one-line reason."""
    try:
        if url.startswith("journal://"):
            return _journal(Path(url[len("journal://"):]), create)
        path = _sqlite_path(url)
        if path is not None:
            if not create and not path.exists():
                raise StorageError(f"no study database at {path}")
            path.parent.mkdir(parents=True, exist_ok=True)
            _check_sqlite(path, need_study_tables=not create)
        return _rdb(url)
    except StorageError:
        raise
    except ModuleNotFoundError as e:
        raise StorageError(f"cannot open storage {redact(url)}: the driver {e.name!r} is "
                           f"missing (pip install -e '.[postgres]')") from None
    except Exception as e:  # SQLAlchemy raises many types; the user needs one line
        raise StorageError(f"cannot open storage {redact(url)}: {_first_line(e)}") from None


def stored_studies(url: str) -> tuple[BaseStorage | None, set[str]]:
    """The storage behind URL and its studies' names, for reading only: a file storage that
    does not exist yet stays uncreated and reads as (None, no names)."""
    path = file_path(url)
    if path is not None and not path.exists():
        return None, set()
    store = open_storage(url, create=False)
    return store, {s.study_name for s in optuna.get_all_study_summaries(store)}


def _rdb(url: str, tries: int = 4) -> BaseStorage:
    """RDBStorage; workers that create the tables of a new database at the same moment
    collide once (duplicate table or type), so a collision is retried."""
    for attempt in range(tries):
        try:
            return optuna.storages.RDBStorage(
                url, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S,
                engine_kwargs=_engine_kwargs(url))
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
            if attempt == tries - 1:
                raise
            time.sleep(0.5 + attempt)
    raise AssertionError("unreachable")


def _first_line(e: BaseException) -> str:
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return redact(lines[0]) if lines else type(e).__name__


def _engine_kwargs(url: str) -> dict[str, object]:
    if url.startswith("sqlite"):  # wait for a lock rather than fail at once
        return {"connect_args": {"timeout": 60}}
    if url.startswith("postgresql"):  # a dropped connection is reopened, not an error
        return {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
    return {}


def _journal(path: Path, create: bool) -> BaseStorage:
    if not path.exists():
        if not create:
            raise StorageError(f"no journal file at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
    elif path.stat().st_size:
        with path.open("rb") as f:
            head = f.read(1)
        if head != b"{":
            raise StorageError(f"{path} is not an Optuna journal file")
    backend = optuna.storages.journal.JournalFileBackend(str(path))
    return optuna.storages.JournalStorage(backend)


def _sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:///"):
        return None
    return Path(url[len("sqlite:///"):])


def _check_sqlite(path: Path, need_study_tables: bool) -> None:
    """Refuse a file that is not SQLite or fails its integrity check; when only reading,
    also one without Optuna's tables (opening would otherwise create them in it)."""
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
            con.execute("PRAGMA schema_version").fetchone()
            ok = con.execute("PRAGMA quick_check").fetchone()
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as e:
        raise StorageError(f"{path} is not a readable study database ({e})") from None
    if not ok or ok[0] != "ok":
        raise StorageError(f"{path} is corrupted (sqlite quick_check: {ok[0] if ok else '?'})")
    if need_study_tables and "studies" not in tables:
        raise StorageError(f"{path} is an SQLite file but not a study database")
