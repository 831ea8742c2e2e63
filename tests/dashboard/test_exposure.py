"""The dashboard serves studies on loopback only, however it is started, and never shows a
database password: real servers started from a temporary folder, a real browser, and a
real PostgreSQL study."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Page

from bench.dashboard_server import free_port, serve
from bench.pgserver import LocalPostgres
from tests.dashboard.conftest import make_study
from tests.dashboard.test_browser import CHROMIUM, WAIT_MS, page  # noqa: F401

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"no chromium at {CHROMIUM} (apt-get install chromium)")


def listening(port: int) -> list[str]:
    """The local addresses listening on the TCP port."""
    rows = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout.splitlines()
    return [r.split()[3] for r in rows if r.split()[3].endswith(f":{port}")]


@pytest.fixture(scope="module")
def pg_study(postgres: LocalPostgres) -> str:
    url = postgres.createdb("dashboard_exposure")
    make_study(url, "fire-a", 20, seed=1)
    return url


def test_streamlit_run_from_another_folder_refuses_to_serve(
        tmp_path: Path, pg_study: str, postgres: LocalPostgres, page: Page) -> None:  # noqa: F811
    port = free_port()
    args = ["-m", "streamlit", "run", str(APP), "--server.port", str(port),
            "--server.headless", "true", "--", "--storage", pg_study]
    with serve(args, port, pg_study, tmp_path / "server.log", cwd=tmp_path) as url:
        addresses = listening(port)
        assert addresses and all(not a.startswith("127.") for a in addresses), addresses
        page.goto(url)
        page.get_by_text("would show your studies to other machines").wait_for(timeout=WAIT_MS)
        body = page.locator("body").inner_text()
        assert "--server.address 127.0.0.1" in body
        assert "fire-a" not in body and postgres.password not in body
        assert page.locator(".js-plotly-plot").count() == 0


def test_python_m_dashboard_serves_on_loopback_without_the_password(
        tmp_path: Path, pg_study: str, postgres: LocalPostgres, page: Page) -> None:  # noqa: F811
    port = free_port()
    args = ["-m", "dashboard", "--port", str(port), "--storage", pg_study, "--study", "fire-a"]
    with serve(args, port, pg_study, tmp_path / "server.log", cwd=tmp_path) as url:
        assert listening(port) == [f"127.0.0.1:{port}"]
        page.goto(url)
        page.wait_for_selector(".js-plotly-plot", timeout=WAIT_MS)
        body = page.locator("body").inner_text()
        assert "fire-a" in body and "***" in body
        assert postgres.password not in body and postgres.password not in page.content()
        ps = subprocess.run(["ps", "-eww", "-o", "args"], capture_output=True, text=True).stdout
        assert postgres.password not in ps
