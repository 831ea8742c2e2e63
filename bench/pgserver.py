"""A throwaway PostgreSQL server on 127.0.0.1 for tests and benchmarks.

    with LocalPostgres(tmp_dir) as pg:
        url = pg.url()        # postgresql+psycopg2://nas:PASSWORD@127.0.0.1:PORT/nas

`initdb` refuses to run as root, so as root the server runs as the `postgres` system user
in a folder it owns. The binaries come from Debian's `postgresql` package
(scripts/system-deps.sh installs it).
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

USER = DB = "nas"


def pg_bindir() -> Path | None:
    """The newest installed PostgreSQL server's bin folder, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalPostgres:
    """initdb + pg_ctl start in a temporary folder; stop and remove it on exit."""

    def __init__(self) -> None:
        bindir = pg_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
        self.bindir = bindir
        # In the system temp folder: the postgres user must be able to reach it.
        self.root = Path(tempfile.mkdtemp(prefix="nas-pg-"))
        self.data = self.root / "data"
        self.password = secrets.token_hex(12)
        self.port = free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *cmd: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        subprocess.run([*prefix, *cmd], check=True, capture_output=True, text=True,
                       cwd=self.root, timeout=120)

    def start(self) -> LocalPostgres:
        self.root.chmod(0o755)
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", USER,
                  "--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync")
        pwfile.unlink()
        opts = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c fsync=off "
                f"-c unix_socket_directories={self.root} -c max_connections=200")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", opts,
                  "-l", str(self.root / "log"), "-w", "start")
        self.createdb(DB)
        return self

    def url(self, *, password: bool = True, db: str = DB) -> str:
        auth = f"{USER}:{self.password}" if password else USER
        return f"postgresql+psycopg2://{auth}@127.0.0.1:{self.port}/{db}"

    def createdb(self, name: str) -> str:
        """A fresh database on this server; its URL."""
        env = {**os.environ, "PGPASSWORD": self.password}
        subprocess.run([str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p",
                        str(self.port), "-U", USER, name], check=True, capture_output=True,
                       env=env, timeout=60)
        return self.url(db=name)

    def stop(self) -> None:
        if self.data.exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                          "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
