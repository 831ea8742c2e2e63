"""python -m search.train: a real run in a subprocess, and every bad input's one-line exit."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nas_space import get_preset
from search.train import EXIT_NONFINITE, EXIT_USAGE, main, parser

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "search.train", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=False)


def digits_spec(tmp_path: Path, **changes: object) -> Path:
    spec = get_preset("squeezenet1_1", in_channels=1, input_size=8, num_classes=10, width=0.5)
    data = {**json.loads(spec.to_json()), "bn": True, **changes}
    path = tmp_path / "net.json"
    path.write_text(json.dumps(data))
    return path


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


def test_trains_a_config_on_digits_in_a_subprocess(tmp_path: Path) -> None:
    proc = cli("--config", str(digits_spec(tmp_path)), "--dataset", "digits", "--images", "3000",
               "--evals", "2", "--seed", "1")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "MFLOPs (multiply-adds)" in out and "params" in out
    assert "augment none" in out and "3,000 training images = 2.50 epochs = 47 steps of 64" in out
    assert re.search(r"1,500 images\s+val_acc 0\.\d{4}", out), out
    numbers = r"val_acc (0\.\d+)\s+test_acc (0\.\d+)\s+mflops ([\d.]+)\s+params (\d+)"
    final = re.search(numbers, out)
    assert final, out
    val, test, mflops, params = (float(g) for g in final.groups())
    assert val >= 0.4 and test >= 0.4 and mflops > 0 and params > 1000  # chance: 0.1


def test_a_tampered_config_exits_2_in_a_subprocess(tmp_path: Path) -> None:
    path = digits_spec(tmp_path)
    path.write_text(path.read_text().replace('"blocks"', '"blokcs"'))
    proc = cli("--config", str(path), "--dataset", "digits", "--images", "100")
    assert proc.returncode == EXIT_USAGE
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: blokcs: unknown key; valid keys:")


@pytest.mark.parametrize(("change", "message"), [
    ("not json {", "spec: not valid JSON"),
    ({"num_classes": "ten"}, "num_classes: expected an integer"),
    ({"act": "gelu"}, "act: 'gelu' is not one of relu, relu6"),
    ({"in_channels": 3}, "config: the spec is for 3x8x8 inputs and 10 classes, but digits has"),
])
def test_bad_configs_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          change: str | dict[str, object], message: str) -> None:
    if isinstance(change, str):
        path = tmp_path / "net.json"
        path.write_text(change)
    else:
        path = digits_spec(tmp_path, **change)
    assert main(["--config", str(path), "--dataset", "digits", "--quiet"]) == EXIT_USAGE
    assert message in one_line_error(capsys)


def test_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(tmp_path / "none.json"), "--dataset", "digits"]) == EXIT_USAGE
    assert "config: cannot read" in one_line_error(capsys)


def test_unknown_names_list_the_valid_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--preset", "squeezenet1_1", "--dataset", "imagenet"]) == EXIT_USAGE
    err = one_line_error(capsys)
    assert "unknown dataset 'imagenet'; valid: cifar10, digits, fashion-mnist" in err
    assert main(["--preset", "alexnet", "--dataset", "digits"]) == EXIT_USAGE
    assert re.search(r"unknown preset 'alexnet'; valid: .*squeezenet1_1", one_line_error(capsys))


def test_missing_data_says_how_to_get_it(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--preset", "squeezenet1_1", "--data-root", str(tmp_path / "nowhere")]
    assert main(argv) == EXIT_USAGE
    err = one_line_error(capsys)
    assert "no such directory" in err and "dataset-fashion-mnist" in err and "--download" in err


def test_a_nan_loss_exits_with_a_one_line_message(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--preset", "squeezenet1_1", "--width", "0.25", "--dataset", "digits",
            "--images", "2000", "--lr", "1e6", "--quiet"]
    assert main(argv) == EXIT_NONFINITE
    assert "non-finite loss" in one_line_error(capsys)


@pytest.mark.parametrize(("argv", "message"), [
    (["--images", "0"], "budget: --epochs/--images give 0 training images"),
    (["--evals", "0"], "--evals: must be >= 1"),
    (["--width", "-1"], "width: must be > 0"),
    (["--batch-size", "0"], "batch_size: must be an integer >= 1"),
    (["--device", "tpu"], "device: must be auto, cpu or cuda"),
])
def test_bad_numbers_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str],
                           message: str) -> None:
    assert main(["--preset", "squeezenet1_1", "--dataset", "digits", *argv]) == EXIT_USAGE
    assert message in one_line_error(capsys)


def test_help_explains_the_options() -> None:
    text = parser().format_help()
    for flag in ("--preset", "--config", "--dataset", "--epochs", "--width", "--data-root",
                 "--seed", "--device", "--download", "--augment", "--image-size"):
        assert flag in text
    assert "dataset-fashion-mnist" in text and "squeezenet1_1" in text
