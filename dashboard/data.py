"""Storage -> DataFrame: the studies of a storage and one row per trial (no Streamlit here).

The trial frame has one row per trial and these columns (absent values are NaN/None):

study, space, number, state (Optuna's), status, role, preset, label,
val_acc, test_acc, macs, mflops, params, mparams, size_bytes, size_mb, activations,
latency_ms, train_seconds, images_per_s, device, seed, digest, duplicate_of, fail_reason,
value_<objective> (trial.values by the study's objectives), rungs, spec (ArchSpec JSON),
kind, depth, sr, pct3x3, groups, bypass (read from the spec, so baselines have them too),
params_<name> (Optuna's sampled metaparameters), datetime_start, datetime_complete.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from optuna.storages import BaseStorage, RDBStorage
from optuna.trial import FrozenTrial, TrialState

from dashboard import rdb
from nas_space import BLOCKS
from search import records as R
from search.storage import StorageError, open_storage, redact

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
STATUS_OF_STATE = {"COMPLETE": R.COMPLETE, "PRUNED": R.STOPPED, "FAIL": R.FAILED,
                   "RUNNING": "running", "WAITING": "waiting"}
NUMERIC_ATTRS = (R.VAL_ACC, R.TEST_ACC, R.MACS, R.PARAMS, R.SIZE_BYTES, R.ACTIVATIONS,
                 R.LATENCY_MS, R.TRAIN_SECONDS, R.IMAGES_PER_S, R.DUPLICATE_OF, R.SEED)
TEXT_ATTRS = (R.PRESET, R.DEVICE, R.DIGEST, R.FAIL_REASON, R.SPEC)
DEFAULT_OBJECTIVES = ["val_acc", "macs"]


class DashboardError(Exception):
    """Bad input for a view (unknown study, unreadable record); the message is one line."""


@dataclass(frozen=True)
class TrialRecord:
    """The plain fields of one stored trial, whichever storage it came from."""

    number: int
    state: str
    values: list[float] | None
    params: dict[str, Any]
    user_attrs: dict[str, Any]
    datetime_start: datetime | None = None
    datetime_complete: datetime | None = None


@dataclass(frozen=True)
class StudyInfo:
    """A study's name, id, attributes and objective names."""

    name: str
    study_id: int
    attrs: dict[str, Any] = field(default_factory=dict)
    n_directions: int = 2

    @property
    def objectives(self) -> list[str]:
        """Objective names in trial.values order (the study attr, else the defaults)."""
        objectives = self.attrs.get(R.OBJECTIVES)
        if isinstance(objectives, list) and len(objectives) == self.n_directions:
            return [str(o) for o in objectives]
        if self.n_directions == len(DEFAULT_OBJECTIVES):
            return list(DEFAULT_OBJECTIVES)
        return [f"objective_{i}" for i in range(self.n_directions)]


def connect(url: str) -> BaseStorage:
    """Open an existing storage read-only in spirit (never create one); StorageError if not."""
    url = url.strip()
    if not url:
        raise StorageError("no storage URL given")
    try:
        return open_storage(url, create=False)
    except StorageError:
        raise
    except Exception as e:  # optuna and SQLAlchemy raise many types; one line for the UI
        raise StorageError(f"cannot open storage {redact(url)}: {_one_line(e)}") from None


def missing(url: str) -> str | None:
    """A one-line reason when a file storage's file is absent (checked before each use)."""
    url = url.strip()
    for prefix, what in (("sqlite:///", "study database"), ("journal://", "journal file")):
        if url.startswith(prefix):
            path = Path(url[len(prefix):])
            return None if path.is_file() else f"no {what} at {path}"
    return None


def _one_line(e: BaseException) -> str:
    """The first line of an error, with any password hidden."""
    text = str(e).strip().splitlines()
    return redact(text[0]) if text else type(e).__name__


def _guard(what: str, fn: Any, *args: Any) -> Any:
    """Run a storage read, turning any storage-side failure into a one-line DashboardError."""
    try:
        return fn(*args)
    except (DashboardError, StorageError):
        raise
    except Exception as e:
        raise DashboardError(f"cannot read {what}: {_one_line(e)}") from None


def studies(storage: BaseStorage) -> list[StudyInfo]:
    """Every study of the storage, sorted by name."""
    frozen = _guard("the list of studies", storage.get_all_studies)
    ids = {s.study_name: _guard("the list of studies", storage.get_study_id_from_name,
                                s.study_name) for s in frozen}
    infos = [StudyInfo(s.study_name, ids[s.study_name], dict(s.user_attrs), len(s.directions))
             for s in frozen]
    return sorted(infos, key=lambda s: s.name)


def study_info(storage: BaseStorage, name: str) -> StudyInfo:
    """One study by name; DashboardError naming the valid studies when it is unknown."""
    infos = {s.name: s for s in studies(storage)}
    if name not in infos:
        valid = ", ".join(sorted(infos)) or "none"
        raise DashboardError(f"unknown study {name!r}; studies in this storage: {valid}")
    return infos[name]


def studies_frame(storage: BaseStorage) -> pd.DataFrame:
    """One row per study: name, trial count, space, dataset, objectives."""
    rows = [{"study": s.name, "trials": trial_counts(storage, s)[0],
             "space": s.attrs.get(R.SPACE, ""), "dataset": s.attrs.get(R.DATASET, ""),
             "objectives": " vs ".join(s.objectives)} for s in studies(storage)]
    return pd.DataFrame(rows, columns=["study", "trials", "space", "dataset", "objectives"])


def trial_counts(storage: BaseStorage, info: StudyInfo) -> tuple[int, int]:
    """(all trials, finished trials): a cheap key that changes when a search adds results."""
    if isinstance(storage, RDBStorage):
        counts = _guard("the trial count", rdb.trial_counts, storage, info.study_id)
    else:
        trials = _guard("the trial count", storage.get_all_trials, info.study_id, False)
        counts = Counter(t.state.name for t in trials)
    done = sum(counts.get(s.name, 0) for s in FINISHED)
    return sum(counts.values()), done


def records(storage: BaseStorage, info: StudyInfo) -> list[TrialRecord]:
    """Every trial of a study as plain records (SQL storages read in bulk, others via Optuna)."""
    if isinstance(storage, RDBStorage):
        rows = _guard(f"the trials of {info.name!r}", rdb.trial_rows, storage, info.study_id)
        return [TrialRecord(**row) for row in rows]
    trials = _guard(f"the trials of {info.name!r}", storage.get_all_trials, info.study_id,
                    False)
    return [from_frozen(t) for t in trials]


def from_frozen(t: FrozenTrial) -> TrialRecord:
    """The record of an Optuna FrozenTrial."""
    return TrialRecord(t.number, t.state.name, list(t.values) if t.values else None,
                       dict(t.params), dict(t.user_attrs), t.datetime_start,
                       t.datetime_complete)


def load_trials(storage: BaseStorage, name: str) -> pd.DataFrame:
    """The trial frame of one study (see the module docstring for its columns)."""
    info = study_info(storage, name)
    return trials_frame(records(storage, info), info)


def trials_frame(recs: list[TrialRecord], info: StudyInfo) -> pd.DataFrame:
    """Flatten records into the trial frame."""
    rows = [_row(r, info) for r in recs]
    df = pd.DataFrame(rows)
    if df.empty:
        df = pd.DataFrame(columns=["study", "space", "number", "state", "status", "role"])
    for col in NUMERIC_ATTRS:
        df[col] = pd.to_numeric(df.get(col), errors="coerce") if col in df else math.nan
    df["mflops"] = df[R.MACS] / 1e6
    df["mparams"] = df[R.PARAMS] / 1e6
    df["size_mb"] = df[R.SIZE_BYTES] / 1e6
    return df.sort_values("number", kind="stable").reset_index(drop=True)


def _number(value: Any) -> float:
    """A finite or NaN float from any stored value."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _row(r: TrialRecord, info: StudyInfo) -> dict[str, Any]:
    """One trial's row of the trial frame."""
    a = r.user_attrs
    row: dict[str, Any] = {
        "study": info.name, "space": str(info.attrs.get(R.SPACE, "")), "number": r.number,
        "state": r.state, "status": str(a.get(R.STATUS) or STATUS_OF_STATE.get(r.state, "?")),
        "role": str(a.get(R.ROLE) or R.ROLE_SEARCH),
        "datetime_start": r.datetime_start, "datetime_complete": r.datetime_complete,
    }
    row |= {k: _number(a.get(k)) for k in NUMERIC_ATTRS}
    if not math.isfinite(row[R.TEST_ACC]):  # finished trials are read-only: the search keeps
        tested = info.attrs.get(R.TEST_ACC)  # front members' test accuracy in a study attr
        if isinstance(tested, dict):
            row[R.TEST_ACC] = _number(tested.get(str(r.number)))
    row |= {k: a.get(k) if isinstance(a.get(k), str) else None for k in TEXT_ATTRS}
    values = r.values or []
    for i, objective in enumerate(info.objectives):
        row[f"value_{objective}"] = _number(values[i]) if i < len(values) else math.nan
        if (objective in (R.VAL_ACC, R.MACS) and not math.isfinite(row[objective])
                and row["status"] in (R.COMPLETE, R.DUPLICATE)):
            row[objective] = row[f"value_{objective}"]
    rungs = a.get(R.RUNGS)
    row["rungs"] = rungs if isinstance(rungs, list) else []
    row["label"] = row[R.PRESET] or f"#{r.number}"
    row |= spec_features(row[R.SPEC])
    row |= {f"params_{k}": v for k, v in r.params.items()}
    return row


def spec_features(spec_json: str | None) -> dict[str, Any]:
    """Block kind(s), depth and the block knobs (mean SR and pct3x3, max groups) of a spec."""
    empty = {"kind": None, "depth": math.nan, "sr": math.nan, "pct3x3": math.nan,
             "groups": math.nan, "bypass": None}
    try:
        blocks = json.loads(spec_json)["blocks"] if spec_json else None
        kinds = Counter(str(b["kind"]) for b in blocks)
    except (ValueError, KeyError, TypeError):
        return empty
    if not blocks:
        return empty
    uses = {k: BLOCKS[k].uses if k in BLOCKS else frozenset() for k in kinds}
    srs = [b.get("sr", 1.0) for b in blocks if "sr" in uses[b["kind"]]]
    pcts = [b.get("pct3x3", 0.5) for b in blocks if "pct3x3" in uses[b["kind"]]]
    bypasses = [b.get("bypass", "none") for b in blocks if "bypass" in uses[b["kind"]]]
    non_none = [x for x in bypasses if x != "none"]
    return {
        "kind": "+".join(sorted(kinds)), "depth": len(blocks),
        "sr": sum(srs) / len(srs) if srs else math.nan,
        "pct3x3": sum(pcts) / len(pcts) if pcts else math.nan,
        "groups": max(max(b.get("groups", 1), b.get("squeeze_groups", 1)) for b in blocks),
        "bypass": Counter(non_none).most_common(1)[0][0] if non_none else "none",
    }
