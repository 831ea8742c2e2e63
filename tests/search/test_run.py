"""End-to-end searches on the real digits dataset with a tiny budget."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from nas_space import ArchSpec, build
from search import records as R
from search.run import main
from search.storage import open_storage
from tests.search.workers import TINY, pids_that_trained

ROOT = Path(__file__).resolve().parents[2]
STUDY = TINY.format(budget="smoke")


@pytest.fixture
def study_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(STUDY)
    return path


def run(tmp_path: Path, study_file: Path, *extra: str) -> int:
    return main(["--study-file", str(study_file), "--storage", url(tmp_path), *extra])


def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 's.db'}"


def trials(tmp_path: Path, name: str = "squeeze-digits") -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=url(tmp_path)).get_trials()


def role(ts: list[optuna.trial.FrozenTrial], r: str) -> list[optuna.trial.FrozenTrial]:
    return [t for t in ts if t.user_attrs.get(R.ROLE) == r]


def counted(ts: list[optuna.trial.FrozenTrial]) -> list[optuna.trial.FrozenTrial]:
    return [t for t in role(ts, R.ROLE_SEARCH) if t.user_attrs[R.STATUS] in (R.COMPLETE,
                                                                             R.STOPPED)]


def test_six_trials_end_to_end(tmp_path: Path, study_file: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path, study_file, "--trials", "6") == 0
    ts = trials(tmp_path)
    assert len(counted(ts)) == 6
    baselines = role(ts, R.ROLE_BASELINE)
    assert {t.user_attrs[R.PRESET] for t in baselines} >= {"squeezenet1_0", "squeezenet1_1"}
    for t in ts:
        spec = ArchSpec.from_json(t.user_attrs[R.SPEC])
        assert sum(p.numel() for p in build(spec).parameters()) == t.user_attrs[R.PARAMS]
    out = capsys.readouterr().out
    assert "budget smoke: 600 training images = 0.50 epochs of 1,200 = 10 steps of 64" in out
    assert "Pareto front" in out and "python -m dashboard --storage" in out
    assert "squeezenet1_0 (" in out
    # not a terminal: a progress line for every counted trial instead of the bar
    progress = [ln for ln in out.splitlines() if " searched trials, front " in ln]
    assert [ln.split(":")[1].split()[0] for ln in progress] == [f"{k}/6" for k in range(1, 7)]


def test_resume_tops_up_without_retraining_baselines(tmp_path: Path, study_file: Path) -> None:
    assert run(tmp_path, study_file, "--trials", "3") == 0
    before = {t.number for t in role(trials(tmp_path), R.ROLE_BASELINE)}
    assert run(tmp_path, study_file, "--trials", "5") == 0
    ts = trials(tmp_path)
    assert len(counted(ts)) == 5
    assert {t.number for t in role(ts, R.ROLE_BASELINE)} == before


def test_same_seed_same_specs_and_accuracies(tmp_path: Path, study_file: Path) -> None:
    curves = []
    for name in ("a", "b"):
        assert run(tmp_path, study_file, "--trials", "5", "--study", name, "--seed", "7",
                   "--no-baselines", "--no-early-stop") == 0
        ts = role(trials(tmp_path, name), R.ROLE_SEARCH)
        curves.append([(t.user_attrs[R.DIGEST], t.user_attrs.get(R.VAL_ACC)) for t in ts])
    assert [d for d, _ in curves[0][:5]] == [d for d, _ in curves[1][:5]]
    assert curves[0][:3] == curves[1][:3]


def test_infeasible_specs_are_recorded_untrained(tmp_path: Path, study_file: Path) -> None:
    assert run(tmp_path, study_file, "--trials", "3", "--max-mflops", "0.05",
               "--no-baselines") == 0
    ts = role(trials(tmp_path), R.ROLE_SEARCH)
    infeasible = [t for t in ts if t.user_attrs[R.STATUS] == R.INFEASIBLE]
    assert infeasible, "the constraint should reject some samples"
    for t in infeasible:
        assert R.RUNGS not in t.user_attrs and R.TRAIN_SECONDS not in t.user_attrs
        assert t.user_attrs[R.MACS] > 0.05e6
        assert max(t.constraints.values()) > 0
    assert len(counted(ts)) == 3


def test_a_space_with_nothing_feasible_ends_with_a_message(
        tmp_path: Path, study_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path, study_file, "--trials", "2", "--max-mflops", "1e-6",
               "--no-baselines") == 1
    assert "no more new feasible specs" in capsys.readouterr().err
    assert not any(R.RUNGS in t.user_attrs for t in trials(tmp_path))


def test_duplicates_are_trained_once(tmp_path: Path) -> None:
    f = tmp_path / "dup.toml"
    f.write_text(STUDY.replace("[fixed]\n", "sampler = \"random\"\n[fixed]\nwidth = 0.125\n"
                               "depth = 3\nSR = 0.25\npct3x3 = 0.5\nbase_e = 64\nincr_e = 0\n"
                               "freq = 2\ngroups = 1\npooling = \"late\"\n"))
    assert run(tmp_path, f, "--trials", "3", "--no-baselines") == 0
    ts = role(trials(tmp_path), R.ROLE_SEARCH)
    trained = [t for t in ts if R.TRAIN_SECONDS in t.user_attrs]
    digests = {t.user_attrs[R.DIGEST] for t in trained}
    assert len(trained) == len(digests) == 3  # bypass none/simple/complex
    dups = [t for t in ts if t.user_attrs[R.STATUS] == R.DUPLICATE]
    assert dups, "three specs only: the sampler proposes some twice"
    for t in dups:
        assert t.user_attrs[R.DUPLICATE_OF] in {x.number for x in trained}


@pytest.mark.parametrize("args, message", [
    (["--space", "nope"], "unknown space 'nope'; valid:"),
    (["--dataset", "nope"], "unknown dataset"),
    (["--trials", "many"], "invalid int value"),
    (["--jobs", "many"], "--jobs: must be auto or a number"),
    (["--budget", "lots"], "--budget"),
    (["--objectives", "val_acc,flops"], "--objectives"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, study_file: Path, args: list[str],
                                           message: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "search.run", "--study-file", str(study_file),
                           "--storage", url(tmp_path), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr


def test_corrupted_database_is_refused_and_kept(tmp_path: Path, study_file: Path) -> None:
    db = tmp_path / "s.db"
    db.write_bytes(b"this is not a database" * 100)
    proc = subprocess.run([sys.executable, "-m", "search.run", "--study-file", str(study_file),
                           "--storage", url(tmp_path), "--trials", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "not a readable study database" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert db.read_bytes() == b"this is not a database" * 100


@pytest.mark.parametrize(("jobs", "stop", "code"), [
    ("1", signal.SIGINT, 130), ("2", signal.SIGINT, 130), ("2", signal.SIGTERM, 143)])
def test_ctrl_c_marks_the_trial_interrupted(tmp_path: Path, jobs: str, stop: int,
                                            code: int) -> None:
    """SIGINT (or SIGTERM, a scheduler's stop) to the main process only: it interrupts its
    workers, and every running trial ends failed with reason "interrupted"."""
    f = tmp_path / "slow.toml"
    f.write_text(STUDY.replace('budget = "smoke"', "budget = 200000"))
    proc = subprocess.Popen([sys.executable, "-m", "search.run", "--study-file", str(f),
                             "--storage", url(tmp_path), "--trials", "2", "--no-baselines",
                             "--jobs", jobs],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            # A suite started in the background (`pytest &` in a script)
                            # inherits SIGINT ignored, and so would the command under test.
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(1)
        try:
            if sum(t.state.name == "RUNNING" for t in trials(tmp_path)) >= int(jobs):
                break
        except (KeyError, Exception):
            continue
    time.sleep(1)
    proc.send_signal(stop)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert "resume with" in err and "Traceback" not in err
    ts = trials(tmp_path)
    failed = [t for t in ts if t.state.name == "FAIL"]
    assert len(failed) == int(jobs)
    assert all(t.user_attrs[R.FAIL_REASON] == "interrupted" for t in failed)
    assert not any(t.state.name == "RUNNING" for t in ts)


def test_two_jobs_share_an_sqlite_study(tmp_path: Path) -> None:
    """SQLite still serves a few workers (the journal file, the default, is tested with
    four in test_workers.py)."""
    storage = f"sqlite:///{tmp_path}/s.db"
    f = tmp_path / "slower.toml"
    f.write_text(STUDY.replace('budget = "smoke"', 'budget = "6000"'))
    assert main(["--study-file", str(f), "--storage", storage, "--trials", "4",
                 "--no-baselines", "--jobs", "2"]) == 0
    study = optuna.load_study(study_name="squeeze-digits", storage=open_storage(storage))
    ts = study.get_trials()
    assert len(counted(ts)) == 4  # trials in flight hold places: no worker overshoots
    assert not [t for t in ts if t.user_attrs.get(R.FAIL_REASON) not in (None, "surplus")]
    assert not any(t.state.name == "RUNNING" for t in ts)
    assert len(pids_that_trained(ts)) == 2, "every worker trains"
