"""Helpers of the multi-process search tests: a tiny study, worker processes, checks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from search import records as R
from search.storage import open_storage

ROOT = Path(__file__).resolve().parents[2]
TINY = """
space = "squeeze"
dataset = "digits"
budget = "{budget}"
max_mflops = 2
baseline_mflops = 0.3
max_rejects = 40
jobs = 1
[fixed]
bn = true
[ranges]
width = {{ low = 0.0625, high = 0.25 }}
depth = {{ low = 2, high = 4 }}
"""


def study_file(folder: Path, budget: str = "smoke") -> Path:
    path = folder / f"tiny-{budget}.toml"
    path.write_text(TINY.format(budget=budget))
    return path


def copy_made(made: Path, folder: Path) -> tuple[Path, bytes]:
    """A copy of a made journal study in `folder`, and its bytes (to compare after)."""
    log = folder / "s.log"
    shutil.copy(made, log)
    return log, log.read_bytes()


def start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`python -m search.run ARGS` as its own process, output captured."""
    return subprocess.Popen([sys.executable, "-m", "search.run", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})


def dead_worker() -> str:
    """The worker id of a process that has exited (this host)."""
    code = "from search.liveness import worker_id; print(worker_id())"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def trials(storage: str, name: str = "squeeze-digits") -> list[FrozenTrial]:
    return optuna.load_study(study_name=name, storage=open_storage(storage)).get_trials()


def counted(ts: list[FrozenTrial]) -> list[FrozenTrial]:
    return [t for t in ts if t.user_attrs.get(R.ROLE) == R.ROLE_SEARCH
            and t.user_attrs.get(R.STATUS) in (R.COMPLETE, R.STOPPED)]


def check_shared_study(ts: list[FrozenTrial], target: int) -> None:
    """The acceptance checks of a study searched by several workers."""
    assert len(counted(ts)) == target
    assert len({t.number for t in ts}) == len(ts)
    trained = [t for t in ts if R.TRAIN_SECONDS in t.user_attrs]
    assert trained
    digests = [t.user_attrs[R.DIGEST] for t in trained]
    assert len(set(digests)) == len(digests), "a spec was trained twice"
    assert not [t for t in ts if t.state == TrialState.RUNNING]


def pids_that_trained(ts: list[FrozenTrial]) -> set[int]:
    return {int(t.user_attrs[R.WORKER].rsplit(":", 2)[1]) for t in ts
            if R.TRAIN_SECONDS in t.user_attrs and t.user_attrs.get(R.ROLE) == R.ROLE_SEARCH}
