"""bench.findings: the papers' findings section, from the studies of the five study files."""

from __future__ import annotations

import subprocess
from pathlib import Path

import optuna
import pytest

from bench import findings
from search import records as R
from search.config import merge, read_study_file, repeats
from search.run import main as run_main
from search.storage import RESULTS_DIR


def searched(params: dict[str, object], acc: float, macs: int = 2_000_000,
             n_params: int = 30_000) -> optuna.trial.FrozenTrial:
    dist = {k: optuna.distributions.FloatDistribution(0, 10) if isinstance(v, float) else
            optuna.distributions.CategoricalDistribution(["none", "simple", "complex"])
            for k, v in params.items()}
    return optuna.trial.create_trial(params=params, distributions=dist,
                                     values=[acc if acc == acc else 0.0, macs],
                                     user_attrs={R.ROLE: R.ROLE_SEARCH, R.STATUS: R.COMPLETE,
                                                 R.VAL_ACC: acc, R.MACS: macs,
                                                 R.PARAMS: n_params})


def store(url: str, name: str, *trials: optuna.trial.FrozenTrial) -> None:
    s = optuna.create_study(study_name=name, storage=url, directions=["maximize", "minimize"])
    s.add_trials(trials)


def test_every_part_names_the_command_of_the_studies_not_run_yet(tmp_path: Path) -> None:
    text = findings.section(f"journal://{tmp_path / 'none.log'}", write=False)
    assert not (tmp_path / "none.log").exists()  # reading makes no storage
    for name, title, _ in findings.PARTS:
        assert f"### {title} (`studies/{name}.toml`)" in text
        assert f"`python -m search.run --study-file studies/{name}.toml`" in text
    assert "3 of 3 studies are missing or short of trials (not run yet: squeezenet_sr-s0, " \
           "squeezenet_sr-s1, squeezenet_sr-s2)" in text
    assert "|" not in text and "Dataset:" not in text  # no table without data


def test_the_sr_curve_has_median_and_range_over_seeds_beside_the_paper(
        tmp_path: Path, results_page: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    for seed, (low, high) in enumerate(((0.80, 0.90), (0.82, 0.88), (0.84, 0.86))):
        store(url, f"squeezenet_sr-s{seed}", searched({"SR": 0.125}, low),
              searched({"SR": 0.75}, high))
    assert findings.main(["--storage", url]) == 0
    text = results_page.read_text()
    assert "| 0.125 | 3 | 0.8200 (0.8000-0.8400) | 2.00 | 30,000 | 80.3 |" in text
    assert "| 0.75 | 3 | 0.8800 (0.8600-0.9000) | 2.00 | 30,000 | 86.0 |" in text
    assert "![accuracy against SR, ours and the paper's](img/squeezenet_sr.png)" in text
    assert "Too few values of SR to tell a shape. The paper: a rise, then a plateau from " \
           "0.75." in text
    assert (tmp_path / "img" / "squeezenet_sr.png").read_bytes()[:4] == b"\x89PNG"
    part = text.split("Fig. 3b")[0]
    assert "3 of 3 studies are missing or short of trials (not complete: squeezenet_sr-s0 " \
           "(2 of 8), squeezenet_sr-s1 (2 of 8), squeezenet_sr-s2 (2 of 8))" in part


def test_a_nan_accuracy_is_left_out(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    store(url, "squeezenet_bypass-s0", searched({"bypass": "none"}, 0.8),
          searched({"bypass": "simple"}, float("nan")))
    text = findings.section(url, write=False)
    assert "| none | 1 | 0.8000 |" in text and "| simple |" not in text and "nan" not in text


def test_the_trend_figure_puts_the_paper_on_its_own_axis() -> None:
    groups = {0.125: [searched({"SR": 0.125}, a) for a in (0.8, 0.9, 0.85)]}
    fig = findings.trend_figure("SR", groups, findings.PAPER_SR, "paper")
    ours, paper = fig.data
    assert list(ours.y) == pytest.approx([85.0])
    assert list(ours.error_y.array) == pytest.approx([5.0])
    assert list(ours.error_y.arrayminus) == pytest.approx([5.0])
    assert paper.yaxis == "y2" and list(paper.x) == [0.125, 0.75, 1.0]


def test_groups_are_a_width_by_g_table_with_the_papers_errors(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    for g, acc in (("g1", 0.80), ("g8", 0.83)):
        store(url, f"shufflenet_groups-{g}-s0", searched({"width": 0.25}, acc),
              searched({"width": 1.0}, acc + 0.05, macs=9_000_000))
    text = findings.section(url, write=False)
    assert "| width | g1: val acc (MFLOPs) | g8: val acc (MFLOPs) |" in text
    assert "| 1 | 0.8500 (9.0) | 0.8800 (9.0) | 33.6/32.7/32.6/32.8/32.4 |" in text
    assert "| 0.25 | 0.8000 (2.0) | 0.8300 (2.0) | 57.1/56.8/55/54.2/52.7 |" in text
    assert "Width 1: Order by median accuracy: ours g8 > g1, the paper's g8 > g1. Our largest " \
           "gap, 0.0300, is above the noise (0.0050, the floor: one seed, so the spread is " \
           "not measured)." in text


def test_a_real_bypass_run_on_digits_is_read_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    assert run_main(["--study-file", str(findings.STUDIES / "squeezenet_bypass.toml"),
                     "--storage", url, "--dataset", "digits", "--budget", "smoke",
                     "--seed", "0", "--jobs", "1"]) == 0
    text = findings.section(url, write=False)
    part = text.split("Table 3")[1].split("###")[0]
    rows = [line for line in part.splitlines() if line.startswith("| ") and "seeds" not in line]
    assert [r.split(" | ")[0] for r in rows] == ["| complex", "| none", "| simple"]
    assert all(" | 1 | 0." in r for r in rows)
    assert "58.8 / 82.0" in rows[0] and "57.5 / 80.3" in rows[1]
    assert "Dataset: digits." in part
    assert "4 of 5 studies are missing or short of trials (not run yet: squeezenet_bypass-s1" \
        in part  # seed 0 has its three trials


def test_an_unreadable_storage_is_a_one_line_error(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.db"
    bad.write_text("not a database")
    assert findings.main(["--storage", f"sqlite:///{bad}", "--no-write"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


def curve(*medians: float, spread: float = 0.0) -> dict[float, list[optuna.trial.FrozenTrial]]:
    """Three seeds per value 0.1, 0.2, ...: median m, range m - spread/2 .. m + spread/2."""
    return {round(0.1 * (i + 1), 1): [searched({"SR": 0.1}, m + d)
                                       for d in (-spread / 2, 0.0, spread / 2)]
            for i, m in enumerate(medians)}


@pytest.mark.parametrize(("medians", "spread", "words"), [
    ((0.70, 0.80, 0.85, 0.851, 0.849), 0.004,
     "a rise from 0.7000 at SR = 0.1 to 0.8510 at 0.4 (noise: 0.0050), then a plateau from "
     "SR = 0.3."),
    ((0.70, 0.75, 0.80, 0.85), 0.01, "a rise from 0.7000 at SR = 0.1 to 0.8500 at 0.4 "
     "(noise: 0.0100) that has not levelled off by SR = 0.4."),
    ((0.70, 0.85, 0.75), 0.0, "then a fall beyond the noise."),
    ((0.80, 0.81, 0.805), 0.02, "flat within the noise (0.0200) over SR."),
    ((0.85, 0.70, 0.60), 0.0, "no rise: SR = 0.1 is already within the noise (0.0050) of the "
     "best, 0.8500, and larger values fall below it."),
])
def test_the_shape_of_a_curve_in_words(medians: tuple[float, ...], spread: float,
                                       words: str) -> None:
    assert findings.shape("SR", curve(*medians, spread=spread)).endswith(words)


def test_a_single_high_point_does_not_make_its_neighbour_a_fall() -> None:
    """The pct3x3 curve of an earlier run: the last point's median is 0.0078 below the
    best's, more than the noise (0.0064), but their seed ranges touch."""
    runs = ((0.8282, 0.8330, 0.8350), (0.8726, 0.8744, 0.8790), (0.8924, 0.8940, 0.8942),
            (0.8940, 0.9002, 0.9004), (0.8924, 0.8924, 0.8940))
    groups = {v: [searched({"pct3x3": v}, a) for a in accs]
              for v, accs in zip((0.01, 0.25, 0.75, 0.875, 0.99), runs, strict=True)}
    assert findings.noise(groups) == pytest.approx(0.0064)
    assert findings.shape("pct3x3", groups).endswith("then a plateau from pct3x3 = 0.75.")
    groups[0.99] = [searched({"pct3x3": 0.99}, a) for a in (0.8900, 0.8910, 0.8930)]
    assert findings.shape("pct3x3", groups).endswith("then a fall beyond the noise.")


def test_a_gap_within_the_seed_range_is_called_noise() -> None:
    groups = {"none": [searched({"bypass": "none"}, a) for a in (0.80, 0.84)],
              "simple": [searched({"bypass": "simple"}, a) for a in (0.815, 0.835)]}
    text = findings.ranking(groups, {"none": 57.5, "simple": 60.4})
    assert text == ("Order by median accuracy: ours simple > none, the paper's simple > none. "
                    "Our largest gap, 0.0050, is within the noise (0.0300).")


def test_one_collapsed_seed_does_not_hide_a_gap() -> None:
    """The noise is the typical range over seeds: one seed at 0.67 widens only its group."""
    groups = {v: [searched({"bypass": v}, a) for a in accs]
              for v, accs in {"complex": (0.876, 0.879, 0.881), "none": (0.858, 0.861, 0.862),
                              "simple": (0.674, 0.860, 0.863)}.items()}
    text = findings.ranking(groups, {"none": 57.5, "simple": 60.4, "complex": 58.8})
    assert text.endswith("Our largest gap, 0.0190, is above the noise (0.0050).")


def test_the_spaces_have_error_quantiles_and_an_edf_figure(tmp_path: Path,
                                                           results_page: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    store(url, "spaces_compare-squeeze", *[searched({"SR": 0.1}, a) for a in (0.9, 0.8, 0.7)])
    store(url, "spaces_compare-mobile", searched({"SR": 0.1}, 0.6))
    assert findings.main(["--storage", url]) == 0
    text = results_page.read_text().split("Designing Network Design Spaces")[1]
    assert "| squeeze | 3 | 0.1200 / 0.1500 / 0.2000 |" in text
    assert "| mobile | 1 | 0.4000 / 0.4000 / 0.4000 |" in text
    assert "![error EDFs of the spaces](img/spaces_compare.png)" in text
    assert (tmp_path / "img" / "spaces_compare.png").read_bytes()[:4] == b"\x89PNG"
    edf = findings.edf_frame(findings.trial_frame(findings.stored("spaces_compare", url)))
    assert sorted(edf["group"].unique()) == ["mobile (n=1)", "squeeze (n=3)"]


@pytest.mark.parametrize("name", [name for name, _, _ in findings.PARTS])
def test_each_part_reads_a_study_file_that_stores_in_the_tracked_folder(name: str) -> None:
    """Wherever it is run from, each file writes one journal in studies/results/, the
    folder git tracks, so the results page rebuilds from a clean clone."""
    path = findings.STUDIES / f"{name}.toml"
    variants, _ = repeats(path)
    for variant in variants or [""]:
        cfg = merge(read_study_file(f"{path}#{variant}" if variant else path), {})
        assert cfg.storage == f"journal://{RESULTS_DIR / name}.log"


def test_make_evidence_runs_the_study_file_of_every_part() -> None:
    makefile = (findings.ROOT / "Makefile").read_text()
    line = next(x for x in makefile.splitlines() if x.startswith("EVIDENCE :="))
    names = line.split(":=")[1].split()
    assert sorted(names) == sorted(name for name, _, _ in findings.PARTS)
    assert len(set(names)) == len(names)


def test_git_tracks_the_results_but_not_the_weights_beside_them() -> None:
    """The journals in studies/results/ are the evidence; the trained weights that a study
    file's run writes beside them are large, binary and rebuilt by training."""
    def ignored(path: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", path], cwd=findings.ROOT,
                              check=False).returncode == 0

    assert ignored("studies/results/weights/squeezenet_sr-s0/0.safetensors")
    assert not ignored("studies/results/squeezenet_sr.log")
