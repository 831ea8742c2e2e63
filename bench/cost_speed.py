"""Benchmark: ArchSpecs costed per second by the analytic cost() versus fvcore tracing.

Both sides start from the same existing ArchSpecs (every preset) and are timed in
the same run; each figure is the median over repeated passes. fvcore's side is
`FlopCountAnalysis(build(spec), x).total()`, i.e. building the network and tracing
one forward pass, which is what cost() replaces.

Run: python -m bench.cost_speed [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable, Sequence

import torch
from fvcore.nn import FlopCountAnalysis

from bench.results import machine, write_section
from nas_space import ArchSpec, build, cost, get_preset, list_presets

#: (label, in_channels, input_size, num_classes) of each set of specs.
INPUTS = (("1x28x28, 10 classes", 1, 28, 10), ("3x224x224, 1000 classes", 3, 224, 1000))
GOAL = 100.0  # cost() must be at least this many times faster


def preset_specs(in_channels: int, input_size: int, num_classes: int) -> list[ArchSpec]:
    """Every preset at one input shape."""
    return [get_preset(n, in_channels=in_channels, input_size=input_size,
                       num_classes=num_classes) for n in list_presets()]


def fvcore_total(spec: ArchSpec) -> int:
    """fvcore's measurement of one spec: build the network, trace one input, count."""
    x = torch.zeros(1, spec.in_channels, spec.input_size, spec.input_size)
    analysis = FlopCountAnalysis(build(spec).eval(), x)
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return int(analysis.total())


def analytic_total(spec: ArchSpec) -> int:
    """The analytic count of one spec."""
    return cost(spec).macs


def rate(fn: Callable[[ArchSpec], int], specs: Sequence[ArchSpec], repeats: int,
         min_seconds: float) -> float:
    """Median specs per second over `repeats` passes; a pass loops until `min_seconds`."""
    rates = []
    for _ in range(repeats):
        done, start = 0, time.perf_counter()
        while True:
            for spec in specs:
                fn(spec)
            done += len(specs)
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        rates.append(done / elapsed)
    return statistics.median(rates)


def measure(repeats: int) -> list[tuple[str, int, float, float]]:
    """(label, number of specs, cost() specs/s, fvcore specs/s) for every input shape."""
    rows = []
    for label, c, size, classes in INPUTS:
        specs = preset_specs(c, size, classes)
        fvcore_total(specs[0])  # warm up tracing and the allocator
        analytic = rate(analytic_total, specs, repeats, min_seconds=0.5)
        traced = rate(fvcore_total, specs, repeats, min_seconds=0.0)
        rows.append((label, len(specs), analytic, traced))
    return rows


def markdown(rows: list[tuple[str, int, float, float]], repeats: int) -> str:
    """The results as a markdown section."""
    lines = [
        "## cost() versus fvcore tracing",
        "",
        f"Every preset, costed by the analytic `cost(spec)` and by "
        f"`FlopCountAnalysis(build(spec), x).total()`; medians of {repeats} passes "
        f"each ({machine()}). Goal: at least {GOAL:.0f}x faster.",
        "",
        "| input | specs | cost() specs/s | fvcore specs/s | speed-up |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, n, analytic, traced in rows:
        lines.append(f"| {label} | {n} | {analytic:,.0f} | {traced:,.2f} | "
                     f"{analytic / traced:,.0f}x |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Measure, print, and write the section of docs/RESULTS.md."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.cost_speed", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="passes per figure (median)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        raise ValueError(f"--repeats: must be >= 1, got {args.repeats}")
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")  # tracer and deprecation chatter
    body = markdown(measure(args.repeats), args.repeats)
    print(body)
    print(f"written to {write_section('cost_speed', body)}")


if __name__ == "__main__":
    main()
