"""The default search, end to end: wall time, front quality, and early stopping's worth.

    python -m bench.search_e2e                 # the default command, 200 trials
    python -m bench.search_e2e --compare 60    # early stopping on/off at equal wall-clock
    python -m bench.search_e2e --samplers 60   # tpe, nsga2 and random, 60 trials each

Runs `python -m search.run --space squeeze --trials N` (the default study file) into a
fresh database under bench/out/, then reads the study: wall time, best validation
accuracy, whether a searched trial dominates each SqueezeNet baseline, hypervolume.
With --compare N it instead runs N trials with early stopping, then the same command
with --no-early-stop for the same wall time (--timeout), and compares the hypervolumes.
With --samplers N it runs N trials with each sampler and compares the same figures.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import optuna

from bench.results import machine, write_section
from search import records as R
from search.config import resolve_jobs
from search.report import dominated_baselines, points, study_hypervolume
from search.study import counted_trials
from search.trainer import pick_device

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"


def run_search(name: str, trials: int, *extra: str) -> tuple[float, optuna.Study]:
    """Run one search in a fresh database; return its wall time and the study."""
    db = OUT / f"{name}.db"
    db.unlink(missing_ok=True)
    url = f"sqlite:///{db}"
    cmd = [sys.executable, "-m", "search.run", "--space", "squeeze", "--trials", str(trials),
           "--storage", url, "--study", name, *extra]
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True)
    wall = time.perf_counter() - start
    return wall, optuna.load_study(study_name=name, storage=url)


def summary(study: optuna.Study, wall: float) -> dict[str, object]:
    searched = points(study, R.ROLE_SEARCH)
    squeeze = [(b, d) for b, d in dominated_baselines(study) if b.preset and
               b.preset.startswith("squeezenet")]
    stopped = sum(1 for t in study.get_trials(deepcopy=False)
                  if t.user_attrs.get(R.STATUS) == R.STOPPED)
    return {
        "wall_min": wall / 60, "trials": counted_trials(study), "stopped": stopped,
        "best": max((p.acc for p in searched), default=float("nan")),
        "hv": study_hypervolume(searched),
        "squeeze_dominated": sum(d is not None for _, d in squeeze),
        "squeeze_total": len(squeeze),
        "baselines": "; ".join(
            f"{b.preset} {b.acc:.4f} @ {b.macs / 1e6:.2f} MFLOPs: "
            + (f"dominated by #{d.number} ({d.acc:.4f} @ {d.macs / 1e6:.2f})" if d
               else "not dominated")
            for b, d in squeeze),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--compare", type=int, metavar="N",
                   help="compare early stopping on/off at equal wall-clock, N trials")
    p.add_argument("--samplers", type=int, metavar="N",
                   help="compare the samplers tpe, nsga2 and random, N trials each")
    p.add_argument("--summarize", type=float, metavar="MINUTES",
                   help="only summarize bench/out/e2e.db, a run stopped after MINUTES")
    args = p.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.summarize:
        url = f"sqlite:///{OUT / 'e2e.db'}"
        study = optuna.load_study(study_name="e2e", storage=url)
        s = summary(study, args.summarize * 60)
        report("search_e2e", "## Search end to end", [
            f"Measured on {machine()}, with other jobs loading both cores.", "",
            f"`python -m search.run --space squeeze --trials {args.trials}` was stopped after "
            f"{args.summarize:.0f} min, with {s['trials']} of {args.trials} searched trials "
            f"done ({s['stopped']} stopped early) after the 8 baselines; best val acc "
            f"{s['best']:.4f}, hypervolume {s['hv']:.4f}, SqueezeNet baselines dominated: "
            f"{s['squeeze_dominated']}/{s['squeeze_total']}.", "", f"Baselines: {s['baselines']}."])
        return
    if args.compare:
        compare(args.compare)
        return
    if args.samplers:
        compare_samplers(args.samplers)
        return
    wall, study = run_search("e2e", args.trials)
    s = summary(study, wall)
    jobs = resolve_jobs(0, pick_device("auto").type)
    lines = [
        f"Measured on {machine()}; the search ran {jobs} worker process(es) (--jobs auto).",
        "",
        f"`python -m search.run --space squeeze --trials {args.trials}` (studies/squeeze.toml):",
        "",
        "| wall time | searched trials | stopped early | best val acc | hypervolume | "
        "SqueezeNet baselines dominated |",
        "|---|---|---|---|---|---|",
        f"| {s['wall_min']:.1f} min | {s['trials']} | {s['stopped']} | {s['best']:.4f} | "
        f"{s['hv']:.4f} | {s['squeeze_dominated']}/{s['squeeze_total']} |", "",
        f"Baselines: {s['baselines']}.", "",
        f"Goals: wall time <= 30 min: {_met(s['wall_min'] <= 30)}; best val acc >= 0.88: "
        f"{_met(s['best'] >= 0.88)}; every SqueezeNet baseline dominated: "
        f"{_met(0 < s['squeeze_dominated'] == s['squeeze_total'])}.",
    ]
    report("search_e2e", "## Search end to end", lines)


def _met(ok: object) -> str:
    return "met" if ok else "missed"


def compare(trials: int) -> None:
    """Early stopping on for `trials` trials, then off for the same wall time."""
    wall, study = run_search("e2e-early-stop", trials, "--no-baselines")
    wall2, study2 = run_search("e2e-no-early-stop", trials * 10, "--no-baselines",
                               "--no-early-stop", "--timeout", f"{wall:.0f}")
    rows = [("on", summary(study, wall)), ("off", summary(study2, wall2))]
    lines = [
        f"Measured on {machine()}. The squeeze study file, no baselines; the second run "
        f"stops starting trials at the first run's wall time.", "",
        *table("early stopping", rows),
    ]
    report("search_e2e_compare", "## Early stopping at equal wall-clock", lines)


def compare_samplers(trials: int) -> None:
    """The same study, `trials` searched trials with each sampler."""
    rows = []
    for sampler in ("tpe", "nsga2", "random"):
        wall, study = run_search(f"e2e-{sampler}", trials, "--no-baselines",
                                 "--sampler", sampler)
        rows.append((sampler, summary(study, wall)))
    lines = [
        f"Measured on {machine()}. The squeeze study file, no baselines, {trials} searched "
        "trials each, seed 0.", "",
        *table("sampler", rows),
    ]
    report("search_e2e_samplers", "## Samplers", lines)


def table(key: str, rows: list[tuple[str, dict[str, object]]]) -> list[str]:
    """A markdown table of search summaries, one row each."""
    return [
        f"| {key} | wall time | searched trials | stopped early | best val acc | hypervolume |",
        "|---|---|---|---|---|---|",
        *(f"| {k} | {s['wall_min']:.1f} min | {s['trials']} | {s['stopped']} | "
          f"{s['best']:.4f} | {s['hv']:.4f} |" for k, s in rows),
    ]


def report(name: str, title: str, lines: list[str]) -> None:
    path = write_section(name, title + "\n\n" + "\n".join(lines))
    print("\n".join(lines))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
