"""dashboard.figures: what each figure draws, on a stored study and on edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard import analysis as A
from dashboard import data
from dashboard import detail as D
from dashboard import figures as F


@pytest.fixture(scope="module")
def trials(populated_db: str) -> pd.DataFrame:
    storage = data.connect(populated_db)
    return pd.concat([data.load_trials(storage, s) for s in ("fire-a", "fire-b")],
                     ignore_index=True)


def test_pareto_figure_draws_front_points_and_baselines(trials: pd.DataFrame) -> None:
    marked = A.with_front(trials)
    fig = F.pareto_figure(marked, "mflops", "params_SR")
    names = [t.name for t in fig.data]
    assert names[0] == "trials" and "baselines" in names
    assert {"front: fire-a", "front: fire-b"} <= set(names)
    points = fig.data[0]
    assert len(points.x) == int(A.searched(trials).sum())
    opacity = np.asarray(points.marker.opacity)
    assert (opacity == 1.0).sum() == int(marked["on_front"].sum())
    assert (opacity == F.DOMINATED_OPACITY).sum() == len(points.x) - int(marked["on_front"].sum())
    assert fig.layout.xaxis.type == "log"
    assert fig.layout.xaxis.title.text == "MFLOPs (multiply-adds)"
    assert points.marker.colorbar.title.text == "SR"


def test_front_line_is_a_staircase_through_the_front(trials: pd.DataFrame) -> None:
    marked = A.with_front(trials)
    fig = F.pareto_figure(marked, "mflops", "kind")
    line = next(t for t in fig.data if t.name == "front: fire-a")
    front = A.front_points(trials[trials["study"] == "fire-a"])
    assert line.line.shape == "hv"
    assert list(line.x) == front["mflops"].tolist()
    assert list(line.y) == sorted(line.y)  # cheaper front points are less accurate


def test_baselines_are_labelled(trials: pd.DataFrame) -> None:
    fig = F.pareto_figure(A.with_front(trials), "mflops", "study")
    base = next(t for t in fig.data if t.name == "baselines")
    assert len(base.x) == 8  # 4 per study
    labels = [a.text for a in fig.layout.annotations]
    assert sorted(labels) == sorted(["squeezenet1_0", "squeezenet1_1",
                                     "squeezenet1_0_simple_bypass",
                                     "squeezenet1_0_complex_bypass"])
    first = fig.layout.annotations[0]
    assert 10 ** first.x == pytest.approx(min(base.x))  # a log axis takes log10(x)


def test_categorical_colour_and_other_axes(trials: pd.DataFrame) -> None:
    fig = F.pareto_figure(A.with_front(trials, "mparams"), "mparams", "study",
                          show_stopped=True)
    names = [t.name for t in fig.data]
    assert names[0] == "stopped early" and {"fire-a", "fire-b"} <= set(names)
    assert fig.layout.xaxis.title.text == "Params (M)"


def test_pareto_figure_needs_the_front_column(trials: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="on_front"):
        F.pareto_figure(trials)


def test_figures_of_nothing_say_so() -> None:
    empty = data.trials_frame([], data.StudyInfo("s", 1))
    figs = [F.pareto_figure(A.with_front(empty)), F.hypervolume_figure(pd.DataFrame()),
            F.fronts_over_time_figure(pd.DataFrame()), F.edf_figure(pd.DataFrame()),
            F.importance_figure(pd.DataFrame()), F.learning_curve_figure(D.learning_curve([])),
            F.effects_figure(empty, "params_SR")]
    for fig in figs:
        assert fig.layout.annotations[0].text == "no trained trials to show"


def test_progress_and_design_figures(trials: pd.DataFrame) -> None:
    curve = A.hypervolume_curve(trials[trials["study"] == "fire-a"]).assign(study="fire-a")
    assert F.figure_summary(F.hypervolume_figure(curve)) == {"fire-a": len(curve)}
    fronts = F.fronts_over_time_figure(A.fronts_over_time(trials[trials["study"] == "fire-a"]))
    assert len(fronts.data) == 4 and fronts.data[-1].name.startswith("after 100%")
    effects = F.effects_figure(trials, "params_SR")
    assert len(effects.data) == 12  # 2 studies x 3 panels x (points, binned line)
    assert [t.name for t in effects.data if t.showlegend] == ["fire-a", "fire-b"]
    assert effects.layout.yaxis.type is None and effects.layout.yaxis3.type == "log"
    edf = F.edf_figure(A.edf_frame(trials, "study"))
    assert len(edf.data) == 2 and edf.data[0].y[-1] == 1.0
    imp = F.importance_figure(A.importance(trials))
    assert [t.name for t in imp.data] == ["accuracy", "on the front"]


def test_learning_curve_figure() -> None:
    fig = F.learning_curve_figure(D.learning_curve([[1, 0.5], [2, 0.7]]), "t")
    assert list(fig.data[0].y) == [0.5, 0.7]


def test_wide_positive_metaparameters_get_a_log_axis() -> None:
    assert F.wide_positive(pd.Series([0.0625, 0.5, 8.0]))
    assert not F.wide_positive(pd.Series([0.125, 0.5, 1.0]))
    assert not F.wide_positive(pd.Series([0.0, 1.0, 100.0]))
    assert not F.wide_positive(pd.Series(["none", "simple"]))
