"""Storage load: 8 worker processes x 50 trivial trials on one study, per storage.

    python -m bench.storage_load [--workers 8] [--trials 50] [--repeats 3]

Each trial does what a searched trial asks of the storage (search.view.StudyView): ask,
the place check, the spec digest, the in-flight duplicate claim, tell; training is left
out. Storages: PostgreSQL (a local server started here, as the tests do), the journal
file (the default on one machine) and SQLite for reference. Every trial must be
accounted for: the study ends with workers x trials COMPLETE trials, numbered uniquely.
Writes the "storage_load" section of docs/RESULTS.md (median of the repeats).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import optuna
from optuna.trial import TrialState

from bench.pgserver import LocalPostgres
from bench.results import machine, write_section
from search import records as R
from search.storage import open_storage
from search.view import StudyView


def worker(url: str, n: int, seed: int, barrier: mp.synchronize.Barrier,  # type: ignore[name-defined]
           out: mp.Queue) -> None:  # type: ignore[type-arg]
    """n trivial trials; puts (errors, error kinds) on out."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    view = StudyView(optuna.load_study(study_name="load", storage=open_storage(url),
                                       sampler=optuna.samplers.RandomSampler(seed=seed)))
    errors: list[str] = []
    barrier.wait()
    for _ in range(n):
        try:
            trial = view.ask(f"run-{seed}")
            view.read().taken(below=trial.number)
            x = trial.suggest_float("x", 0.0, 1.0)
            digest = f"{x:.12f}"
            trial.set_user_attr(R.DIGEST, digest)
            view.claim(trial, digest)
            view.study.tell(trial, x)
        except Exception as e:  # counted and reported, not raised: the figure shows them
            errors.append(f"{type(e).__name__}: {str(e).splitlines()[0][:80]}")
    out.put(errors)


def one_run(url: str, workers: int, trials: int) -> dict[str, object]:
    """Seconds for all workers' trials, trials accounted for, and errors."""
    optuna.create_study(study_name="load", storage=open_storage(url))
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(workers + 1), ctx.Queue()
    procs = [ctx.Process(target=worker, args=(url, trials, i, barrier, out))
             for i in range(workers)]
    for p in procs:
        p.start()
    barrier.wait()
    t0 = time.perf_counter()
    errors = [e for _ in procs for e in out.get(timeout=1800)]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join()
    ts = optuna.load_study(study_name="load", storage=open_storage(url)).get_trials()
    complete = [t for t in ts if t.state == TrialState.COMPLETE]
    return {"wall": wall, "complete": len(complete), "unique": len({t.number for t in ts}),
            "errors": errors}


def measure(name: str, urls: list[str], workers: int, trials: int) -> dict[str, object]:
    runs = [one_run(url, workers, trials) for url in urls]
    walls = [float(r["wall"]) for r in runs]  # type: ignore[arg-type]
    errors = [e for r in runs for e in r["errors"]]  # type: ignore[attr-defined]
    print(f"{name}: {[round(w, 1) for w in walls]} s, errors {len(errors)}", flush=True)
    return {"name": name, "wall": statistics.median(walls),
            "complete": min(int(r["complete"]) for r in runs),  # type: ignore[call-overload]
            "unique": min(int(r["unique"]) for r in runs),  # type: ignore[call-overload]
            "errors": errors, "repeats": len(runs)}


def table(rows: list[dict[str, object]], workers: int, trials: int) -> str:
    want = workers * trials
    lines = ["| storage | trials accounted for (worst run) | median wall s | trials/s | "
             "errors |", "|---|---|---|---|---|"]
    for r in rows:
        errs = r["errors"]
        kinds = sorted({e.split(":")[0] for e in errs})  # type: ignore[attr-defined]
        lines.append(f"| {r['name']} | {r['complete']} / {want} complete, {r['unique']} "
                     f"unique numbers | {float(r['wall']):.1f} | "  # type: ignore[arg-type]
                     f"{want / float(r['wall']):.1f} | "  # type: ignore[arg-type]
                     f"{len(errs)}{' (' + ', '.join(kinds) + ')' if kinds else ''} |")  # type: ignore[arg-type]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.storage_load", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--trials", type=int, default=50, help="trials per worker")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, LocalPostgres() as pg:
        reps = range(args.repeats)
        rows.append(measure("PostgreSQL 15 (local server)",
                            [pg.createdb(f"load{i}") for i in reps], args.workers, args.trials))
        rows.append(measure("journal file (default)",
                            [f"journal://{Path(tmp) / f'j{i}.log'}" for i in reps],
                            args.workers, args.trials))
        rows.append(measure("SQLite file",
                            [f"sqlite:///{Path(tmp) / f's{i}.db'}" for i in reps],
                            args.workers, args.trials))
    body = (f"## Storage load: {args.workers} processes x {args.trials} trivial trials\n\n"
            f"`python -m bench.storage_load` ({machine()}). Each trial makes the storage calls "
            "of a searched trial (ask, place check, digest, in-flight claim, tell) without "
            f"training; median of {args.repeats} runs.\n\n"
            + table(rows, args.workers, args.trials))
    print(body)
    write_section("storage_load", body)


if __name__ == "__main__":
    main()
