"""The trial page's export button, driven through AppTest: a zip whose model.py loads."""

from __future__ import annotations

import importlib.util
import io
import zipfile
from pathlib import Path

import optuna
import pytest
import torch
from streamlit.testing.v1 import AppTest

from nas_space import build
from nas_space.config import read_config
from search import weights
from tests.exported import COMPLETE, NO_WEIGHTS, make_export_study

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture(scope="module")
def export_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return make_export_study(tmp_path_factory.mktemp("dash-export"))[0]


def detail(url: str, number: int) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.session_state["storage_url"] = url
    at.session_state["page"] = "Trial detail"
    at.run()
    at.selectbox(key="detail_trial").set_value(number).run()
    assert not at.exception
    return at


def test_export_button_gives_a_zip_whose_model_py_loads(export_db: str, tmp_path: Path) -> None:
    at = detail(export_db, COMPLETE)
    assert not [b for b in at.download_button if b.label == "Download bundle (zip)"]
    at.button(key="page_export").click().run()
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    assert [b.label for b in at.download_button][-1] == "Download bundle (zip)"
    held = at.session_state["page_bundle_zip"]
    assert (held["study"], held["number"]) == ("exp", COMPLETE) and not held["note"]
    with zipfile.ZipFile(io.BytesIO(held["zip"])) as z:
        names = z.namelist()
        z.extractall(tmp_path)
    folder = tmp_path / "exp-trial-0"
    assert {f"exp-trial-0/{n}" for n in ("model.py", "weights.safetensors", "model.onnx",
                                         "model.pt2", "config.json", "README.md")} <= set(names)
    spec = importlib.util.spec_from_file_location("dash_model", folder / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    net = module.load(folder)
    study = optuna.load_study(study_name="exp", storage=export_db)
    ref = build(read_config(folder / "config.json"))
    ref.load_state_dict(weights.load(study, study.trials[COMPLETE]))
    x = torch.rand(2, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(net(x), ref.eval()(x), atol=1e-5)


def test_export_without_weights_explains_in_one_line(export_db: str) -> None:
    at = detail(export_db, NO_WEIGHTS)
    at.button(key="page_export").click().run()
    assert not at.exception
    assert any("has no stored weights" in i.value for i in at.info)
