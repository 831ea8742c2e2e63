"""bench.search_e2e --before: the same search with an older revision's code, then this tree's."""

from __future__ import annotations

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


def test_an_unknown_revision_is_a_one_line_error(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert search_e2e.main(["--before", "no-such-rev", "--out", str(tmp_path), *TINY]) == 1
    err = capsys.readouterr().err
    assert err == "error: unknown git revision 'no-such-rev'\n"


def test_the_table_with_baselines_counts_those_trained() -> None:
    s = {"wall_min": 12.25, "trials": 40, "stopped": 30, "best": 0.87, "hv": 0.65,
         "baselines_trained": 11, "squeeze_dominated": 2, "squeeze_total": 3}
    head, rule, row = search_e2e.table("code", [("after (abc)", s)], baselines=True)
    assert head.count("|") == rule.count("|") == row.count("|") == 9
    assert row == "| after (abc) | 12.2 min | 40 | 30 | 0.8700 | 0.6500 | 11 | 2/3 |"
