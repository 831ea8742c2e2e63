"""Which process runs a trial, and whether that process is still alive.

A worker stamps each trial it runs with `worker_id()`, "host:pid:start" (start: the
process's start time in clock ticks since boot, so a recycled pid is not mistaken for
the worker). On the same host, `is_dead` answers at once from /proc; for workers on
other hosts it cannot tell, and the SQL storages' heartbeats answer instead.
"""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path


def _start_ticks(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/PID/stat); None if there is no such
    process or it is a zombie (killed, not yet reaped by its parent)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else fields[19]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@functools.cache
def worker_id() -> str:
    """This process: "host:pid:start"."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid) or '?'}"


def is_dead(worker: str) -> bool:
    """True only when `worker` ran on this host and that process is gone."""
    try:
        host, pid_text, start = worker.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname():
        return False
    if not Path("/proc").is_dir() or start == "?":
        return not _alive(pid)
    return _start_ticks(pid) != start
