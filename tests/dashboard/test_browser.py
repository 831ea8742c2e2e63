"""The real app in a real browser: `streamlit run dashboard/app.py` driven by headless chromium."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, sync_playwright

from bench.dashboard_server import CHROMIUM, CHROMIUM_ARGS, free_port, serve, streamlit_args

RUNNING = '[data-testid="stStatusWidget"]'
EXCEPTION = '[data-testid="stException"]'
EXPANDER = '[data-testid="stExpander"]'
WAIT_MS = 60_000

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"no chromium at {CHROMIUM} (apt-get install chromium)")


def settle(page: Page) -> None:
    """Wait until the app has finished its run (the "Running..." widget stays gone)."""
    for _ in range(3):
        page.wait_for_timeout(400)
        page.wait_for_selector(RUNNING, state="detached", timeout=WAIT_MS)


def click_point(page: Page, point: Locator) -> None:
    """Click the centre of a plotted point (plotly selects it; the app drills down)."""
    box = point.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    """A page of Debian's chromium, headless, with a fresh profile."""
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            tempfile.mkdtemp(dir=tmp_path, prefix="profile-"), executable_path=CHROMIUM,
            headless=True, args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000})
        try:
            yield context.new_page()
        finally:
            context.close()


def test_pareto_chart_drill_down_and_detail_page(populated_db: str, tmp_path: Path,
                                                 page: Page) -> None:
    port = free_port()
    args = streamlit_args(port, populated_db, "fire-a", "fire-b")
    with serve(args, port, "", tmp_path / "server.log") as url:
        page.goto(url)
        page.wait_for_selector(".js-plotly-plot", timeout=WAIT_MS)
        settle(page)
        assert page.locator(EXCEPTION).count() == 0
        points = page.locator(".js-plotly-plot .scatterlayer .point")
        assert points.count() > 50
        assert page.locator(".js-plotly-plot .xtitle").first.text_content() == (
            "MFLOPs (multiply-adds)")
        page.screenshot(path=str(tmp_path / "pareto.png"))

        click_point(page, points.nth(3))
        page.wait_for_selector(EXPANDER, timeout=WAIT_MS)
        settle(page)
        assert "Sum over parts" in (page.locator(EXPANDER).text_content() or "")

        page.get_by_text("Trial detail").click()
        page.get_by_text("Download config (ArchSpec JSON)").wait_for(timeout=WAIT_MS)
        settle(page)
        assert page.locator(EXCEPTION).count() == 0
        page.screenshot(path=str(tmp_path / "detail.png"), full_page=True)
    assert (tmp_path / "pareto.png").stat().st_size > 10_000
