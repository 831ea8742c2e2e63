"""Recipe robustness: the project's trainer against a plain loop on a panel of datasets.

    python -m bench.recipe_panel [--seeds 2] [--jobs auto] [--quick]

Each network trains twice on each panel dataset at the same number of training images:
with search.trainer (the recipe, at the `default` and `short` budgets) and with a plain
reference loop (Adam at lr 1e-3, batch 64, pixels / 255 as ToTensor gives them, no
augmentation, schedule, label smoothing or precise BN; the trainer's memory layout from
search.device, which changes the speed, not the maths). Both score the same validation
images. On each dataset the same two loops also train random squeeze-space specs at the
`short` budget, and the Kendall tau between their two rankings says whether the search
would order networks as the plain loop does. The table goes to docs/RESULTS.md; --quick
runs a small part and only prints. Outcomes are kept as they come, so an interrupted run
resumes where it stopped; change the recipe, then run with --fresh.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import optuna
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from bench.panel_data import PANEL, panel_dataset, panel_dir
from bench.results import machine, write_section
from nas_space import ArchSpec, build, cost, get_preset, get_space
from search.budgets import BUDGETS
from search.config import cpu_cores, parse_jobs
from search.data import Dataset
from search.device import memory_format
from search.trainer import TrainBudget, seeded, train

#: The networks: three families at small widths, with BatchNorm.
NETS = (("squeezenet1_1", 0.25), ("shufflenet_v2_x0_5", 0.5), ("mobilenet_v2", 0.25))
LOOPS = ("trainer", "plain")
#: The random squeeze-space specs of the ranking check: small enough to train in seconds.
RANK_RANGES = {"width": {"low": 0.0625, "high": 0.125}, "depth": {"low": 2, "high": 6}}
RANK_MAX_MFLOPS = 3.0


@dataclass(frozen=True)
class Task:
    """One training run of the panel."""

    dataset: str
    net: str
    spec: str  # ArchSpec JSON
    loop: str
    budget: str
    images: int
    seed: int


@dataclass(frozen=True)
class Outcome:
    task: Task
    acc: float
    images_per_s: float


def plain_loop(model: nn.Module, data: Dataset, images: int, seed: int) -> tuple[float, float]:
    """The tutorial recipe (Adam 1e-3, batch 64, ToTensor pixels, nothing else): (val
    accuracy, images/s of its training steps)."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    fmt = memory_format(torch.device("cpu"))  # the loop runs on the CPU, in the trainer's layout
    model.to(memory_format=fmt).train()
    x, y, seen, start = data.train_x, data.train_y, 0, time.perf_counter()
    while seen < images:
        for idx in torch.randperm(len(y), generator=gen).split(64):
            idx = idx[: images - seen]
            xb = (x[idx].float() / 255).contiguous(memory_format=fmt)
            loss = F.cross_entropy(model(xb), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += len(idx)
            if seen >= images:
                break
    rate = images / (time.perf_counter() - start)
    model.eval()
    with torch.inference_mode():
        out = torch.cat([model((b.float() / 255).contiguous(memory_format=fmt))
                         for b in data.val_x.split(128)])
    return float((out.argmax(1) == data.val_y).float().mean()), rate


def run_task(task: Task) -> Outcome:
    """Build the spec from its seed and train it with the task's loop."""
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data = panel_dataset(task.dataset)
    with seeded(task.seed):
        model = build(ArchSpec.from_json(task.spec))
    if task.loop == "plain":
        acc, rate = plain_loop(model, data, task.images, task.seed)
    else:
        result = train(model, data, TrainBudget(task.images), seed=task.seed, device="cpu")
        acc, rate = result.val_acc, result.images_per_s
    return Outcome(task, acc, rate)


def net_specs(data: Dataset) -> dict[str, ArchSpec]:
    """The panel's networks for this dataset's input shape."""
    return {f"{name} x{width:g}": replace(get_preset(
        name, in_channels=data.in_channels, input_size=data.input_size,
        num_classes=data.num_classes, width=width), bn=True) for name, width in NETS}


def rank_specs(data: Dataset, count: int, seed: int = 0) -> dict[str, ArchSpec]:
    """`count` distinct random squeeze-space specs under RANK_MAX_MFLOPS (a seeded sampler)."""
    space = get_space("squeeze", in_channels=data.in_channels, input_size=data.input_size,
                      num_classes=data.num_classes, ranges=RANK_RANGES)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    specs: dict[str, ArchSpec] = {}
    while len(specs) < count:
        spec = space.sample(study.ask())
        if cost(spec).macs / 1e6 <= RANK_MAX_MFLOPS and spec not in specs.values():
            specs[f"spec{len(specs)}"] = spec
    return specs


def plan(datasets: list[str], seeds: int, n_rank: int, nets: int) -> list[Task]:
    """Every run of the panel: the default budget, then the short one, then the ranking
    (so that an interrupted run has whole columns), the cheapest first within each."""
    tasks = []
    for name in datasets:
        data = panel_dataset(name)
        n = len(data.train_y)
        sizes = {b: BUDGETS[b].images_for(n) for b in ("default", "short")}
        for net, spec in list(net_specs(data).items())[:nets]:
            for seed in range(seeds):
                tasks += [Task(name, net, spec.to_json(), loop, b, images, seed)
                          for b, images in sizes.items() for loop in LOOPS]
        for net, spec in rank_specs(data, n_rank).items():
            tasks += [Task(name, net, spec.to_json(), loop, "rank", sizes["short"], 0)
                      for loop in LOOPS]
    cost_of = {t.spec: cost(ArchSpec.from_json(t.spec)).macs for t in tasks}
    phase = {"default": 0, "short": 1, "rank": 2}
    return sorted(tasks, key=lambda t: (phase[t.budget], t.images * cost_of[t.spec]))


def run_all(tasks: list[Task], jobs: int, log: Path, report_only: bool = False) -> list[Outcome]:
    """The tasks in `jobs` single-threaded processes, with a progress bar. Each outcome is
    appended to `log` (JSON lines) as it comes; outcomes already there are reused, so an
    interrupted run resumes where it stopped."""
    done = {}
    if log.exists():
        for line in log.read_text().splitlines():
            row = json.loads(line)
            done[Task(**row["task"])] = Outcome(Task(**row["task"]), row["acc"], row["rate"])
    todo = [] if report_only else [t for t in tasks if t not in done]
    log.parent.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), unit="run")
    with log.open("a") as f, mp.get_context("spawn").Pool(jobs) as pool:
        for o in pool.imap_unordered(run_task, todo):
            done[o.task] = o
            f.write(json.dumps({"task": asdict(o.task), "acc": o.acc,
                                "rate": o.images_per_s}) + "\n")
            f.flush()
            bar.update()
    bar.close()
    return [done[t] for t in tasks if t in done]


def kendall_tau(a: list[float], b: list[float]) -> float:
    """Kendall's tau-b of two score lists (ties in either count as neither order)."""
    conc = disc = ties_a = ties_b = 0
    for i in range(len(a)):
        for j in range(i + 1, len(a)):
            da, db = a[i] - a[j], b[i] - b[j]
            if da == 0 or db == 0:
                ties_a += da == 0 and db != 0
                ties_b += db == 0 and da != 0
                continue
            conc += (da > 0) == (db > 0)
            disc += (da > 0) != (db > 0)
    denom = ((conc + disc + ties_a) * (conc + disc + ties_b)) ** 0.5
    return (conc - disc) / denom if denom else float("nan")


def mean_acc(outs: list[Outcome], dataset: str, loop: str, budget: str, net: str = "") -> float:
    """The mean accuracy of these runs; NaN when none finished (an interrupted run)."""
    accs = [o.acc for o in outs if o.task.dataset == dataset and o.task.loop == loop
            and o.task.budget == budget and net in ("", o.task.net)]
    return statistics.mean(accs) if accs else float("nan")


def report(outs: list[Outcome], datasets: list[str], args: argparse.Namespace,
           wall: float) -> str:
    """The markdown section: per dataset, per network, the goals and the speed."""
    rows, deltas = [], {}
    for name in datasets:
        data = panel_dataset(name)
        n = len(data.train_y)
        acc = {(loop, b): mean_acc(outs, name, loop, b)
               for loop in LOOPS for b in ("default", "short")}
        deltas[name] = acc["trainer", "default"] - acc["plain", "default"]
        rank = {(o.task.net, o.task.loop): o.acc for o in outs
                if o.task.dataset == name and o.task.budget == "rank"}
        both = sorted(n for n, loop in rank if loop == "trainer" and (n, "plain") in rank)
        tau = kendall_tau([rank[n, "trainer"] for n in both], [rank[n, "plain"] for n in both])
        rows.append(
            f"| {name} | {n:,} | {data.in_channels}x{data.input_size}x{data.input_size} "
            f"| {BUDGETS['default'].describe(n)} | {acc['trainer', 'default']:.3f} "
            f"| {acc['plain', 'default']:.3f} | {100 * deltas[name]:+.1f} "
            f"| {acc['trainer', 'short']:.3f} | {acc['plain', 'short']:.3f} | {tau:+.2f} |")
    every = all(d >= 0 for d in deltas.values())  # a nan (unfinished) counts as not met
    mean_delta = 100 * statistics.mean(deltas.values())
    ratios = speed_ratios(outs)
    lines = [
        "## Recipe panel (`python -m bench.recipe_panel`)",
        "",
        f"{machine()}; {args.seeds} seed(s) per network, {len(NETS)} networks with BN "
        f"({', '.join(f'{n} x{w:g}' for n, w in NETS)}); validation on up to 2,000 held-out "
        f"training images; {args.jobs} single-threaded processes; {wall / 60:.0f} min."
        + (f" **Incomplete: {args.missing} runs of the plan did not finish (nan).**"
           if args.missing else ""),
        "Accuracy: mean over networks and seeds. Trainer: search.trainer at the budget; plain: "
        "Adam 1e-3, batch 64, no augmentation, at the same number of images. tau: Kendall tau "
        f"between the two loops' rankings of {args.rank_specs} random squeeze-space specs "
        "at the short budget.",
        "",
        "| dataset | train | shape | default budget | trainer | plain | diff (points) "
        "| short: trainer | short: plain | tau |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"- Trainer >= plain loop at the default budget on every dataset: "
        f"**{'met' if every else 'not met'}**"
        + ("" if every else " (behind on " + ", ".join(
            k for k, d in deltas.items() if not d >= 0) + ")") + ".",
        f"- Mean difference over the panel: **{mean_delta:+.1f} points** (goal: +2.0, "
        f"{'met' if mean_delta >= 2 else 'not met'}).",
        f"- Training images/s, trainer over plain loop, same run, same network and images: "
        f"median **{statistics.median(ratios):.2f}x** (range {min(ratios):.2f}-"
        f"{max(ratios):.2f}x over {len(ratios)} pairs).",
        "",
        "Per network, default budget (trainer / plain):",
        "",
        "| dataset | " + " | ".join(f"{n} x{w:g}" for n, w in NETS) + " |",
        "|---|" + "---|" * len(NETS),
        *(per_net_row(outs, name) for name in datasets),
    ]
    return "\n".join(lines)


def per_net_row(outs: list[Outcome], name: str) -> str:
    cells = []
    for net, width in NETS:
        label = f"{net} x{width:g}"
        accs = [mean_acc(outs, name, loop, "default", label) for loop in LOOPS]
        cells.append(f"{accs[0]:.3f} / {accs[1]:.3f}")
    return f"| {name} | " + " | ".join(cells) + " |"


def speed_ratios(outs: list[Outcome]) -> list[float]:
    """Trainer images/s over plain images/s for each matched run of the main table."""
    rate = {(o.task.dataset, o.task.net, o.task.budget, o.task.seed, o.task.loop): o.images_per_s
            for o in outs if o.task.budget != "rank"}
    return [v / rate[(*k[:4], "plain")] for k, v in rate.items()
            if k[4] == "trainer" and (*k[:4], "plain") in rate] or [float("nan")]


def main() -> None:
    """Plan, run, print and record."""
    p = argparse.ArgumentParser(prog="python -m bench.recipe_panel",
                                description=(__doc__ or "").split("\n")[0])
    p.add_argument("--seeds", type=int, default=2, help="seeds per network (default 2)")
    p.add_argument("--rank-specs", type=int, default=8,
                   help="random squeeze-space specs per dataset for the ranking (default 8)")
    p.add_argument("--datasets", default=",".join(PANEL),
                   help="comma-separated panel datasets (default: all)")
    p.add_argument("--jobs", type=parse_jobs, default=0, help="single-threaded worker "
                   "processes: a number, or auto for one per core (default auto)")
    p.add_argument("--quick", action="store_true", help="fashion-2k, digits and photo-patches, "
                   "one network, one seed, 4 ranking specs; print only")
    p.add_argument("--no-write", action="store_true", help="print only; leave docs/RESULTS.md")
    p.add_argument("--report-only", action="store_true", help="train nothing: the table of "
                   "the outcomes kept so far (an interrupted run's cells read nan)")
    p.add_argument("--fresh", action="store_true", help="train everything again rather than "
                   "reuse the outcomes of an interrupted run (kept in the dataset cache)")
    args = p.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    datasets = args.datasets.split(",")
    unknown = [d for d in datasets if d not in PANEL]
    if unknown or args.seeds < 1 or args.rank_specs < 2:
        p.error(f"datasets must be among {', '.join(PANEL)}; seeds >= 1; rank-specs >= 2")
    args.jobs = args.jobs or cpu_cores()
    nets = len(NETS)
    if args.quick:
        datasets, nets, args.seeds, args.rank_specs, args.no_write = (
            ["fashion-2k", "digits", "photo-patches"], 1, 1, 4, True)
    start = time.perf_counter()
    log = panel_dir() / ("quick.jsonl" if args.quick else "outcomes.jsonl")
    if args.fresh:
        log.unlink(missing_ok=True)
    tasks = plan(datasets, args.seeds, args.rank_specs, nets)
    outs = run_all(tasks, args.jobs, log, args.report_only)
    args.missing = len(tasks) - len(outs)
    if args.quick:
        for o in sorted(outs, key=lambda o: (o.task.dataset, o.task.budget, o.task.net)):
            print(f"{o.task.dataset:14} {o.task.budget:8} {o.task.net:22} {o.task.loop:8} "
                  f"{o.acc:.4f} {o.images_per_s:6.0f} img/s")
        return
    text = report(outs, datasets, args, time.perf_counter() - start)
    print(text)
    if not args.no_write:
        print(f"wrote {write_section('recipe_panel', text)}")


if __name__ == "__main__":
    main()
