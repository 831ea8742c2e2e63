"""bench.dead_outputs on digits: the worst stored models, trained again with and without the
ReLU after the conv classifier."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import torch
from torch import nn

from bench import dead_outputs
from nas_space import build, get_space
from search import records as R


def squeeze_trial(width: float, acc: float, seed: int) -> optuna.trial.FrozenTrial:
    space = get_space("squeeze", in_channels=1, input_size=8, num_classes=10)
    spec = space.make({**space.defaults, "width": width, "depth": 2, "bn": True})
    return optuna.trial.create_trial(values=[acc, 1e5], user_attrs={
        R.ROLE: R.ROLE_SEARCH, R.STATUS: R.COMPLETE, R.VAL_ACC: acc, R.MACS: 100_000,
        R.PARAMS: sum(p.numel() for p in build(spec).parameters()), R.SEED: seed,
        R.SPEC: spec.to_json()})


def test_the_worst_models_are_retrained_with_and_without_the_relu(
        tmp_path: Path, results_page: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(study_name="spaces_compare-squeeze", storage=url,
                                directions=["maximize", "minimize"])
    study.add_trials([squeeze_trial(0.25, 0.9, 1), squeeze_trial(0.0625, 0.1, 2),
                      squeeze_trial(0.125, 0.3, 3)])
    assert dead_outputs.main(["--storage", url, "--dataset", "digits", "--budget", "smoke",
                              "--worst", "2"]) == 0
    text = results_page.read_text()
    assert "## Dead class outputs: the 2 worst models of the `squeeze` space" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "trial" not in line]
    assert [r.split(" | ")[0] for r in rows] == ["| 1", "| 2"]  # lowest stored accuracy first
    for row in rows:
        cells = row.strip("|").split(" | ")
        assert 0 <= float(cells[3]) <= 1 and 1 <= int(cells[4]) <= 10
        assert cells[5].endswith(" of 10") and 0 <= float(cells[6]) <= 1


def test_the_ablation_removes_only_the_conv_classifier_s_relu() -> None:
    space = get_space("squeeze", in_channels=1, input_size=8, num_classes=10)
    model = build(space.make({**space.defaults, "width": 0.25, "depth": 2}))
    assert isinstance(model.head.classifier[-1], nn.ReLU)
    relus = sum(isinstance(m, nn.ReLU) for m in model.modules())
    dead_outputs.without_relu(model)
    assert isinstance(model.head.classifier[-1], nn.Identity)
    assert sum(isinstance(m, nn.ReLU) for m in model.modules()) == relus - 1
    torch.manual_seed(0)
    assert (model.eval()(torch.randn(4, 1, 8, 8)) < 0).any()  # outputs may now be negative
    resnet = get_space("resnet", in_channels=1, input_size=8, num_classes=10)
    linear = build(resnet.make(resnet.defaults))
    before = [type(m) for m in linear.modules()]
    assert [type(m) for m in dead_outputs.without_relu(linear).modules()] == before


@pytest.mark.parametrize(("argv", "message"), [
    (["--variant", "vgg"], "--variant: 'vgg' is not a space of studies/spaces_compare.toml"),
    (["--worst", "0"], "--worst: must be >= 1"),
    ([], "spaces_compare-squeeze: no trained models stored"),
])
def test_bad_input_is_one_line(tmp_path: Path, argv: list[str], message: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'none.db'}"
    assert dead_outputs.main(["--storage", url, "--no-write", *argv]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
