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


def test_an_expensive_trial_must_keep_up_with_cheaper_ones() -> None:
    cheaper = [(0.80, 1e6), (0.82, 2e6), (0.84, 3e6), (0.86, 4e6), (0.88, 5e6)]
    assert not promising(0.81, 9e6, cheaper, eta=3)   # 4 of 6 better: bottom
    assert promising(0.87, 9e6, cheaper, eta=3)       # 1 of 6 better: top 2 of 6
    assert promising(0.95, 9e6, cheaper, eta=3)


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
    assert stopped[~on_front].mean() > 0.3
