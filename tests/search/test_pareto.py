"""search.pareto against brute-force dominance checks and hand-computed areas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from search.pareto import dominates, dominators, hypervolume, pareto_mask

MAX_MIN = ["maximize", "minimize"]


def brute_front(points: np.ndarray, directions: list[str]) -> np.ndarray:
    """O(n^2): a point is on the front when no other point dominates it."""
    signs = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    pts = points * signs
    return np.array([
        not any(np.all(q <= p) and np.any(q < p) for j, q in enumerate(pts) if j != i)
        for i, p in enumerate(pts)
    ], dtype=bool)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("directions", [MAX_MIN, ["minimize", "minimize"],
                                        ["maximize", "minimize", "minimize"]])
def test_pareto_mask_equals_brute_force(seed: int, directions: list[str]) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 120))
    pts = rng.random((n, len(directions)))
    pts[rng.random(n) < 0.2, 0] = 0.5  # ties in one objective
    pts = np.round(pts, 2)  # and exact duplicates
    assert np.array_equal(pareto_mask(pts, directions), brute_front(pts, directions))


def test_pareto_mask_keeps_duplicates_of_front_points() -> None:
    pts = np.array([[0.9, 10.0], [0.9, 10.0], [0.8, 20.0], [0.95, 30.0]])
    assert pareto_mask(pts, MAX_MIN).tolist() == [True, True, False, True]


def test_pareto_mask_of_nothing() -> None:
    assert pareto_mask(np.zeros((0, 2)), MAX_MIN).size == 0


def test_dominators_lists_every_dominating_point() -> None:
    pts = np.array([[0.9, 5.0], [0.8, 1.0], [0.95, 4.0], [0.7, 9.0]])
    assert dominators([0.85, 6.0], pts, MAX_MIN).tolist() == [0, 2]
    assert dominators([0.99, 0.5], pts, MAX_MIN).tolist() == []
    assert dominates(np.array([1.0, 1.0]), np.array([1.0, 2.0]))
    assert not dominates(np.array([1.0, 1.0]), np.array([1.0, 1.0]))


def test_hypervolume_of_one_point_is_a_rectangle() -> None:
    # log10 span 1e3..1e9 = 6 decades; the point covers 1e6..1e9 (3 decades) at acc 0.8.
    assert hypervolume([0.8], [1e6], ref_macs=1e9) == pytest.approx(0.8 * 3 / 6)


def test_hypervolume_of_a_staircase() -> None:
    acc, macs = [0.5, 0.9], [1e4, 1e6]
    # [1e4, 1e6): best 0.5 over 2 decades; [1e6, 1e8): best 0.9 over 2 decades; span 4.
    expected = (2 * 0.5 + 2 * 0.9) / 4
    assert hypervolume(acc, macs, ref_macs=1e8, min_macs=1e4) == pytest.approx(expected)


def test_hypervolume_ignores_dominated_and_out_of_range_points() -> None:
    base = hypervolume([0.5, 0.9], [1e4, 1e6], ref_macs=1e8, min_macs=1e4)
    more = hypervolume([0.5, 0.9, 0.4, 0.99, math.nan], [1e4, 1e6, 1e7, 1e9, 1e5],
                       ref_macs=1e8, min_macs=1e4)
    assert more == pytest.approx(base)


def test_hypervolume_rejects_a_bad_reference() -> None:
    with pytest.raises(ValueError, match="ref_macs"):
        hypervolume([0.5], [1e4], ref_macs=1e2, min_macs=1e3)
