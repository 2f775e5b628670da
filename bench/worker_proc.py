"""A worker in its own process, so that its memory (RSS) can be measured alone.

python -m bench.worker_proc --target HOST:PORT --dsn DSN --task-queue Q --kind guatu|raw
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from datetime import timedelta

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from bench.raw import RawNoOp, RawOneActivity, RawTimer, raw_noop
from config.settings import Settings
from guatu.core import db


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--kind", choices=["guatu", "raw"], required=True)
    parser.add_argument("--namespace", default="default")
    args = parser.parse_args()
    client = await Client.connect(
        args.target, namespace=args.namespace, data_converter=pydantic_data_converter
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    settings = Settings(max_cached_workflows=20_000, graceful_shutdown_seconds=2)
    if args.kind == "raw":
        worker = Worker(
            client,
            task_queue=args.task_queue,
            workflows=[RawTimer, RawOneActivity, RawNoOp],
            activities=[raw_noop],
            max_cached_workflows=settings.max_cached_workflows,
            max_concurrent_activities=settings.max_concurrent_activities,
            graceful_shutdown_timeout=timedelta(seconds=2),
        )
        async with worker:
            print("ready", flush=True)
            await stop.wait()
        return
    from worker import build_worker

    pool = await db.create_pool(args.dsn, 2, 20)
    async with httpx.AsyncClient(timeout=10) as http:
        async with build_worker(client, pool, http, settings, task_queue=args.task_queue):
            # Ready once the rounds' process pool has started and imported what a round needs.
            from activities.round_work import round_executor, warm

            executor, _ = round_executor(settings.round_processes)
            await asyncio.wrap_future(executor.submit(warm))
            print("ready", flush=True)
            await stop.wait()
    await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
