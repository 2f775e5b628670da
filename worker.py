"""The Guatu worker: wires the client, the database, the workflows and the activities.

Run it alone against any Temporal and PostgreSQL with `python worker.py` (settings from the
environment), or let `guatu up` run it beside the embedded stack. With
`GUATU_WORKER_METRICS_PORT` set, a standalone worker serves Prometheus `/metrics` there: its own
series (read-model lag) and the Temporal SDK's.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import warnings
from datetime import timedelta

import asyncpg
import httpx
import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from activities.appeals import AppealActivities
from activities.ladder import LadderActivities
from activities.notify import NotifyActivities
from activities.opportunities import OpportunityActivities
from activities.ranking import RankingActivities
from activities.read_model import ReadModelActivities
from activities.round_gate import RoundGateActivities
from activities.round_work import RoundKeyActivities, RoundWork, pool_dsn, round_executor
from activities.society import SocietyActivities
from config.settings import Settings, get_settings
from guatu.core import db, logs, metrics
from guatu.core.payload_codec import warn_if_plain
from guatu.core.temporal_client import connect
from guatu.core.versioning import worker_options as versioning_options
from guatu.runtime.dsns import role_dsns
from guatu.runtime.sweeper import run_sweeper
from workflows.registry import WORKFLOWS

log = structlog.get_logger("guatu.worker")


def build_worker(
    client: Client,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    settings: Settings,
    task_queue: str | None = None,
    **overrides: object,
) -> Worker:
    """The worker of every workflow and activity. `overrides` go to `Worker`, except
    `delivery_attempts` (tests: cap webhook attempts so that a delivery fails in seconds) and
    `round_dsn` (the DSN a ranking round's process connects with; default: the pool's).

    A round's CPU-bound step is a sync activity run in a process pool shared by the workers of
    this process (`settings.round_processes`; activities/round_work.py), so that the event loop
    running every workflow task of this worker never waits for it."""
    # The workflow sandbox re-imports workflow modules for every run it starts; without a
    # bytecode cache (PYTHONDONTWRITEBYTECODE) each of those imports recompiles the source.
    sys.dont_write_bytecode = False
    read_model = ReadModelActivities(pool)
    attempts = overrides.pop("delivery_attempts", None)
    notify = NotifyActivities(
        pool, http, max_attempts=attempts if isinstance(attempts, int) else None, settings=settings
    )
    ranking = RankingActivities(pool, client)
    ladder = LadderActivities(pool)
    round_dsn = overrides.pop("round_dsn", None)
    round_work = RoundWork(round_dsn if isinstance(round_dsn, str) else pool_dsn(pool))
    executor, shared_state = round_executor(settings.round_processes)
    # Only the rounds' sync step runs in that executor; every other activity is async.
    warnings.filterwarnings(
        "ignore", "Worker max_concurrent_activities is .* activity_executor", UserWarning
    )
    appeals = AppealActivities(pool, client)
    opportunities = OpportunityActivities(pool)
    options: dict[str, object] = {
        "max_concurrent_activities": settings.max_concurrent_activities,
        "max_cached_workflows": settings.max_cached_workflows,
        "graceful_shutdown_timeout": timedelta(seconds=settings.graceful_shutdown_seconds),
        "activity_executor": executor,
        "shared_state_manager": shared_state,
        # GUATU_DEPLOYMENT_NAME + GUATU_BUILD_ID: poll as that worker deployment version.
        **versioning_options(settings, WORKFLOWS),
    }
    options.update(overrides)
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=WORKFLOWS,
        activities=[
            read_model.apply_projection,
            notify.deliver_notice,
            ranking.freeze,
            ranking.compute,
            ranking.feed_ladder,
            round_work.compute_round,
            RoundKeyActivities(pool, ranking).feed_ladder_key,
            ranking.round_notices,
            ladder.persist,
            ladder.persist_changes,
            RoundGateActivities(pool).period_has_data,
            appeals.persist,
            appeals.revise,
            SocietyActivities(pool).persist_observation,
            opportunities.persist_listing,
            opportunities.persist_interest,
        ],
        **options,  # type: ignore[arg-type]
    )


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    if not settings.database_url:
        raise SystemExit("DATABASE_URL (or GUATU_DATABASE_URL) must be set for a standalone worker")
    warn_if_plain(settings)
    client = await connect(settings)
    dsns = role_dsns(settings)
    owner = await db.create_pool(dsns.owner, 1, 1)  # migrations as the owner, then its role
    try:
        await db.migrate(owner)
    finally:
        await owner.close()
    pool = await db.create_pool(dsns.worker, settings.db_pool_min, settings.db_pool_max)
    async with httpx.AsyncClient(timeout=settings.webhook_timeout_seconds) as http:
        worker = build_worker(client, pool, http, settings)
        async with worker:
            log.info(
                "worker started",
                task_queue=settings.task_queue,
                temporal=settings.temporal_target,
                namespace=settings.temporal_namespace,
                metrics_port=settings.worker_metrics_port,
                deployment=settings.deployment_name,
                build_id=settings.build_id,
            )
            sweeper = (
                asyncio.create_task(run_sweeper(client, pool, settings.sweep_seconds))
                if settings.sweep_seconds > 0
                else None
            )
            if settings.metrics_enabled and settings.worker_metrics_port is not None:
                await metrics.serve_worker_metrics(settings, stop)
            else:
                await stop.wait()
            log.info("worker stopping")
            if sweeper is not None:
                sweeper.cancel()
                await asyncio.gather(sweeper, return_exceptions=True)
    await pool.close()


def main() -> None:
    settings = get_settings()
    logs.configure_from(settings)

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop)

    asyncio.run(runner())


if __name__ == "__main__":
    main()
