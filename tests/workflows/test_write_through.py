"""A report at the cost of a bare Update: write-through, the sweeper, and the timer left armed.

On the dev server (real time) with the production worker in-process and the real read model:
- the door (`send_update` with a pool) writes the Update's rows itself, so they are on the read
  model when the call returns, and the run schedules no projection activity for it;
- an Update that changes no deadline neither cancels nor restarts the deadline timer;
- a door that never wrote (died between the Update and the write) is caught up by the sweeper
  through a Query, and a retry with the same key writes what the lost answer carried.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.core import constants as c
from guatu.core.clock import local_date, month_key
from guatu.lifecycle.models import ProgressReportInput, ProjectKind, ProjectState
from guatu.lifecycle.service import send_update, start_project
from guatu.runtime.sweeper import sweep
from tests.helpers import add_bureau, eventually, make_plan, running_worker
from tests.workflows.test_lifecycle import NO_PROGRESS_RULE
from workflows.project_lifecycle import ProjectLifecycle

AFTER_UPDATE = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    EventType.EVENT_TYPE_TIMER_STARTED,
    EventType.EVENT_TYPE_TIMER_CANCELED,
}


async def _read_model(pool: asyncpg.Pool, code: str) -> tuple[int | None, list[tuple[str, int]]]:
    async with pool.acquire() as conn:
        version = await conn.fetchval("SELECT version FROM projects WHERE code = $1", code)
        reports = await conn.fetch(
            "SELECT month, corrected FROM progress_reports WHERE project = $1 ORDER BY corrected",
            code,
        )
    return version, [(r["month"], r["corrected"]) for r in reports]


async def _state(client: Client, code: str) -> ProjectState:
    handle = client.get_workflow_handle(c.project_workflow_id(code))
    return await handle.query(ProjectLifecycle.state)


async def _events_after_update(client: Client, code: str, key: str) -> list[EventType]:
    """Event types recorded after the Update carrying idempotency key `key` was accepted."""
    history = await client.get_workflow_handle(c.project_workflow_id(code)).fetch_history()
    events = list(history.events)
    accepted = [
        i
        for i, e in enumerate(events)
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        and key
        in e.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id
    ]
    assert len(accepted) == 1, f"update {key} accepted {len(accepted)} times"
    return [e.event_type for e in events[accepted[0] + 1 :]]


async def _settled(client: Client, pool: asyncpg.Pool, code: str) -> bool:
    """The run's own start-up projections are done: the read model holds its version."""
    version, _ = await _read_model(pool, code)
    return version is not None and version == (await _state(client, code)).version


def _report(
    bureau: str, key: str, month: str, amount: float, correction: bool = False
) -> ProgressReportInput:
    return ProgressReportInput(
        bureau=bureau,
        idempotency_key=key,
        month=month,
        investment_wan=amount,
        physical_progress_pct=amount / 10,
        correction=correction,
    )


async def test_report_is_written_through_without_activity_or_timer_churn(
    dev_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    settings: Settings,
) -> None:
    client = dev_env.client
    bureau = await add_bureau(pool, "http://127.0.0.1:9/none")
    today = local_date(datetime.now(UTC))
    # Milestones far ahead: nothing falls due while the test runs.
    plan = make_plan(
        ProjectKind.SERVICE, start=today - timedelta(days=40), bureau=bureau, milestone_days=[300]
    )
    month = month_key(today)
    async with running_worker(client, pool, http, settings) as task_queue:
        await start_project(client, plan, NO_PROGRESS_RULE, task_queue=task_queue, index=False)
        await eventually(lambda: _settled(client, pool, plan.code), timeout=30)
        first = await send_update(
            client,
            plan.code,
            ProjectLifecycle.submit_report,
            _report(bureau, "wt-1", month, 10.0),
            pool=pool,
        )
        assert first.accepted and not first.duplicate
        # On the read model when the call returns: no waiting for the run.
        state = await _state(client, plan.code)
        assert await _read_model(pool, plan.code) == (state.version, [(month, 0)])
        assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in await _events_after_update(
            client, plan.code, "wt-1"
        )
        # A correction of the same month moves no deadline: the timer stays as it was armed.
        await send_update(
            client,
            plan.code,
            ProjectLifecycle.submit_report,
            _report(bureau, "wt-2", month, 12.0, correction=True),
            pool=pool,
        )
        state = await _state(client, plan.code)
        assert await _read_model(pool, plan.code) == (state.version, [(month, 0), (month, 1)])
        after = await _events_after_update(client, plan.code, "wt-2")
        assert not AFTER_UPDATE & set(after), after
        await client.get_workflow_handle(c.project_workflow_id(plan.code)).terminate()


async def test_sweeper_and_retry_write_what_a_dead_door_did_not(
    dev_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    settings: Settings,
) -> None:
    client = dev_env.client
    bureau = await add_bureau(pool, "http://127.0.0.1:9/none")
    today = local_date(datetime.now(UTC))
    plans = [
        make_plan(
            ProjectKind.SERVICE,
            start=today - timedelta(days=40),
            bureau=bureau,
            milestone_days=[300],
        )
        for _ in range(2)
    ]
    month = month_key(today)
    swept, retried = (p.code for p in plans)
    async with running_worker(client, pool, http, settings) as task_queue:
        for plan in plans:
            await start_project(client, plan, NO_PROGRESS_RULE, task_queue=task_queue, index=False)
        for plan in plans:
            await eventually(lambda code=plan.code: _settled(client, pool, code), timeout=30)
        before = {p.code: await _read_model(pool, p.code) for p in plans}
        # The door dies between the Update and its write: no pool, nothing written.
        for plan in plans:
            await send_update(
                client, plan.code, ProjectLifecycle.submit_report, _report(bureau, "lost", month, 5)
            )
        for plan in plans:
            assert await _read_model(pool, plan.code) == before[plan.code]

        # The sweeper finds the one it is pointed at behind, and writes it once.
        assert await sweep(client, pool, [swept]) == [swept]
        state = await _state(client, swept)
        assert await _read_model(pool, swept) == (state.version, [(month, 0)])
        assert await sweep(client, pool, [swept]) == []

        # The bureau retries the lost answer with the same key: a duplicate, and the rows
        # the first answer carried are written now.
        again = await send_update(
            client,
            retried,
            ProjectLifecycle.submit_report,
            _report(bureau, "lost", month, 5),
            pool=pool,
        )
        assert again.duplicate
        state = await _state(client, retried)
        assert await _read_model(pool, retried) == (state.version, [(month, 0)])
        async with pool.acquire() as conn:
            audited = await conn.fetchval(
                "SELECT count(*) FROM audit_log WHERE project = $1 AND idempotency_key = 'lost'",
                retried,
            )
        assert audited == 1
        for plan in plans:
            await client.get_workflow_handle(c.project_workflow_id(plan.code)).terminate()
