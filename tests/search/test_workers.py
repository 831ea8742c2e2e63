"""Many workers on one study: PostgreSQL across processes, --jobs on the journal file,
a worker killed mid-trial, and two workers handed the same spec at once."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from bench.pgserver import LocalPostgres
from search import records as R
from search.baselines import available_baselines
from search.storage import open_storage
from search.view import StudyView
from tests.search.workers import (
    check_shared_study,
    counted,
    pids_that_trained,
    start,
    study_file,
    trials,
)


def test_three_machines_share_one_postgres_study(tmp_path: Path, postgres: LocalPostgres,
                                                 pg_url: str) -> None:
    """Three separate commands, as on three machines; the password comes from the
    environment (PGPASSWORD), not the URL."""
    url = pg_url.replace(f":{postgres.password}@", "@")
    f = study_file(tmp_path)
    args = ["--study-file", str(f), "--storage", url, "--trials", "6", "--no-baselines"]
    procs = [start(args, env={"PGPASSWORD": postgres.password}) for _ in range(3)]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [o[-3000:] for o in outs]
    ts = trials(pg_url)
    check_shared_study(ts, 6)
    assert pids_that_trained(ts) == {p.pid for p in procs}, "every worker trains"
    assert not any(postgres.password in out for out in outs)


def test_jobs_4_on_the_journal_file(tmp_path: Path) -> None:
    storage = f"journal://{tmp_path / 'studies.log'}"
    # trials long enough that the helpers, which start later, find work left
    proc = start(["--study-file", str(study_file(tmp_path, "3000")), "--storage", storage,
                  "--trials", "8", "--no-baselines", "--jobs", "4"])
    out = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, out
    assert "locked" not in out.lower() and "Traceback" not in out
    ts = trials(storage)
    check_shared_study(ts, 8)
    assert len(pids_that_trained(ts)) == 4, "every worker trains"


def wait_for(cond: Callable[[], object], timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if cond():
                return
        except (KeyError, ValueError):
            pass
        time.sleep(0.3)
    raise AssertionError("timed out")


def training(storage: str, role: str) -> list[optuna.trial.FrozenTrial]:
    return [t for t in trials(storage) if t.state == TrialState.RUNNING
            and t.user_attrs.get(R.ROLE) == role and R.CLAIMED in t.user_attrs]


def test_a_killed_worker_s_trial_fails_and_is_retried(tmp_path: Path) -> None:
    storage = f"journal://{tmp_path / 's.log'}"
    args = ["--study-file", str(study_file(tmp_path, "3000")), "--storage", storage,
            "--trials", "2", "--no-baselines"]
    victim = start(args)
    wait_for(lambda: training(storage, R.ROLE_SEARCH))
    killed = training(storage, R.ROLE_SEARCH)[0]
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    survivor = start(args)
    out = survivor.communicate(timeout=600)[0]
    assert survivor.returncode == 0, out
    ts = trials(storage)
    dead = ts[killed.number]
    assert dead.state == TrialState.FAIL
    assert dead.user_attrs[R.FAIL_REASON].startswith("worker died")
    retried = [t for t in ts if t.user_attrs.get(R.RETRY_OF) == killed.number]
    assert len(retried) == 1 and retried[0].params == killed.params
    assert retried[0].user_attrs[R.STATUS] in (R.COMPLETE, R.STOPPED, R.DUPLICATE)
    assert len(counted(ts)) == 2
    assert not [t for t in ts if t.state in (TrialState.RUNNING, TrialState.WAITING)]


def test_jobs_2_spread_the_baselines_over_both_workers(tmp_path: Path) -> None:
    """Every worker trains baselines as it does trials; each is trained once."""
    storage = f"journal://{tmp_path / 'studies.log'}"
    proc = start(["--study-file", str(study_file(tmp_path, "3000")), "--storage", storage,
                  "--trials", "2", "--jobs", "2"])
    out = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, out
    ts = trials(storage)
    trained = [t for t in ts if t.user_attrs.get(R.ROLE) == R.ROLE_BASELINE
               and R.TRAIN_SECONDS in t.user_attrs]
    assert sorted(t.user_attrs[R.PRESET] for t in trained) == \
        sorted(available_baselines({"bn": True})), "each baseline trained once"
    assert all(t.state == TrialState.COMPLETE for t in trained)
    workers = {t.user_attrs[R.WORKER] for t in trained}
    assert len(workers) == 2, "every worker trains baselines"
    assert not [t for t in ts if t.state == TrialState.RUNNING]


def test_a_baseline_left_running_by_a_killed_run_is_retrained(tmp_path: Path) -> None:
    storage = f"journal://{tmp_path / 's.log'}"
    args = ["--study-file", str(study_file(tmp_path)), "--storage", storage, "--trials", "1"]
    victim = start(args)
    wait_for(lambda: training(storage, R.ROLE_BASELINE))
    killed = training(storage, R.ROLE_BASELINE)[0]
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert start(args).wait(timeout=600) == 0
    ts = trials(storage)
    assert ts[killed.number].state == TrialState.FAIL
    preset = killed.user_attrs[R.PRESET]
    again = [t for t in ts if t.user_attrs.get(R.PRESET) == preset and t.number > killed.number]
    assert [t.state for t in again] == [TrialState.COMPLETE]
    assert not [t for t in ts if t.state == TrialState.RUNNING]


def _claim(storage: str, barrier: mp.synchronize.Barrier, digest: str,  # type: ignore[name-defined]
           out: mp.Queue) -> None:  # type: ignore[type-arg]
    view = StudyView(optuna.load_study(study_name="race", storage=open_storage(storage)))
    trial = view.ask("run")
    barrier.wait()
    trial.set_user_attr(R.DIGEST, digest)
    twin = view.claim(trial, digest)
    out.put((trial.number, twin is None))


@pytest.mark.parametrize("scheme", ["journal", "postgresql"])
def test_two_workers_handed_the_same_spec_at_once_train_it_once(
        tmp_path: Path, scheme: str, request: pytest.FixtureRequest) -> None:
    storage = (f"journal://{tmp_path / 's.log'}" if scheme == "journal"
               else request.getfixturevalue("pg_url"))
    optuna.create_study(study_name="race", storage=open_storage(storage))
    ctx = mp.get_context("spawn")
    for rnd in range(4):
        barrier, out = ctx.Barrier(2), ctx.Queue()
        procs = [ctx.Process(target=_claim, args=(storage, barrier, f"spec-{rnd}", out))
                 for _ in range(2)]
        for p in procs:
            p.start()
        results = [out.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        assert len(results) == 2
        assert sum(trains for _, trains in results) == 1, results


def test_ps_never_shows_the_password(tmp_path: Path, postgres: LocalPostgres,
                                     pg_url: str) -> None:
    """The URL with its password in $NAS_STORAGE; two workers; ps, output, attributes."""
    proc = start(["--study-file", str(study_file(tmp_path, "3000")), "--trials", "2",
                  "--no-baselines", "--jobs", "2"], env={"NAS_STORAGE": pg_url})
    seen: list[str] = []
    while proc.poll() is None:
        seen += subprocess.run(["ps", "-eww", "-o", "args"], capture_output=True,
                               text=True).stdout.splitlines()
        time.sleep(0.5)
    out = proc.communicate()[0]
    assert proc.returncode == 0, out
    assert [line for line in seen if "--worker=" in line], "the helper was seen"
    assert not [line for line in seen if postgres.password in line]
    assert postgres.password not in out
    study = optuna.load_study(study_name="squeeze-digits", storage=open_storage(pg_url))
    stored = repr(study.user_attrs) + repr([t.user_attrs for t in study.get_trials()])
    assert postgres.password not in stored


def test_a_helper_killed_mid_trial_makes_the_run_exit_non_zero(tmp_path: Path) -> None:
    """--jobs 2: the helper is killed while training; the main process retries its trial,
    reaches the target, then reports the helper and exits 1."""
    storage = f"journal://{tmp_path / 's.log'}"
    proc = start(["--study-file", str(study_file(tmp_path, "6000")), "--storage", storage,
                  "--trials", "4", "--no-baselines", "--jobs", "2"])

    def helper_training() -> list[optuna.trial.FrozenTrial]:
        return [t for t in training(storage, R.ROLE_SEARCH)
                if int(t.user_attrs[R.WORKER].rsplit(":", 2)[1]) != proc.pid]

    wait_for(helper_training)
    killed = helper_training()[0]
    helper = int(killed.user_attrs[R.WORKER].rsplit(":", 2)[1])
    os.kill(helper, signal.SIGKILL)
    out = proc.communicate(timeout=600)[0]
    assert proc.returncode == 1, out
    assert f"worker process {helper} exited with code -9" in out
    assert "Warning" not in out and "Traceback" not in out
    ts = trials(storage)
    assert ts[killed.number].state == TrialState.FAIL
    assert [t.user_attrs.get(R.RETRY_OF) for t in ts].count(killed.number) == 1
    assert len(counted(ts)) == 4
    assert not [t for t in ts if t.state in (TrialState.RUNNING, TrialState.WAITING)]
