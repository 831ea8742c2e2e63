"""The dashboard served as a user starts it, for the browser tests and the screenshot."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.pgserver import free_port
from dashboard import ENV_STORAGE
from search.storage import ROOT

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "free_port", "serve", "streamlit_args"]

#: Debian's chromium, and the flags that keep it off the network and quiet when headless.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


def streamlit_args(port: int, storage: str, *studies: str) -> list[str]:
    """`streamlit run dashboard/app.py` on 127.0.0.1:port, headless, showing `studies`."""
    return ["-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port),
            "--server.headless", "true", "--", "--storage", storage,
            *[a for name in studies for a in ("--study", name)]]


@contextmanager
def serve(args: list[str], port: int, storage_url: str, log: Path,
          cwd: Path | None = None) -> Iterator[str]:
    """Run `python <args>` from the repo root (or `cwd`) until its health check answers;
    yield its URL."""
    env = {**os.environ, ENV_STORAGE: storage_url, "PYTHONUNBUFFERED": "1"}
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, *args], cwd=cwd or ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}: {log.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no answer on {url}: {log.read_text()}") from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
