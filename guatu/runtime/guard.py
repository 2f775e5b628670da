"""The guard of `guatu up`'s embedded servers: they stop when `guatu up` dies, in any way.

PostgreSQL daemonises (pg_ctl), so no signal of the kernel tells it that `guatu up` is gone.
`guatu up` therefore starts this small process first, in a session of its own (a Ctrl-C or a
signal to `guatu up`'s process group does not reach it), and tells it on a pipe which server
processes to watch. When the pipe closes, `guatu up` has ended: normally (it stopped its
servers itself, and the guard finds nothing left) or killed (kill -9, out of memory, a crash).
The guard then stops what is still running: PostgreSQL with a fast shutdown (SIGINT, as
`pg_ctl stop -m fast`), Temporal with SIGTERM; after 10 s whatever remains is killed. A process
is recognised by its pid and its start time, never by its pid alone (pids are reused).
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from typing import IO

import psutil
import structlog

log = structlog.get_logger("guatu.runtime.guard")

STOP_SIGNALS = {
    "postgres": (signal.SIGINT, signal.SIGQUIT),  # fast, then immediate shutdown
    "temporal": (signal.SIGTERM, signal.SIGKILL),
}
GRACE_SECONDS = 10.0


class Guard:
    """The `guatu up` side: start the guard, tell it what to watch, close it at the end."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "guatu.runtime.guard"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )

    def watch(self, kind: str, pid: int) -> None:
        stdin: IO[bytes] | None = self.proc.stdin
        try:
            created = psutil.Process(pid).create_time()
            assert stdin is not None
            stdin.write(f"{kind} {pid} {created!r}\n".encode())
            stdin.flush()
        except (psutil.Error, OSError, ValueError) as err:
            log.warning("the guard cannot watch a server", kind=kind, pid=pid, error=repr(err))

    def close(self, timeout: float = 15) -> None:
        """Our servers are stopped: the guard checks, finds nothing and ends."""
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def stop_all(watched: dict[int, tuple[str, float]], grace: float = GRACE_SECONDS) -> list[int]:
    """Stop the watched processes still alive (same pid and start time). Returns their pids."""
    alive: list[tuple[psutil.Process, str]] = []
    for pid, (kind, created) in watched.items():
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            if abs(proc.create_time() - created) < 0.01 and proc.is_running():
                proc.send_signal(STOP_SIGNALS[kind][0])
                alive.append((proc, kind))
    _, remaining = psutil.wait_procs([p for p, _ in alive], timeout=grace)
    for proc in remaining:
        kind = next(k for p, k in alive if p.pid == proc.pid)
        with contextlib.suppress(psutil.Error):
            proc.send_signal(STOP_SIGNALS[kind][1])
    psutil.wait_procs(remaining, timeout=5)
    return [p.pid for p, _ in alive]


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watched: dict[int, tuple[str, float]] = {}
    for line in sys.stdin.buffer:  # ends when `guatu up` closes the pipe or dies
        with contextlib.suppress(ValueError):
            kind, pid, created = line.decode().split()
            if kind in STOP_SIGNALS:
                watched[int(pid)] = (kind, float(created))
    stopped = stop_all(watched)
    if stopped:
        print(
            f"guatu guard: guatu up ended without stopping its servers; stopped {stopped}",
            file=sys.stderr,
            flush=True,
        )


if __name__ == "__main__":
    main()
