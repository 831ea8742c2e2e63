"""bench.export_train on a real study in the default storage kind (a journal file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.export_train import main
from search.storage import file_path
from tests.exported import COMPLETE, make_export_study


def test_exports_and_trains_without_touching_the_live_study(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url, _ = make_export_study(tmp_path, journal=True)
    live = file_path(url)
    assert live is not None and live.is_file()
    before = live.read_bytes()
    out = tmp_path / "bundle"
    assert main(["--storage", url, "--study", "exp", "--pick", "max-acc", "--epochs", "1",
                 "--max-params", "10000000", "--out", str(out), "--no-write"]) == 0
    card = json.loads((out / "card.json").read_text())
    assert card["trial"] == COMPLETE and card["searched_trials"] == 3  # two complete, one stopped
    assert card["storage"] == url and url in card["export_command"]
    assert 0.0 <= card["training"]["test_acc"] <= 1.0 and card["training"]["epochs"] == 1
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and "load average" in printed
    assert "## Export and full training, the `max-acc` pick" in printed
    assert live.read_bytes() == before  # the benchmark read a copy
