"""A small real study whose trials carry stored weights, for the export tests (search and
dashboard): digits-sized networks, weights saved through search.weights like the search does."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import optuna
import torch
from optuna.trial import TrialState

from nas_space import ArchSpec, build, cost, get_preset
from search import records as R
from search import weights
from search.storage import open_storage
from search.trainer import recalibrate_bn, seeded

#: trial number -> what it is, in the study that make_export_study writes.
COMPLETE, NO_WEIGHTS, FAILED, PRUNED = 0, 1, 2, 3


def digits_spec(width: float = 0.5) -> ArchSpec:
    spec = get_preset("squeezenet1_1", in_channels=1, input_size=8, num_classes=10, width=width)
    return dataclasses.replace(spec, bn=True)


def calibrated(spec: ArchSpec, seed: int = 0) -> torch.nn.Module:
    """build(spec) with BatchNorm statistics taken from random images: sane output scales."""
    with seeded(seed):
        model = build(spec)
        images = torch.randint(0, 256, (64, spec.in_channels, spec.input_size,
                                        spec.input_size), dtype=torch.uint8)
    recalibrate_bn(model, images)
    return model.eval()


def _describe(trial: optuna.Trial, spec: ArchSpec, acc: float) -> None:
    c = cost(spec)
    attrs = {R.SPEC: spec.to_json(), R.DIGEST: spec.digest(), R.MACS: c.macs,
             R.PARAMS: c.params, R.ACTIVATIONS: c.activations, R.SIZE_BYTES: c.size_bytes,
             R.ROLE: R.ROLE_SEARCH, R.SEED: trial.number, R.VAL_ACC: acc,
             R.RUNGS: [[600, acc]]}
    for key, value in attrs.items():
        trial.set_user_attr(key, value)


def make_export_study(path: Path, name: str = "exp", *, journal: bool = False
                      ) -> tuple[str, Path]:
    """A SQLite (or journal-file) study on digits: trial 0 complete with weights, 1 complete
    without, 2 failed, 3 pruned. Returns (storage URL, artifact directory)."""
    url = f"journal://{path / 'studies.log'}" if journal else f"sqlite:///{path / 'studies.db'}"
    root = path / "artifacts"
    study = optuna.create_study(storage=open_storage(url), study_name=name,
                                directions=["maximize", "minimize"])
    for key, value in {R.OBJECTIVES: ["val_acc", "macs"], R.DATASET: "digits", R.BUDGET: 600,
                       R.COMMAND: "python -m search.run --dataset digits"}.items():
        study.set_user_attr(key, value)
    for number, width, acc in ((COMPLETE, 0.5, 0.9), (NO_WEIGHTS, 0.25, 0.8),
                               (FAILED, 0.5, 0.5), (PRUNED, 0.5, 0.4)):
        spec = digits_spec(width)
        trial = study.ask()
        _describe(trial, spec, acc)
        if number == COMPLETE:
            weights.save(study, trial, calibrated(spec), root)
        if number in (COMPLETE, NO_WEIGHTS):
            trial.set_user_attr(R.STATUS, R.COMPLETE)
            study.tell(trial, [acc, float(cost(spec).macs)])
        elif number == FAILED:
            trial.set_user_attr(R.STATUS, R.FAILED)
            trial.set_user_attr(R.FAIL_REASON, "non-finite loss after 300 images")
            study.tell(trial, state=TrialState.FAIL)
        else:
            trial.set_user_attr(R.STATUS, R.STOPPED)
            study.tell(trial, state=TrialState.PRUNED)
    return url, root
