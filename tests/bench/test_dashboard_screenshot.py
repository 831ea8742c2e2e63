"""bench.dashboard_screenshot: the real app in Debian's chromium, saved as a PNG."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.dashboard_screenshot import main
from bench.dashboard_server import CHROMIUM
from tests.dashboard.conftest import make_study

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"no chromium at {CHROMIUM} (apt-get install chromium)")


def test_saves_the_pareto_page_of_a_study(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    make_study(url, "fire-a", 30, seed=1)
    out = tmp_path / "img" / "pareto.png"
    assert main(["--storage", url, "--study", "fire-a", "--out", str(out),
                 "--width", "1000", "--height", "700"]) == 0
    png = out.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert int.from_bytes(png[16:20], "big") == 1000  # the window's width
    assert f"wrote {out}" in capsys.readouterr().out
