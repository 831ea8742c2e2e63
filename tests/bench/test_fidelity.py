"""bench.fidelity on digits: every spec is stored as it completes, and a re-run resumes."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

import bench.fidelity as fidelity
from search.budgets import BUDGETS
from search.storage import RESULTS_DIR, open_storage

TINY = ["--dataset", "digits", "--budget", "smoke", "--long-epochs", "1", "--max-mflops", "0.5",
        "--no-write", "--jobs", "1"]


def test_sigterm_marks_the_spec_failed_and_exits_143(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A scheduler's stop (SIGTERM) ends the run as Ctrl-C does: no trial is left RUNNING."""
    url = f"sqlite:///{tmp_path / 'f.db'}"
    real, calls = fidelity._rungs, []

    def spy(spec: Any, budget: Any, setup: Any) -> list[list[float]]:
        calls.append(budget.images)
        if len(calls) == 2:  # the long training: a real SIGTERM to this process
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)
        return real(spec, budget, setup)

    monkeypatch.setattr(fidelity, "_rungs", spy)
    before = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
    assert fidelity.main([*TINY, "--storage", url, "--specs", "1"]) == 143
    # The handlers were only borrowed: Ctrl-C and SIGTERM work as before in this process.
    assert [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)] == before
    study = optuna.load_study(study_name="fidelity-digits-smoke-1ep-s0", storage=url)
    assert [t.state for t in study.get_trials()] == [TrialState.FAIL]


def test_a_stopped_run_resumes_where_it_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    real, calls = fidelity._rungs, []

    def spy(spec: Any, budget: Any, setup: Any) -> list[list[float]]:
        calls.append(budget.images)
        if len(calls) == 4:  # the long training of the second spec: stop there
            raise KeyboardInterrupt
        return real(spec, budget, setup)

    monkeypatch.setattr(fidelity, "_rungs", spy)
    assert fidelity.main([*TINY, "--storage", url, "--specs", "2"]) == 130
    study = optuna.load_study(study_name="fidelity-digits-smoke-1ep-s0", storage=url)
    states = [t.state for t in study.get_trials()]
    assert states == [TrialState.COMPLETE, TrialState.FAIL]
    stored = study.get_trials()[1].user_attrs[fidelity.RUNGS]
    assert len(stored) == 2  # the smoke budget's two rungs, kept though the spec stopped

    calls.clear()
    assert fidelity.main([*TINY, "--storage", url, "--specs", "3"]) == 0
    # Spec 0 is done; spec 1 reuses its stored rungs (one epoch: 1,200 images); spec 2
    # trains both (the smoke budget: 600 images).
    assert calls == [1200, 600, 1200]
    trials = study.get_trials()
    done = {t.user_attrs[fidelity.INDEX]: t for t in trials if t.state == TrialState.COMPLETE}
    assert sorted(done) == [0, 1, 2] and len(trials) == 4
    assert done[1].user_attrs[fidelity.RUNGS] == stored
    for t in done.values():
        assert 0 <= t.value <= 1 and t.user_attrs[fidelity.SYNFLOW] > 0
    out = capsys.readouterr().out
    assert "3 of 3 specs done" in out and " min a spec on one worker; " in out
    assert "| synflow |" in out and "| MACs |" in out
    assert "![long accuracy against the ranking signals](img/fidelity.png)" in out


def test_the_scatter_plots_long_accuracy_against_three_signals() -> None:
    study = optuna.create_study(direction="maximize")
    for i, (short, long_acc) in enumerate(((0.5, 0.7), (0.6, 0.9), (0.4, 0.8))):
        study.add_trial(optuna.trial.create_trial(value=long_acc, user_attrs={
            fidelity.RUNGS: [[100, short - 0.1], [200, short]], fidelity.MACS: 1e5 * (i + 1),
            fidelity.SYNFLOW: 10.0 ** i}))
    fig = fidelity.scatter(study)
    assert [list(t.x) for t in fig.data] == [[0.5, 0.6, 0.4], [1e5, 2e5, 3e5], [1, 10, 100]]
    assert all(list(t.y) == [0.7, 0.9, 0.8] for t in fig.data)
    assert fig.layout.xaxis2.type == "log" and fig.layout.xaxis.type == "linear"


def test_two_workers_share_the_specs_and_both_work(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    assert fidelity.main([*TINY[:-2], "--jobs", "2", "--storage", url, "--specs", "4"]) == 0
    study = optuna.load_study(study_name="fidelity-digits-smoke-1ep-s0", storage=url)
    trials = study.get_trials()
    assert len(trials) == 4 and all(t.state == TrialState.COMPLETE for t in trials)
    by_worker = {t.user_attrs[fidelity.INDEX]: t.user_attrs[fidelity.WORKER] for t in trials}
    assert by_worker == {0: 0, 1: 1, 2: 0, 3: 1}  # spec i on worker i mod 2
    assert "4 of 4 specs done" in capsys.readouterr().out


def test_a_crash_of_the_first_worker_stops_the_others(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[Any] = []
    real_helpers = fidelity.helpers

    def spy(*args: Any) -> list[Any]:
        started.extend(real_helpers(*args))
        return started

    def crash(*args: Any) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(fidelity, "helpers", spy)
    monkeypatch.setattr(fidelity, "run", crash)
    url = f"sqlite:///{tmp_path / 'f.db'}"
    with pytest.raises(RuntimeError):
        fidelity.main([*TINY[:-2], "--jobs", "2", "--storage", url, "--specs", "2"])
    assert len(started) == 1 and started[0].poll() is not None


def test_report_only_needs_no_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"journal://{tmp_path / 'f.log'}"
    assert fidelity.main(["--report-only", "--dataset", "no-such-set", "--storage", url,
                          "--no-write"]) == 0
    assert "0 of 30 specs done" in capsys.readouterr().out


def test_report_only_reads_the_stored_study_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "f.log"
    url = f"journal://{path}"
    study = optuna.create_study(study_name="fidelity-fashion-mnist-default-10ep-s0",
                                storage=open_storage(url), direction="maximize")
    study.add_trial(optuna.trial.create_trial(value=0.5, state=TrialState.COMPLETE))
    before = path.read_bytes()
    assert fidelity.main(["--report-only", "--storage", url, "--no-write"]) == 0
    assert "1 of 30 specs done" in capsys.readouterr().out
    assert path.read_bytes() == before


def test_the_default_budget_sets_up_the_search_s_rungs() -> None:
    """An epoch-based budget (the default) trains each spec as search.run would."""
    args = fidelity.parse(["--dataset", "digits", "--specs", "2", "--max-mflops", "0.5"])
    setup, todo = fidelity.setup_for(args)
    n_train, n_val = len(setup.data.train_y), len(setup.data.val_y)
    assert setup.short == BUDGETS["default"].train_budget(n_train, n_val)
    assert setup.short.images >= 300 * 64 and len(setup.short.rungs) == 4
    assert setup.long.images == 10 * n_train and len(todo) == 2


def test_the_default_storage_is_the_tracked_results_folder(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.delenv(fidelity.ENV_STORAGE, raising=False)
    assert fidelity.parse([]).storage == f"journal://{RESULTS_DIR / 'fidelity.log'}"


def _rows(**tau: float) -> list[fidelity.Signal]:
    return [fidelity.Signal(k.replace("_", " "), t, t, t - 0.1, t + 0.1) for k, t in tau.items()]


@pytest.mark.parametrize(("taus", "says"), [
    (dict(rung_1=0.5, rung_2=0.7, MACs=0.6, params=0.65, synflow=0.71),
     ["Goal, Kendall tau of the budget's last rung against 10 epochs >= 0.6: met (0.700)",
      "synflow's tau is +0.060 against the better of MACs and params (params, 0.650)",
      "so synflow qualifies.", "Cheaper rungs: none ranks as well as the last (0.500 against "
      "0.700); the closest, rung 1, is -0.200, 90 % interval of the difference -0.200 to "
      "-0.200."]),
    (dict(rung_1=0.55, rung_2=0.5, MACs=0.6, params=0.4, synflow=0.64),
     ["10 epochs >= 0.6: missed (0.500)", "+0.040 against the better of MACs and params "
      "(MACs, 0.600); a pre-screen needs +0.05, so the search offers none.",
      "Cheaper rungs: rung 1 ranks as well as the last (0.550 against 0.500: +0.050, 90 % "
      "interval of the difference +0.050 to +0.050)."]),
])
def test_the_verdicts_follow_the_taus(taus: dict[str, float], says: list[str]) -> None:
    rows = _rows(**taus)
    boot = [{r.name: r.tau for r in rows}] * 5  # every resample as the specs themselves
    text = "\n".join(fidelity.verdicts(rows, boot, 10))
    assert len(text.splitlines()) == 3
    for words in says:
        assert words in text, text


def test_the_bootstrap_interval_ignores_resamples_without_spread() -> None:
    assert fidelity.interval([float("nan"), *[i / 100 for i in range(101)]]) == (0.05, 0.95)
