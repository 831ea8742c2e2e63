"""Study files of several studies: seeds and [[variants]], their names, commands and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.config import merge, read_study_file, repeats
from search.run import main, parser
from search.variants import plan

FILE = """
space = "squeeze"
trials = 4
seeds = [0, 1]
[fixed]
bn = true
width = 0.25
[ranges]
depth = { low = 2, high = 4 }
[[variants]]
name = "a"
fixed = { SR = 0.5 }
[[variants]]
name = "b"
space = "shuffle"
trials = 2
fixed = { width = 0.5 }
ranges = { depth = { low = 4, high = 6 } }
"""


@pytest.fixture
def path(tmp_path: Path) -> Path:
    p = tmp_path / "two.toml"
    p.write_text(FILE)
    return p


def runs(*argv: str) -> list[tuple[str, list[str]]]:
    return [(r.study, r.argv) for r in plan(parser().parse_args(list(argv)), list(argv))]


def test_every_variant_and_seed_is_one_study(path: Path) -> None:
    got = runs("--study-file", str(path), "--trials", "1", "--jobs", "1")
    assert [name for name, _ in got] == ["two-a-s0", "two-a-s1", "two-b-s0", "two-b-s1"]
    argv = got[3][1]
    assert argv == ["--trials", "1", "--jobs", "1", "--study-file", f"{path}#b", "--study",
                    "two-b-s1", "--seed", "1"]
    assert runs(*argv) == []  # the command of one study names exactly one study


def test_explicit_flags_pin_a_seed_a_variant_and_the_name(path: Path) -> None:
    assert [n for n, _ in runs("--study-file", str(path), "--seed", "5")] == ["two-a-s5",
                                                                                "two-b-s5"]
    assert [n for n, _ in runs("--study-file", f"{path}#b")] == ["two-b-s0", "two-b-s1"]
    assert [n for n, _ in runs("--study-file", str(path), "--study", "x", "--seed=1")] == [
        "x-a-s1", "x-b-s1"]
    # Pinned fully without a name: still named as in the full run, so it resumes that study.
    assert [n for n, _ in runs("--study-file", f"{path}#a", "--seed", "0")] == ["two-a-s0"]
    assert runs("--study-file", f"{path}#a", "--seed", "0", "--study", "mine") == []


def test_files_without_repeats_run_as_before(tmp_path: Path) -> None:
    p = tmp_path / "one.toml"
    p.write_text('space = "squeeze"\n')
    assert runs("--study-file", str(p)) == [] and runs("--space", "squeeze") == []


def test_a_variant_overrides_options_and_table_entries(path: Path) -> None:
    a = merge(read_study_file(f"{path}#a"), {})
    b = merge(read_study_file(f"{path}#b"), {})
    assert (a.space, a.trials, a.fixed) == ("squeeze", 4, {"bn": True, "width": 0.25, "SR": 0.5})
    assert (b.space, b.trials, b.fixed) == ("shuffle", 2, {"bn": True, "width": 0.5})
    assert b.ranges == {"depth": {"low": 4, "high": 6}}
    assert repeats(path) == (["a", "b"], [0, 1])


@pytest.mark.parametrize("text, message", [
    ("seeds = 3", "seeds must be a list of distinct integers"),
    ("seeds = [1, 1]", "seeds must be a list of distinct integers"),
    ("seeds = [true]", "seeds must be a list of distinct integers"),
    ("seeds = []", "seeds must be a list of distinct integers"),
    ('variants = "a"', "variants must be [[variants]] tables"),
    ('[[variants]]\nspace = "mobile"', "each variant needs a name"),
    ('[[variants]]\nname = "a b"', "each variant needs a name"),
    ('[[variants]]\nname = "a"\n[[variants]]\nname = "a"', "two variants are named 'a'"),
    ('[[variants]]\nname = "a"\nspaec = "mobile"', "variant 'a': unknown key 'spaec'"),
    ('[[variants]]\nname = "a"\nstudy = "x"', "variant 'a': unknown key 'study'"),
    ('[[variants]]\nname = "a"\nfixed = 3', "variant 'a': [fixed] must be a table"),
])
def test_bad_repeats_fail_in_one_line(tmp_path: Path, text: str, message: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "bad.toml"
    p.write_text(text + "\n")
    assert main(["--study-file", str(p), "--storage", f"sqlite:///{tmp_path / 's.db'}"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "s.db").exists()


def test_an_unknown_variant_lists_the_valid_ones(path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--study-file", f"{path}#c", "--seed", "0", "--study", "x"]) == 2
    assert "has no variant 'c'; variants: a, b" in capsys.readouterr().err
    one = path.with_name("one.toml")
    one.write_text('space = "squeeze"\n')
    assert main(["--study-file", f"{one}#c"]) == 2
    assert "has no variant 'c'; variants: none" in capsys.readouterr().err
