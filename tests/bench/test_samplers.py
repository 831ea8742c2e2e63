"""bench.samplers' summary on hand-made studies: hypervolume after k trials, median, spread."""

from __future__ import annotations

import datetime as dt

import optuna
import pytest

from bench.samplers import counted, hv_after, table
from search import records as R

T0 = dt.datetime(2026, 1, 1)


def trial(acc: float, macs: float, status: str = R.COMPLETE, minute: int = 0
          ) -> optuna.trial.FrozenTrial:
    t = optuna.trial.create_trial(values=[acc, macs], user_attrs={
        R.ROLE: R.ROLE_SEARCH, R.STATUS: status, R.VAL_ACC: acc, R.MACS: macs})
    t.datetime_start, t.datetime_complete = T0, T0 + dt.timedelta(minutes=minute + 1)
    return t


def study(*trials: optuna.trial.FrozenTrial) -> optuna.Study:
    s = optuna.create_study(directions=["maximize", "minimize"])
    s.add_trials(trials)
    return s


def test_hypervolume_after_k_counts_stopped_trials_but_not_their_accuracy() -> None:
    s = study(trial(0.5, 1e5), trial(0.9, 1e5, R.STOPPED), trial(0.8, 1e7))
    ts = counted(s)
    assert len(ts) == 3
    assert hv_after(ts, 1) == hv_after(ts, 2) == pytest.approx(0.5 * 4 / 5)
    assert hv_after(ts, 3) == pytest.approx((2 * 0.5 + 2 * 0.8) / 5)


def test_the_table_gives_median_spread_and_gain_over_random() -> None:
    studies = {
        "tpe": [study(trial(a, 1e5, minute=m)) for a, m in ((0.8, 1), (0.7, 3), (0.9, 5))],
        "random": [study(trial(a, 1e5)) for a in (0.5, 0.4, 0.6)],
    }
    rows = table(studies, 1)
    assert len(rows) == 4
    # hv of one point at 1e5 = acc * 4/5; tpe median 0.64, random median 0.40: +60%.
    assert rows[2] == "| tpe | 3 | 0.640 (0.560-0.720) | 0.640 (0.560-0.720) | " \
                      "0.640 (0.560-0.720) | 0.640 (0.560-0.720) | +60.0% | 4.0 |"
    assert rows[3].startswith("| random | 3 | 0.400 (0.320-0.480)") and "+0.0%" in rows[3]
