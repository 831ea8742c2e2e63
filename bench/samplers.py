"""Search efficiency: hypervolume after N trials for each sampler, over several seeds.

    python -m bench.samplers --trials 100 --seeds 3      # resumable: re-run to continue
    python -m bench.samplers --report-only               # rewrite the section from storage

Runs `python -m search.run --space squeeze --trials N --sampler S --seed K` (the default
study file, without baselines) for every sampler S in --samplers and seed K in 0..--seeds-1,
each as its own study in one storage (--storage, default journal://studies/results/
samplers.log, tracked in git). A run resumes its study, so a stopped benchmark continues
where it stopped. The section (docs/RESULTS.md, samplers) gives, per sampler, the median
and range over seeds of the shared hypervolume (search/hypervolume.py, already normalized
to [0, 1]) after 25%, 50%, 75% and 100% of the trials, the median relative to random
search, and the median wall time per study. Then it says whether the default sampler
(studies/squeeze.toml) meets the goal of a median 10% above random search's, and which
sampler has the best median. Its figure (docs/img/samplers.png) draws the median and
range of the hypervolume after every trial.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

import optuna
import plotly.graph_objects as go
from optuna.trial import FrozenTrial

from bench.results import figure, machine, publish
from search import records as R
from search.config import merge, read_study_file
from search.hypervolume import hypervolume
from search.storage import RESULTS_DIR, StorageError, stored_studies
from search.variants import spread

ROOT = Path(__file__).resolve().parents[1]
SAMPLERS = ("tpe", "nsga2", "random")
FRACTIONS = (0.25, 0.5, 0.75, 1.0)
#: The goal for the default sampler: its median hypervolume this far above random's.
GAIN = 0.10
STUDY_FILE = ROOT / "studies" / "squeeze.toml"


def counted(study: optuna.Study) -> list[FrozenTrial]:
    """The searched trials that count toward --trials (fully trained or stopped), in order."""
    return [t for t in study.get_trials(deepcopy=False)
            if t.user_attrs.get(R.ROLE) == R.ROLE_SEARCH
            and t.user_attrs.get(R.STATUS) in (R.COMPLETE, R.STOPPED)]


def hv_after(trials: list[FrozenTrial], k: int) -> float:
    """The shared hypervolume of the fully trained trials among the first k counted."""
    done = [t for t in trials[:k] if t.user_attrs[R.STATUS] == R.COMPLETE]
    return hypervolume([t.user_attrs[R.VAL_ACC] for t in done],
                       [t.user_attrs[R.MACS] for t in done])


def wall_minutes(trials: list[FrozenTrial]) -> float:
    """Minutes from the first trial's start to the last one's end."""
    starts = [t.datetime_start for t in trials if t.datetime_start]
    ends = [t.datetime_complete for t in trials if t.datetime_complete]
    return (max(ends) - min(starts)).total_seconds() / 60 if starts and ends else float("nan")


def table(studies: dict[str, list[optuna.Study]], n: int) -> list[str]:
    """Markdown rows: per sampler, hypervolume at each fraction of n, relative to random."""
    ks = [max(1, round(f * n)) for f in FRACTIONS]
    head = " | ".join(f"hv @ {k}" for k in ks)
    lines = [f"| sampler | seeds | {head} | vs random @ {n} | minutes |",
             "|---|---|" + "---|" * len(ks) + "---|---|"]
    final = {s: [hv_after(counted(st), n) for st in ss] for s, ss in studies.items()}
    base = statistics.median(final["random"]) if final.get("random") else float("nan")
    for sampler, ss in studies.items():
        trials = [counted(st) for st in ss]
        cells = " | ".join(spread([hv_after(t, k) for t in trials], 3) for k in ks)
        rel = statistics.median(final[sampler]) / base - 1 if base > 0 else float("nan")
        minutes = statistics.median(wall_minutes(t) for t in trials)
        lines.append(f"| {sampler} | {len(ss)} | {cells} | {rel:+.1%} | {minutes:.1f} |")
    return lines


def verdicts(studies: dict[str, list[optuna.Study]], n: int, default: str) -> list[str]:
    """The default sampler against the goal (a median hypervolume after n trials at least
    GAIN above random search's), and the sampler with the best median."""
    median = {s: statistics.median(hv_after(counted(st), n) for st in ss)
              for s, ss in studies.items() if ss}
    gain = median[default] / median["random"] - 1 if median["random"] > 0 else float("nan")
    best = max(median, key=median.__getitem__)
    return [f"- Goal, the default sampler's ({default}, studies/squeeze.toml) median "
            f"hypervolume after {n} trials at least {GAIN:.0%} above random search's: "
            f"{'met' if gain >= GAIN else 'missed'} ({gain:+.1%}).",
            f"- The best median after {n} trials: {best} ({median[best]:.3f})"
            + ("; it is the default." if best == default else
               f"; the default, {default}, has {median[default]:.3f}.")]


def done_so_far(studies: dict[str, list[optuna.Study]], n: int) -> list[str]:
    """Markdown rows for the studies already complete: hypervolume after n trials, minutes."""
    rows = [f"| {st.study_name} | {hv_after(counted(st), n):.3f} | "
            f"{wall_minutes(counted(st)):.1f} |" for ss in studies.values() for st in ss]
    if not rows:
        return []
    return ["", "Complete so far:", "",
            f"| study | hv @ {n} | minutes |", "|---|---|---|", *rows]


def curves(studies: dict[str, list[optuna.Study]], n: int) -> go.Figure:
    """Hypervolume after each of the first n trials: per sampler, the median over seeds and
    a band from the lowest to the highest seed."""
    fig = go.Figure()
    ks = list(range(1, n + 1))
    for sampler, ss in studies.items():
        trials = [counted(st) for st in ss]
        hv = [[hv_after(t, k) for t in trials] for k in ks]
        fig.add_scatter(x=ks + ks[::-1], y=[max(v) for v in hv] + [min(v) for v in hv][::-1],
                        fill="toself", opacity=0.2, line_width=0, legendgroup=sampler,
                        showlegend=False, hoverinfo="skip", name=sampler)
        fig.add_scatter(x=ks, y=[statistics.median(v) for v in hv], mode="lines",
                        name=f"{sampler} (median of {len(ss)} seeds)", legendgroup=sampler)
    fig.update_layout(title="Hypervolume after each searched trial (band: range over seeds)",
                      xaxis_title="searched trials", yaxis_title="hypervolume",
                      template="plotly_white")
    return fig


def run_one(sampler: str, seed: int, args: argparse.Namespace, extra: list[str]) -> None:
    cmd = [sys.executable, "-m", "search.run", "--space", "squeeze", "--trials",
           str(args.trials), "--sampler", sampler, "--seed", str(seed), "--no-baselines",
           "--storage", args.storage, "--study", study_name(sampler, seed), *extra]
    subprocess.run(cmd, cwd=ROOT, check=True)


def study_name(sampler: str, seed: int) -> str:
    return f"samplers-{sampler}-s{seed}"


def stored(samplers: list[str], args: argparse.Namespace
           ) -> tuple[dict[str, list[optuna.Study]], list[str]]:
    """The stored studies per sampler, and the names of those missing or short of trials."""
    store, names = stored_studies(args.storage)
    studies: dict[str, list[optuna.Study]] = {s: [] for s in samplers}
    pending = []
    for k in range(args.seeds):
        for s in samplers:
            name = study_name(s, k)
            study = (optuna.load_study(study_name=name, storage=store)
                     if name in names else None)
            if study is None or len(counted(study)) < args.trials:
                pending.append(name)
            else:
                studies[s].append(study)
    return studies, pending


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.samplers", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=100, help="searched trials per study (100)")
    p.add_argument("--seeds", type=int, default=3, help="seeds per sampler (at least 3)")
    p.add_argument("--samplers", default=",".join(SAMPLERS))
    p.add_argument("--storage", default=f"journal://{RESULTS_DIR / 'samplers.log'}",
                   help="Optuna storage URL (default journal://studies/results/samplers.log)")
    p.add_argument("--report-only", action="store_true", help="train nothing; rewrite the "
                   "section and its figure from the stored studies")
    p.add_argument("--no-write", action="store_true", help="print the section only")
    args, extra = p.parse_known_args(argv)  # extra flags go to search.run, e.g. --dataset
    samplers = [s.strip() for s in args.samplers.split(",")]
    if args.seeds < 3 or "random" not in samplers or args.trials < 1:
        p.error("needs --trials >= 1, --seeds >= 3 and random among --samplers (the baseline)")
    if not args.report_only:  # opening the storage makes its folder (search.storage)
        for seed in range(args.seeds):  # seeds outermost: a stopped run leaves every sampler even
            for sampler in samplers:
                run_one(sampler, seed, args, extra)
    command = (f"python -m bench.samplers --trials {args.trials} --seeds {args.seeds}"
               + "".join(f" {a}" for a in extra))
    try:
        studies, pending = stored(samplers, args)
    except StorageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if pending:
        publish("samplers", "\n".join([
            "## Samplers", "",
            f"Not complete: {len(pending)} of {len(samplers) * args.seeds} studies have fewer "
            f"than {args.trials} searched trials ({', '.join(pending)}). `{command}` "
            "continues them.", *done_so_far(studies, args.trials)]), write=not args.no_write)
        return 0
    ends = [t.datetime_complete for ss in studies.values() for st in ss for t in counted(st)
            if t.datetime_complete]
    publish("samplers", "\n".join([
        "## Samplers", "",
        f"`{command}`: trials finished {min(ends):%Y-%m-%d} to {max(ends):%Y-%m-%d}; "
        f"reported on {machine()}. Hypervolume: search/hypervolume.py (median and range "
        "over seeds); minutes: median wall time of one study.", "",
        *table(studies, args.trials), "",
        *verdicts(studies, args.trials, merge(read_study_file(STUDY_FILE), {}).sampler), "",
        figure(curves(studies, args.trials), "samplers", "hypervolume against trials per "
               "sampler", write=not args.no_write)]), write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
