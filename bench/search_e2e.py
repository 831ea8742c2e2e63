"""The default search, end to end: wall time, front quality, and early stopping's worth.

    python -m bench.search_e2e                 # the default command, 200 trials
    python -m bench.search_e2e --before REV    # the same with the code of git revision REV too
    python -m bench.search_e2e --compare 60    # early stopping on/off at equal wall-clock

Runs `python -m search.run --space squeeze --trials N` (the default study file) into a
fresh database under bench/out/, then reads the study: wall time, best validation
accuracy, whether a searched trial dominates each SqueezeNet baseline, hypervolume.
With --before REV it first runs the same command with the code of REV (`git archive`
into bench/out/), then with this tree, and reports both in one table (section
search_e2e_before). With --compare N it instead runs N trials with early stopping, then
the same command with --no-early-stop for the same wall time (--timeout), and compares
the hypervolumes. The samplers are compared by bench.samplers. Other flags go to
search.run, e.g. `--dataset digits --budget smoke` for a quick try.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import optuna

from bench.results import machine, publish
from search import records as R
from search.config import resolve_jobs
from search.report import dominated_baselines, points, study_hypervolume
from search.study import counted_trials
from search.trainer import pick_device

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"


@dataclass(frozen=True)
class Bench:
    """Where the databases go, the flags passed on to search.run, and whether to write."""

    out: Path = OUT
    extra: list[str] = field(default_factory=list)
    write: bool = True

    def flags(self) -> str:
        return "".join(f" {a}" for a in self.extra)


def run_search(bench: Bench, name: str, trials: int, *extra: str, code: Path = ROOT
               ) -> tuple[float, optuna.Study]:
    """Run one search with the code in `code`, in a fresh database; return its wall time
    and the study."""
    db = bench.out / f"{name}.db"
    db.unlink(missing_ok=True)
    url = f"sqlite:///{db}"
    cmd = [sys.executable, "-m", "search.run", "--space", "squeeze", "--trials", str(trials),
           "--storage", url, "--study", name, *extra, *bench.extra]
    start = time.perf_counter()
    subprocess.run(cmd, cwd=code, check=True)
    wall = time.perf_counter() - start
    return wall, optuna.load_study(study_name=name, storage=url)


def summary(study: optuna.Study, wall: float) -> dict[str, object]:
    searched = points(study, R.ROLE_SEARCH)
    squeeze = [(b, d) for b, d in dominated_baselines(study) if b.preset and
               b.preset.startswith("squeezenet")]
    trials = study.get_trials(deepcopy=False)
    stopped = sum(1 for t in trials if t.user_attrs.get(R.STATUS) == R.STOPPED)
    trained = sum(1 for t in trials if t.user_attrs.get(R.ROLE) == R.ROLE_BASELINE
                  and t.user_attrs.get(R.STATUS) == R.COMPLETE)
    return {
        "wall_min": wall / 60, "trials": counted_trials(study), "stopped": stopped,
        "best": max((p.acc for p in searched), default=float("nan")),
        "hv": study_hypervolume(searched),
        "squeeze_dominated": sum(d is not None for _, d in squeeze),
        "squeeze_total": len(squeeze), "baselines_trained": trained,
        "baselines": "; ".join(
            f"{b.preset} {b.acc:.4f} @ {b.macs / 1e6:.2f} MFLOPs: "
            + (f"dominated by #{d.number} ({d.acc:.4f} @ {d.macs / 1e6:.2f})" if d
               else "not dominated")
            for b, d in squeeze),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.search_e2e", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--before", metavar="REV", help="also run the search with the code of "
                   "git revision REV, first, and compare")
    p.add_argument("--compare", type=int, metavar="N",
                   help="compare early stopping on/off at equal wall-clock, N trials")
    p.add_argument("--summarize", type=float, metavar="MINUTES",
                   help="only summarize bench/out/e2e.db, a run stopped after MINUTES")
    p.add_argument("--out", type=Path, default=OUT, help="where the databases and the "
                   "code of --before go (default bench/out)")
    p.add_argument("--no-write", action="store_true", help="print the section only")
    args, extra = p.parse_known_args(argv)
    bench = Bench(args.out.resolve(), extra, not args.no_write)
    bench.out.mkdir(parents=True, exist_ok=True)
    try:
        if args.before:
            before(bench, args.before, args.trials)
        elif args.summarize:
            summarize(bench, args.trials, args.summarize)
        elif args.compare:
            compare(bench, args.compare)
        else:
            default(bench, args.trials)
    except UnknownRevision as e:
        print(f"error: unknown git revision {e}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as e:
        print(f"error: {' '.join(map(str, e.cmd[:4]))} ... failed (exit {e.returncode})",
              file=sys.stderr)
        return 1
    return 0


def default(bench: Bench, trials: int) -> None:
    """The default command (plus any passed-on flags), with the goals of the default run."""
    wall, study = run_search(bench, "e2e", trials)
    s = summary(study, wall)
    jobs = resolve_jobs(0, pick_device("auto").type)
    lines = [
        f"Measured on {machine()}; the search ran {jobs} worker process(es) (--jobs auto)."
        if "--jobs" not in bench.extra else f"Measured on {machine()}.", "",
        f"`python -m search.run --space squeeze --trials {trials}{bench.flags()}` "
        "(studies/squeeze.toml):", "",
        "| wall time | searched trials | stopped early | best val acc | hypervolume | "
        "SqueezeNet baselines dominated |",
        "|---|---|---|---|---|---|",
        f"| {s['wall_min']:.1f} min | {s['trials']} | {s['stopped']} | {s['best']:.4f} | "
        f"{s['hv']:.4f} | {s['squeeze_dominated']}/{s['squeeze_total']} |", "",
        f"Baselines: {s['baselines']}.",
    ]
    if not bench.extra and trials == 200:  # the goals are those of the default run
        lines += ["", f"Goals: wall time <= 30 min: {_met(s['wall_min'] <= 30)}; best val acc "
                  f">= 0.88: {_met(s['best'] >= 0.88)}; every SqueezeNet baseline dominated: "
                  f"{_met(0 < s['squeeze_dominated'] == s['squeeze_total'])}."]
    report(bench, "search_e2e", "## Search end to end", lines)


def summarize(bench: Bench, trials: int, minutes: float) -> None:
    """Only summarize the database of a default run that was stopped after `minutes`."""
    url = f"sqlite:///{bench.out / 'e2e.db'}"
    study = optuna.load_study(study_name="e2e", storage=url)
    s = summary(study, minutes * 60)
    report(bench, "search_e2e", "## Search end to end", [
        f"Measured on {machine()}, with other jobs loading both cores.", "",
        f"`python -m search.run --space squeeze --trials {trials}` was stopped after "
        f"{minutes:.0f} min, with {s['trials']} of {trials} searched trials "
        f"done ({s['stopped']} stopped early) after the baselines; best val acc "
        f"{s['best']:.4f}, hypervolume {s['hv']:.4f}, SqueezeNet baselines dominated: "
        f"{s['squeeze_dominated']}/{s['squeeze_total']}.", "", f"Baselines: {s['baselines']}."])


class UnknownRevision(Exception):
    """A --before revision that git does not know."""


def code_of(bench: Bench, rev: str) -> tuple[str, Path]:
    """The short hash of a git revision and a copy of its tracked files under bench.out
    (made once: extracted beside it, then moved into place)."""
    found = subprocess.run(["git", "rev-parse", "--short", "--verify", "--quiet",
                            f"{rev}^{{commit}}"], cwd=ROOT, capture_output=True, text=True)
    if found.returncode:
        raise UnknownRevision(repr(rev))
    short = found.stdout.strip()
    tree = bench.out / f"code-{short}"
    if not tree.exists():
        bench.out.mkdir(parents=True, exist_ok=True)
        part = Path(tempfile.mkdtemp(dir=bench.out, prefix=f".code-{short}-"))
        try:
            archive = subprocess.run(["git", "archive", short], cwd=ROOT, check=True,
                                     capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(part)], input=archive, check=True)
            part.rename(tree)
        finally:
            shutil.rmtree(part, ignore_errors=True)
    return short, tree


def head() -> str:
    """This tree's revision, marked when it has uncommitted changes."""
    git = ["git", "-C", str(ROOT)]
    rev = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip() or "this tree"
    dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return f"{rev}+changes" if dirty else rev


def before(bench: Bench, rev: str, trials: int) -> None:
    """The default search with the code of `rev`, then with this tree, one after the other."""
    short, tree = code_of(bench, rev)
    rows = []
    for side, code in (("before", tree), ("after", ROOT)):
        label = f"before ({short})" if side == "before" else f"after ({head()})"  # as it runs
        wall, study = run_search(bench, f"e2e-{side}", trials, code=code)
        rows.append((label, summary(study, wall)))
    baselines = "--no-baselines" not in bench.extra
    lines = [
        f"Measured on {machine()}, one run after the other: `python -m search.run --space "
        f"squeeze --trials {trials}{bench.flags()}` with each revision's code"
        + (", baselines included." if baselines else "."), "",
        *table("code", rows, baselines=baselines),
    ]
    report(bench, "search_e2e_before", f"## Search end to end, before and after {short}",
           lines)


def _met(ok: object) -> str:
    return "met" if ok else "missed"


def compare(bench: Bench, trials: int) -> None:
    """Early stopping on for `trials` trials, then off for the same wall time."""
    wall, study = run_search(bench, "e2e-early-stop", trials, "--no-baselines")
    wall2, study2 = run_search(bench, "e2e-no-early-stop", trials * 10, "--no-baselines",
                               "--no-early-stop", "--timeout", f"{wall:.0f}")
    rows = [("on", summary(study, wall)), ("off", summary(study2, wall2))]
    lines = [
        f"Measured on {machine()}. The squeeze study file{bench.flags()}, no baselines; the "
        "second run stops starting trials at the first run's wall time.", "",
        *table("early stopping", rows),
    ]
    report(bench, "search_e2e_compare", "## Early stopping at equal wall-clock", lines)


def table(key: str, rows: list[tuple[str, dict[str, object]]], baselines: bool = False
          ) -> list[str]:
    """A markdown table of search summaries, one row each; optionally with the baselines
    trained and the SqueezeNet baselines that a searched trial dominates."""
    extra = " baselines trained | SqueezeNet baselines dominated |" if baselines else ""
    return [
        f"| {key} | wall time | searched trials | stopped early | best val acc | hypervolume |"
        + extra, "|---|---|---|---|---|---|" + ("---|---|" if baselines else ""),
        *(f"| {k} | {s['wall_min']:.1f} min | {s['trials']} | {s['stopped']} | "
          f"{s['best']:.4f} | {s['hv']:.4f} |"
          + (f" {s['baselines_trained']} | {s['squeeze_dominated']}/{s['squeeze_total']} |"
             if baselines else "")
          for k, s in rows),
    ]


def report(bench: Bench, name: str, title: str, lines: list[str]) -> None:
    publish(name, title + "\n\n" + "\n".join(lines), write=bench.write)


if __name__ == "__main__":
    sys.exit(main())
