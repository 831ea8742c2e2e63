"""Trained weights of a study's trials, kept with Optuna's artifact API as safetensors files.

The artifact store is a directory (Optuna's FileSystemArtifactStore) that every worker
and every exporter of the study can reach; its path is recorded in the study's user
attribute WEIGHTS_STORE, and each trial's weights are an artifact of that trial, so the
storage itself says which file holds which trial's weights. Weights are safetensors:
reading them never unpickles anything.

Disk use is bounded: after each save, only the weights of trials on the first KEEP_FRONTS
non-dominated fronts (validation accuracy up, MACs down) stay in the store.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import optuna
import torch
from optuna.artifacts import FileSystemArtifactStore, download_artifact, get_all_artifact_meta
from optuna.artifacts import upload_artifact as _upload
from optuna.artifacts.exceptions import ArtifactNotFound
from optuna.trial import FrozenTrial, TrialState
from safetensors import SafetensorError
from safetensors.torch import load as load_bytes
from safetensors.torch import save_file

from search import records as R
from search.pareto import pareto_mask

WEIGHTS_STORE = "weights_store"
FILE_NAME = "weights.safetensors"
MIME = "application/x-safetensors"
#: Weights survive for the trials on this many non-dominated fronts (the front and the
#: near-front); others are removed from the store when a new trial is saved.
KEEP_FRONTS = 2
#: Optuna records each artifact as the system attribute "artifacts:<artifact id>".
ARTIFACT_PREFIX = "artifacts:"

warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


class WeightsError(Exception):
    """Weights that are absent or unreadable; the message is one line."""


def tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A model's state as contiguous CPU tensors, ready for safetensors."""
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}


def store_root(study: optuna.Study, root: str | Path | None = None) -> Path | None:
    """The artifact directory: `root` if given, else the one the study recorded."""
    if root is not None:
        return Path(root)
    recorded = study.user_attrs.get(WEIGHTS_STORE)
    return Path(recorded) if recorded else None


def save(study: optuna.Study, trial: optuna.Trial, model: torch.nn.Module, root: Path) -> None:
    """Upload a trained trial's weights to the store at `root`, then bound the store."""
    root.mkdir(parents=True, exist_ok=True)
    if study.user_attrs.get(WEIGHTS_STORE) != str(root):
        study.set_user_attr(WEIGHTS_STORE, str(root))
    store = FileSystemArtifactStore(root)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / FILE_NAME
        save_file(tensors(model), str(path))
        _upload(artifact_store=store, file_path=str(path), study_or_trial=trial,
                mimetype=MIME)
    prune(study, root, keep={trial.number})


def _artifact_id(study: optuna.Study, trial: FrozenTrial) -> str | None:
    metas = get_all_artifact_meta(trial, storage=study._storage)
    ids = [m.artifact_id for m in metas if m.filename == FILE_NAME]
    return ids[-1] if ids else None


def load(study: optuna.Study, trial: FrozenTrial,
         root: str | Path | None = None) -> dict[str, torch.Tensor] | None:
    """The trial's stored weights; None when it has none (never saved, or pruned).

    WeightsError when a file is there but is not a safetensors file (it is never unpickled).
    """
    directory = store_root(study, root)
    artifact = _artifact_id(study, trial)
    if directory is None or artifact is None or not (directory / artifact).exists():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / FILE_NAME
        download_artifact(artifact_store=FileSystemArtifactStore(directory),
                          file_path=str(path), artifact_id=artifact)
        return read_file(path)


def read_file(path: Path) -> dict[str, torch.Tensor]:
    """Tensors from a safetensors file; WeightsError (one line) for anything else."""
    try:
        return load_bytes(path.read_bytes())
    except (SafetensorError, OSError, ValueError) as e:
        raise WeightsError(f"{path.name} is not a readable safetensors file "
                           f"({str(e).splitlines()[0] if str(e) else type(e).__name__}); "
                           "it was not loaded") from None


def kept_numbers(study: optuna.Study) -> set[int]:
    """Trials whose weights the store keeps: those on the first KEEP_FRONTS fronts."""
    trials = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
              if t.user_attrs.get(R.STATUS) == R.COMPLETE and R.VAL_ACC in t.user_attrs]
    kept: set[int] = set()
    for _ in range(KEEP_FRONTS):
        if not trials:
            break
        mask = pareto_mask([[t.user_attrs[R.VAL_ACC], t.user_attrs[R.MACS]] for t in trials],
                           ["maximize", "minimize"])
        kept |= {t.number for t, m in zip(trials, mask, strict=True) if m}
        trials = [t for t, m in zip(trials, mask, strict=True) if not m]
    return kept


def _weight_ids(t: FrozenTrial) -> list[str]:
    """The artifact ids of a trial's weights, from Optuna's artifact records in system_attrs."""
    ids = []
    for key, value in t.system_attrs.items():
        if key.startswith(ARTIFACT_PREFIX) and isinstance(value, str) and FILE_NAME in value:
            ids.append(key[len(ARTIFACT_PREFIX):])
    return ids


def prune(study: optuna.Study, root: Path, keep: set[int]) -> int:
    """Remove the weights of trials off the kept fronts; returns how many files went."""
    present = {p.name for p in root.iterdir()} if root.is_dir() else set()
    kept = kept_numbers(study) | keep
    removed = 0
    for t in study.get_trials(deepcopy=False):
        for artifact in _weight_ids(t):
            if t.number in kept or artifact not in present:
                continue
            try:
                FileSystemArtifactStore(root).remove(artifact)
                removed += 1
            except (OSError, ArtifactNotFound):  # another worker removed it first
                pass
    return removed
