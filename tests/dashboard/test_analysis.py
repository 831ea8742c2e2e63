"""dashboard.analysis: fronts against brute force, EDFs on a hand-made sample, importance."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dashboard import analysis as A
from dashboard import data
from search import records as R
from search.hypervolume import hypervolume


def frame(acc: list[float], mflops: list[float], study: str = "s", **cols: list) -> pd.DataFrame:
    """A minimal trial frame of completed search trials."""
    n = len(acc)
    df = pd.DataFrame({"study": study, "number": range(n), "state": "COMPLETE",
                       "status": R.COMPLETE, "role": R.ROLE_SEARCH, "val_acc": acc,
                       "mflops": mflops, "label": [f"#{i}" for i in range(n)]})
    for name, values in cols.items():
        df[name] = values
    return df


def brute_front(acc: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """O(n^2): on the front when no point is at least as good on both and better on one."""
    return np.array([
        not any(acc[j] >= acc[i] and cost[j] <= cost[i] and (acc[j] > acc[i] or cost[j] < cost[i])
                for j in range(len(acc)))
        for i in range(len(acc))
    ])


@pytest.mark.parametrize("seed", range(10))
def test_front_equals_brute_force_on_random_points(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    acc = np.round(rng.random(n), 2)  # rounding makes ties and duplicates
    cost = np.round(10 ** rng.uniform(-1, 3, n), 1) + 0.1
    mask = A.front_mask(frame(list(acc), list(cost)))
    assert np.array_equal(mask.to_numpy(), brute_front(acc, cost))


def test_front_is_per_study_and_skips_unusable_trials() -> None:
    df = pd.concat([frame([0.5, 0.9, 0.99], [1.0, 10.0, 5.0], "a"),
                    frame([0.6, 0.7], [1.0, 2.0], "b")], ignore_index=True)
    df.loc[2, "status"] = R.INFEASIBLE  # would dominate trial 1 of "a"
    df.loc[3, "role"] = R.ROLE_BASELINE
    assert A.front_mask(df).tolist() == [True, True, False, False, True]


def test_usable_excludes_every_unfinished_kind() -> None:
    df = frame([0.9] * 7, [1.0] * 7)
    df.loc[1, "state"], df.loc[1, "status"] = "PRUNED", R.STOPPED
    df.loc[2, "state"], df.loc[2, "status"] = "FAIL", R.FAILED
    df.loc[3, "state"], df.loc[3, "status"] = "RUNNING", "running"
    df.loc[4, "status"] = R.DUPLICATE
    df.loc[5, "status"] = R.INFEASIBLE
    df.loc[6, "val_acc"] = math.nan
    assert A.usable(df).tolist() == [True] + [False] * 6


def test_edf_on_a_hand_made_sample() -> None:
    errors = [0.1, 0.2, 0.2, 0.4, math.nan]
    at = [0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5]
    assert A.edf(errors, at).tolist() == [0.0, 0.0, 0.25, 0.25, 0.75, 0.75, 1.0]
    x, f = A.edf_curve(errors)
    assert x.tolist() == [0.1, 0.2, 0.2, 0.4] and f.tolist() == [0.25, 0.5, 0.75, 1.0]
    assert np.isnan(A.edf([], [0.1])).all()


def test_edf_frame_groups_and_restricts_the_cost_range() -> None:
    df = frame([0.9, 0.8, 0.7, 0.6], [1.0, 2.0, 30.0, 40.0], space=["a", "a", "b", "b"])
    curves = A.edf_frame(df, "space", (0.5, 35.0))
    assert sorted(curves["group"].unique()) == ["a (n=2)", "b (n=1)"]
    assert curves.loc[curves["group"] == "b (n=1)", "error"].round(6).tolist() == [0.3]


def test_hypervolume_curve_is_monotone_and_ends_at_the_front() -> None:
    rng = np.random.default_rng(0)
    df = frame(list(rng.uniform(0.5, 0.95, 60)), list(10 ** rng.uniform(-1, 2, 60)))
    df.loc[df.index % 9 == 4, "status"] = R.STOPPED
    curve = A.hypervolume_curve(df)
    assert len(curve) == 60 and (np.diff(curve["hypervolume"]) >= -1e-12).all()
    front = df[A.front_mask(df)]
    final = hypervolume(front["val_acc"], front["mflops"] * 1e6)
    assert final > 0 and curve["hypervolume"].iloc[-1] == pytest.approx(final)
    assert A.study_hypervolume(df) == pytest.approx(final)


def test_fronts_over_time_grow_to_the_final_front() -> None:
    rng = np.random.default_rng(1)
    df = frame(list(rng.uniform(0.5, 0.95, 40)), list(10 ** rng.uniform(-1, 2, 40)))
    fronts = A.fronts_over_time(df)
    assert list(dict.fromkeys(fronts["after"])) == ["25% (10 trials)", "50% (20 trials)",
                                                    "75% (30 trials)", "100% (40 trials)"]
    last = fronts[fronts["after"].str.startswith("100%")]
    assert set(last["number"]) == set(df.loc[A.front_mask(df), "number"])
    assert fronts[fronts["after"].str.startswith("25%")]["number"].max() < 10


def test_importance_finds_the_parameter_that_matters() -> None:
    rng = np.random.default_rng(2)
    n = 200
    sr = rng.choice([0.125, 0.25, 0.5, 1.0], n)
    noise = rng.choice([1, 2, 3], n)
    df = frame(list(0.7 + 0.2 * sr + rng.normal(0, 0.005, n)), list(10 ** rng.uniform(0, 2, n)),
               params_SR=list(sr), params_noise=list(noise))
    table = A.importance(df)
    assert table["metaparameter"].iloc[0] == "SR"
    top = table.set_index("metaparameter")["accuracy"]
    assert top["SR"] > 0.9 and top["noise"] < 0.1


def test_variance_explained_by_hand() -> None:
    values = pd.Series(["a", "a", "b", "b"])
    # group means 1 and 3, grand mean 2: between = 4 * 1 = 4; total = 1+1+1+1 = 4 -> 1.
    assert A.variance_explained(values, pd.Series([1.0, 1.0, 3.0, 3.0])) == pytest.approx(1.0)
    # target 0, 2, 0, 2: group means both 1 -> between 0.
    assert A.variance_explained(values, pd.Series([0.0, 2.0, 0.0, 2.0])) == pytest.approx(0.0)
    assert math.isnan(A.variance_explained(values, pd.Series([1.0] * 4)))


def test_binned_means_order_and_counts() -> None:
    df = pd.DataFrame({"x": [1, 1, 2, 2, 3], "y": [1.0, 3.0, 5.0, 5.0, 9.0]})
    means = A.binned_means(df, "x", "y")
    assert means["center"].tolist() == [1, 2, 3] and means["mean"].tolist() == [2.0, 5.0, 9.0]
    assert means["count"].tolist() == [2, 2, 1]


def test_analysis_of_a_stored_study(populated_db: str) -> None:
    df = data.load_trials(data.connect(populated_db), "fire-a")
    assert A.front_mask(df).sum() >= 3
    assert A.axes_present(df) == ["mflops", "mparams", "size_mb"]
    assert "params_SR" in A.candidate_columns(df) and "sr" not in A.candidate_columns(df)
    assert not A.importance(df).empty and not A.edf_frame(df).empty
