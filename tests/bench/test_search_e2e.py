"""bench.search_e2e --before: the same search with an older revision's code, then this tree's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import optuna
import pytest

from bench import search_e2e
from search import records as R

TINY = ["--trials", "2", "--dataset", "digits", "--budget", "smoke", "--jobs", "1",
        "--no-baselines"]


def test_before_runs_the_revisions_own_code_then_this_tree(
        tmp_path: Path, results_page: Path) -> None:
    short, tree = search_e2e.code_of(search_e2e.Bench(tmp_path / "out"), "HEAD")
    assert (tree / "search" / "run.py").is_file() and not (tree / ".git").exists()
    # Mark the copy: its default study file picks random search; this tree's picks tpe.
    toml = tree / "studies" / "squeeze.toml"
    toml.write_text(toml.read_text().replace('sampler = "tpe"', 'sampler = "random"'))
    assert search_e2e.main(["--before", "HEAD", "--out", str(tmp_path / "out"), *TINY]) == 0
    samplers = {}
    for side in ("before", "after"):
        url = f"sqlite:///{tmp_path / 'out' / f'e2e-{side}.db'}"
        study = optuna.load_study(study_name=f"e2e-{side}", storage=url)
        samplers[side] = study.user_attrs[R.SAMPLER]
        assert study.user_attrs[R.DATASET] == "digits"
    assert samplers == {"before": "random", "after": "tpe"}
    text = results_page.read_text()
    assert f"## Search end to end, before and after {short}" in text
    rows = [line for line in text.splitlines() if line.startswith(("| before", "| after"))]
    assert len(rows) == 2 and all(" | 2 | " in r for r in rows), rows
    assert "--dataset digits --budget smoke" in text and "baselines included" not in text
    assert [p.name for p in (tmp_path / "out").glob("*code-*")] == [f"code-{short}"]
    # --report-only rebuilds the same table from the databases, training nothing.
    dbs = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out").glob("*.db")}
    assert len(dbs) == 2
    assert search_e2e.main(["--before", "HEAD", "--report-only", "--out",
                            str(tmp_path / "out")]) == 0
    again = results_page.read_text()
    assert [line for line in again.splitlines() if line.startswith(("| before", "| after"))
            ] == rows and "--dataset digits --budget smoke" in again
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out").glob("*.db")} == dbs
    # Without the stored wall times it falls back to the span of the trials, and says so.
    for meta in (tmp_path / "out").glob("e2e-*.json"):
        meta.unlink()
    assert search_e2e.main(["--before", "HEAD", "--report-only", "--out",
                            str(tmp_path / "out")]) == 0
    assert "these runs stored no wall time" in results_page.read_text()


def test_an_unknown_revision_is_a_one_line_error(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert search_e2e.main(["--before", "no-such-rev", "--out", str(tmp_path), *TINY]) == 1
    err = capsys.readouterr().err
    assert err == "error: unknown git revision 'no-such-rev'\n"


def test_report_only_without_a_stored_run_is_a_one_line_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert search_e2e.main(["--before", "HEAD", "--report-only", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no ") and err.count("\n") == 1
    with pytest.raises(SystemExit) as exit_:
        search_e2e.main(["--report-only", "--out", str(tmp_path)])
    assert exit_.value.code == 2
    assert "--report-only goes with --before" in capsys.readouterr().err


def test_the_table_with_baselines_counts_those_trained() -> None:
    s = {"wall_min": 12.25, "trials": 40, "stopped": 30, "best": 0.87, "hv": 0.65,
         "baselines_trained": 11, "squeeze_dominated": 2, "squeeze_total": 3,
         "baseline_worker_min": 16.06, "search_worker_min": 21.5}
    head, rule, row = search_e2e.table("code", [("after (abc)", s)], baselines=True)
    assert head.count("|") == rule.count("|") == row.count("|") == 11
    assert row == ("| after (abc) | 12.2 min | 40 | 30 | 0.8700 | 0.6500 | 11 | 2/3 | 16.1 | "
                   "21.5 |")


def test_worker_minutes_sum_the_trials_of_each_role() -> None:
    study = optuna.create_study(directions=["maximize", "minimize"])
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for role, minutes in ((R.ROLE_BASELINE, 3), (R.ROLE_BASELINE, 4), (R.ROLE_SEARCH, 5)):
        trial = optuna.trial.create_trial(values=[0.5, 1e6], user_attrs={R.ROLE: role})
        trial.datetime_start = start
        trial.datetime_complete = start + timedelta(minutes=minutes)
        study.add_trial(trial)
    s = search_e2e.summary(study, 60.0)
    assert (s["baseline_worker_min"], s["search_worker_min"]) == (7.0, 5.0)
    assert search_e2e.span_min(study) == 5.0
