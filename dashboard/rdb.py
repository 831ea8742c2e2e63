"""Bulk read of one study's trials from an Optuna SQL storage (SQLite, PostgreSQL, MySQL).

Optuna's own `get_all_trials` builds an ORM object per stored row, which takes
seconds for a few thousand trials (and its `get_n_trials(state=...)` does the same).
This module reads the same tables with plain SELECTs through Optuna's own table
definitions and decodes them the way Optuna does (JSON for attributes and
distributions; no pickle). The result equals what `get_all_trials` gives;
tests/dashboard/test_data.py checks that.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from optuna.distributions import BaseDistribution, json_to_distribution
from optuna.storages import RDBStorage
from optuna.storages._rdb import models

TRIALS = models.TrialModel.__table__
VALUES = models.TrialValueModel.__table__
PARAMS = models.TrialParamModel.__table__
ATTRS = models.TrialUserAttributeModel.__table__


@lru_cache(maxsize=256)
def _distribution(text: str) -> BaseDistribution:
    """A parsed distribution, cached by its JSON text."""
    return json_to_distribution(text)


def _local(dt: datetime | None) -> datetime | None:
    """Stored naive UTC -> naive local time, as Optuna's RDB storage returns it."""
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC).astimezone().replace(tzinfo=None)


def _value(value: float | None, kind: Any) -> float:
    """A stored objective value (infinities are stored as a type, not a number)."""
    return models.TrialValueModel.stored_repr_to_value(value, kind)


def trial_rows(storage: RDBStorage, study_id: int) -> list[dict[str, Any]]:
    """Every trial of the study as dicts of TrialRecord's fields, in trial-number order."""
    ids = sa.select(TRIALS.c.trial_id).where(TRIALS.c.study_id == study_id)
    with storage.engine.connect() as con:
        trials = con.execute(
            sa.select(TRIALS.c.trial_id, TRIALS.c.number, TRIALS.c.state,
                      TRIALS.c.datetime_start, TRIALS.c.datetime_complete)
            .where(TRIALS.c.study_id == study_id).order_by(TRIALS.c.number)
        ).all()
        values = con.execute(sa.select(VALUES.c.trial_id, VALUES.c.objective, VALUES.c.value,
                                       VALUES.c.value_type)
                             .where(VALUES.c.trial_id.in_(ids))).all()
        params = con.execute(sa.select(PARAMS.c.trial_id, PARAMS.c.param_name,
                                       PARAMS.c.param_value, PARAMS.c.distribution_json)
                             .where(PARAMS.c.trial_id.in_(ids))
                             .order_by(PARAMS.c.param_id)).all()
        attrs = con.execute(sa.select(ATTRS.c.trial_id, ATTRS.c.key, ATTRS.c.value_json)
                            .where(ATTRS.c.trial_id.in_(ids))).all()
    by_values: dict[int, dict[int, float]] = defaultdict(dict)
    for tid, objective, value, kind in values:
        by_values[tid][objective] = _value(value, kind)
    by_params: dict[int, dict[str, Any]] = defaultdict(dict)
    for tid, name, value, dist in params:
        by_params[tid][name] = _distribution(dist).to_external_repr(value)
    by_attrs: dict[int, dict[str, Any]] = defaultdict(dict)
    for tid, key, text in attrs:
        by_attrs[tid][key] = json.loads(text)
    return [
        {"number": number, "state": getattr(state, "name", str(state)),
         "values": [v for _, v in sorted(by_values[tid].items())] if by_values[tid] else None,
         "params": by_params[tid], "user_attrs": by_attrs[tid],
         "datetime_start": _local(start), "datetime_complete": _local(end)}
        for tid, number, state, start, end in trials
    ]


def trial_counts(storage: RDBStorage, study_id: int) -> dict[str, int]:
    """Trials per state name, by one COUNT query (Optuna's get_n_trials loads every trial)."""
    with storage.engine.connect() as con:
        rows = con.execute(sa.select(TRIALS.c.state, sa.func.count())
                           .where(TRIALS.c.study_id == study_id)
                           .group_by(TRIALS.c.state)).all()
    return {getattr(state, "name", str(state)): int(n) for state, n in rows}
