"""The front of a study: its members, their test accuracy (once, at the end), the baselines."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import torch
from optuna.trial import FrozenTrial, TrialState

from nas_space import ArchSpec, build
from search import records as R
from search import weights
from search.hypervolume import hypervolume
from search.pareto import dominators, pareto_mask
from search.trainer import evaluate

TEST_ACC_ATTR = R.TEST_ACC


@dataclass(frozen=True)
class Point:
    """A trained trial on the accuracy/cost plane."""

    number: int
    acc: float
    macs: int
    params: int
    role: str
    preset: str | None
    bn: bool = False


def points(study: optuna.Study, role: str | None = None) -> list[Point]:
    """Every fully trained trial (not duplicates, not infeasible), optionally of one role."""
    out = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        a = t.user_attrs
        if a.get(R.STATUS) != R.COMPLETE or (role and a.get(R.ROLE) != role):
            continue
        out.append(Point(t.number, float(a[R.VAL_ACC]), int(a[R.MACS]), int(a[R.PARAMS]),
                         a.get(R.ROLE, R.ROLE_SEARCH), a.get(R.PRESET), _has_bn(a)))
    return out


def front(pts: list[Point]) -> list[Point]:
    """The non-dominated points in (accuracy up, MACs down), cheapest first."""
    if not pts:
        return []
    mask = pareto_mask([[p.acc, p.macs] for p in pts], ["maximize", "minimize"])
    return sorted((p for p, m in zip(pts, mask, strict=True) if m), key=lambda p: p.macs)


def study_hypervolume(pts: list[Point]) -> float:
    """The shared hypervolume (search/hypervolume.py) of these points."""
    return hypervolume([p.acc for p in pts], [p.macs for p in pts])


def _has_bn(attrs: dict[str, Any]) -> bool:
    """Whether the trial's stored spec has BatchNorm."""
    return bool(json.loads(attrs[R.SPEC]).get("bn", False)) if R.SPEC in attrs else False


def dominated_baselines(study: optuna.Study, *, equal_treatment: bool = True
                        ) -> list[tuple[Point, Point | None]]:
    """Each baseline with the cheapest searched trial that dominates it, None if none does.
    Every trial of a study trains with the same budget and recipe; under equal treatment
    the trial must also match the baseline's BatchNorm setting."""
    searched = points(study, R.ROLE_SEARCH)
    rows = []
    for b in points(study, R.ROLE_BASELINE):
        peers = [p for p in searched if p.bn == b.bn or not equal_treatment]
        plane = [[p.acc, p.macs] for p in peers]
        idx = dominators([b.acc, b.macs], plane, ["maximize", "minimize"]) if plane else []
        rows.append((b, min((peers[i] for i in idx), key=lambda p: p.macs, default=None)))
    return rows


def test_front(study: optuna.Study, data: Any, weights_dir: Path | None,
               device: torch.device) -> dict[int, float]:
    """Test accuracy of each searched front member, computed once and kept in the study."""
    done = {int(k): v for k, v in study.user_attrs.get(TEST_ACC_ATTR, {}).items()}
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    for p in front(points(study, R.ROLE_SEARCH)):
        if p.number in done:
            continue
        state = weights.load(study, trials[p.number], weights_dir)
        if state is not None:
            done[p.number] = _test_one(trials[p.number], state, data, device)
    study.set_user_attr(TEST_ACC_ATTR, {str(k): v for k, v in sorted(done.items())})
    return done


def _test_one(trial: FrozenTrial, state: dict[str, torch.Tensor], data: Any,
              device: torch.device) -> float:
    model = build(ArchSpec.from_json(trial.user_attrs[R.SPEC]))
    model.load_state_dict(state)
    return float(evaluate(model, data.test_x, data.test_y, device=device))


def front_table(study: optuna.Study, tests: dict[int, float]) -> str:
    """The front as a text table: trial, val acc, MFLOPs, params, test acc."""
    lines = [f"{'trial':>6}  {'val acc':>8}  {'MFLOPs':>9}  {'params':>10}  {'test acc':>8}"]
    for p in front(points(study, R.ROLE_SEARCH)):
        test = f"{tests[p.number]:.4f}" if p.number in tests else "-"
        lines.append(f"{p.number:>6}  {p.acc:>8.4f}  {p.macs / 1e6:>9.3f}  {p.params:>10,}"
                     f"  {test:>8}")
    return "\n".join(lines)


def baseline_table(study: optuna.Study) -> str:
    """Which baselines a searched trial dominates under equal treatment, and by which."""
    equal = dominated_baselines(study)
    lines = []
    for (b, best), (_, any_best) in zip(equal, dominated_baselines(
            study, equal_treatment=False), strict=True):
        where = f"{b.preset} ({b.acc:.4f}, {b.macs / 1e6:.2f} MFLOPs, {_bn(b)})"
        if best is not None:
            lines.append(f"  {where}: dominated by trial {best.number} "
                         f"({best.acc:.4f}, {best.macs / 1e6:.2f} MFLOPs)")
        elif any_best is not None:
            lines.append(f"  {where}: not dominated under equal treatment (only by trial "
                         f"{any_best.number}, {_bn(any_best)})")
        else:
            lines.append(f"  {where}: not dominated")
    if not lines:
        return "  (no baselines trained)"
    beaten = [b.preset or "?" for b, best in equal if best is not None]
    lines.append(f"  under equal treatment (same budget, recipe and BatchNorm setting) the "
                 f"search dominates {len(beaten)} of {len(equal)} baselines"
                 + (f": {', '.join(beaten)}" if beaten else ""))
    return "\n".join(lines)


def _bn(p: Point) -> str:
    return "with BN" if p.bn else "no BN"


def progress_stats(study: optuna.Study) -> dict[str, float]:
    """Front size, best validation accuracy and hypervolume of the searched trials so far."""
    pts = points(study, R.ROLE_SEARCH)
    best = max((p.acc for p in pts), default=float("nan"))
    return {"front": len(front(pts)), "best": best, "hv": study_hypervolume(pts)}


__all__ = ["Point", "baseline_table", "front", "front_table", "points",
           "progress_stats", "study_hypervolume", "test_front"]
