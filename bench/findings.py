"""The papers' design-space findings, as our study files measure them.

    python -m search.run --study-file studies/squeezenet_sr.toml   # and the other files below
    python -m bench.findings                                       # the section and figures

Reads the studies that each study file stands for (search/variants.py names them; the
storage is --storage, else $NAS_STORAGE, else the file's, else the default journal file;
a storage file that does not exist means nothing is run yet) and rewrites the section
"findings" of docs/RESULTS.md with its figures under docs/img/:

- squeezenet_sr, squeezenet_pct3x3 (the SqueezeNet paper's Fig. 3): validation accuracy
  per value, median and range over seeds, beside the paper's ImageNet top-5 trend;
- squeezenet_bypass (its Table 3) and shufflenet_groups (ShuffleNet's Table 2): tables;
- spaces_compare ("Designing Network Design Spaces"): the spaces' error EDFs.

A study that is not stored yet is listed with the command that runs it; nothing is
trained here.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import plotly.graph_objects as go
from optuna.trial import FrozenTrial, TrialState

from bench.results import figure, publish
from dashboard.analysis import edf_frame
from dashboard.data import StudyInfo, from_frozen, trials_frame
from dashboard.figures import edf_figure
from search import records as R
from search.run import config_from_args, parser
from search.storage import StorageError, stored_studies
from search.variants import EDF_SHARES, Run, plan, spread

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ROOT / "studies"

#: The SqueezeNet paper's ImageNet top-5 accuracy (%) read from Fig. 3a at the squeeze
#: ratios it states: 80.3 at SR = 0.125, 86.0 at SR = 0.75, no gain at 1.0.
PAPER_SR = {0.125: 80.3, 0.75: 86.0, 1.0: 86.0}
#: Fig. 3b: top-5 accuracy plateaus at 85.6% from pct3x3 = 0.5 on.
PAPER_PCT3X3 = {0.5: 85.6, 0.99: 85.6}
#: The shape of each Fig. 3 curve in the paper, as the verdicts below name shapes.
PAPER_SHAPE = {"SR": "a rise, then a plateau from 0.75", "pct3x3": "a rise, then a plateau "
               "from 0.5"}
#: Table 3: top-1 / top-5 accuracy (%) per bypass.
PAPER_BYPASS = {"none": (57.5, 80.3), "simple": (60.4, 82.5), "complex": (58.8, 82.0)}
#: ShuffleNet v1's Table 2: ImageNet top-1 error (%) per width and group count.
PAPER_GROUPS = {1.0: {1: 33.6, 2: 32.7, 3: 32.6, 4: 32.8, 8: 32.4},
                0.5: {1: 45.1, 2: 44.4, 3: 43.2, 4: 41.6, 8: 42.3},
                0.25: {1: 57.1, 2: 56.8, 3: 55.0, 4: 54.2, 8: 52.7}}


@dataclass(frozen=True)
class Stored:
    """One study of a study file: its fully trained searched trials (none if not run), how
    many the file asks for, and the dataset it ran on."""

    run: Run
    trials: list[FrozenTrial]
    found: bool
    wanted: int
    dataset: str = ""


def stored(name: str, storage: str | None) -> list[Stored]:
    """The studies that studies/NAME.toml stands for, read from their storage."""
    argv = ["--study-file", str(STUDIES / f"{name}.toml")]
    argv += ["--storage", storage] if storage else []
    ns = parser().parse_args(argv)
    url = config_from_args(ns).storage
    store, names = stored_studies(url)  # none: not run
    out = []
    for run in plan(ns, argv):
        wanted = config_from_args(parser().parse_args(run.argv)).trials
        if run.study not in names:
            out.append(Stored(run, [], False, wanted))
            continue
        study = optuna.load_study(study_name=run.study, storage=store)
        done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if t.user_attrs.get(R.ROLE) == R.ROLE_SEARCH
                and t.user_attrs.get(R.STATUS) == R.COMPLETE
                and math.isfinite(t.user_attrs.get(R.VAL_ACC, math.nan))]
        out.append(Stored(run, done, True, wanted, str(study.user_attrs.get(R.DATASET, ""))))
    return out


def grouped(studies: list[Stored], key: Callable[[Stored, FrozenTrial], Any]
            ) -> dict[Any, list[FrozenTrial]]:
    """The trials of all studies, grouped by key(study, trial), in sorted key order."""
    groups: dict[Any, list[FrozenTrial]] = {}
    for s in studies:
        for t in s.trials:
            groups.setdefault(key(s, t), []).append(t)
    return dict(sorted(groups.items()))


def accs(trials: list[FrozenTrial]) -> list[float]:
    return [float(t.user_attrs[R.VAL_ACC]) for t in trials]


def cost(trials: list[FrozenTrial]) -> str:
    """MFLOPs and params of the first trial (a fixed point costs the same in every seed)."""
    a = trials[0].user_attrs
    return f"{a[R.MACS] / 1e6:.2f} | {a[R.PARAMS]:,}"


def missing_line(name: str, studies: list[Stored]) -> str | None:
    """Which studies are not stored yet or not complete, the dataset of those that are, and
    the command that runs or resumes them; None if all are complete."""
    absent = [s.run.study for s in studies if not s.found]
    short = [f"{s.run.study} ({len(s.trials)} of {s.wanted})" for s in studies
             if s.found and len(s.trials) < s.wanted]
    if not absent and not short:
        return None
    parts = [f"not run yet: {', '.join(absent)}" if absent else "",
             f"not complete: {', '.join(short)}" if short else ""]
    return (f"{len(absent) + len(short)} of {len(studies)} studies are missing or short of "
            f"trials ({'; '.join(p for p in parts if p)}). "
            f"`python -m search.run --study-file studies/{name}.toml` runs or resumes them.")


def datasets_line(studies: list[Stored]) -> list[str]:
    """The datasets the stored studies ran on (the file's, unless overridden)."""
    names = sorted({s.dataset for s in studies if s.found and s.dataset})
    return [f"Dataset: {', '.join(names)}.", ""] if names else []


def noise(groups: dict[Any, list[FrozenTrial]]) -> float:
    """The typical range over seeds: the median, over the groups with two seeds or more, of
    the range of their accuracies, and at least half a point. Differences smaller than this
    are not told apart. The median, not the widest range, so that one seed that failed to
    train in one group does not hide every gap."""
    ranges = [max(a) - min(a) for ts in groups.values() if len(a := accs(ts)) > 1]
    return max(0.005, statistics.median(ranges)) if ranges else 0.005


def noise_words(groups: dict[Any, list[FrozenTrial]], tol: float) -> str:
    """The noise as the text names it; with one seed everywhere it is only the floor, and
    the text says that the spread over seeds is not measured."""
    measured = any(len(ts) > 1 for ts in groups.values())
    return f"{tol:.4f}" + ("" if measured else
                                     ", the floor: one seed, so the spread is not measured")


def level(a: list[float], b: list[float], tol: float) -> bool:
    """Are two points' accuracies not told apart: medians within the noise, or (with two
    seeds or more each) seed ranges that touch? The best median of several noisy points is
    biased upward, so one lucky high point must not make its neighbours a fall."""
    touch = len(a) > 1 and len(b) > 1 and max(a) >= min(b) and max(b) >= min(a)
    return abs(statistics.median(a) - statistics.median(b)) <= tol or touch


def shape(axis: str, groups: dict[float, list[FrozenTrial]]) -> str:
    """Our curve in words: does the median accuracy rise with the axis, and does it then
    stay level with its best (a plateau of at least two points)?"""
    med = {v: statistics.median(accs(ts)) for v, ts in groups.items()}
    if len(med) < 3:
        return f"Too few values of {axis} to tell a shape."
    tol, best_v = noise(groups), max(med, key=lambda v: med[v])
    best, said = med[best_v], noise_words(groups, tol)
    top = accs(groups[best_v])
    flat_from = [v for v in med
                 if all(level(accs(groups[w]), top, tol) for w in med if w >= v)]
    first = min(med)
    where = (f"from {med[first]:.4f} at {axis} = {first:g} to {best:.4f} at {best_v:g} "
             f"(noise: {said})")
    if best - min(med.values()) <= tol:
        return f"Ours: flat within the noise ({said}) over {axis}."
    if level(accs(groups[first]), top, tol):
        return (f"Ours: no rise: {axis} = {first:g} is already within the noise ({said}) "
                f"of the best, {best:.4f}, and larger values fall below it.")
    if not flat_from:
        return f"Ours: a rise {where}, then a fall beyond the noise."
    if min(flat_from) < max(med):
        return f"Ours: a rise {where}, then a plateau from {axis} = {min(flat_from):g}."
    return f"Ours: a rise {where} that has not levelled off by {axis} = {max(med):g}."


def ranking(groups: dict[str, list[FrozenTrial]], paper: dict[str, float]) -> str:
    """The order of the variants by median accuracy, ours and the paper's, and whether our
    spread between them stands out of the noise."""
    med = {k: statistics.median(accs(ts)) for k, ts in groups.items()}
    ours = " > ".join(sorted(med, key=lambda k: -med[k]))
    theirs = " > ".join(sorted(paper, key=lambda k: -paper[k]))
    gap, tol = max(med.values()) - min(med.values()), noise(groups)
    return (f"Order by median accuracy: ours {ours}, the paper's {theirs}. Our largest gap, "
            f"{gap:.4f}, is {'above' if gap > tol else 'within'} the noise "
            f"({noise_words(groups, tol)}).")


def trend_figure(axis: str, groups: dict[float, list[FrozenTrial]], paper: dict[float, float],
                 paper_label: str) -> go.Figure:
    """Our median accuracy per value (bars: range over seeds) and the paper's points."""
    xs = list(groups)
    ys = [[a * 100 for a in accs(ts)] for ts in groups.values()]
    med = [statistics.median(y) for y in ys]
    fig = go.Figure()
    fig.add_scatter(x=xs, y=med, mode="lines+markers", name="ours: validation accuracy (%)",
                    error_y=dict(type="data", symmetric=False,
                                 array=[max(y) - m for y, m in zip(ys, med, strict=True)],
                                 arrayminus=[m - min(y) for y, m in zip(ys, med, strict=True)]))
    fig.add_scatter(x=list(paper), y=list(paper.values()), mode="lines+markers", yaxis="y2",
                    line_dash="dash", name=paper_label)
    fig.update_layout(xaxis_title=axis, yaxis_title="ours: validation accuracy (%)",
                      yaxis2=dict(title="paper: ImageNet top-5 (%)", overlaying="y",
                                  side="right", tickformat=".1f"),
                      legend=dict(orientation="h", y=-0.2), template="plotly_white",
                      margin=dict(t=30))
    return fig


def trend(name: str, axis: str, paper: dict[float, float]
          ) -> Callable[[list[Stored], bool], list[str]]:
    """A Fig. 3 panel: per value of the axis, our accuracy and cost and the paper's."""
    def render(studies: list[Stored], write: bool) -> list[str]:
        groups = grouped(studies, lambda _, t: float(t.params[axis]))
        if not groups:
            return []
        fig = trend_figure(axis, groups, paper, "paper: ImageNet top-5 (%), where it states it")
        return [f"| {axis} | seeds | val acc: median (range) | MFLOPs | params | "
                "paper top-5 (%) |", "|---|---|---|---|---|---|",
                *[f"| {v:g} | {len(ts)} | {spread(accs(ts))} | {cost(ts)} | "
                  f"{paper.get(v, '')} |" for v, ts in groups.items()],
                "", f"{shape(axis, groups)} The paper: {PAPER_SHAPE[axis]}.",
                "", figure(fig, name, f"accuracy against {axis}, ours and the paper's",
                           write=write)]
    return render


def bypass(studies: list[Stored], write: bool) -> list[str]:
    """Per bypass: our accuracy and cost, and the paper's top-1 / top-5."""
    groups = grouped(studies, lambda _, t: str(t.params["bypass"]))
    if not groups:
        return []
    return ["| bypass | seeds | val acc: median (range) | MFLOPs | params | "
            "paper top-1 / top-5 (%) |", "|---|---|---|---|---|---|",
            *[f"| {b} | {len(ts)} | {spread(accs(ts))} | {cost(ts)} | "
              f"{' / '.join(map(str, PAPER_BYPASS.get(b, ())))} |" for b, ts in groups.items()],
            "", ranking(groups, {b: top1 for b, (top1, _) in PAPER_BYPASS.items()
                                 if b in groups}) + " (The paper's order is by top-1.)"]


def groups(studies: list[Stored], write: bool) -> list[str]:
    """Per width (rows) and group count (columns): our accuracy and MFLOPs; the paper's
    top-1 errors."""
    cells = grouped(studies, lambda s, t: (float(t.params["width"]), s.run.variant))
    if not cells:
        return []
    widths = sorted({w for w, _ in cells}, reverse=True)
    variants = sorted({v for _, v in cells}, key=lambda v: int(v.lstrip("g")))
    lines = ["| width | " + " | ".join(f"{v}: val acc (MFLOPs)" for v in variants)
             + " | paper top-1 error, g = 1/2/3/4/8 (%) |",
             "|---|" + "---|" * len(variants) + "---|"]
    for w in widths:
        row = [f"{spread(accs(ts))} ({ts[0].user_attrs[R.MACS] / 1e6:.1f})" if ts else ""
               for ts in (cells.get((w, v), []) for v in variants)]
        paper = "/".join(f"{e:g}" for e in PAPER_GROUPS.get(w, {}).values())
        lines.append(f"| {w:g} | " + " | ".join(row) + f" | {paper} |")
    lines.append("")
    for w in widths:
        at = {v: ts for v in variants if (ts := cells.get((w, v)))}
        paper = {f"g{g}": -err for g, err in PAPER_GROUPS.get(w, {}).items()
                 if f"g{g}" in at}
        lines += [f"Width {w:g}: " + ranking(at, paper), ""]
    return lines[:-1]


def trial_frame(studies: list[Stored]) -> pd.DataFrame:
    """The dashboard's trial frame of the stored trials, its column "study" naming the
    variant (the space)."""
    return pd.concat([trials_frame([from_frozen(t) for t in s.trials],
                                   StudyInfo(s.run.variant, 0)) for s in studies if s.trials],
                     ignore_index=True)


def spaces(studies: list[Stored], write: bool) -> list[str]:
    """Per space: the error below which 10%, 25% and 50% of its models fall, and the EDFs."""
    if not any(s.trials for s in studies):
        return []
    head = " / ".join(f"{q:.0%}" for q in EDF_SHARES)
    lines = [f"| space | models | error at {head} of the models |", "|---|---|---|"]
    for s in studies:
        errs = [1 - a for a in accs(s.trials)]
        if errs:
            lines.append(f"| {s.run.variant} | {len(errs)} | "
                         + " / ".join(f"{e:.4f}" for e in np.quantile(errs, EDF_SHARES)) + " |")
    fig = edf_figure(edf_frame(trial_frame(studies)))
    return [*lines, "", figure(fig, "spaces_compare", "error EDFs of the spaces", write=write)]


#: The section's parts: study file, heading, and what renders its stored studies.
PARTS: list[tuple[str, str, Callable[[list[Stored], bool], list[str]]]] = [
    ("squeezenet_sr", "Squeeze ratio, the SqueezeNet paper's Fig. 3a",
     trend("squeezenet_sr", "SR", PAPER_SR)),
    ("squeezenet_pct3x3", "Share of 3x3 filters, the SqueezeNet paper's Fig. 3b",
     trend("squeezenet_pct3x3", "pct3x3", PAPER_PCT3X3)),
    ("squeezenet_bypass", "Bypass, the SqueezeNet paper's Table 3", bypass),
    ("shufflenet_groups", "Groups at equal complexity, ShuffleNet's Table 2", groups),
    ("spaces_compare", "The spaces' error EDFs, as in Designing Network Design Spaces",
     spaces),
]


def section(storage: str | None, write: bool) -> str:
    lines = ["## Design-space findings against the papers", "",
             "`python -m bench.findings` reads the stored studies of the five study files. "
             "Our accuracies are validation accuracies after each file's budget, on the "
             "dataset each part names; the papers' are ImageNet's. The noise that a "
             "difference must exceed is the typical range over seeds: the median, over "
             "the values with two seeds or more, of their range (at least 0.005). On a "
             "curve, a point is also level with the best when their seed ranges touch.", ""]
    for name, title, render in PARTS:
        studies = stored(name, storage)
        body, note = render(studies, write), missing_line(name, studies)
        lines += [f"### {title} (`studies/{name}.toml`)", "", *datasets_line(studies)]
        lines += [*body, ""] if body else []
        lines += [note, ""] if note else []
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.findings", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--storage", help="read every study from this storage URL (default: "
                   "$NAS_STORAGE, else each file's, else the default journal file)")
    p.add_argument("--no-write", action="store_true", help="print the section only")
    args = p.parse_args(argv)
    try:
        publish("findings", section(args.storage, not args.no_write), write=not args.no_write)
    except StorageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
