"""One trial in depth: its block-by-block table, learning curve and stored metrics."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from dashboard.data import DashboardError
from nas_space import BLOCKS, ArchSpec, cost_rows
from nas_space.blocks import head_plan, stem_conv
from nas_space.layers import Conv
from search import records as R

#: The conv whose output is a block kind's squeeze / bottleneck / expansion width.
SQUEEZE_LAYER = {"fire": "squeeze", "shuffle_v1": "squeeze", "inverted": "dw",
                 "bottleneck": "conv1", "shuffle_v2": "right_pw1"}
TABLE_COLUMNS = ["part", "kind", "c_in", "c_out", "stride", "pool", "size_out", "squeeze",
                 "e1x1", "e3x3", "groups", "macs", "params", "layers"]
METRICS = [("val_acc", "validation accuracy"), ("test_acc", "test accuracy"),
           ("mflops", "MFLOPs (multiply-adds)"), ("params", "params"),
           ("size_mb", "model size (MB, fp32)"), ("latency_ms", "latency (ms, batch 1)"),
           ("train_seconds", "training time (s)"), ("images_per_s", "images/s"),
           ("activations", "activations"), ("device", "device"), ("seed", "seed"),
           ("digest", "digest"), ("duplicate_of", "duplicate of trial"),
           ("fail_reason", "fail reason")]


def parse_spec(row: pd.Series) -> ArchSpec:
    """The trial's ArchSpec; DashboardError with a one-line reason when absent or invalid."""
    text = row.get(R.SPEC)
    if not isinstance(text, str) or not text:
        raise DashboardError(f"trial {int(row['number'])} has no stored architecture spec")
    try:
        return ArchSpec.from_json(text)
    except (ValueError, KeyError, TypeError) as e:
        number = int(row["number"])
        raise DashboardError(f"trial {number}: the stored spec is invalid ({e})") from None


def _layers(plan: dict[str, Conv]) -> str:
    """A compact list of a part's convs: name kxk c_in->c_out [/groups] [stride]."""
    parts = []
    for name, c in plan.items():
        text = f"{name} {c.k}x{c.k} {c.c_in}→{c.c_out}"
        text += f" /g{c.groups}" if c.groups > 1 else ""
        text += f" s{c.stride}" if c.stride > 1 else ""
        parts.append(text)
    return ", ".join(parts)


def _width(plan: dict[str, Conv], name: str | None) -> int | None:
    """The output width of a named conv of a plan, if it has one."""
    return plan[name].c_out if name and name in plan else None


def block_table(spec: ArchSpec) -> pd.DataFrame:
    """One row per part (stem, blocks[i], head); macs and params sum to cost(spec)."""
    rows = cost_rows(spec)
    stem = stem_conv(spec)
    table = [_row(rows[0], {"conv": stem}, stem.stride, spec.stem.pool, stem.groups)]
    for row, block in zip(rows[1:-1], spec.blocks, strict=True):
        plan = BLOCKS[block.kind].plan(block, row.c_in, spec.bn)
        out = _row(row, plan, block.stride, block.pool, block.groups)
        out["squeeze"] = _width(plan, SQUEEZE_LAYER.get(block.kind))
        if block.kind == "fire":
            out["e1x1"] = _width(plan, "expand1x1") or 0
            out["e3x3"] = _width(plan, "expand3x3") or 0
        table.append(out)
    head_convs, features = head_plan(spec, rows[-1].c_in)
    plan = dict(head_convs)
    if features:
        plan["fc"] = Conv(features, spec.num_classes, bn=False)
    table.append(_row(rows[-1], plan, 1, "none", 1))
    out = pd.DataFrame(table, columns=TABLE_COLUMNS)
    return out.astype({"squeeze": "Int64", "e1x1": "Int64", "e3x3": "Int64"})


def _row(r: Any, plan: dict[str, Conv], stride: int, pool: str, groups: int) -> dict[str, Any]:
    """One row of the block table."""
    return {"part": r.name, "kind": r.kind, "c_in": r.c_in, "c_out": r.c_out, "stride": stride,
            "pool": pool, "size_out": r.size_out, "squeeze": None, "e1x1": None, "e3x3": None,
            "groups": groups, "macs": r.cost.macs, "params": r.cost.params,
            "layers": _layers(plan)}


def table_totals(table: pd.DataFrame) -> dict[str, int]:
    """The summed MACs and params of a block table."""
    return {"macs": int(table["macs"].sum()), "params": int(table["params"].sum())}


def learning_curve(rungs: Any) -> pd.DataFrame:
    """The stored rungs as (images_seen, val_acc) rows; malformed entries are skipped."""
    rows = []
    for item in rungs if isinstance(rungs, list) else []:
        if isinstance(item, list | tuple) and len(item) == 2:
            try:
                rows.append((float(item[0]), float(item[1])))
            except (TypeError, ValueError):
                continue
    return pd.DataFrame(rows, columns=["images_seen", "val_acc"])


def _present(value: Any) -> bool:
    """Whether a stored value is there (not None or NaN)."""
    if value is None:
        return False
    return not (isinstance(value, float) and math.isnan(value))


def metrics(row: pd.Series) -> pd.DataFrame:
    """The trial's stored metrics and sampled metaparameters as (name, value) rows."""
    items = [("state", row["state"]), ("status", row["status"]), ("role", row["role"])]
    if _present(row.get(R.PRESET)):
        items.append(("preset", row[R.PRESET]))
    items += [(name, row[col]) for col, name in METRICS if _present(row.get(col))]
    items += [(c.removeprefix("params_"), row[c]) for c in row.index
              if c.startswith("params_") and _present(row[c])]
    return pd.DataFrame({"name": [k for k, _ in items], "value": [_fmt(v) for _, v in items]})


def _fmt(value: Any) -> str:
    """Whole numbers with thousands separators, other floats to 5 significant digits."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.5g}"


def trial_row(df: pd.DataFrame, study: str, number: int) -> pd.Series:
    """The row of one trial; DashboardError when the study has no such trial."""
    match = df[(df["study"] == study) & (df["number"] == number)]
    if match.empty:
        raise DashboardError(f"study {study!r} has no trial {number}")
    return match.iloc[0]
