"""The default search, end to end: wall time, front quality, and early stopping's worth.

    python -m bench.search_e2e                 # the default command, 200 trials
    python -m bench.search_e2e --before REV    # the same with the code of git revision REV too
    python -m bench.search_e2e --before REV --report-only   # re-read that pair's databases
    python -m bench.search_e2e --compare 60    # early stopping on/off at equal wall-clock

Runs `python -m search.run --space squeeze --trials N` (the default study file) into a
fresh database under bench/out/, then reads the study: wall time, best validation
accuracy, whether a searched trial dominates each SqueezeNet baseline, hypervolume.
With --before REV it first runs the same command with the code of REV (`git archive`
into bench/out/), then with this tree, and reports both in one table (section
search_e2e_before), with the worker-minutes that each side spent on baselines and on
the search; --report-only rebuilds that table from the stored databases. With
--compare N it instead runs N trials with early stopping, then the same command with
--no-early-stop for the same wall time (--timeout), and compares the hypervolumes. The
samplers are compared by bench.samplers. Other flags go to search.run, e.g. `--dataset
digits --budget smoke` for a quick try.
"""

from __future__ import annotations

import argparse
import json
import shlex
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
from search.variants import without_flags

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
    worker_min = {role: sum(_minutes(t) for t in trials if t.user_attrs.get(R.ROLE) == role)
                  for role in (R.ROLE_BASELINE, R.ROLE_SEARCH)}
    return {
        "wall_min": wall / 60, "trials": counted_trials(study), "stopped": stopped,
        "best": max((p.acc for p in searched), default=float("nan")),
        "hv": study_hypervolume(searched),
        "squeeze_dominated": sum(d is not None for _, d in squeeze),
        "squeeze_total": len(squeeze), "baselines_trained": trained,
        "baseline_worker_min": worker_min[R.ROLE_BASELINE],
        "search_worker_min": worker_min[R.ROLE_SEARCH],
        "baselines": "; ".join(
            f"{b.preset} {b.acc:.4f} @ {b.macs / 1e6:.2f} MFLOPs: "
            + (f"dominated by #{d.number} ({d.acc:.4f} @ {d.macs / 1e6:.2f})" if d
               else "not dominated")
            for b, d in squeeze),
    }


def _minutes(trial: optuna.trial.FrozenTrial) -> float:
    """The minutes a worker spent on one finished trial (0 for one still running)."""
    if trial.datetime_start is None or trial.datetime_complete is None:
        return 0.0
    return (trial.datetime_complete - trial.datetime_start).total_seconds() / 60


def span_min(study: optuna.Study) -> float:
    """Minutes from the first trial's start to the last trial's end."""
    trials = [t for t in study.get_trials(deepcopy=False) if t.datetime_complete]
    if not trials:
        return float("nan")
    start = min(t.datetime_start or t.datetime_complete for t in trials)
    return (max(t.datetime_complete for t in trials) - start).total_seconds() / 60


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
    p.add_argument("--report-only", action="store_true", help="with --before: train "
                   "nothing, rebuild the table from the databases of the last such run")
    p.add_argument("--no-write", action="store_true", help="print the section only")
    args, extra = p.parse_known_args(argv)
    if args.report_only and not args.before:
        p.error("--report-only goes with --before REV")
    bench = Bench(args.out.resolve(), extra, not args.no_write)
    bench.out.mkdir(parents=True, exist_ok=True)
    try:
        if args.before:
            before(bench, args.before, args.trials, args.report_only)
        elif args.summarize:
            summarize(bench, args.trials, args.summarize)
        elif args.compare:
            compare(bench, args.compare)
        else:
            default(bench, args.trials)
    except UnknownRevision as e:
        print(f"error: unknown git revision {e}", file=sys.stderr)
        return 1
    except NothingStored as e:
        print(f"error: {e}", file=sys.stderr)
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


class NothingStored(Exception):
    """--report-only without the databases of an earlier run."""


def short_rev(rev: str) -> str:
    """The short hash of a git revision."""
    found = subprocess.run(["git", "rev-parse", "--short", "--verify", "--quiet",
                            f"{rev}^{{commit}}"], cwd=ROOT, capture_output=True, text=True)
    if found.returncode:
        raise UnknownRevision(repr(rev))
    return found.stdout.strip()


def code_of(bench: Bench, rev: str) -> tuple[str, Path]:
    """The short hash of a git revision and a copy of its tracked files under bench.out
    (made once: extracted beside it, then moved into place)."""
    short = short_rev(rev)
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


def before(bench: Bench, rev: str, trials: int, report_only: bool = False) -> None:
    """The default search with the code of `rev`, then with this tree, one after the other;
    or, with `report_only`, the table of the last such run, read from its databases."""
    short, tree = (short_rev(rev), ROOT) if report_only else code_of(bench, rev)
    rows, spans = [], False
    for side, code in (("before", tree), ("after", ROOT)):
        name, label = f"e2e-{side}", f"before ({short})" if side == "before" else None
        if report_only:
            stored, wall, study = stored_run(bench, name)
            label = label or stored
            spans |= wall is None
            wall = span_min(study) * 60 if wall is None else wall
        else:
            label = label or f"after ({head()})"  # as it starts
            wall, study = run_search(bench, name, trials, code=code)
            (bench.out / f"{name}.json").write_text(json.dumps({"code": label, "wall_s": wall}))
        rows.append((label or side, summary(study, wall)))
    command = shown_command(study)  # the after side's, as both ran it
    baselines = "--no-baselines" not in command
    lines = [
        f"Measured on {machine()}, one run after the other: `{command}` with each "
        "revision's code" + (", baselines included." if baselines else "."), "",
        *table("code", rows, baselines=baselines),
    ]
    if baselines:
        lines += ["", "Worker-minutes: the summed durations of the trials of each role, "
                  "over all worker processes."]
    if spans:
        lines += ["", "Wall time: the span from the first trial's start to the last trial's "
                  "end, read from the databases (these runs stored no wall time)."]
    report(bench, "search_e2e_before", f"## Search end to end, before and after {short}",
           lines)


def shown_command(study: optuna.Study) -> str:
    """The search.run command that made a study, without its bench-chosen storage and name."""
    argv = shlex.split(str(study.user_attrs.get(R.COMMAND, "")))[3:]
    return shlex.join(["python", "-m", "search.run", *without_flags(argv, ("--storage",
                                                                           "--study"))])


def stored_run(bench: Bench, name: str) -> tuple[str | None, float | None, optuna.Study]:
    """The label, wall time (seconds) and study of a stored --before run; label and wall
    are None where the run stored none."""
    db = bench.out / f"{name}.db"
    if not db.is_file():
        raise NothingStored(f"no {db}: run --before without --report-only first")
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{db}")
    meta = bench.out / f"{name}.json"
    try:
        stored = json.loads(meta.read_text()) if meta.is_file() else {}
    except ValueError as e:
        raise NothingStored(f"{meta} is not JSON ({e})") from None
    return stored.get("code"), stored.get("wall_s"), study


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
    trained, the SqueezeNet baselines that a searched trial dominates, and the
    worker-minutes spent on baselines and on the search."""
    extra = (" baselines trained | SqueezeNet baselines dominated | worker-min on "
             "baselines | worker-min on search |") if baselines else ""
    return [
        f"| {key} | wall time | searched trials | stopped early | best val acc | hypervolume |"
        + extra, "|---|---|---|---|---|---|" + ("---|---|---|---|" if baselines else ""),
        *(f"| {k} | {s['wall_min']:.1f} min | {s['trials']} | {s['stopped']} | "
          f"{s['best']:.4f} | {s['hv']:.4f} |"
          + (f" {s['baselines_trained']} | {s['squeeze_dominated']}/{s['squeeze_total']} | "
             f"{s['baseline_worker_min']:.1f} | {s['search_worker_min']:.1f} |"
             if baselines else "")
          for k, s in rows),
    ]


def report(bench: Bench, name: str, title: str, lines: list[str]) -> None:
    publish(name, title + "\n\n" + "\n".join(lines), write=bench.write)


if __name__ == "__main__":
    sys.exit(main())
