"""bench.samplers' summary on hand-made studies: hypervolume after k trials, median, spread."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import optuna
import pytest

from bench.samplers import counted, curves, hv_after, main, study_name, table, verdicts
from search import records as R

T0 = dt.datetime(2026, 1, 1)


def trial(acc: float, macs: float, status: str = R.COMPLETE, minute: int = 0
          ) -> optuna.trial.FrozenTrial:
    t = optuna.trial.create_trial(values=[acc, macs], user_attrs={
        R.ROLE: R.ROLE_SEARCH, R.STATUS: status, R.VAL_ACC: acc, R.MACS: macs})
    t.datetime_start, t.datetime_complete = T0, T0 + dt.timedelta(minutes=minute + 1)
    return t


def study(*trials: optuna.trial.FrozenTrial) -> optuna.Study:
    s = optuna.create_study(directions=["maximize", "minimize"])
    s.add_trials(trials)
    return s


def test_hypervolume_after_k_counts_stopped_trials_but_not_their_accuracy() -> None:
    s = study(trial(0.5, 1e5), trial(0.9, 1e5, R.STOPPED), trial(0.8, 1e7))
    ts = counted(s)
    assert len(ts) == 3
    assert hv_after(ts, 1) == hv_after(ts, 2) == pytest.approx(0.5 * 4 / 5)
    assert hv_after(ts, 3) == pytest.approx((2 * 0.5 + 2 * 0.8) / 5)


def test_the_table_gives_median_spread_and_gain_over_random() -> None:
    studies = {
        "tpe": [study(trial(a, 1e5, minute=m)) for a, m in ((0.8, 1), (0.7, 3), (0.9, 5))],
        "random": [study(trial(a, 1e5)) for a in (0.5, 0.4, 0.6)],
    }
    rows = table(studies, 1)
    assert len(rows) == 4
    # hv of one point at 1e5 = acc * 4/5; tpe median 0.64, random median 0.40: +60%.
    assert rows[2] == "| tpe | 3 | 0.640 (0.560-0.720) | 0.640 (0.560-0.720) | " \
                      "0.640 (0.560-0.720) | 0.640 (0.560-0.720) | +60.0% | 4.0 |"
    assert rows[3].startswith("| random | 3 | 0.400 (0.320-0.480)") and "+0.0%" in rows[3]


def test_the_curves_give_each_sampler_a_median_line_and_a_band() -> None:
    studies = {"tpe": [study(trial(0.5, 1e5), trial(0.8, 1e5)),
                       study(trial(0.6, 1e5), trial(0.7, 1e5)),
                       study(trial(0.4, 1e5), trial(0.9, 1e5))],
               "random": [study(trial(0.5, 1e5), trial(0.5, 1e5)) for _ in range(3)]}
    fig = curves(studies, 2)
    lines = {t.name: list(t.y) for t in fig.data if t.mode == "lines"}
    assert lines["tpe (median of 3 seeds)"] == pytest.approx([0.4, 0.64])
    band = next(t for t in fig.data if t.legendgroup == "tpe" and t.fill == "toself")
    assert list(band.y) == pytest.approx([0.48, 0.72, 0.56, 0.32])  # max forward, min back


def test_report_only_rewrites_the_section_and_its_png_from_stored_studies(
        tmp_path: Path, results_page: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    for sampler, acc in (("tpe", 0.8), ("nsga2", 0.7), ("random", 0.5)):
        for seed in range(3):
            s = optuna.create_study(study_name=study_name(sampler, seed), storage=url,
                                    directions=["maximize", "minimize"])
            s.add_trials([trial(acc, 1e5, minute=seed)])
    assert main(["--report-only", "--trials", "1", "--storage", url]) == 0
    text = results_page.read_text()
    assert "| tpe | 3 | 0.640 (0.640-0.640)" in text and "+60.0%" in text
    assert "trials finished 2026-01-01 to 2026-01-01; reported on" in text
    assert "![hypervolume against trials per sampler](img/samplers.png)" in text
    assert (tmp_path / "img" / "samplers.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_only_names_the_studies_still_missing_or_short(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    s = optuna.create_study(study_name=study_name("tpe", 0), storage=url,
                            directions=["maximize", "minimize"])
    s.add_trials([trial(0.8, 1e5)])  # one of the two trials asked for
    assert main(["--report-only", "--trials", "2", "--storage", url, "--no-write"]) == 0
    out = capsys.readouterr().out
    assert "Not complete: 9 of 9 studies have fewer than 2 searched trials" in out
    assert "samplers-tpe-s0, samplers-nsga2-s0" in out and "| tpe |" not in out
    assert "`python -m bench.samplers --trials 2 --seeds 3` continues them" in out
    assert "Complete so far" not in out
    s.add_trials([trial(0.9, 1e6, minute=4)])
    assert main(["--report-only", "--trials", "2", "--storage", url, "--no-write"]) == 0
    out = capsys.readouterr().out
    assert "Not complete: 8 of 9 studies" in out and "samplers-tpe-s0," not in out
    assert "| samplers-tpe-s0 | 0.700 | 5.0 |" in out  # (0.9 * 3 + 0.8 * 1) / 5


def test_a_storage_that_is_not_a_database_is_a_one_line_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.db"
    bad.write_text("not a database")
    assert main(["--report-only", "--storage", f"sqlite:///{bad}", "--no-write"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(("tpe_acc", "random_acc", "says"), [
    ((0.8, 0.7, 0.9), (0.5, 0.4, 0.6),
     ["tpe, studies/squeeze.toml) median hypervolume after 1 trials at least 10% above "
      "random search's: met (+60.0%).",
      "best median after 1 trials: tpe (0.640); it is the default."]),
    ((0.64, 0.6, 0.7), (0.5, 0.9, 0.8), ["at least 10% above random search's: missed (-20.0%).",
                       "best median after 1 trials: random (0.640); the default, tpe, has "
                       "0.512."]),
])
def test_the_verdicts_hold_the_default_sampler_to_the_goal(
        tpe_acc: tuple[float, ...], random_acc: tuple[float, ...], says: list[str]) -> None:
    studies = {"tpe": [study(trial(a, 1e5)) for a in tpe_acc],
               "random": [study(trial(a, 1e5)) for a in random_acc]}
    text = "\n".join(verdicts(studies, 1, "tpe"))
    assert len(text.splitlines()) == 2
    for words in says:
        assert words in text, text
