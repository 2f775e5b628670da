"""The read-model sweeper: closes the gap a door leaves if it dies between an Update and its write.

A bureau's Update is written to the read model by the door that sent it
(`guatu.lifecycle.service.send_update`, write-through). If that process dies in between — or
PostgreSQL refused the write — the lifecycle still holds the rows (`LifecycleBook.pending`) and
writes them with its own next projection, which a deadline timer triggers at the latest at the
next deadline. The sweeper closes that gap sooner and without history events: it asks each open
project's run for its `projection` (a Query) and writes it when the read model's version is
behind. Writing is the same idempotent, version-guarded transaction every path uses
(`guatu.lifecycle.projection.write_batch`), so a sweep racing a door or the run changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import asyncpg
import structlog
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError

from guatu.core import constants as c
from guatu.lifecycle.projection import write_batch
from workflows.project_lifecycle import ProjectLifecycle

log = structlog.get_logger("guatu.sweeper")
QUERY_TIMEOUT = timedelta(seconds=5)


async def sweep(
    client: Client,
    pool: asyncpg.Pool,
    codes: Sequence[str] | None = None,
    *,
    concurrency: int = 8,
) -> list[str]:
    """Bring every open project (or `codes`) whose read-model version is behind its run up to
    date. Returns the codes written."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT code, version FROM projects WHERE status IN ('active', 'suspended')"
            " AND ($1::text[] IS NULL OR code = ANY($1::text[])) ORDER BY code",
            list(codes) if codes is not None else None,
        )
    gate = asyncio.Semaphore(concurrency)
    written: list[str] = []

    async def one(code: str, version: int) -> None:
        async with gate:
            handle = client.get_workflow_handle(c.project_workflow_id(code))
            try:
                batch = await handle.query(ProjectLifecycle.projection, rpc_timeout=QUERY_TIMEOUT)
            except (RPCError, WorkflowQueryFailedError) as err:
                # Ended meanwhile (its last projection wrote it), recorded before the patch
                # (no such query: it projects everything itself), or its worker is down.
                log.debug("sweep skipped a project", project=code, error=str(err))
                return
            if int(batch.snapshot["version"]) > version:
                await write_batch(pool, batch)
                written.append(code)

    await asyncio.gather(*(one(r["code"], r["version"]) for r in rows))
    if written:
        log.info("sweeper caught the read model up", projects=len(written), codes=written[:10])
    return sorted(written)


async def run_sweeper(client: Client, pool: asyncpg.Pool, every: float) -> None:
    """Sweep every `every` seconds until cancelled; a failed sweep is logged and retried."""
    while True:
        await asyncio.sleep(every)
        try:
            await sweep(client, pool)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as err:
            log.warning("sweep failed; next one in a while", error=repr(err), every=every)
