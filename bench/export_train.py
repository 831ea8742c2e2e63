"""Export a pick of a study's front and train it fully: the third step of the journey.

    python -m bench.export_train --study squeeze-fashion-mnist --max-params 100000 --epochs 30
    python -m bench.export_train --pick max-acc ...   # the most accurate member instead

Runs the two user commands, `python -m search.export --pick knee` (or max-acc) and
`python -m search.train --config DIR/config.json --epochs E --out DIR`, then writes its
section of docs/RESULTS.md (export_train; export_train_max-acc for --pick max-acc) from
the bundle's card: the trial, its cost, the full-training time and
the validation and test accuracy against the published goals. A killed run resumes from
the bundle's checkpoint when started again with the same options.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import optuna
import torch

from bench.results import machine, write_section
from search import export, train
from search import records as R
from search.storage import default_storage_url, file_path, open_storage

#: Fashion-MNIST test accuracy goals: the best hand-built net under 100K params, and
#: Google AutoML's 24-hour result (a net under 1M params).
GOALS = ((100_000, 0.925, "best hand-built net under 100K params"),
         (1_000_000, 0.939, "Google AutoML, 24 hours"))


def sgemm_gflops(threads: int) -> float:
    """Median fp32 GEMM speed (1024^3) at the training's thread count: the machine's pace."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    times = []
    for _ in range(7):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    torch.set_num_threads(old)
    return 2 * 1024**3 / statistics.median(times) / 1e9


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.export_train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--storage", default=None, help="study storage (default: $NAS_STORAGE, "
                   "else the journal file studies/studies.log)")
    p.add_argument("--study", default="squeeze-fashion-mnist")
    p.add_argument("--pick", default="knee", choices=["knee", "max-acc"],
                   help="the pick rule (default knee)")
    p.add_argument("--max-params", type=int, default=100_000)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    p.add_argument("--out", type=Path, help="bundle directory (default bench/out/<pick>)")
    p.add_argument("--no-write", dest="write", action="store_false",
                   help="do not touch docs/RESULTS.md")
    return p


def copy_storage(url: str, tmp: Path) -> str:
    """A read-only look at a file study (journal or SQLite): work on a copy, never the live
    file. A server's URL is returned as it is."""
    path = file_path(url)
    if path is None:
        return url
    copy = tmp / path.name
    shutil.copy(path, copy)
    return url.replace(str(path), str(copy))


def study_facts(url: str, name: str) -> tuple[int, str]:
    """How many searched trials the study trained (fully or stopped early), and its command."""
    study = optuna.load_study(study_name=name, storage=open_storage(url, create=False))
    searched = sum(1 for t in study.get_trials(deepcopy=False)
                   if t.user_attrs.get(R.ROLE) == R.ROLE_SEARCH
                   and t.user_attrs.get(R.STATUS) in (R.COMPLETE, R.STOPPED))
    return searched, str(study.user_attrs.get(R.COMMAND, "not recorded"))


def run(args: argparse.Namespace) -> dict:
    url = args.storage or default_storage_url()
    with tempfile.TemporaryDirectory() as tmp:
        copy = copy_storage(url, Path(tmp))
        searched, search_command = study_facts(copy, args.study)
        rc = export.main(["--study", args.study, "--storage", copy, "--pick", args.pick,
                          "--max-params", str(args.max_params), "--out", str(args.out)])
    if rc:
        sys.exit(rc)
    card = json.loads((args.out / "card.json").read_text())
    card["storage"] = url
    card["export_command"] = card["export_command"].replace(copy, url)
    card["searched_trials"], card["search_command"] = searched, search_command
    (args.out / "card.json").write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    rc = train.main(["--config", str(args.out / "config.json"), "--epochs", str(args.epochs),
                     "--out", str(args.out), "--threads", str(args.threads)])
    if rc:
        sys.exit(rc)
    return json.loads((args.out / "card.json").read_text())


def section(card: dict, args: argparse.Namespace, gflops: float,
            load: tuple[float, float]) -> str:
    full = card["training"]
    goal = next(g for g in GOALS if card["params"] < g[0]) if card["params"] < GOALS[-1][0] \
        else None
    verdict = "no goal applies (1M params or more)" if goal is None else (
        f"goal {goal[1]} ({goal[2]}): {'met' if full['test_acc'] >= goal[1] else 'not met'}")
    command = (f"python -m bench.export_train --study {args.study} --pick {args.pick} "
               f"--max-params "
               f"{args.max_params} --epochs {args.epochs} --threads {args.threads}")
    return "\n".join([
        "## Export and full training"
        + ("" if args.pick == "knee" else f", the `{args.pick}` pick")
        + " (`python -m bench.export_train`)", "",
        f"The `{args.pick}` member of study `{card['study']}`'s front among members with "
        f"fewer than {args.max_params:,} params, exported and trained fully on the CPU.", "",
        "| | |", "|---|---|",
        f"| trial | {card['trial']} |",
        f"| params | {card['params']:,} |",
        f"| MFLOPs (multiply-adds) | {card['macs'] / 1e6:.3f} |",
        f"| validation accuracy after the search's short training | {card['val_acc']:.4f} |",
        f"| full training | {full['recipe']} |",
        f"| full-training time | {full['seconds'] / 60:.1f} min on {full['device']}, "
        f"{args.threads} thread(s) |",
        f"| validation accuracy | {full['val_acc']:.4f} |",
        f"| **test accuracy** | **{full['test_acc']:.4f}** |",
        f"| batch-1 latency | {card['latency_ms']:.3f} ms (1 thread) |",
        f"| verdict | {verdict} |", "",
        f"Machine: {machine()}; sgemm {gflops:.0f} GFLOP/s at {args.threads} thread(s), "
        f"measured at the end of the run; load average {load[0]:.1f} at its start and "
        f"{load[1]:.1f} at its end, on {os.cpu_count()} cores.",
        "", f"The study had {card['searched_trials']} searched trials when it was read "
        f"(started with `{card['search_command']}`). Reproduce: `{command}`; the bundle, "
        f"with its model card, is written to `{args.out}`.",
    ])


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.out = args.out or Path("bench/out") / args.pick
    start_load = os.getloadavg()[0]
    card = run(args)
    body = section(card, args, sgemm_gflops(args.threads), (start_load, os.getloadavg()[0]))
    print(body)
    if args.write:
        name = "export_train" if args.pick == "knee" else f"export_train_{args.pick}"
        print(f"wrote {write_section(name, body)}")
    print("command: python -m bench.export_train " + shlex.join(sys.argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
