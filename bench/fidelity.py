"""Fidelity: do the search's short-training rungs rank networks as long training does?

    python -m bench.fidelity --specs 30        # resumable: re-run the command to continue
    python -m bench.fidelity --report-only     # rewrite the section from what is stored

By default one single-threaded worker process per CPU core (one on CUDA) measures the
specs, each its own share (spec i goes to worker i mod N); --jobs sets N.

Samples --specs points of the default squeeze study (studies/squeeze.toml: its fixed
values, ranges and MFLOPs limit) with a seeded random sampler, so every run lists the same
specs and a re-run continues where the last one stopped. Each spec is one trial of its own
Optuna study (--storage, default journal://studies/results/fidelity.log, tracked in git so
that a later sitting on another machine continues it), which holds:

- its MACs, params and synflow score at initialization (search/proxies.py);
- the validation accuracy at each rung of --budget (the search's default: one epoch or
  300 steps, whichever is more, in 4 rungs), trained as the search trains; stored as soon
  as it is known, so a spec interrupted during its long training keeps it;
- the validation accuracy after --long-epochs epochs (default 10): the trial's value.

The section (docs/RESULTS.md, fidelity) gives Kendall tau (with a bootstrap interval) and
Spearman rho between each ranking signal (each rung's accuracy, MACs, params, synflow) and
the long accuracy, over the specs done so far, and says how many those are. Three verdicts
follow: the last rung against the goal (tau >= 0.6); whether synflow beats both MACs and
params by the 0.05 tau that a pre-screen would need; and the cheapest rung, if any, that
ranks as well as the last. Its figure (docs/img/fidelity.png)
plots the long accuracy against the last rung's accuracy, MACs and synflow.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import plotly.graph_objects as go
import torch
from optuna.trial import FrozenTrial, TrialState
from plotly.subplots import make_subplots
from scipy.stats import kendalltau, spearmanr

from bench.results import figure, machine, publish
from nas_space import ArchSpec, Space, build, cost, get_space
from search.budgets import parse_budget
from search.config import merge, parse_jobs, read_study_file, resolve_jobs
from search.data import DataError, Dataset, load_dataset
from search.interrupt import exit_code, ignore_stops, sigterm_as_interrupt
from search.proxies import synflow
from search.run import stop_workers, wait_workers
from search.storage import RESULTS_DIR, StorageError, open_storage, stored_studies
from search.trainer import TrainBudget, pick_device, seeded, train
from search.variants import without_flags

ROOT = Path(__file__).resolve().parents[1]
ENV_STORAGE = "NAS_FIDELITY_STORAGE"
DEFAULT_STORAGE = f"journal://{RESULTS_DIR / 'fidelity.log'}"
STUDY_FILE = ROOT / "studies" / "squeeze.toml"
#: Stored per spec (trial user attributes).
INDEX, SPEC, MACS, PARAMS, SYNFLOW, RUNGS = "index", "spec", "macs", "params", "synflow", "rungs"
WORKER = "worker"


@dataclass(frozen=True)
class Setup:
    """What every spec of one fidelity study is trained on and with."""

    data: Dataset
    short: TrainBudget
    long: TrainBudget
    seed: int


def specs(space: Space, fixed: dict[str, Any], max_mflops: float | None, n: int,
          seed: int) -> Iterator[ArchSpec]:
    """The first n distinct specs under the MFLOPs limit, from a seeded random sampler."""
    sampler = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    seen: set[str] = set()
    while len(seen) < n:
        spec = space.sample(sampler.ask(), fixed)
        if (max_mflops is None or cost(spec).macs <= max_mflops * 1e6) and \
                spec.digest() not in seen:
            seen.add(spec.digest())
            yield spec


def measure(study: optuna.Study, index: int, spec: ArchSpec, setup: Setup,
            partial: FrozenTrial | None, worker: int = 0) -> None:
    """Cost, proxy, short rungs (reused from `partial` if it has them) and long accuracy of
    one spec, stored on one trial as each is known."""
    trial = study.ask()
    c = cost(spec)
    with seeded(setup.seed):
        score = synflow(build(spec), (spec.in_channels, spec.input_size, spec.input_size))
    for key, value in {INDEX: index, SPEC: spec.to_json(), MACS: c.macs, PARAMS: c.params,
                       SYNFLOW: score, WORKER: worker}.items():
        trial.set_user_attr(key, value)
    try:
        rungs = partial.user_attrs[RUNGS] if partial else _rungs(spec, setup.short, setup)
        trial.set_user_attr(RUNGS, rungs)
        long_acc = _rungs(spec, setup.long, setup)[-1][1]
    except BaseException:
        study.tell(trial, state=TrialState.FAIL)
        raise
    study.tell(trial, long_acc)


def _rungs(spec: ArchSpec, budget: TrainBudget, setup: Setup) -> list[list[float]]:
    with seeded(setup.seed):
        model = build(spec)
    result = train(model, setup.data, budget, seed=setup.seed, progress=True)
    return [[int(n), float(acc)] for n, acc in result.rungs]


def run(study: optuna.Study, todo: list[ArchSpec], setup: Setup,
        shard: tuple[int, int] = (0, 1)) -> int:
    """Measure every spec of this shard (k of n: the specs i with i mod n = k) not yet
    complete; returns how many were measured now."""
    trials = study.get_trials(deepcopy=False)
    done = {t.user_attrs[INDEX] for t in trials if t.state == TrialState.COMPLETE}
    partial = {t.user_attrs[INDEX]: t for t in trials
               if t.state != TrialState.COMPLETE and RUNGS in t.user_attrs}
    measured = 0
    k, n = shard
    for i, spec in enumerate(todo):
        if i in done or i % n != k:
            continue
        print(f"spec {i + 1}/{len(todo)}: {cost(spec).macs / 1e6:.2f} MFLOPs"
              + (" (short rungs stored)" if i in partial else "")
              + (f" [worker {k + 1}/{n}]" if n > 1 else ""), flush=True)
        measure(study, i, spec, setup, partial.get(i), worker=k)
        measured += 1
    return measured


#: The goal for the last rung's Kendall tau, and the margin by which a zero-cost proxy must
#: beat both MACs and params before the search offers it as a pre-screen.
TAU_GOAL, PROXY_MARGIN = 0.6, 0.05
#: Bootstrap resamples of the specs behind each interval (seeded: the section is stable).
RESAMPLES = 1000


def signals(ts: list[FrozenTrial]) -> dict[str, list[float]]:
    """Each ranking signal's value per spec: each rung's accuracy, MACs, params, synflow."""
    out = {f"rung {j + 1} ({int(n):,} images)": [t.user_attrs[RUNGS][j][1] for t in ts]
           for j, (n, _) in enumerate(ts[0].user_attrs[RUNGS])}
    return out | {"MACs": [t.user_attrs[MACS] for t in ts],
                  "params": [t.user_attrs[PARAMS] for t in ts],
                  "synflow": [math.log(max(t.user_attrs[SYNFLOW], 1e-300)) for t in ts]}


def taus(sig: dict[str, list[float]], target: list[float], idx: list[int]) -> dict[str, float]:
    """Kendall tau of each signal against the target over the specs idx (with repeats)."""
    y = [target[i] for i in idx]
    return {k: float(kendalltau([v[i] for i in idx], y).statistic) for k, v in sig.items()}


def resampled(sig: dict[str, list[float]], target: list[float]) -> list[dict[str, float]]:
    """The taus over RESAMPLES bootstrap resamples of the specs."""
    rng, n = random.Random(0), len(target)
    return [taus(sig, target, [rng.randrange(n) for _ in range(n)]) for _ in range(RESAMPLES)]


def interval(values: list[float]) -> tuple[float, float]:
    """The 5th and 95th percentiles, ignoring undefined values (a resample with no spread)."""
    v = sorted(x for x in values if not math.isnan(x))
    return v[int(0.05 * (len(v) - 1))], v[int(0.95 * (len(v) - 1))]


@dataclass(frozen=True)
class Signal:
    """One ranking signal against the long accuracy."""

    name: str
    tau: float
    rho: float
    low: float  # the 90 % bootstrap interval of tau
    high: float


def correlations(study: optuna.Study) -> tuple[list[Signal], list[dict[str, float]]]:
    """Each signal's taus and rho against long accuracy, and the bootstrap resamples."""
    ts = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    if len(ts) < 3:
        return [], []
    long_acc = [float(t.value) for t in ts]
    sig = signals(ts)
    point, boot = taus(sig, long_acc, list(range(len(ts)))), resampled(sig, long_acc)
    return [Signal(k, point[k], float(spearmanr(v, long_acc).statistic),
                   *interval([b[k] for b in boot])) for k, v in sig.items()], boot


def verdicts(rows: list[Signal], boot: list[dict[str, float]], long_epochs: float) -> list[str]:
    """The goal for the last rung, the pre-screen rule and the cheapest rung that ranks as
    well as the last, each in one line from the figures above."""
    tau = {r.name: r.tau for r in rows}
    rungs = [r.name for r in rows if r.name.startswith("rung ")]
    last = rungs[-1]
    best = max(("MACs", "params"), key=tau.__getitem__)
    gain = tau["synflow"] - tau[best]
    lines = [f"- Goal, Kendall tau of the budget's last rung against {long_epochs:g} epochs "
             f">= {TAU_GOAL}: {'met' if tau[last] >= TAU_GOAL else 'missed'} "
             f"({tau[last]:.3f}).",
             f"- Pre-screen: synflow's tau is {gain:+.3f} against the better of MACs and "
             f"params ({best}, {tau[best]:.3f}); a pre-screen needs {PROXY_MARGIN:+.2f}, so "
             + ("synflow qualifies." if gain >= PROXY_MARGIN else "the search offers none.")]
    cheaper = next((r for r in rungs[:-1] if tau[r] >= tau[last]), None)
    closest = cheaper or max(rungs[:-1], key=tau.__getitem__)
    low, high = interval([b[closest] - b[last] for b in boot])
    diff = (f"{tau[closest] - tau[last]:+.3f}, 90 % interval of the difference {low:+.3f} to "
            f"{high:+.3f}")
    if cheaper is None:
        return [*lines, f"- Cheaper rungs: none ranks as well as the last "
                f"({', '.join(f'{tau[r]:.3f}' for r in rungs[:-1])} against {tau[last]:.3f}); "
                f"the closest, {closest}, is {diff}."]
    return [*lines, f"- Cheaper rungs: {cheaper} ranks as well as the last ({tau[cheaper]:.3f} "
            f"against {tau[last]:.3f}: {diff})."]


def scatter(study: optuna.Study) -> go.Figure:
    """Long accuracy (y) of each done spec against three signals: the last rung's accuracy,
    MACs and synflow at initialization (log axes for the last two)."""
    ts = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    long_acc = [t.value for t in ts]
    panels = {"last rung's accuracy": [t.user_attrs[RUNGS][-1][1] for t in ts],
              "MACs": [t.user_attrs[MACS] for t in ts],
              "synflow at initialization": [max(t.user_attrs[SYNFLOW], 1e-300) for t in ts]}
    fig = make_subplots(rows=1, cols=3, shared_yaxes=True, subplot_titles=list(panels))
    for col, (name, x) in enumerate(panels.items(), 1):
        fig.add_scatter(x=x, y=long_acc, mode="markers", name=name, showlegend=False,
                        row=1, col=col)
        fig.update_xaxes(type="log" if col > 1 else "linear", row=1, col=col)
    fig.update_yaxes(title_text="accuracy after the long training", row=1, col=1)
    fig.update_layout(title=f"Ranking signals against long training ({len(ts)} specs)",
                      template="plotly_white")
    return fig


def section(study: optuna.Study, args: argparse.Namespace, total: int) -> str:
    rows, boot = correlations(study)
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    ends = [t.datetime_complete for t in done if t.datetime_complete]
    when = f"specs finished {min(ends):%Y-%m-%d} to {max(ends):%Y-%m-%d}; " if ends else ""
    took = [(t.datetime_complete - t.datetime_start).total_seconds() / 60 for t in done
            if t.datetime_start and t.datetime_complete]
    when += f"median {statistics.median(took):.1f} min a spec on one worker; " if took else ""
    lines = ["## Fidelity: short-training rungs against long training", "",
             f"`python -m bench.fidelity --specs {total} --budget {args.budget} "
             f"--long-epochs {args.long_epochs:g} --dataset {args.dataset}`: {len(done)} of "
             f"{total} specs done; {when}reported on {machine()}.", ""]
    if not rows:
        return "\n".join([*lines, "Fewer than 3 specs are done; no correlation yet."])
    lines += ["| ranking signal | Kendall tau (90 % interval) | Spearman rho |", "|---|---|---|"]
    lines += [f"| {r.name} | {r.tau:.3f} ({r.low:.2f} to {r.high:.2f}) | {r.rho:.3f} |"
              for r in rows]
    lines += ["", f"Intervals: {RESAMPLES:,} bootstrap resamples of the specs.", "",
              *verdicts(rows, boot, args.long_epochs)]
    lines += ["", figure(scatter(study), "fidelity", "long accuracy against the ranking "
                         "signals", write=not args.no_write)]
    return "\n".join(lines)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.fidelity", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--specs", type=int, default=30, help="random specs to measure (30)")
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--budget", default="default", help="the search budget whose rungs are "
                   "ranked (default: default)")
    p.add_argument("--long-epochs", type=float, default=10.0,
                   help="epochs of the training ranked against (10)")
    p.add_argument("--max-mflops", type=float, help="MFLOPs limit of the sampled specs "
                   "(default: the default study's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--storage", default=os.environ.get(ENV_STORAGE, DEFAULT_STORAGE),
                   help=f"Optuna storage URL (default ${ENV_STORAGE}, else "
                   "journal://studies/results/fidelity.log)")
    p.add_argument("--jobs", type=parse_jobs, default=0, help="worker processes: a number, "
                   "or auto (default): one single-threaded worker per CPU core, 1 on CUDA")
    p.add_argument("--shard", help=argparse.SUPPRESS)  # K/N: a helper started by --jobs
    p.add_argument("--report-only", action="store_true", help="train nothing; rewrite the "
                   "section from the stored specs")
    p.add_argument("--no-write", action="store_true", help="print the section only")
    return p.parse_args(argv)


def helpers(argv: list[str], n: int, storage: str) -> list[subprocess.Popen[bytes]]:
    """Workers 2..n, each the same command measuring its own share of the specs; the storage
    URL goes in the environment, so a password in it does not show in their command lines."""
    cmd = [sys.executable, "-m", "bench.fidelity", *without_flags(argv, ("--storage",))]
    env = {**os.environ, ENV_STORAGE: storage}
    return [subprocess.Popen([*cmd, f"--shard={k}/{n}"], cwd=ROOT, env=env)
            for k in range(1, n)]


def measure_all(study: optuna.Study, todo: list[ArchSpec], setup: Setup,
                args: argparse.Namespace, argv: list[str]) -> int:
    """Run this process's share (all of it with one worker), with the helpers' beside it;
    0 when every worker finished, 130 or 143 when interrupted (Ctrl-C or SIGTERM), 1 when
    a helper failed."""
    if args.shard:
        k, n = (int(x) for x in args.shard.split("/"))
    else:
        k, n = 0, resolve_jobs(args.jobs, pick_device("auto").type)
    if n > 1:
        torch.set_num_threads(1)
    started = helpers(argv, n, args.storage) if not args.shard and n > 1 else []
    try:
        run(study, todo, setup, (k, n))
        failed = wait_workers(started)
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (search.interrupt)
        ignore_stops()
        stop_workers(started)
        print("\ninterrupted; re-run the same command to continue", file=sys.stderr)
        return exit_code(e)
    except BaseException:
        stop_workers(started)
        raise
    if failed:
        print(f"error: {len(failed)} of {n} workers failed; re-run the same command to "
              "continue", file=sys.stderr)
        return 1
    return 0


def setup_for(args: argparse.Namespace) -> tuple[Setup, list[ArchSpec]]:
    """The data and budgets every spec trains with, and the specs (the same in every run)."""
    file_cfg = merge(read_study_file(STUDY_FILE), {})
    data = load_dataset(args.dataset)
    space = get_space("squeeze", in_channels=data.in_channels, input_size=data.input_size,
                      num_classes=data.num_classes, ranges=file_cfg.ranges)
    n_train, n_val = len(data.train_y), len(data.val_y)
    setup = Setup(data, parse_budget(args.budget).train_budget(n_train, n_val),
                  TrainBudget(round(args.long_epochs * n_train), val_images=n_val), args.seed)
    limit = args.max_mflops or file_cfg.max_mflops
    return setup, list(specs(space, file_cfg.fixed, limit, args.specs, args.seed))


def stored_study(name: str, url: str) -> optuna.Study:
    """The stored study, read without writing to its storage; an empty in-memory one where
    nothing is stored yet."""
    store, names = stored_studies(url)
    if name in names:
        return optuna.load_study(study_name=name, storage=store)
    return optuna.create_study(direction="maximize")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name = f"fidelity-{args.dataset}-{args.budget}-{args.long_epochs:g}ep-s{args.seed}"
    try:
        if args.report_only:
            study = stored_study(name, args.storage)
        else:
            study = optuna.create_study(study_name=name, storage=open_storage(args.storage),
                                        load_if_exists=True, direction="maximize")
            setup, todo = setup_for(args)
            with sigterm_as_interrupt():
                code = measure_all(study, todo, setup, args, argv)
            if code or args.shard:
                return code
    except (StorageError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    publish("fidelity", section(study, args, args.specs), write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
