"""Full training: a run killed with SIGKILL and resumed ends bit-identical to one never
interrupted; checkpoints load without unpickling objects and belong to their run."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from search.data import Dataset
from search.fulltrain import CHECKPOINT, CheckpointError, FullRecipe, train_full
from search.train import EXIT_USAGE, main
from search.weights import read_file
from tests.exported import digits_spec

ROOT = Path(__file__).resolve().parents[2]
EPOCHS = 4


def bundle_dir(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "config.json").write_text(digits_spec(0.5).to_json())
    return path


def command(out: Path) -> list[str]:
    return [sys.executable, "-m", "search.train", "--config", str(out / "config.json"),
            "--dataset", "digits", "--epochs", str(EPOCHS), "--out", str(out),
            "--threads", "1", "--seed", "3", "--quiet"]


def checkpoint_epoch(path: Path) -> int:
    try:
        return int(torch.load(path, weights_only=True)["epoch"])
    except (OSError, RuntimeError, EOFError, KeyError):
        return 0


def test_a_run_killed_after_epoch_1_resumes_to_the_same_weights(
        tmp_path: Path, digits: Dataset) -> None:
    out = bundle_dir(tmp_path / "killed")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(command(out), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 600
    while checkpoint_epoch(out / CHECKPOINT) < 1:
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    proc.stdout.close()
    killed_at = checkpoint_epoch(out / CHECKPOINT)
    assert proc.returncode == -signal.SIGKILL and 1 <= killed_at < EPOCHS
    assert not (out / "weights.safetensors").exists()

    done = subprocess.run(command(out), cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert f"resuming from the checkpoint after epoch {killed_at} of {EPOCHS}" in done.stdout
    resumed = read_file(out / "weights.safetensors")

    torch.set_num_threads(1)
    model, result = train_full(digits_spec(0.5), digits, FullRecipe(EPOCHS, seed=3),
                               tmp_path / "straight", progress=False)
    straight = {k: v.cpu() for k, v in model.state_dict().items()}
    assert resumed.keys() == straight.keys()
    assert all(torch.equal(resumed[k], straight[k]) for k in straight)  # bit-identical
    assert result.epochs == EPOCHS and len(result.history) == EPOCHS


def test_checkpoints_of_another_run_or_with_pickled_objects_are_refused(
        tmp_path: Path, digits: Dataset) -> None:
    out = tmp_path / "b"
    train_full(digits_spec(0.25), digits, FullRecipe(1), out, progress=False)
    with pytest.raises(CheckpointError, match=r"made for another run .*epochs"):
        train_full(digits_spec(0.25), digits, FullRecipe(2), out, progress=False)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self) -> tuple:
            return (open, (str(marker), "w"))

    torch.save({"key": Evil()}, out / CHECKPOINT, pickle_module=pickle)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        train_full(digits_spec(0.25), digits, FullRecipe(1), out, progress=False)
    assert not marker.exists()


def test_full_training_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = bundle_dir(tmp_path / "c")
    base = ["--config", str(out / "config.json"), "--dataset", "digits", "--quiet"]
    assert main([*base, "--epochs", "1.5", "--out", str(out)]) == EXIT_USAGE
    assert "whole number of epochs" in capsys.readouterr().err
    assert main([*base, "--epochs", "2", "--out", str(out), "--resume"]) == EXIT_USAGE
    assert "--resume: there is no checkpoint" in capsys.readouterr().err
    assert main([*base, "--epochs", "1", "--resume"]) == EXIT_USAGE
    assert "only with --out" in capsys.readouterr().err


def test_augment_picks_the_full_trainings_augmentation(tmp_path: Path) -> None:
    """--augment with --out is the recipe's: `none` trains on the images as they are
    (other weights than the default crop+flip) and the model card says so."""
    cards, weights = {}, {}
    for mode in ("none", None):
        out = bundle_dir(tmp_path / str(mode))
        extra = ["--augment", mode] if mode else []
        assert main(["--config", str(out / "config.json"), "--dataset", "digits", "--epochs",
                     "1", "--out", str(out), "--quiet", "--threads", "1", *extra]) == 0
        cards[mode] = json.loads((out / "card.json").read_text())["training"]["recipe"]
        weights[mode] = read_file(out / "weights.safetensors")
    assert "no augmentation" in cards["none"] and "crops" not in cards["none"]
    assert "random crops (shifts up to 1/8) and flips" in cards[None]
    assert weights["none"].keys() == weights[None].keys()
    assert not all(torch.equal(weights["none"][k], weights[None][k]) for k in weights[None])
