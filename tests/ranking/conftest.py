"""Fixtures of the ranking tests.

Rounds read every project in the read model, so a round test gets its own database (on the
session's PostgreSQL server, migrations applied, reference data loaded): other tests' projects
never enter its ranking. Bureau codes are unique per test, so ladder workflow IDs never collide
on the shared Temporal servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import asyncpg
from temporalio.client import Client, WorkflowHandle

from guatu.core import constants as c
from tests.helpers import eventually


def prefix() -> str:
    return f"r{uuid.uuid4().hex[:6]}"


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
    return (
        not second.pending_activities
        and not second.HasField("pending_workflow_task")
        and second.workflow_execution_info.execution.run_id
        == first.workflow_execution_info.execution.run_id
        and second.workflow_execution_info.history_length
        == first.workflow_execution_info.history_length
    )


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
