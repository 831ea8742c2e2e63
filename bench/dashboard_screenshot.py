"""The dashboard's Pareto page on a real study, saved as the picture in docs/dashboard.md.

    python -m bench.dashboard_screenshot --study squeeze-fashion-mnist

Serves the app as `streamlit run` does, on 127.0.0.1, loads it in Debian's headless
chromium (apt-get install chromium), waits for the plot and saves a PNG. Point it at the
study of a documented command, for example the default study of
`python -m search.run --space squeeze --trials 200`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from bench.dashboard_server import CHROMIUM, CHROMIUM_ARGS, free_port, serve, streamlit_args
from search.storage import default_storage_url

OUT = Path("docs/img/dashboard-pareto.png")
WAIT_MS = 120_000


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.dashboard_screenshot",
                                description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--storage", default=None, help="study storage (default: the default one)")
    p.add_argument("--study", action="append", required=True,
                   help="a study to show (repeat to overlay several)")
    p.add_argument("--out", type=Path, default=OUT, help=f"the PNG (default {OUT})")
    p.add_argument("--width", type=int, default=1400, help="window width in pixels")
    p.add_argument("--height", type=int, default=1000, help="window height in pixels")
    return p


def screenshot(storage: str, studies: list[str], out: Path, size: tuple[int, int]) -> None:
    """Serve the app on a free port and save its Pareto page, once the plot is drawn."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp, \
            serve(streamlit_args(port, storage, *studies), port, storage,
                  Path(tmp) / "server.log") as url, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(Path(tmp) / "profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": size[0], "height": size[1]})
        try:
            page = context.new_page()
            page.goto(url)
            page.wait_for_selector(".js-plotly-plot .scatterlayer .point", timeout=WAIT_MS)
            page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached",
                                   timeout=WAIT_MS)
            page.wait_for_timeout(1500)  # plotly's transition
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
        finally:
            context.close()


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"error: no chromium at {CHROMIUM} (apt-get install chromium)", file=sys.stderr)
        return 2
    screenshot(args.storage or default_storage_url(), args.study, args.out,
               (args.width, args.height))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
