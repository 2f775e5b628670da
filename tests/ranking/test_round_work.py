"""The round's heavy step off the worker's event loop (activities/round_work.py): a sync
activity that pickles into the worker's process pool, heartbeats while it computes, and runs in
a process that dies with its worker."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.round_work import RoundWork, heartbeating, pool_dsn, round_executor
from config.settings import Settings
from worker import build_worker

ROOT = Path(__file__).resolve().parents[2]


def test_compute_step_is_a_picklable_sync_activity() -> None:
    work = RoundWork("postgresql://u:p@127.0.0.1:1/db")
    assert not asyncio.iscoroutinefunction(work.compute_round)
    again = pickle.loads(pickle.dumps(work.compute_round))
    assert again.__self__.dsn == work.dsn


def test_heartbeats_while_the_thread_computes() -> None:
    beats: list[float] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *_: beats.append(time.monotonic())

    def busy() -> None:
        with heartbeating(every=0.05):
            end = time.monotonic() + 0.5
            while time.monotonic() < end:  # CPU-bound: never yields to anything
                pass

    env.run(busy)
    # One at once, then one every 50 ms for 500 ms (at least 5 on a loaded machine).
    assert len(beats) >= 5


async def test_worker_runs_rounds_in_its_process_pool(
    ts_env: WorkflowEnvironment, pool: asyncpg.Pool, http: httpx.AsyncClient, settings: Settings
) -> None:
    client: Client = ts_env.client
    worker = build_worker(client, pool, http, settings.model_copy(update={"round_processes": 1}))
    executor, shared = round_executor(1)
    assert isinstance(executor, concurrent.futures.ProcessPoolExecutor)
    assert shared is not None
    assert worker.config()["activity_executor"] is executor
    assert pool_dsn(pool).startswith("postgresql://")
    # The pool's process is another process than the worker's.
    assert executor.submit(os.getpid).result(timeout=60) != os.getpid()


_ORPHAN = """
import os, sys
sys.path.insert(0, {root!r})
from activities.round_work import round_executor

if __name__ == "__main__":
    executor, _ = round_executor(1)
    print(executor.submit(os.getpid).result(timeout=60), flush=True)
    sys.stdin.read()
"""


def test_round_process_dies_with_its_worker(tmp_path: Path) -> None:
    script = tmp_path / "worker_like.py"
    script.write_text(_ORPHAN.format(root=str(ROOT)))
    parent = subprocess.Popen(
        [sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)  # a worker killed -9
    parent.wait(10)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and Path(f"/proc/{child}").exists():
        if "State:\tZ" in Path(f"/proc/{child}/status").read_text():
            break  # exited, not yet reaped by its (dead) parent's reaper
        time.sleep(0.1)
    alive = Path(f"/proc/{child}").exists() and (
        "State:\tZ" not in Path(f"/proc/{child}/status").read_text()
    )
    assert not alive, "the round's process outlived its worker"
