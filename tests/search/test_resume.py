"""A study cannot be corrupted by resuming it with other settings: a mismatched resume is
refused with one line naming the difference, and the stored study stays byte-for-byte."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from nas_space import get_space
from search.budgets import parse_budget
from search.config import RunConfig, fingerprint
from search.run import main
from search.storage import open_storage
from search.study import StudyError, open_study
from tests.search.workers import TINY, copy_made


def variant(folder: Path, old: str, new: str) -> Path:
    path = folder / "variant.toml"
    text = TINY.format(budget="smoke")
    assert old in text
    path.write_text(text.replace(old, new))
    return path


CASES = {
    "space": (["--study-file", "none", "--space", "shuffle", "--dataset", "digits",
               "--study", "squeeze-digits"], "space = \"squeeze\", not \"shuffle\""),
    "budget images": (["--budget", "700"], "budget.images = 600, not 700"),
    "budget rungs": (["--budget", "600"], "budget.rungs = 2, not 3"),
    "constraints": (["--max-mflops", "3"], "constraints.max_mflops = 2, not 3"),
    "fixed": (("bn = true", "bn = false"), "fixed.bn = true, not false"),
    "ranges": (("high = 4", "high = 5"), "ranges.depth.high = 4, not 5"),
    "objectives": (["--objectives", "val_acc,params"], "objectives"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_mismatched_resume_is_refused(made: tuple[Path, Path], tmp_path: Path, case: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    log, before = copy_made(made[0], tmp_path)
    change, message = CASES[case]
    f = made[1] if isinstance(change, list) else variant(tmp_path, *change)
    extra = change if isinstance(change, list) else []
    capsys.readouterr()
    code = main(["--study-file", str(f), "--storage", f"journal://{log}", "--trials", "2",
                 "--no-baselines", *extra])
    err = capsys.readouterr().err
    assert code == 1, err
    assert message in err and "was made with" in err, err
    assert len(err.strip().splitlines()) == 1
    assert log.read_bytes() == before


@pytest.mark.parametrize("field, value", [("dataset", "mnist"),
                                          ("split", {"train": 1000, "val": 500})])
def test_dataset_and_split_are_part_of_the_fingerprint(tmp_path: Path, field: str,
                                                        value: object) -> None:
    cfg = RunConfig(dataset="digits", storage=f"journal://{tmp_path / 's.log'}")
    space = get_space("squeeze")
    made = fingerprint(cfg, parse_budget("smoke"), {"train": 1200, "val": 300})
    storage = open_storage(cfg.storage)
    open_study(cfg, storage, space, made, command="c")
    with pytest.raises(StudyError, match=f"made with {field}"):
        open_study(cfg, storage, space, {**made, field: value}, command="c")
    stored = optuna.load_study(study_name=cfg.study_name, storage=storage).user_attrs
    assert stored["fingerprint"] == made
