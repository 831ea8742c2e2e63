"""dashboard.detail: block tables that sum to the stored cost, curves and metrics."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from dashboard import data
from dashboard import detail as D
from nas_space import cost, get_preset, list_presets
from search import records as R


def test_block_table_sums_equal_each_stored_trial(populated_db: str) -> None:
    df = data.load_trials(data.connect(populated_db), "fire-a")
    checked = 0
    for _, row in df[df[R.SPEC].notna()].iterrows():
        totals = D.table_totals(D.block_table(D.parse_spec(row)))
        assert totals == {"macs": int(row[R.MACS]), "params": int(row[R.PARAMS])}, row["number"]
        checked += 1
    assert checked > 50


@pytest.mark.parametrize("name", list_presets())
def test_block_table_sums_equal_cost_for_every_preset(name: str) -> None:
    spec = get_preset(name, in_channels=1, input_size=28, num_classes=10)
    table = D.block_table(spec)
    c = cost(spec)
    assert D.table_totals(table) == {"macs": c.macs, "params": c.params}
    assert table["part"].iloc[0] == "stem" and table["part"].iloc[-1] == "head"
    assert len(table) == len(spec.blocks) + 2


def test_fire_rows_show_squeeze_and_expand_split() -> None:
    spec = get_preset("squeezenet1_0")
    table = D.block_table(spec).set_index("part")
    first, last = table.loc["blocks[0]"], table.loc["blocks[7]"]
    assert (first["c_in"], first["c_out"], first["squeeze"]) == (96, 128, 16)
    assert (first["e1x1"], first["e3x3"]) == (64, 64)
    assert (last["squeeze"], last["e1x1"], last["e3x3"], last["pool"]) == (64, 256, 256,
                                                                           "max_ceil")
    assert table.loc["stem", "stride"] == 2 and table.loc["stem", "size_out"] == 109
    assert "expand3x3 3x3 16→64" in first["layers"]


def test_grouped_fire_split() -> None:
    base = get_preset("squeezenet1_0", in_channels=1, input_size=28, num_classes=10)
    blocks = tuple(dataclasses.replace(b, pct3x3=0.25, groups=4) for b in base.blocks)
    table = D.block_table(dataclasses.replace(base, blocks=blocks)).set_index("part")
    assert (table.loc["blocks[2]", "e1x1"], table.loc["blocks[2]", "e3x3"]) == (192, 64)
    assert table.loc["blocks[2]", "groups"] == 4
    assert "/g4" in table.loc["blocks[2]", "layers"]


def test_learning_curve_skips_malformed_rungs() -> None:
    curve = D.learning_curve([[1000, 0.5], [2000, "x"], "bad", [3000, 0.7, 1], [4000, 0.8]])
    assert curve.values.tolist() == [[1000.0, 0.5], [4000.0, 0.8]]
    assert D.learning_curve(None).empty


def test_bad_spec_is_a_one_line_message() -> None:
    row = pd.Series({"number": 7, R.SPEC: '{"stem": {"w_out": 8}, "blocks": [], "oops": 1}'})
    with pytest.raises(data.DashboardError, match="trial 7: the stored spec is invalid"):
        D.parse_spec(row)
    with pytest.raises(data.DashboardError, match="trial 7 has no stored architecture spec"):
        D.parse_spec(pd.Series({"number": 7, R.SPEC: None}))


def test_metrics_and_trial_lookup(populated_db: str) -> None:
    df = data.load_trials(data.connect(populated_db), "fire-a")
    row = D.trial_row(df, "fire-a", 0)
    table = D.metrics(row).set_index("name")["value"]
    assert table["preset"] == "squeezenet1_0" and "validation accuracy" in table
    assert "MFLOPs (multiply-adds)" in table
    with pytest.raises(data.DashboardError, match="has no trial 999"):
        D.trial_row(df, "fire-a", 999)
