"""`python -m dashboard [--storage URL] [--port P] [--host H] [--study NAME]`: run the app.

Starts `streamlit run dashboard/app.py` headless, with telemetry off, listening on
127.0.0.1 unless --host says otherwise. The storage URL travels in the environment,
not on the command line, so a database password does not show in the process list.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from dashboard import ENV_HOST, ENV_STORAGE
from search.storage import ENV_STORAGE as STUDY_ENV
from search.storage import default_storage_url, redact

APP = Path(__file__).resolve().with_name("app.py")
ROOT = APP.parents[1]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The wrapper's options."""
    default = os.environ.get(ENV_STORAGE) or default_storage_url()
    parser = argparse.ArgumentParser(prog="python -m dashboard",
                                     description="Run the study dashboard on this machine.")
    parser.add_argument("--storage", default=default,
                        help="journal:///path.log, postgresql://user@host/db (the "
                             "password from $PGPASSWORD or ~/.pgpass) or sqlite:///path.db "
                             f"(default: {redact(default)}; from ${ENV_STORAGE}, else "
                             f"${STUDY_ENV}, else the journal file studies/studies.log)")
    parser.add_argument("--port", type=int, default=8501, help="port (default: %(default)s)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: %(default)s, this machine only; "
                             "another address shares the studies with the network)")
    parser.add_argument("--study", action="append", default=[],
                        help="study to show first (repeat to overlay several)")
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error(f"--port: must be in 1..65535, got {args.port}")
    return args


def command(args: argparse.Namespace) -> list[str]:
    """The streamlit command line (the storage URL is passed in the environment)."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP),
           "--server.address", args.host, "--server.port", str(args.port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false", "--"]
    for study in args.study:
        cmd += ["--study", study]
    return cmd


def main(argv: list[str] | None = None) -> None:
    """Replace this process with the streamlit server."""
    args = parse_args(argv)
    os.environ[ENV_STORAGE] = args.storage
    os.environ[ENV_HOST] = args.host  # the user's explicit choice of address
    print(f"dashboard: http://{args.host}:{args.port}  storage: {redact(args.storage)}",
          flush=True)
    os.chdir(ROOT)
    os.execv(sys.executable, command(args))


if __name__ == "__main__":
    main()
