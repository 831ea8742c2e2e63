"""Run options: study files, flag precedence, and one-line errors for bad input."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from search.budgets import BUDGETS, parse_budget
from search.config import (
    MAX_AUTO_JOBS,
    RunConfig,
    cpu_cores,
    merge,
    parse_jobs,
    read_study_file,
    repeats,
    resolve_jobs,
)

STUDIES = Path(__file__).resolve().parents[2] / "studies"


@pytest.mark.parametrize("path", sorted(STUDIES.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_study_file_is_valid(path: Path) -> None:
    variants, _ = repeats(path)
    for name in variants or [""]:
        cfg = merge(read_study_file(f"{path}#{name}" if name else path), {})
        assert cfg.trials > 0


def test_flags_override_the_study_file(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text('space = "mobile"\ntrials = 7\n[fixed]\nbn = true\n')
    cfg = merge(read_study_file(f), {"trials": 3, "space": None})
    assert (cfg.space, cfg.trials, cfg.fixed) == ("mobile", 3, {"bn": True})
    assert cfg.study_name == "mobile-fashion-mnist"


@pytest.mark.parametrize("text, message", [
    ('spaec = "squeeze"', "unknown key 'spaec'"),
    ("trials = ", "not valid TOML"),
    ('trials = "many"', "trials: expected int"),
    ("fixed = 3", r"\[fixed\] must be a table"),
])
def test_tampered_study_files_fail_in_one_line(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ValueError, match=message) as e:
        merge(read_study_file(f), {})
    assert "\n" not in str(e.value)


def test_missing_study_file() -> None:
    with pytest.raises(ValueError, match="no file at"):
        read_study_file("/nonexistent/x.toml")


@pytest.mark.parametrize("changes, message", [
    ({"trials": -1}, "--trials"),
    ({"sampler": "bayes"}, "--sampler"),
    ({"sampler": "grid"}, "needs a \\[grid\\]"),
    ({"objectives": ("macs", "params")}, "--objectives"),
    ({"objectives": ("val_acc", "flops")}, "--objectives"),
    ({"max_mflops": 0.0}, "--max-mflops"),
])
def test_bad_options_name_the_flag(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RunConfig(**changes).check()


def test_budgets_parse_names_and_numbers() -> None:
    assert parse_budget("default") == BUDGETS["default"]
    assert parse_budget("20k").images == 20_000
    assert parse_budget("1234").images == 1234
    with pytest.raises(ValueError, match="--budget"):
        parse_budget("lots")


def test_jobs_auto_is_one_worker_per_core_on_the_cpu() -> None:
    assert parse_jobs("auto") == 0 and parse_jobs("3") == 3
    with pytest.raises(argparse.ArgumentTypeError, match="auto or a number"):
        parse_jobs("many")
    assert resolve_jobs(0, "cpu") == min(MAX_AUTO_JOBS, cpu_cores())
    assert resolve_jobs(0, "cuda") == 1 and resolve_jobs(3, "cpu") == 3
    assert RunConfig().jobs == 0
