"""The shipped design-space study files: each runs end to end on digits with a tiny budget."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from nas_space import ArchSpec, cost, get_space
from search import records as R
from search.config import merge, read_study_file, repeats
from search.run import main

STUDIES = Path(__file__).resolve().parents[2] / "studies"
TINY = ["--dataset", "digits", "--budget", "smoke", "--trials", "1", "--jobs", "1"]
#: Each file, the flags of its smoke run and the studies that run must make. To stay cheap,
#: only squeezenet_sr runs all its seeds and spaces_compare all its variants; the others
#: pin seed 0 (shufflenet_groups also its variant g3); test_variants covers the expansion.
#: squeeze-fig3 is a single study (no seeds, no variants).
#: MFLOPs limits keep the nets of the searched (not gridded) axes small.
CASES = {
    "squeezenet_sr": ([], ["squeezenet_sr-s0", "squeezenet_sr-s1", "squeezenet_sr-s2"]),
    "squeezenet_pct3x3": (["--seed", "0"], ["squeezenet_pct3x3-s0"]),
    "squeezenet_bypass": (["--seed", "0"], ["squeezenet_bypass-s0"]),
    "shufflenet_groups": (["--seed", "0", "--max-mflops", "0.3"], ["shufflenet_groups-g3-s0"]),
    "squeeze-fig3": ([], ["squeeze-fig3"]),
    "spaces_compare": (["--max-mflops", "0.5"], [f"spaces_compare-{s}"
                            for s in ("squeeze", "shuffle", "mobile", "resnet", "any")]),
}
#: The variant a smoke run pins, if any.
PINNED = {"shufflenet_groups": "g3"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_study_file_runs_on_digits(name: str, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    extra, expected = CASES[name]
    url = f"sqlite:///{tmp_path / 's.db'}"
    path = STUDIES / f"{name}.toml"
    arg = f"{path}#{PINNED[name]}" if name in PINNED else str(path)
    assert main(["--study-file", arg, "--storage", url, *TINY, *extra]) == 0
    made = sorted(s.study_name for s in optuna.get_all_study_summaries(url))
    assert made == sorted(expected)
    for study_name in expected:
        study = optuna.load_study(study_name=study_name, storage=url)
        searched = [t for t in study.get_trials() if t.user_attrs.get(R.ROLE) == R.ROLE_SEARCH
                    and t.user_attrs.get(R.STATUS) == R.COMPLETE]
        assert len(searched) == 1, study_name
        _check_the_file_held(path, study, searched[0])
    out = capsys.readouterr().out
    if any(repeats(path)):  # a file of several studies ends with a table of them
        assert all(f"\n{s} " in out for s in expected), out[-2000:]
    else:
        assert f"study '{expected[0]}': 1 searched trials" in out, out[-2000:]


def _check_the_file_held(path: Path, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """The trained spec is the file's point: its space, fixed values and a grid value."""
    parts = study.study_name.split("-")
    variant = next((p for p in parts[1:] if p in repeats(path)[0]), "")
    cfg = merge(read_study_file(f"{path}#{variant}" if variant else path), {})
    assert study.user_attrs[R.SPACE] == cfg.space
    for axis, values in cfg.grid.items():
        assert trial.params[axis] in values
    spec = ArchSpec.from_json(trial.user_attrs[R.SPEC])
    assert cost(spec).macs == trial.user_attrs[R.MACS]
    if "groups" in cfg.fixed:
        assert max(b.groups for b in spec.blocks) == cfg.fixed["groups"]


def test_shufflenet_groups_are_at_equal_complexity() -> None:
    """Each g's widths cost about the same at 28x28; at 0.25x, rounding channels to
    multiples of 4g spreads them more (as in the paper's Table 2)."""
    path = STUDIES / "shufflenet_groups.toml"
    names, _ = repeats(path)
    assert names == ["g1", "g2", "g3", "g4", "g8"]
    for width, spread in ((0.25, 1.7), (0.5, 1.1), (1.0, 1.1)):
        macs = []
        for g in names:
            cfg = merge(read_study_file(f"{path}#{g}"), {})
            space = get_space(cfg.space, in_channels=1, input_size=28, num_classes=10)
            spec = space.from_params({**space.defaults, **cfg.fixed, "width": width})
            assert max(b.groups for b in spec.blocks) == cfg.fixed["groups"]
            macs.append(cost(spec).macs)
        assert max(macs) / min(macs) < spread, (width, macs)


def test_a_grid_with_every_point_over_the_limit_is_an_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = STUDIES / "squeezenet_bypass.toml"
    flags = ["--study-file", str(path), *TINY, "--seed", "0"]
    url = f"sqlite:///{tmp_path / 'all-over.db'}"
    assert main([*flags, "--storage", url, "--trials", "3", "--max-mflops", "0.001"]) == 1
    err = capsys.readouterr().err
    assert "no spec was trained; 3 grid point(s) over the" in err and "\n" not in err.strip()
    # the same grid under a limit that two of its three points meet
    bypass = {b: cost(_spec(path, b)).macs / 1e6 for b in ("none", "complex")}
    assert bypass["none"] < bypass["complex"]
    limit = f"{(bypass['none'] + bypass['complex']) / 2:.6f}"
    url = f"sqlite:///{tmp_path / 'one-over.db'}"
    assert main([*flags, "--storage", url, "--trials", "3", "--max-mflops", limit]) == 0
    assert "exhausted: 2 distinct specs searched; 1 grid point(s) over" in capsys.readouterr().out


def _spec(path: Path, bypass: str) -> ArchSpec:
    """The file's spec at this bypass, on digits (1x8x8, 10 classes)."""
    cfg = merge(read_study_file(path), {})
    space = get_space(cfg.space, in_channels=1, input_size=8, num_classes=10)
    return space.from_params({**space.defaults, **cfg.fixed, "bypass": bypass})
