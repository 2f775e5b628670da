"""Fixtures of the ranking tests.

Rounds read every project in the read model, so a round test gets its own database (on the
session's PostgreSQL server, migrations applied, reference data loaded): other tests' projects
never enter its ranking. Bureau codes are unique per test, so ladder workflow IDs never collide
on the shared Temporal servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest_asyncio
from temporalio.client import Client, WorkflowHandle

from activities.read_model import upsert_reference
from guatu import constants as c
from guatu import db
from guatu.programme import load_bureaus, load_programs


@pytest_asyncio.fixture
async def fresh_pool(pg_server: str) -> AsyncIterator[asyncpg.Pool]:
    name = f"guatu_rank_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(pg_server)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = pg_server.rpartition("/")
    pool = await db.create_pool(f"{base}/{name}", 1, 10)
    await db.migrate(pool)
    await upsert_reference(pool, load_bureaus(), load_programs())
    yield pool
    await pool.close()


def prefix() -> str:
    return f"r{uuid.uuid4().hex[:6]}"


async def eventually(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {result!r}")
        await asyncio.sleep(0.1)


async def idle(handle: WorkflowHandle[Any, Any]) -> bool:
    desc = await handle.describe()
    return not desc.raw_description.pending_activities


async def quiet(handle: WorkflowHandle[Any, Any]) -> bool:
    """No activity or workflow task in flight, and nothing new in history for half a second
    (a ladder may still continue as new, or deliver notices it carried over)."""
    first = (await handle.describe()).raw_description
    if first.pending_activities or first.HasField("pending_workflow_task"):
        return False
    await asyncio.sleep(0.5)
    second = (await handle.describe()).raw_description
    return (not second.pending_activities and not second.HasField("pending_workflow_task")
            and second.workflow_execution_info.execution.run_id
            == first.workflow_execution_info.execution.run_id
            and second.workflow_execution_info.history_length
            == first.workflow_execution_info.history_length)


async def end_ladders(client: Client, bureaus: list[str]) -> None:
    """Terminate the bureaus' ladders once they are quiet (the time-skipping server leaks its
    time lock when a workflow is terminated with an activity running)."""
    for bureau in bureaus:
        handle = client.get_workflow_handle(c.bureau_ladder_workflow_id(bureau))
        with contextlib.suppress(Exception):
            await eventually(lambda h=handle: quiet(h), timeout=15)
        with contextlib.suppress(Exception):
            await handle.terminate()


async def fetch(pool: asyncpg.Pool, sql: str, *args: Any) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return list(await conn.fetch(sql, *args))
