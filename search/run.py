"""`python -m search.run`: a resumable multi-objective architecture search.

    python -m search.run --space squeeze --trials 200

Re-running the same command resumes the study and tops it up to --trials searched
architectures; the same command on other machines (with a postgresql:// storage) joins
the study. Ctrl-C marks the running trial failed ("interrupted") and exits 130; SIGTERM
(a scheduler's stop) does the same and exits 143.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

import optuna
import torch
from tqdm import tqdm

from nas_space import UnknownNameError, get_space, list_spaces
from search import records as R
from search.augment import AUGMENTS
from search.baselines import available_baselines, train_baselines
from search.budgets import BUDGETS, parse_budget
from search.config import (
    MAX_AUTO_JOBS,
    SAMPLERS,
    RunConfig,
    UsageError,
    cpu_cores,
    fingerprint,
    merge,
    parse_jobs,
    read_study_file,
    resolve_jobs,
)
from search.data import DataError, list_datasets, load_dataset
from search.interrupt import exit_code, ignore_stops, sigterm_as_interrupt
from search.objective import Evaluator
from search.report import baseline_table, front_table, progress_stats, test_front
from search.split import MAX_IMAGE_SIZE
from search.storage import ENV_STORAGE, ROOT, StorageError, open_storage, redact
from search.study import StudyError, counted_trials, grid_points, open_study, weights_dir
from search.trainer import pick_device
from search.variants import plan, run_all, without_flags
from search.view import StudyView

EXIT_USAGE, EXIT_ERROR = 2, 1
#: Seconds between looks at the study while the trials in flight fill the target.
WAIT_S = 2
STUDIES = ROOT / "studies"
#: Seconds an interrupted worker gets to mark its running trial before it is terminated.
STOP_GRACE_S = 20


class OneLineParser(argparse.ArgumentParser):
    """argparse with a one-line error (and exit 2) instead of usage plus error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {message} (see python -m search.run --help)\n")


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="python -m search.run", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="FLOPs are multiply-adds (MACs), as in fvcore and the ShuffleNet paper. "
        "Exit codes: 0 done, 1 a data, storage or study problem (or a worker that failed), "
        "2 a bad option or study file, 130 interrupted (Ctrl-C), 143 stopped by SIGTERM.")
    a = p.add_argument
    a("--space", help=f"design space: {', '.join(list_spaces())} (default squeeze)")
    a("--trials", type=int, help="target number of searched architectures in the study "
      "(trained fully or stopped early; infeasible specs, duplicates and baselines do not "
      "count); re-running tops the study up to this number (default 200)")
    a("--dataset", help=f"{', '.join(list_datasets())} (default fashion-mnist)")
    a("--data-root", help="directory holding the dataset files")
    a("--download", action="store_true", default=None,
      help="allow torchvision to download a dataset that is not found locally")
    a("--budget", help="how long each trial trains: "
      + ", ".join(f"{n} ({BUDGETS[n].rule()})" for n in BUDGETS.names())
      + ", in steps of 64 images; or a number of images such as 20000 (default: default); "
      "the start of a run prints the epochs and steps a trial gets")
    a("--augment", choices=AUGMENTS, help="training augmentation: none, crop (random shifts) "
      "or crop+flip (shifts and left-right flips, for photos whose sides are alike); "
      "default: the dataset's (crop+flip for cifar10, none for the others)")
    a("--image-size", type=int, metavar="PX", help="resize images to PX x PX, 1 to "
      f"{MAX_IMAGE_SIZE} (default: their own size)")
    a("--objectives", help="comma-separated: val_acc plus any of macs, params, size_bytes, "
      "latency_ms (measured on this device); default val_acc,macs")
    a("--max-mflops", type=float, help="constraint: MFLOPs (multiply-adds) per image")
    a("--max-params", type=int, help="constraint: parameter count")
    a("--sampler", choices=SAMPLERS, help="default tpe; grid needs a study file [grid] table")
    a("--seed", type=int, help="seed of the sampler and of every trial's training (default 0)")
    a("--storage", help="Optuna storage URL: journal://FILE.log (one machine), "
      "postgresql://USER@HOST/DB (many machines; the password from $PGPASSWORD, ~/.pgpass "
      f"or a libpq service) or sqlite:///FILE.db; default ${ENV_STORAGE}, else the journal "
      "file studies/studies.log")
    a("--study", help="study name (default <space>-<dataset>)")
    a("--resume", action="store_true", help="join or resume an existing study only: "
      "a study name that is not in the storage is an error, not a new study")
    a("--jobs", type=parse_jobs, help="parallel worker processes on this machine: a number, "
      f"or auto (the default): one single-threaded worker per CPU core (at most "
      f"{MAX_AUTO_JOBS}), or 1 on CUDA; use 1 for runs that repeat exactly with the same --seed")
    a("--device", help="auto (CUDA when present), cpu or cuda (default auto)")
    a("--timeout", type=float, help="start no new trial once this many seconds have passed "
      "since the command started")
    a("--no-early-stop", dest="early_stop", action="store_false", default=None,
      help="train every trial to the full budget")
    a("--no-baselines", dest="baselines", action="store_false", default=None,
      help="do not train the classic networks as reference points")
    a("--study-file", help="a TOML file fixing any of these options, plus [fixed] "
      "metaparameters, [ranges] and a [grid] (default: studies/<space>.toml if it exists; "
      "'none' for no file)")
    a("--worker", metavar="RUN", help=argparse.SUPPRESS)  # a helper of run RUN
    return p


def config_from_args(ns: argparse.Namespace) -> RunConfig:
    flags = {k: v for k, v in vars(ns).items() if k not in ("study_file", "worker", "resume")}
    if flags.get("objectives"):
        flags["objectives"] = tuple(o.strip() for o in flags["objectives"].split(","))
    if flags.get("storage") is None and os.environ.get(ENV_STORAGE):
        flags["storage"] = os.environ[ENV_STORAGE]
    path = ns.study_file
    if path is None:
        default = STUDIES / f"{ns.space or 'squeeze'}.toml"
        path = str(default) if default.exists() else "none"
    try:
        file_options = read_study_file(path) if path != "none" else {}
        cfg = merge(file_options, flags)
        parse_budget(cfg.budget)
        get_space(cfg.space)  # unknown space: one line listing the valid ones
        if cfg.dataset not in list_datasets():
            raise UsageError(f"unknown dataset {cfg.dataset!r}; valid: "
                             f"{', '.join(list_datasets())}")
    except (ValueError, UnknownNameError) as e:  # all user input here
        raise UsageError(str(e)) from None
    return cfg


def main(argv: list[str] | None = None) -> int:
    """The command: exit codes as in --help. Only user mistakes and unusable data or
    storages are one-line errors; anything else is a bug and raises with its traceback."""
    argv = sys.argv[1:] if argv is None else argv
    ns = parser().parse_args(argv)
    try:
        with sigterm_as_interrupt():
            if ns.worker is None and (runs := plan(ns, argv)):  # a file of several studies
                return run_all(runs)
            cfg = config_from_args(ns)
            return search(cfg, argv, run=ns.worker, resume=ns.resume)
    except KeyboardInterrupt as e:
        return exit_code(e)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except (DataError, StorageError, StudyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR


def search(cfg: RunConfig, argv: list[str], *, run: str | None = None,
           resume: bool = False) -> int:
    """Run (or resume, or join) the study to cfg.trials searched trials; `run` is set in
    the helper processes of a run with --jobs > 1 and names the run they help."""
    start = time.monotonic()
    worker = run is not None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data = load_dataset(cfg.dataset, cfg.data_root, download=cfg.download,
                        image_size=cfg.image_size, augment=cfg.augment)
    fid = parse_budget(cfg.budget).resolve(len(data.train_y))
    if not worker:
        print(f"budget {cfg.budget}: {fid.describe(len(data.train_y))} per trial; "
              f"augment {data.augment}")
    try:
        space = get_space(cfg.space, in_channels=data.in_channels, input_size=data.input_size,
                          num_classes=data.num_classes, ranges=cfg.ranges)
        space.from_params(cfg.fixed)  # unknown or out-of-range fixed values: one line
    except ValueError as e:
        raise UsageError(f"[fixed]/[ranges]: {e}") from None
    try:
        grid_points(cfg.grid, space)
    except ValueError as e:
        raise UsageError(str(e)) from None
    device = _device(cfg.device)
    split = {"train": len(data.train_y), "val": len(data.val_y)}
    print_ = fingerprint(cfg, fid, split, data.augment)
    study = open_study(cfg, open_storage(cfg.storage), space, print_,
                       command=_command(argv), worker=worker, create=not resume)
    view = StudyView(study)
    cfg = replace(cfg, jobs=resolve_jobs(cfg.jobs, device.type))
    if cfg.jobs > 1:
        torch.set_num_threads(max(1, cpu_cores() // cfg.jobs))
    budget = fid.train_budget(len(data.train_y), len(data.val_y))
    fixed = dict(cfg.fixed)
    if cfg.sampler == "grid":  # a grid searches its axes only; the rest keep their defaults
        fixed = {**{k: v for k, v in space.defaults.items() if k not in cfg.grid}, **fixed}
    ev = Evaluator(space, data, budget, cfg.objectives, device, cfg.seed, cfg.max_mflops,
                   cfg.max_params, cfg.early_stop, cfg.eta, fixed,
                   weights_dir(cfg, study), run or uuid.uuid4().hex)
    helpers = _spawn_workers(cfg, argv, ev.run_id) if cfg.jobs > 1 and not worker else []
    try:
        if cfg.baselines:  # every worker takes its share, as it does of the trials
            train_baselines(view, ev, available_baselines(cfg.fixed),
                            cfg.baseline_mflops or cfg.max_mflops or 10.0, quiet=worker)
        code = _search_loop(view, ev, cfg, quiet=worker, start=start)
        failed = wait_workers(helpers)
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (search.interrupt)
        ignore_stops()  # the process exits next: this cleanup must not be cut short
        ev.interrupt(study)
        stop_workers(helpers)
        print(f"\ninterrupted; resume with:\n  {_command(argv)}", file=sys.stderr)
        return exit_code(e)
    except BaseException:  # a bug: the helpers mark their trials, the traceback follows
        stop_workers(helpers)
        raise
    if not worker:
        _final_report(study, ev, cfg, data)
    for pid, rc in failed:
        print(f"error: worker process {pid} exited with code {rc} (its output is above); "
              f"its trial was failed and retried", file=sys.stderr)
    return code or (EXIT_ERROR if failed else 0)


def _device(name: str) -> torch.device:
    try:
        return pick_device(name)
    except ValueError as e:  # --device is user input
        raise UsageError(str(e)) from None


def _search_loop(view: StudyView, ev: Evaluator, cfg: RunConfig, *, quiet: bool,
                 start: float) -> int:
    """Search until the study holds cfg.trials searched trials. While the trials in flight
    (of any worker, on any machine) would reach the target, wait: one of them may fail."""
    snap = view.read()
    bar = tqdm(total=cfg.trials, initial=min(snap.counted(), cfg.trials), desc=view.name,
               unit="trial", disable=quiet or None, dynamic_ncols=True)
    lines = not quiet and bar.disable  # not a terminal (a log file, CI): a line per trial
    shown = bar.n
    rejects = 0
    while (done := snap.counted()) < cfg.trials:
        if cfg.timeout is not None and time.monotonic() - start > cfg.timeout:
            bar.close()
            print(f"time limit of {cfg.timeout:g} s reached after {done} searched trials")
            return 0
        if ev.grid_exhausted(view.study):
            bar.close()
            return _grid_exhausted(view.study, done)
        if snap.taken() >= cfg.trials:
            time.sleep(WAIT_S)
            snap = view.read()
            shown = _show_progress(bar, view, snap.counted(), shown, cfg, start, lines)
            continue
        outcome = ev.run(view, cfg.trials)
        rejects = 0 if outcome.counts or outcome.status == R.FAILED else rejects + 1
        if rejects >= cfg.max_rejects:
            bar.close()
            print(f"error: {rejects} samples in a row were infeasible or duplicates; "
                  f"this space has no more new feasible specs under the constraints "
                  f"(loosen --max-mflops/--max-params or widen [ranges])", file=sys.stderr)
            return EXIT_ERROR
        snap = view.read()
        shown = _show_progress(bar, view, snap.counted(), shown, cfg, start, lines)
    bar.close()
    return 0


def _show_progress(bar: tqdm, view: StudyView, counted: int, shown: int, cfg: RunConfig,
                   start: float, lines: bool) -> int:
    """Move the bar to the searched trials counted so far by every worker, with the front,
    the best accuracy and the hypervolume; print them as a line instead when `lines`.
    Returns the count shown."""
    done = min(counted, cfg.trials)
    if done <= shown:
        return shown
    stats = progress_stats(view.study)
    bar.n = done
    bar.set_postfix(front=stats["front"], best=f"{stats['best']:.4f}",
                    hv=f"{stats['hv']:.4f}", refresh=False)
    bar.refresh()
    if lines:
        print(f"{view.name}: {done}/{cfg.trials} searched trials, front {stats['front']}, "
              f"best val acc {stats['best']:.4f}, hypervolume {stats['hv']:.4f}, "
              f"{(time.monotonic() - start) / 60:.1f} min", flush=True)
    return done


def _grid_exhausted(study: optuna.Study, done: int) -> int:
    """Say that every grid point was tried, and how many were over a limit; an error when
    no point could be trained."""
    over = sum(t.user_attrs.get(R.STATUS) == R.INFEASIBLE
               for t in study.get_trials(deepcopy=False))
    skipped = (f"; {over} grid point(s) over the --max-mflops/--max-params limit were not "
               "trained" if over else "")
    if done == 0:
        print(f"error: the grid is exhausted and no spec was trained{skipped} (loosen the "
              "limit or change [grid])", file=sys.stderr)
        return EXIT_ERROR
    print(f"the grid is exhausted: {done} distinct specs searched{skipped}")
    return 0


def _final_report(study: optuna.Study, ev: Evaluator, cfg: RunConfig, data: Any) -> None:
    tests = test_front(study, data, ev.weights_dir, ev.device)
    stats = progress_stats(study)
    print(f"\nstudy {study.study_name!r}: {counted_trials(study)} searched trials, "
          f"best val acc {stats['best']:.4f}, hypervolume {stats['hv']:.4f}")
    print("Pareto front (validation accuracy vs MFLOPs, multiply-adds; test accuracy "
          "reported, never used to select):")
    print(front_table(study, tests))
    print("baselines:")
    print(baseline_table(study))
    url = shlex.quote(redact(cfg.storage))
    print(f"\nopen the dashboard:\n  python -m dashboard --storage {url} "
          f"--study {shlex.quote(study.study_name)}")


def _command(argv: list[str]) -> str:
    args = [a for a in argv if not a.startswith("--worker")]
    return "python -m search.run " + " ".join(shlex.quote(redact(a)) for a in args)


def _spawn_workers(cfg: RunConfig, argv: list[str], run: str) -> list[subprocess.Popen[bytes]]:
    """The helper processes; the storage URL goes in the environment, so a password in
    it does not show in their command lines."""
    cmd = [sys.executable, "-m", "search.run", *without_flags(argv, ("--storage",)),
           f"--worker={run}"]
    env = {**os.environ, ENV_STORAGE: cfg.storage}
    return [subprocess.Popen(cmd, cwd=Path(__file__).resolve().parents[1], env=env)
            for _ in range(cfg.jobs - 1)]


def wait_workers(helpers: list[subprocess.Popen[bytes]]) -> list[tuple[int, int]]:
    """Wait for every helper; the (pid, exit code) of those that failed."""
    return [(h.pid, rc) for h in helpers if (rc := h.wait()) != 0]


def stop_workers(helpers: list[subprocess.Popen[bytes]]) -> None:
    """Interrupt the workers so that each marks its running trial; kill stragglers (a
    worker already cleaning up ignores further stops)."""
    for h in helpers:
        if h.poll() is None:
            h.send_signal(signal.SIGINT)
    for h in helpers:
        try:
            h.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            h.kill()
            h.wait()


if __name__ == "__main__":
    sys.exit(main())
