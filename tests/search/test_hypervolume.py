"""The shared hypervolume: pinned on hand-computed fronts, and one value in CLI and dashboard."""

from __future__ import annotations

import math
import re

import optuna
import pytest

from dashboard import analysis as A
from dashboard.data import load_trials
from dashboard.pages import hypervolume_table
from search.hypervolume import MIN_MACS, REF_MACS, hypervolume
from search.report import points, progress_stats
from search.storage import open_storage
from tests.dashboard.test_app import run_app

# The box is log10 MACs 4..9 (5 decades) by accuracy 0..1.
DECADES = math.log10(REF_MACS) - math.log10(MIN_MACS)


def test_the_bounds_are_the_documented_ones() -> None:
    assert (MIN_MACS, REF_MACS, DECADES) == (1e4, 1e9, 5)


def test_one_point_is_a_rectangle() -> None:
    # 1e6..1e9 is 3 of the 5 decades, at accuracy 0.8.
    assert hypervolume([0.8], [1e6]) == pytest.approx(0.8 * 3 / 5)


def test_a_staircase_in_any_order() -> None:
    # [1e5, 1e7): best 0.5 over 2 decades; [1e7, 1e9): best 0.8 over 2 decades.
    expected = (2 * 0.5 + 2 * 0.8) / 5
    assert expected == pytest.approx(0.52)
    assert hypervolume([0.5, 0.8], [1e5, 1e7]) == pytest.approx(expected)
    assert hypervolume([0.8, 0.5], [1e7, 1e5]) == pytest.approx(expected)


def test_dominated_out_of_range_and_nan_points_add_nothing() -> None:
    more = hypervolume([0.5, 0.8, 0.4, 0.99, math.nan, 0.0], [1e5, 1e7, 1e6, 1e9, 1e5, 1e4])
    assert more == pytest.approx(0.52)


def test_cheaper_than_the_lower_bound_counts_as_the_bound() -> None:
    # (0.3, 1e3) counts at 1e4: it adds 0.3 over the decade 1e4..1e5.
    assert hypervolume([0.3, 0.5, 0.8], [1e3, 1e5, 1e7]) == pytest.approx(0.52 + 0.3 / 5)
    assert hypervolume([1.0], [10]) == pytest.approx(1.0)


def test_no_points_no_volume() -> None:
    assert hypervolume([], []) == 0.0




def test_cli_summary_and_dashboard_show_the_same_value(bn_study: tuple[str, str]) -> None:
    url, out = bn_study
    # the final summary, not a progress line (those print the hypervolume so far)
    printed = re.search(r"study '[^']+': \d+ searched trials, best val acc \d\.\d{4}, "
                        r"hypervolume (\d\.\d{4})", out)
    assert printed is not None
    study = optuna.load_study(study_name="squeeze-digits", storage=url)
    assert len(points(study)) > len(points(study, "search")) >= 2  # baselines left out
    df = load_trials(open_storage(url), "squeeze-digits")
    assert hypervolume_table(df)["hypervolume"].tolist() == [printed.group(1)]
    at = run_app(url, "Progress", ["squeeze-digits"])  # the page a user opens
    assert not at.exception
    assert at.dataframe[0].value["hypervolume"].tolist() == [printed.group(1)]
    assert A.study_hypervolume(df) == pytest.approx(progress_stats(study)["hv"], abs=1e-12)
    assert 0 < A.study_hypervolume(df) < 1
    assert A.hypervolume_curve(df)["hypervolume"].iloc[-1] == pytest.approx(
        A.study_hypervolume(df), abs=1e-12)
