"""Opening Optuna storages from one URL form, with one-line errors and hidden passwords.

Accepted: any SQLAlchemy URL Optuna takes (sqlite:///path.db, postgresql://user:pw@host/db)
and journal:///path/to/file.log for Optuna's journal-file backend (parallel workers on
one machine).
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import optuna
from optuna.storages import BaseStorage

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB = ROOT / "studies" / "studies.db"


class StorageError(Exception):
    """A storage that cannot be opened; the message is one line and shows no password."""


def default_storage_url() -> str:
    return f"sqlite:///{DEFAULT_DB}"


def redact(url: str) -> str:
    """The URL with any password replaced by ***."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def _sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:///"):
        return None
    return Path(url[len("sqlite:///"):])


def open_storage(url: str, *, create: bool = True) -> BaseStorage:
    """Open (or, with create, make) a storage; raise StorageError with a one-line reason."""
    if url.startswith("journal://"):
        path = Path(url[len("journal://"):])
        if not create and not path.exists():
            raise StorageError(f"no journal file at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        backend = optuna.storages.journal.JournalFileBackend(str(path))
        return optuna.storages.JournalStorage(backend)
    path = _sqlite_path(url)
    if path is not None:
        if not create and not path.exists():
            raise StorageError(f"no study database at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        _check_sqlite(path, need_study_tables=not create)
    try:
        return optuna.storages.RDBStorage(url, heartbeat_interval=None)
    except Exception as e:  # SQLAlchemy raises many types; the user needs one line
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise StorageError(f"cannot open storage {redact(url)}: {redact(reason)}") from None


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
