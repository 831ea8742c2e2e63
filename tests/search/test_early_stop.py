"""The Pareto-aware rung rule on synthetic learning curves."""

from __future__ import annotations

import numpy as np
import pytest

from search.early_stop import promising
from search.pareto import pareto_mask


def test_the_cheapest_trial_always_goes_on() -> None:
    peers = [(0.9, 5e6), (0.95, 8e6), (0.92, 9e6)]
    assert promising(0.1, 1e6, peers)


def test_too_few_peers_means_no_evidence() -> None:
    assert promising(0.1, 9e6, [(0.9, 1e6), (0.95, 2e6)], min_peers=4)


def test_the_most_accurate_trial_always_goes_on() -> None:
    cheaper = [(0.80, 1e6), (0.82, 2e6), (0.84, 3e6), (0.86, 4e6), (0.88, 5e6)]
    assert promising(0.95, 9e6, cheaper, eta=3)


def test_a_dominated_trial_goes_on_only_while_few_trials_rank_above_it() -> None:
    front = [(0.80, 1e6), (0.82, 2e6), (0.84, 3e6), (0.86, 4e6), (0.88, 5e6)]
    assert not promising(0.87, 9e6, front, eta=3)          # 5 of 6 in a better front
    second = [(0.70, 6e6), (0.72, 7e6), (0.74, 8e6), (0.76, 8.5e6)] * 3
    assert promising(0.87, 9e6, [(0.88, 5e6), *second], eta=3)   # 1 of 14 above it
    assert not promising(0.60, 9e6, [(0.88, 5e6), *second], eta=3)


def test_the_most_accurate_trials_go_on_though_dominated() -> None:
    line = [(0.80 + 0.01 * k, 1e6 * (k + 1)) for k in range(9)]  # 0.80 .. 0.88
    assert promising(0.875, 9.5e6, line, eta=3)      # 1 of 10 more accurate: top ceil(10/9)
    assert not promising(0.855, 9.5e6, line, eta=3)  # 3 more accurate, behind a 9-long front


def test_every_non_dominated_trial_goes_on() -> None:
    line = [(0.80 + 0.01 * k, 1e6 * (k + 1)) for k in range(12)]
    assert all(promising(a + 0.001, m - 1, line[:k] + line[k + 1:], eta=3)
               for k, (a, m) in enumerate(line))


def test_crowding_decides_within_the_front_that_does_not_fit() -> None:
    best = [(0.95, 1e5), (0.96, 1.1e5)]
    second = [(0.80, 1e6), (0.81, 2e6), (0.82, 3e6), (0.83, 4e6)]   # behind `best`
    rest = [(0.5, 9e6)] * 5
    # n = 12, keep = 4: the 2 of the first front, then the 2 ends of the 5-long second
    assert promising(0.90, 9e6, best + second + rest, eta=3)         # an end
    assert not promising(0.815, 2.5e6, best + second + rest, eta=3)  # crowded middle


def test_about_one_in_eta_goes_on_among_random_peers() -> None:
    rng = np.random.default_rng(1)
    pts = list(zip(rng.uniform(0.6, 0.9, 240), rng.uniform(1e5, 1e7, 240), strict=True))
    for eta in (2, 3, 4):
        kept = np.mean([promising(a, m, pts[:i] + pts[i + 1:], eta=eta)
                        for i, (a, m) in enumerate(pts)])
        assert 1 / eta - 0.05 <= kept <= 1 / eta + 0.1, (eta, kept)


def test_more_expensive_peers_do_not_count() -> None:
    pricier = [(0.99, 9e6)] * 10
    assert promising(0.5, 1e6, pricier)


def test_eta_is_checked() -> None:
    with pytest.raises(ValueError, match="eta"):
        promising(0.5, 1e6, [], eta=1)


def test_rule_keeps_the_final_front_on_synthetic_curves() -> None:
    """Curves whose ranking holds from rung to rung: the rule never stops a final-front trial,
    and it stops a good share of the dominated ones."""
    rng = np.random.default_rng(0)
    n, rungs = 120, 3
    macs = rng.uniform(1e5, 1e7, n)
    final = 0.70 + 0.2 * np.log10(macs / 1e5) / 2 + rng.normal(0, 0.04, n)
    curves = [final - 0.1 * (rungs - 1 - r) + rng.normal(0, 0.005, n) for r in range(rungs)]
    on_front = pareto_mask(np.c_[final, macs], ["maximize", "minimize"])
    seen: list[list[tuple[float, float]]] = [[] for _ in range(rungs)]
    stopped = np.zeros(n, dtype=bool)
    for i in range(n):
        for r in range(rungs - 1):
            ok = promising(curves[r][i], macs[i], seen[r])
            seen[r].append((curves[r][i], macs[i]))
            if not ok:
                stopped[i] = True
                break
    assert not (stopped & on_front).any()
    assert stopped[~on_front].mean() > 0.5
