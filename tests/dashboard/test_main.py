"""`python -m dashboard` and `streamlit run dashboard/app.py`: local-only by default."""

from __future__ import annotations

import itertools
import socket
import sys
from pathlib import Path

import pytest

from bench.dashboard_server import free_port, serve
from dashboard.__main__ import command, parse_args

LOOPBACK4 = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it
LOOPBACK6 = "00000000000000000000000001000000"  # ::1
LISTEN = "0A"


def listeners(port: int) -> list[str]:
    """Local addresses (hex, as the kernel lists them) with a TCP socket listening on port."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, hex_port = local.split(":")
            if state == LISTEN and int(hex_port, 16) == port:
                found.append(addr)
    return found


def outside_addresses() -> list[str]:
    """This machine's own IPv4 addresses other than loopback (the kernel's LOCAL routes)."""
    trie = Path("/proc/net/fib_trie")
    lines = trie.read_text().splitlines() if trie.exists() else []
    local = {prev.split()[-1] for prev, line in itertools.pairwise(lines)
             if line.strip() == "/32 host LOCAL"}
    return sorted(a for a in local if not a.startswith("127."))


def assert_local_only(port: int) -> None:
    found = listeners(port)
    assert found and set(found) <= {LOOPBACK4, LOOPBACK6}, found
    for addr in outside_addresses():
        with pytest.raises(OSError), socket.create_connection((addr, port), timeout=2):
            pass


def test_streamlit_run_listens_on_loopback_only(populated_db: str, tmp_path: Path) -> None:
    """No address flag: .streamlit/config.toml at the repo root keeps the server local."""
    port = free_port()
    args = ["-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port),
            "--server.headless", "true"]
    with serve(args, port, populated_db, tmp_path / "server.log"):
        assert_local_only(port)


def test_python_m_dashboard_listens_on_loopback_only(populated_db: str, tmp_path: Path) -> None:
    port = free_port()
    with serve(["-m", "dashboard", "--port", str(port), "--storage", populated_db], port,
               "", tmp_path / "server.log") as url:
        assert_local_only(port)
    log = (tmp_path / "server.log").read_text()
    assert f"dashboard: {url}" in log


def test_command_line() -> None:
    args = parse_args(["--storage", "postgresql://u:pw@db/x", "--port", "9000",
                       "--study", "a"])
    cmd = command(args)
    assert cmd[:4] == [sys.executable, "-m", "streamlit", "run"]
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--server.port") + 1] == "9000"
    assert cmd[cmd.index("--browser.gatherUsageStats") + 1] == "false"
    assert cmd[cmd.index("--server.headless") + 1] == "true"
    assert cmd[-2:] == ["--study", "a"]
    assert not any("pw" in part for part in cmd)  # the URL travels in the environment
    assert parse_args(["--host", "0.0.0.0"]).host == "0.0.0.0"


def test_bad_port_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--port", "70000"])
    assert "--port: must be in 1..65535" in capsys.readouterr().err
