"""The classic networks trained once per study, under the same budget, as reference points.

The paper's SqueezeNets have no BatchNorm. When a study fixes ``bn = true``, its searched
networks have it, so the baselines also include each such network's BatchNorm variant
(named with BN_SUFFIX: the same layers with BN after every conv), trained with the same
recipe; the paper's variants stay for reference.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from tqdm import tqdm

from nas_space import ArchSpec, cost, get_preset, list_presets
from search import records as R
from search.liveness import worker_id
from search.objective import Evaluator
from search.view import StudyView

#: The seed networks, cheapest usable width first found from WIDTHS.
PRESETS = (
    "squeezenet1_0", "squeezenet1_1", "squeezenet1_0_simple_bypass", "shufflenet_v1_g3_x1_0",
    "shufflenet_v2_x1_0", "mobilenet_v1", "mobilenet_v2", "resnet18",
)
WIDTHS = (1.0, 0.5, 0.25, 0.125, 0.0625)
#: Suffix of a baseline's BatchNorm variant, e.g. squeezenet1_0+bn.
BN_SUFFIX = "+bn"


def baseline_spec(name: str, shape: tuple[int, int, int],
                  max_mflops: float) -> tuple[ArchSpec, float]:
    """The preset at the widest width in WIDTHS whose cost fits max_mflops (else the
    narrowest), and that width."""
    c, size, classes = shape
    preset, bn = name.removesuffix(BN_SUFFIX), name.endswith(BN_SUFFIX)
    for width in WIDTHS:
        spec = get_preset(preset, in_channels=c, input_size=size, num_classes=classes,
                          width=width)
        spec = replace(spec, bn=True) if bn else spec
        if cost(spec).macs / 1e6 <= max_mflops:
            break
    return spec, width


def trained_baselines(view: StudyView) -> set[str]:
    """Preset names trained, or being trained by a live worker, in this study (a baseline
    left running by a dead run is failed by the read, so it is trained again)."""
    return view.read().trained_baselines()


def run_baseline(view: StudyView, ev: Evaluator, name: str, max_mflops: float) -> str:
    """Train one baseline to the full budget (no early stopping) and record it; a baseline
    that another worker claimed meanwhile is recorded as its duplicate, untrained."""
    shape = (ev.space.in_channels, ev.space.input_size, ev.space.num_classes)
    spec, width = baseline_spec(name, shape, max_mflops)
    trial = ev.current = view.ask()
    c = cost(spec)
    ev._describe(trial, spec, c, R.ROLE_BASELINE)
    trial.set_user_attr(R.PRESET, name)
    trial.set_user_attr(R.PRESET_WIDTH, width)
    trial.set_user_attr(R.SEED, ev.seed)
    twin = view.claim(trial, spec.digest())
    if twin is not None:
        return ev._reuse(view.study, trial, twin).status
    outcome = ev.with_early_stop(False).train_spec(view, trial, spec, c, ev.seed)
    return outcome.status


def train_baselines(view: StudyView, ev: Evaluator, names: list[str], max_mflops: float,
                    *, quiet: bool = False) -> None:
    """Train the baselines of `names` that the study lacks. Every worker of a run calls
    this: each takes a baseline that is neither trained nor in flight, at random so that
    workers starting together rarely reach for the same one, until none is left. A worker
    tries each baseline once: one that fails stays failed until the next run."""
    pick, tried = random.Random(worker_id()), set()
    with tqdm(total=len(names), desc="baselines", unit="net", leave=False,
              disable=quiet or None) as bar:
        while True:
            skip = trained_baselines(view) | tried
            if not (todo := [b for b in names if b not in skip]):
                break
            bar.n = len(names) - len(todo)
            bar.refresh()
            name = pick.choice(todo)
            tried.add(name)
            run_baseline(view, ev, name, max_mflops)


def available_baselines(fixed: Mapping[str, Any] | None = None) -> list[str]:
    """The baselines of a study with these fixed metaparameters: the presets, and with
    ``bn = true`` also the BatchNorm variants of those that have none."""
    known = set(list_presets())
    names = [p for p in PRESETS if p in known]
    if fixed and fixed.get("bn") is True:
        names += [p + BN_SUFFIX for p in names if not get_preset(p).bn]
    return names
