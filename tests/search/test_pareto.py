"""search.pareto against brute-force dominance checks and hand-computed areas."""

from __future__ import annotations

import numpy as np
import pytest

from search.pareto import dominates, dominators, pareto_mask

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
