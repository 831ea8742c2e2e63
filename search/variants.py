"""Running a study file that describes several studies, then comparing them.

A study file with ``seeds = [0, 1, 2]`` or ``[[variants]]`` tables (search/config.py) stands
for one study per (variant, seed). `python -m search.run --study-file FILE` runs each in
turn as

    python -m search.run --study-file FILE#VARIANT --seed SEED --study NAME-VARIANT-sSEED

(NAME: --study, else the file's `study`, else the file's stem; the parts that do not repeat
are left out), a command that also runs or resumes that one study alone. Explicit --seed or
FILE#VARIANT pin that part. At the end a table compares the studies, with the median and
range over seeds of each variant when seeds repeat.
"""

from __future__ import annotations

import argparse
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import optuna

from search import records as R
from search.config import read_study_file, repeats
from search.report import front, points, study_hypervolume
from search.storage import open_storage

#: Shares of the models at which the error EDF is read off in the comparison table.
EDF_SHARES = (0.1, 0.25, 0.5)


@dataclass(frozen=True)
class Run:
    """One study of a repeated study file: its name, variant, seed and command line."""

    study: str
    variant: str
    seed: int | None
    argv: list[str]


def plan(ns: argparse.Namespace, argv: list[str]) -> list[Run]:
    """The studies a command stands for; empty when it names exactly one study itself."""
    if ns.study_file in (None, "none"):
        return []
    path, _, chosen = ns.study_file.partition("#")
    names, seeds = repeats(path)
    pinned = (not names or bool(chosen)) and (not seeds or ns.seed is not None)
    if (pinned and ns.study is not None) or not (names or seeds):
        return []
    base = ns.study or read_study_file(path).get("study") or Path(path).stem
    runs = []
    for variant in [chosen] if chosen else names or [""]:
        for seed in [ns.seed] if ns.seed is not None else seeds or [None]:
            parts = [base, variant if names else "", f"s{seed}" if seeds else ""]
            name = "-".join(p for p in parts if p)
            extra = ["--study-file", f"{path}#{variant}" if variant else path, "--study", name]
            extra += ["--seed", str(seed)] if seed is not None else []
            runs.append(Run(name, variant, seed, without_flags(argv, _PINNED) + extra))
    return runs


_PINNED = ("--study-file", "--study", "--seed")


def without_flags(argv: list[str], flags: tuple[str, ...]) -> list[str]:
    """argv without the given flags and their values (as `--flag value` or `--flag=value`)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in flags:
            skip = True
        elif not a.startswith(tuple(f + "=" for f in flags)):
            out.append(a)
    return out


def run_all(runs: list[Run]) -> int:
    """Run each study in turn (stopping at the first that fails), then compare them."""
    from search.run import _command, config_from_args, main, parser

    storages = []
    for i, run in enumerate(runs, 1):
        print(f"\n== study {i}/{len(runs)}: {run.study}\n   {_command(run.argv)}", flush=True)
        code = main(run.argv)
        if code:
            return code
        storages.append(config_from_args(parser().parse_args(run.argv)).storage)
    print("\n" + comparison(runs, storages))
    return 0


def comparison(runs: list[Run], storages: list[str]) -> str:
    """A table of the studies: searched trials, best accuracy, error EDF and hypervolume."""
    edf = "  ".join(f"err@{s:.0%}" for s in EDF_SHARES)
    lines = [f"{'study':<32} {'trials':>6} {'best acc':>8} {edf}  {'front':>5} {'hv':>6}"]
    by_variant: dict[str, list[tuple[float, float]]] = {}
    for run, url in zip(runs, storages, strict=True):
        study = optuna.load_study(study_name=run.study, storage=open_storage(url))
        pts = points(study, R.ROLE_SEARCH)
        accs = np.array([p.acc for p in pts])
        best, hv = max(accs, default=float("nan")), study_hypervolume(pts)
        errs = np.quantile(1 - accs, EDF_SHARES) if len(accs) else [float("nan")] * 3
        lines.append(f"{run.study:<32} {len(pts):>6} {best:>8.4f} "
                     + "  ".join(f"{e:>7.4f}" for e in errs)
                     + f"  {len(front(pts)):>5} {hv:>6.4f}")
        by_variant.setdefault(run.variant, []).append((best, hv))
    if any(len(v) > 1 for v in by_variant.values()):
        lines.append(f"\n{'variant':<16} {'seeds':>5} {'best acc: median (range)':>30} "
                     f"{'hv: median (range)':>28}")
        for variant, rows in by_variant.items():
            lines.append(f"{variant or '-':<16} {len(rows):>5} {spread([r[0] for r in rows]):>30}"
                         f" {spread([r[1] for r in rows]):>28}")
    lines.append("err@k%: the validation error below which k% of the searched, fully trained "
                 "models fall (the error EDF read at k%); hv: search/hypervolume.py")
    return "\n".join(lines)


def spread(values: list[float], digits: int = 4) -> str:
    """Median (min-max) of the finite values; the value alone when there is one; '-' for
    none."""
    ok = [v for v in values if math.isfinite(v)]
    if len(ok) <= 1:
        return f"{ok[0]:.{digits}f}" if ok else "-"
    return (f"{statistics.median(ok):.{digits}f} "
            f"({min(ok):.{digits}f}-{max(ok):.{digits}f})")
