"""Baselines: BatchNorm variants when a study fixes bn = true, and equal treatment."""

from __future__ import annotations

import json

import optuna
import pytest

from nas_space import ArchSpec, cost, get_preset
from search import records as R
from search.baselines import BN_SUFFIX, PRESETS, available_baselines, baseline_spec
from search.report import baseline_table, dominated_baselines

SHAPE = (1, 28, 10)


def test_bn_variants_join_only_when_the_study_fixes_bn() -> None:
    assert available_baselines() == available_baselines({"bn": False}) == list(PRESETS)
    with_bn = available_baselines({"bn": True})
    paper = [p for p in PRESETS if not get_preset(p).bn]
    assert paper == ["squeezenet1_0", "squeezenet1_1", "squeezenet1_0_simple_bypass"]
    assert with_bn == list(PRESETS) + [p + BN_SUFFIX for p in paper]


@pytest.mark.parametrize("name", ["squeezenet1_0", "squeezenet1_1",
                                  "squeezenet1_0_simple_bypass"])
def test_a_bn_variant_is_the_paper_net_with_batchnorm(name: str) -> None:
    plain, width = baseline_spec(name, SHAPE, 5.0)
    bn, bn_width = baseline_spec(name + BN_SUFFIX, SHAPE, 5.0)
    assert (plain.bn, bn.bn, bn_width) == (False, True, width)
    assert bn.blocks == plain.blocks and bn.stem == plain.stem
    assert cost(bn).macs == cost(plain).macs and cost(bn).params > cost(plain).params


def _trial(acc: float, macs: int, bn: bool, preset: str | None = None) -> optuna.trial.FrozenTrial:
    spec = get_preset("squeezenet1_1", in_channels=1, input_size=28, num_classes=10,
                      width=0.25)
    spec_json = json.dumps({**json.loads(spec.to_json()), "bn": bn})
    attrs = {R.ROLE: R.ROLE_BASELINE if preset else R.ROLE_SEARCH, R.STATUS: R.COMPLETE,
             R.VAL_ACC: acc, R.MACS: macs, R.PARAMS: 1000, R.SPEC: spec_json}
    if preset:
        attrs[R.PRESET] = preset
    return optuna.trial.create_trial(values=[acc, macs], user_attrs=attrs)


def test_the_report_counts_only_dominance_under_equal_treatment() -> None:
    study = optuna.create_study(directions=["maximize", "minimize"])
    study.add_trials([
        _trial(0.80, 2_000_000, False, "squeezenet1_0"),
        _trial(0.85, 2_000_000, True, "squeezenet1_0+bn"),
        _trial(0.95, 9_000_000, True, "resnet18"),
        _trial(0.86, 1_000_000, True),  # the searched trial, with BN
    ])
    rows = {b.preset: d for b, d in dominated_baselines(study)}
    assert rows["squeezenet1_0+bn"] is not None and rows["squeezenet1_0+bn"].number == 3
    assert rows["squeezenet1_0"] is None and rows["resnet18"] is None
    anyhow = {b.preset: d for b, d in dominated_baselines(study, equal_treatment=False)}
    assert anyhow["squeezenet1_0"] is not None
    table = baseline_table(study)
    assert "squeezenet1_0 (0.8000, 2.00 MFLOPs, no BN): not dominated under equal treatment " \
           "(only by trial 3, with BN)" in table
    assert "squeezenet1_0+bn (0.8500, 2.00 MFLOPs, with BN): dominated by trial 3" in table
    assert "resnet18 (0.9500, 9.00 MFLOPs, with BN): not dominated" in table
    assert table.endswith("the search dominates 1 of 3 baselines: squeezenet1_0+bn")


def test_a_bn_study_trains_the_bn_variants(bn_study: tuple[str, str]) -> None:
    url, out = bn_study
    trials = optuna.load_study(study_name="squeeze-digits", storage=url).get_trials()
    baselines = {t.user_attrs[R.PRESET]: t for t in trials
                 if t.user_attrs.get(R.ROLE) == R.ROLE_BASELINE}
    assert sorted(baselines) == sorted(available_baselines({"bn": True}))
    for name, t in baselines.items():
        assert t.user_attrs[R.STATUS] == R.COMPLETE, name
        spec = ArchSpec.from_json(t.user_attrs[R.SPEC])
        assert spec.bn == (name.endswith(BN_SUFFIX) or get_preset(name).bn), name
    assert "squeezenet1_0+bn (" in out and "squeezenet1_0 (" in out
    assert "under equal treatment (same budget, recipe and BatchNorm setting)" in out
