"""kill -9 `guatu up` at several points; its servers never outlive it, the next start resumes.

`guatu up` runs as a child process (the real command, JSON logs to a file) on free ports and a
data directory of its own, with the sample programme. It is killed with SIGKILL during the
start-up and after "guatu is up" while the sample loads, and stopped with SIGTERM while the
sample loads; each point is found by watching its log (plus a seeded random delay). After each
kill no process of that data directory (its PostgreSQL, its Temporal server) may remain, and the
next start must succeed on the same data (no "port in use"): the last one finds the projects
started before with the same run, the 243 sample projects each once, and a SIGTERM stops it,
servers included, within 15 s.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
from temporalio.client import Client

from tests.conftest import free_port

SEED = int(os.environ.get("GUATU_FAULT_SEED", "20261201"))
SAMPLE_PROJECTS = 243  # config/sample: the programme's 243 key projects
STOP_BOUND = 15.0


class Up:
    """One `guatu up` process and its log."""

    def __init__(self, tmp: Path, env: dict[str, str], n: int) -> None:
        self.log_path = tmp / f"up-{n}.log"
        guatu = Path(sys.executable).parent / "guatu"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [str(guatu), "up"], cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def events(self) -> list[dict[str, Any]]:
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except ValueError:
                    continue
        return found

    def wait_for(self, event: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(e.get("event") == event for e in self.events()):
                return
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"guatu up exited ({self.proc.returncode}) before {event!r}:\n{self.tail()}"
                )
            time.sleep(0.05)
        raise AssertionError(f"no {event!r} within {timeout} s:\n{self.tail()}")

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])


def processes_of(data_dir: Path) -> list[str]:
    """Processes whose command line names the data directory: its PostgreSQL and Temporal."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info.get("cmdline") or [])
        if str(data_dir) in cmdline:
            found.append(f"{proc.pid}: {cmdline[:160]}")
    return found


def assert_no_orphans(data_dir: Path, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while (left := processes_of(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == [], f"left running after guatu up died: {left}"


async def lifecycle_runs(target: str, wanted: int = SAMPLE_PROJECTS) -> dict[str, str]:
    """Workflow id → run id of every ProjectLifecycle (each id must have one run)."""
    client = await Client.connect(target)
    runs: dict[str, str] = {}
    deadline = time.monotonic() + 20  # visibility follows the starts by a moment
    while time.monotonic() < deadline:
        runs.clear()
        async for wf in client.list_workflows("WorkflowType = 'ProjectLifecycle'"):
            assert wf.id not in runs, f"{wf.id} has two runs: {runs[wf.id]}, {wf.run_id}"
            runs[wf.id] = wf.run_id
        if len(runs) >= wanted:
            break
        time.sleep(0.5)
    return runs


async def test_kill_9_at_any_point_leaves_no_orphan_and_the_next_start_resumes(
    tmp_path: Path,
) -> None:
    rnd = random.Random(SEED)
    data_dir = tmp_path / "data"
    ports = {name: free_port() for name in ("POSTGRES", "TEMPORAL", "TEMPORAL_UI", "API")}
    env = {
        **os.environ,
        "GUATU_DATA_DIR": str(data_dir),
        "GUATU_LOG_FORMAT": "json",
        "GUATU_LOAD_SAMPLE": "true",
        "GUATU_GRACEFUL_SHUTDOWN_SECONDS": "5",
        **{f"GUATU_{name}_PORT": str(port) for name, port in ports.items()},
    }
    env.pop("DATABASE_URL", None)
    env.pop("GUATU_TEMPORAL_ADDRESS", None)
    target = f"127.0.0.1:{ports['TEMPORAL']}"

    # 1. kill -9 during the start-up: both servers are up, the migrations and worker next.
    up = Up(tmp_path, env, 1)
    up.wait_for("embedded temporal up")
    time.sleep(rnd.uniform(0.0, 0.5))
    up.kill9()
    assert_no_orphans(data_dir)

    # 2. SIGTERM while the sample programme loads: everything stops within the bound.
    up = Up(tmp_path, env, 2)
    up.wait_for("loading the sample programme")
    time.sleep(rnd.uniform(0.5, 2.0))
    stop_within_bound(up, data_dir)

    # 3. kill -9 after "guatu is up", while the rest of the sample loads.
    up = Up(tmp_path, env, 3)
    up.wait_for("guatu is up")
    time.sleep(rnd.uniform(0.5, 1.5))
    partial = await lifecycle_runs(target, wanted=0)
    assert partial, "phase 2 started no project: nothing to find again"
    up.kill9()
    assert_no_orphans(data_dir)

    # 4. The same data: the projects started before are there with the same run, none was
    #    started twice, the sample completes; then a SIGTERM stops it all in time.
    up = Up(tmp_path, env, 4)
    up.wait_for("sample programme loaded")
    runs = await lifecycle_runs(target)
    assert len(runs) == SAMPLE_PROJECTS
    assert {wid: runs.get(wid) for wid in partial} == partial
    stop_within_bound(up, data_dir)


def stop_within_bound(up: Up, data_dir: Path) -> None:
    stopping = time.monotonic()
    up.proc.send_signal(signal.SIGTERM)
    up.proc.wait(STOP_BOUND + 5)
    assert time.monotonic() - stopping < STOP_BOUND, up.tail()
    assert up.proc.returncode == 0, up.tail()
    # The servers are stopped by `guatu up` itself, before it exits: nothing to wait for.
    assert processes_of(data_dir) == [], "servers left after a SIGTERM"
