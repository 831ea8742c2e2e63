"""The run configuration: defaults < a study file (studies/NAME.toml) < explicit flags.

A study file fixes any run option by its flag name (``trials = 200``, ``max_mflops = 20``)
and may hold three tables:

    [fixed]   metaparameters held at a value, e.g. ``bn = true``
    [ranges]  narrower axis ranges, e.g. ``width = {low = 0.0625, high = 0.5}``
    [grid]    value lists for ``sampler = "grid"``, e.g. ``SR = [0.125, 0.25, 0.5]``
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from search.augment import AUGMENTS
from search.budgets import Fidelity
from search.records import OBJECTIVE_DIRECTIONS
from search.storage import default_storage_url

SAMPLERS = ("tpe", "nsga2", "random", "grid")
#: A study's fingerprint: what its results depend on (see `fingerprint`).
Fingerprint = dict[str, Any]


class UsageError(ValueError):
    """A bad option, flag value or study file: one line, exit code 2, no traceback."""


@dataclass(frozen=True)
class RunConfig:
    """Everything one `python -m search.run` needs; see `--help` for each field."""

    space: str = "squeeze"
    trials: int = 200
    dataset: str = "fashion-mnist"
    data_root: str | None = None
    download: bool = False
    budget: str = "default"
    augment: str | None = None  # None: the dataset's default (search.augment)
    image_size: int | None = None  # None: the images' own size
    objectives: tuple[str, ...] = ("val_acc", "macs")
    max_mflops: float | None = None
    max_params: int | None = None
    sampler: str = "tpe"
    seed: int = 0
    storage: str = field(default_factory=default_storage_url)
    study: str | None = None
    jobs: int = 0  # 0: auto, one worker per CPU core (1 on CUDA); see resolve_jobs
    device: str = "auto"
    early_stop: bool = True
    eta: int = 3
    baselines: bool = True
    baseline_mflops: float | None = None
    max_rejects: int = 500
    timeout: float | None = None
    fixed: dict[str, Any] = field(default_factory=dict)
    ranges: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def study_name(self) -> str:
        return self.study or f"{self.space}-{self.dataset}"

    @property
    def directions(self) -> list[str]:
        return [OBJECTIVE_DIRECTIONS[o] for o in self.objectives]

    def check(self) -> RunConfig:
        """Validate values a type check cannot; raise ValueError naming the option."""
        if self.trials < 1:
            raise UsageError(f"--trials: must be >= 1, got {self.trials}")
        if self.sampler not in SAMPLERS:
            raise UsageError(f"--sampler: {self.sampler!r} is not one of {', '.join(SAMPLERS)}")
        if self.sampler == "grid" and not self.grid:
            raise UsageError("--sampler grid: needs a [grid] table in a --study-file")
        unknown = [o for o in self.objectives if o not in OBJECTIVE_DIRECTIONS]
        if unknown or "val_acc" not in self.objectives or len(set(self.objectives)) < 2:
            raise UsageError(f"--objectives: need val_acc and at least one of "
                             f"{', '.join(k for k in OBJECTIVE_DIRECTIONS if k != 'val_acc')}"
                             f" (comma-separated), got {','.join(self.objectives)}")
        if self.augment is not None and self.augment not in AUGMENTS:
            raise UsageError(f"--augment: {self.augment!r} is not one of {', '.join(AUGMENTS)}")
        for name in ("max_mflops", "max_params", "baseline_mflops", "timeout", "image_size"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise UsageError(f"--{name.replace('_', '-')}: must be > 0, got {value}")
        if self.jobs < 0 or self.eta < 2 or self.max_rejects < 1:
            raise UsageError("--jobs must be auto (0) or >= 1, eta >= 2 and max_rejects >= 1")
        return self


def fingerprint(cfg: RunConfig, fid: Fidelity, split: dict[str, int],
                augment: str | None = None) -> Fingerprint:
    """What a study's results depend on, stored with the study; a resume must match it
    field by field (search.study.open_study names the first difference). An option that
    changes results becomes part of it by one line here."""
    return {
        "space": cfg.space,
        "dataset": cfg.dataset,
        "split": split,  # {"train": images, "val": images}
        "budget": {"images": fid.images, "rungs": fid.rungs, "spacing": fid.spacing,
                   "val_images": fid.val_images},
        "constraints": {"max_mflops": cfg.max_mflops, "max_params": cfg.max_params},
        "fixed": dict(cfg.fixed),
        "ranges": dict(cfg.ranges),
        "objectives": list(cfg.objectives),
        "augment": augment or cfg.augment,  # the one in force: the dataset's default if None
        "image_size": cfg.image_size,
    }


#: The most workers "auto" starts: beyond this the SQLite storage becomes the bottleneck.
MAX_AUTO_JOBS = 8


def cpu_cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def resolve_jobs(jobs: int, device: str) -> int:
    """Worker processes to run: `jobs`, or for auto (0) one per CPU core on the CPU, each
    single-threaded (small nets scale poorly across threads and well across processes),
    and one on CUDA."""
    if jobs:
        return jobs
    return 1 if device == "cuda" else max(1, min(MAX_AUTO_JOBS, cpu_cores()))


def parse_jobs(text: str) -> int:
    """--jobs: a positive number or auto (0)."""
    if text.strip().lower() == "auto":
        return 0
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be auto or a number >= 1, got {text!r}")
    return value


def read_study_file(path: str | Path) -> dict[str, Any]:
    """The options a study file sets; unknown keys and bad TOML are one-line errors."""
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"--study-file: no file at {p}")
    try:
        data = tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UsageError(f"--study-file: {p} is not valid TOML ({e})") from None
    known = {f.name for f in dataclasses.fields(RunConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise UsageError(f"--study-file: {p}: unknown key {unknown[0]!r}; valid keys: "
                         + ", ".join(sorted(known)))
    for table in ("fixed", "ranges", "grid"):
        if table in data and not isinstance(data[table], dict):
            raise UsageError(f"--study-file: {p}: [{table}] must be a table")
    if isinstance(data.get("budget"), int):
        data["budget"] = str(data["budget"])
    if "objectives" in data:
        data["objectives"] = tuple(data["objectives"])
    return data


def merge(file_options: dict[str, Any], flags: dict[str, Any]) -> RunConfig:
    """Build the config from a study file's options overridden by explicitly given flags."""
    options = {**file_options, **{k: v for k, v in flags.items() if v is not None}}
    types = {f.name: f.type for f in dataclasses.fields(RunConfig)}
    for key, value in options.items():
        _check_type(key, value, str(types[key]))
    return RunConfig(**options).check()


def _check_type(key: str, value: Any, hint: str) -> None:
    ok = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "str": lambda v: isinstance(v, str),
        "bool": lambda v: isinstance(v, bool),
    }
    base = hint.split(" | ")[0]
    if value is None or base not in ok:
        return
    if not ok[base](value):
        raise UsageError(f"{key}: expected {base}, got {value!r}")
