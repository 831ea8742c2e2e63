"""The run configuration: defaults < a study file (studies/NAME.toml) < explicit flags.

A study file fixes any run option by its flag name (``trials = 200``, ``max_mflops = 20``)
and may hold three tables:

    [fixed]   metaparameters held at a value, e.g. ``bn = true``
    [ranges]  narrower axis ranges, e.g. ``width = {low = 0.0625, high = 0.5}``
    [grid]    value lists for ``sampler = "grid"``, e.g. ``SR = [0.125, 0.25, 0.5]``

One file may describe several studies (search/variants.py runs them): ``seeds = [0, 1, 2]``
repeats the study per seed, and ``[[variants]]`` tables, each with a ``name``, override any
option or table entry; ``--study-file FILE#NAME`` reads variant NAME alone.

A file path in its ``storage`` URL is taken from the study file's folder: the evidence
files in studies/ write ``storage = "journal://results/NAME.log"``, i.e. studies/results/,
whose logs are tracked in git (search.storage.RESULTS_DIR).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from search.augment import AUGMENTS
from search.budgets import Fidelity
from search.records import OBJECTIVE_DIRECTIONS
from search.split import MAX_IMAGE_SIZE
from search.storage import anchored, default_storage_url

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
        if self.image_size is not None and self.image_size > MAX_IMAGE_SIZE:
            raise UsageError(f"--image-size: must be at most {MAX_IMAGE_SIZE}, "
                             f"got {self.image_size}")
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


#: The most workers "auto" starts; the storages' load is measured up to this many processes
#: (docs/RESULTS.md, storage load).
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
    """The options a study file sets for one study: PATH, or PATH#NAME for its variant NAME
    (see `repeats`); unknown keys and bad TOML are one-line errors."""
    where, _, variant = str(path).partition("#")
    data = _load_toml(Path(where))
    known = {f.name for f in dataclasses.fields(RunConfig)}
    _check_keys(data, known | set(REPEAT_KEYS), where)
    seeds_and_variants(data, where)
    data = _with_variant(data, variant, where)
    if isinstance(data.get("budget"), int):
        data["budget"] = str(data["budget"])
    if "objectives" in data:
        data["objectives"] = tuple(data["objectives"])
    if isinstance(data.get("storage"), str):
        data["storage"] = anchored(data["storage"], Path(where).resolve().parent)
    return data


#: Keys by which one study file describes several studies.
REPEAT_KEYS = ("seeds", "variants")
#: The tables a variant merges entry by entry over the file's.
TABLES = ("fixed", "ranges", "grid")


def repeats(path: str | Path) -> tuple[list[str], list[int]]:
    """The variant names and the seeds a study file repeats its study over (each may be
    empty): `seeds = [0, 1, 2]` and `[[variants]]` tables, each with a `name` and any
    options or [fixed]/[ranges]/[grid] entries that override the file's."""
    where = str(path).partition("#")[0]
    return seeds_and_variants(_load_toml(Path(where)), where)


def seeds_and_variants(data: dict[str, Any], where: str) -> tuple[list[str], list[int]]:
    """Validated variant names and seeds of a study file's data."""
    seeds = data.get("seeds", [])
    if "seeds" in data and (not isinstance(seeds, list) or not seeds or len(set(seeds)) < len(
            seeds) or not all(isinstance(v, int) and not isinstance(v, bool) for v in seeds)):
        raise UsageError(f"--study-file: {where}: seeds must be a list of distinct integers, "
                         f"got {seeds!r}")
    variants = data.get("variants", [])
    if "variants" in data and (not isinstance(variants, list) or not variants or not all(
            isinstance(v, dict) for v in variants)):
        raise UsageError(f"--study-file: {where}: variants must be [[variants]] tables")
    names = [v.get("name") for v in variants]
    for v, name in zip(variants, names, strict=True):
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.]+", name):
            raise UsageError(f"--study-file: {where}: each variant needs a name of letters, "
                             f"digits, '_' or '.', got {name!r}")
        if names.count(name) > 1:
            raise UsageError(f"--study-file: {where}: two variants are named {name!r}")
        _check_keys({k: x for k, x in v.items() if k != "name"},
                    {f.name for f in dataclasses.fields(RunConfig)} - {"study"},
                    f"{where} variant {name!r}")
    return names, list(seeds)


def _with_variant(data: dict[str, Any], variant: str, where: str) -> dict[str, Any]:
    """The file's options without its repeat keys, with variant `variant` merged in."""
    base = {k: v for k, v in data.items() if k not in REPEAT_KEYS}
    if not variant:
        return base
    chosen = {v["name"]: v for v in data.get("variants", [])}
    if variant not in chosen:
        raise UsageError(f"--study-file: {where} has no variant {variant!r}; variants: "
                         + (", ".join(chosen) or "none"))
    for key, value in chosen[variant].items():
        if key in TABLES:
            base[key] = {**base.get(key, {}), **value}
        elif key != "name":
            base[key] = value
    return base


def _load_toml(p: Path) -> dict[str, Any]:
    if not p.is_file():
        raise UsageError(f"--study-file: no file at {p}")
    try:
        return tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UsageError(f"--study-file: {p} is not valid TOML ({e})") from None


def _check_keys(data: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise UsageError(f"--study-file: {where}: unknown key {unknown[0]!r}; valid keys: "
                         + ", ".join(sorted(known)))
    for table in TABLES:
        if table in data and not isinstance(data[table], dict):
            raise UsageError(f"--study-file: {where}: [{table}] must be a table")


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
