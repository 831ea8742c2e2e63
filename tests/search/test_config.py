"""Run options: study files, flag precedence, and one-line errors for bad input."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from search.budgets import BATCH, BUDGETS, MIN_STEPS, parse_budget
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


@pytest.mark.parametrize("url, expected", [
    ("journal://results/x.log", "journal://{dir}/results/x.log"),
    ("sqlite:///x.db", "sqlite:///{dir}/x.db"),
    ("journal:///abs/x.log", "journal:///abs/x.log"),
    ("postgresql://u@127.0.0.1/db", "postgresql://u@127.0.0.1/db"),
])
def test_a_study_files_storage_path_is_taken_from_its_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, expected: str) -> None:
    folder = tmp_path / "studies"
    folder.mkdir()
    (folder / "s.toml").write_text(f'storage = "{url}"\n[[variants]]\nname = "v"\n'
                                   f'storage = "{url.replace("x.", "v.")}"\n')
    monkeypatch.chdir(tmp_path)  # elsewhere than the file's folder
    assert read_study_file("studies/s.toml")["storage"] == expected.format(dir=folder)
    assert read_study_file("studies/s.toml#v")["storage"] == \
        expected.replace("x.", "v.").format(dir=folder)


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


def test_a_budget_on_1000_images_trains_at_least_the_minimum_steps() -> None:
    default = BUDGETS["default"]
    assert default.min_steps == MIN_STEPS >= 300
    images = default.images_for(1000)
    assert -(-images // BATCH) >= MIN_STEPS
    assert default.resolve(1000).images == images and default.resolve(1000).epochs == 0
    assert default.images_for(50_000) == 50_000  # one epoch when that is more
    assert "1 epoch or 300 steps, whichever is more" in default.rule()
    assert default.describe(1000).startswith(f"{images:,} training images = ")
    assert f"= {MIN_STEPS} steps of 64" in default.describe(1000)
    assert BUDGETS["smoke"].images_for(1000) == 600


@pytest.mark.parametrize("name", BUDGETS.names())
def test_every_budget_gives_a_trial_budget_on_small_and_large_splits(name: str) -> None:
    fid = BUDGETS[name]
    for n_train, n_val in ((1000, 300), (50_000, 10_000)):
        budget = fid.train_budget(n_train, n_val)
        assert budget.images == fid.images_for(n_train) >= 1
        assert budget.rungs[-1] == budget.images and len(budget.rungs) == fid.rungs
        assert budget.val_images == min(fid.val_images, n_val)
    assert fid.resolve(1000).train_budget(1000, 300) == fid.train_budget(1000, 300)


@pytest.mark.parametrize("changes", [{"augment": "flip"}, {"image_size": 0}])
def test_bad_augment_and_image_size_name_the_flag(changes: dict) -> None:
    with pytest.raises(ValueError, match=r"--augment|--image-size"):
        RunConfig(**changes).check()


def test_jobs_auto_is_one_worker_per_core_on_the_cpu() -> None:
    assert parse_jobs("auto") == 0 and parse_jobs("3") == 3
    with pytest.raises(argparse.ArgumentTypeError, match="auto or a number"):
        parse_jobs("many")
    assert resolve_jobs(0, "cpu") == min(MAX_AUTO_JOBS, cpu_cores())
    assert resolve_jobs(0, "cuda") == 1 and resolve_jobs(3, "cpu") == 3
    assert RunConfig().jobs == 0
