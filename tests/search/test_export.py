"""python -m search.export on a real study: the bundle, the picks, and every refusal."""

from __future__ import annotations

import importlib.util
import json
import pickle
from pathlib import Path

import optuna
import pytest
import torch

from nas_space import build
from search import bundle, weights
from search.export import EXIT_USAGE, main
from search.picks import PickError, knee, pick
from search.report import Point
from tests.exported import COMPLETE, FAILED, NO_WEIGHTS, PRUNED, make_export_study


@pytest.fixture(scope="module")
def study_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    return make_export_study(tmp_path_factory.mktemp("export"))


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


def load_model_py(folder: Path) -> torch.nn.Module:
    spec = importlib.util.spec_from_file_location("exported_model", folder / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load(folder)


def test_exports_a_trial_with_its_stored_weights(study_db: tuple[str, Path], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    url, _ = study_db
    out = tmp_path / "bundle"
    assert main(["--study", "exp", "--storage", url, "--trial", str(COMPLETE),
                 "--out", str(out)]) == 0
    assert "trial 0 of exp" in capsys.readouterr().out
    assert {"weights.safetensors", "model.onnx", "model.pt2"} <= {p.name for p in out.iterdir()}
    study = optuna.load_study(study_name="exp", storage=url)
    stored = weights.load(study, study.trials[COMPLETE])
    spec, state, card = bundle.read(out)
    assert state is not None and all(torch.equal(state[k], stored[k]) for k in stored)
    net, ref = load_model_py(out), build(spec)
    ref.load_state_dict(stored)
    x = torch.rand(3, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(net(x), ref.eval()(x), atol=1e-5)
    assert card["study"] == "exp" and card["trial"] == COMPLETE and card["val_acc"] == 0.9
    assert 0.0 <= card["test_acc"] <= 1.0  # measured on digits' test split at export
    assert "--trial 0" in card["export_command"]
    assert "python -m search.run --dataset digits" in (out / "README.md").read_text()


def test_a_trial_without_weights_says_so_in_one_line(study_db: tuple[str, Path],
                                                     tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    url, _ = study_db
    out = tmp_path / "bundle"
    assert main(["--study", "exp", "--storage", url, "--trial", str(NO_WEIGHTS),
                 "--out", str(out), "--no-test"]) == 0
    notes = [x for x in capsys.readouterr().out.splitlines() if x.startswith("note:")]
    assert len(notes) == 1 and "has no stored weights" in notes[0] and "--retrain" in notes[0]
    assert {p.name for p in out.iterdir()} == {"config.json", "model.py", "card.json",
                                               "README.md"}


def test_retrain_trains_the_missing_weights(study_db: tuple[str, Path], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    url, _ = study_db
    out = tmp_path / "bundle"
    assert main(["--study", "exp", "--storage", url, "--trial", str(NO_WEIGHTS), "--out",
                 str(out), "--retrain", "1", "--quiet"]) == 0
    assert "trained 1 epochs" in capsys.readouterr().out
    card = json.loads((out / "card.json").read_text())
    assert card["training"]["epochs"] == 1 and (out / "weights.safetensors").exists()
    assert load_model_py(out) is not None


@pytest.mark.parametrize(("args", "message"), [
    (["--trial", str(FAILED)], "trial 2 failed (non-finite loss after 300 images)"),
    (["--trial", str(PRUNED)], "trial 3 was stopped early (pruned)"),
    (["--trial", "99"], "--trial: study 'exp' has no trial 99"),
    (["--pick", "knee", "--max-params", "10"], "the study's front has no trained member"),
    (["--pick", "max-acc-under-mflops"], "needs a value"),
    (["--pick", "steepest"], "unknown rule 'steepest'"),
], ids=["failed", "pruned", "nonexistent", "no-member", "no-value", "bad-rule"])
def test_refusals_are_one_line(study_db: tuple[str, Path], tmp_path: Path,
                               capsys: pytest.CaptureFixture[str], args: list[str],
                               message: str) -> None:
    url, _ = study_db
    code = main(["--study", "exp", "--storage", url, *args, "--out", str(tmp_path / "b")])
    assert code == EXIT_USAGE
    assert message in one_line_error(capsys)
    assert not (tmp_path / "b").exists()


def test_missing_study_and_storage(study_db: tuple[str, Path], tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    url, _ = study_db
    assert main(["--study", "nope", "--storage", url, "--trial", "0",
                 "--out", str(tmp_path)]) == EXIT_USAGE
    assert "no study 'nope'" in one_line_error(capsys)
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    assert main(["--study", "x", "--storage", missing, "--trial", "0",
                 "--out", str(tmp_path)]) == EXIT_USAGE
    assert "no study database" in one_line_error(capsys)


class Evil:
    """A pickle that creates a file when it is unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (open, (str(self.marker), "w"))


def test_a_malicious_pickle_in_place_of_weights_never_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url, root = make_export_study(tmp_path / "study")
    marker = tmp_path / "pwned"
    files = [p for p in root.iterdir() if p.is_file()]
    assert len(files) == 1  # trial 0's weights
    files[0].write_bytes(pickle.dumps(Evil(marker)))
    pickle.loads(files[0].read_bytes()).close()  # the payload does run when unpickled ...
    assert marker.exists()
    marker.unlink()
    code = main(["--study", "exp", "--storage", url, "--trial", "0", "--out",
                 str(tmp_path / "b"), "--no-test"])
    assert code == EXIT_USAGE  # ... but export never unpickles it
    assert "is not a readable safetensors file" in one_line_error(capsys)
    assert not marker.exists()


def points(*rows: tuple[float, int, int]) -> list[Point]:
    return [Point(i, acc, macs, params, "search", None) for i, (acc, macs, params)
            in enumerate(rows)]


def test_knee_is_farthest_from_the_chord() -> None:
    front = points((0.70, 10**5, 1_000), (0.86, 10**6, 5_000), (0.88, 10**7, 50_000),
                   (0.89, 10**8, 500_000))
    assert knee(front).number == 1  # big gain for one decade, then little
    assert knee(front[:2]).number == 1 and knee(front[:1]).number == 0
    assert pick(front, "knee", max_params=100_000).number == 1
    # a front whose accuracy comes only at the expensive end: the members below the chord
    # (here at chance) are never the knee, and with none above it the knee is the best
    late = points((0.10, 10**5, 1_000), (0.11, 10**7, 50_000), (0.85, 10**8, 500_000))
    assert knee(late).number == 2
    mixed = points((0.10, 10**5, 1_000), (0.11, 10**7, 50_000), (0.80, 10**7 + 1, 60_000),
                   (0.85, 10**8, 500_000))
    assert knee(mixed).number == 2
    assert pick(front, "max-acc").number == 3
    assert pick(front, "max-acc-under-mflops", 10).number == 2
    assert pick(front, "min-mflops-over-acc", 0.87).number == 2
    with pytest.raises(PickError, match=r"no front member has at most 0\.01 MFLOPs"):
        pick(front, "max-acc-under-mflops", 0.01)
