"""A Guatu worker in its own process, so that fault tests can `kill -9` it.

    python -m tests.faults.worker_proc --target HOST:PORT --dsn DSN --task-queue Q \
        --ready-file PATH [--max-cached N] [--sticky-seconds S]

It runs exactly `worker.build_worker` (the production wiring: both activities, the lifecycle
workflow) against the given Temporal server and PostgreSQL database, writes `ready-file` once
it is polling, and runs until killed. Logs (JSON lines, SDK records included) go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from datetime import timedelta
from pathlib import Path

import httpx
import structlog

from config.settings import Settings
from guatu.core import db, logs
from guatu.core.temporal_client import connect
from worker import build_worker

log = structlog.get_logger("tests.faults.worker_proc")


async def main(args: argparse.Namespace) -> None:
    settings = Settings(
        temporal_address=args.target,
        database_url=args.dsn,
        task_queue=args.task_queue,
        max_cached_workflows=args.max_cached,
        graceful_shutdown_seconds=1,
    )
    client = await connect(settings)
    pool = await db.create_pool(args.dsn, 1, 10)
    async with httpx.AsyncClient(timeout=5) as http:
        worker = build_worker(
            client,
            pool,
            http,
            settings,
            sticky_queue_schedule_to_start_timeout=timedelta(seconds=args.sticky_seconds),
        )
        async with worker:
            log.info("worker ready", pid=os.getpid(), task_queue=args.task_queue)
            Path(args.ready_file).write_text(str(os.getpid()))
            await asyncio.Event().wait()


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", required=True)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--max-cached", type=int, default=1000)
    parser.add_argument("--sticky-seconds", type=float, default=10.0)
    return parser.parse_args()


if __name__ == "__main__":
    logs.configure("INFO", json=True)
    asyncio.run(main(parse()))
