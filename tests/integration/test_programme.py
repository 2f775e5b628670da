"""The sample programme on the real dev server and PostgreSQL: load, report, project, reload.

Also the bureau-down path on real time: a project on an accelerated programme clock (one
business day per real second) misses a milestone while its bureau's webhook answers 503; the run
goes on, and the notice is delivered exactly once after the bureau recovers.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.core import constants as c
from guatu.core.clock import month_key
from guatu.lifecycle.models import (
    ProgrammeClock,
    ProgressReportInput,
    ProjectKind,
    ProjectStatus,
    Stage,
    StageTransitionInput,
    Step,
)
from guatu.lifecycle.programme import load_policy, load_sample_plans
from guatu.lifecycle.service import (
    Rejected,
    project_status,
    send_update,
    start_programme,
    start_project,
)
from tests.helpers import WebhookReceiver, add_bureau, eventually, make_plan, running_worker
from workflows.project_lifecycle import ProjectLifecycle

YEAR = date.today().year


async def count_running(client: Client, query: str) -> int:
    result = await client.count_workflows(
        f"WorkflowType = '{c.PROJECT_WORKFLOW}' AND ExecutionStatus = 'Running' AND {query}"
    )
    return result.count


async def test_sample_programme_load_report_and_reload(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool, http: httpx.AsyncClient, settings: Settings
) -> None:
    client = dev_env.client
    plans = load_sample_plans(YEAR)
    codes = [p.code for p in plans]
    assert len(plans) == 243
    async with running_worker(client, pool, http, settings) as task_queue:
        await start_programme(client, plans, load_policy(), task_queue=task_queue)

        async def projected() -> int:
            async with pool.acquire() as conn:
                return int(
                    await conn.fetchval(
                        "SELECT count(*) FROM projects WHERE code = ANY($1::text[])", codes
                    )
                )

        assert await eventually(lambda: _equals(projected(), 243), timeout=120)
        # Filterable in Temporal visibility (the Web UI and `temporal workflow list --query`).
        ecology = sum(1 for p in plans if p.program == "P06")
        assert await eventually(
            lambda: _equals(
                count_running(
                    client, "GuatuProgram = 'P06' AND WorkflowId STARTS_WITH 'project-WJ'"
                ),
                ecology,
            ),
            timeout=60,
        )
        bureau = plans[0].bureau
        assert await eventually(
            lambda: _equals(
                count_running(
                    client, f"GuatuBureau = '{bureau}' AND WorkflowId STARTS_WITH 'project-WJ'"
                ),
                sum(1 for p in plans if p.bureau == bureau),
            ),
            timeout=60,
        )

        # A bureau reports on five projects; one bad report is refused and audited.
        sample = plans[:5]
        this_month = month_key(date.today())
        for plan in sample:
            first = month_key(plan.start)
            month = first if first <= this_month else this_month
            if month < first:
                continue
            await send_update(
                client,
                plan.code,
                ProjectLifecycle.submit_report,
                ProgressReportInput(
                    bureau=plan.bureau,
                    idempotency_key=f"it-{plan.code}",
                    month=month,
                    investment_wan=10.0,
                    physical_progress_pct=1.0,
                ),
                pool=pool,
                channel="test",
            )
        with pytest.raises(Rejected) as refused:
            await send_update(
                client,
                sample[0].code,
                ProjectLifecycle.submit_report,
                ProgressReportInput(
                    bureau="not_the_owner",
                    idempotency_key="it-bad",
                    month=this_month,
                    investment_wan=1.0,
                    physical_progress_pct=1.0,
                ),
                pool=pool,
                channel="test",
            )
        assert refused.value.code == "not_owner"
        async with pool.acquire() as conn:
            reports = await eventually(
                lambda: _at_least(
                    conn.fetchval(
                        "SELECT count(*) FROM progress_reports WHERE project = ANY($1::text[])",
                        [p.code for p in sample],
                    ),
                    1,
                )
            )
            rejected = await conn.fetchval(
                "SELECT count(*) FROM audit_log WHERE project = $1 AND NOT accepted", sample[0].code
            )
        assert reports >= 1 and rejected == 1

        # Loading the same programme again starts nothing new.
        await start_programme(client, plans, load_policy(), task_queue=task_queue)
        await asyncio.sleep(1)
        assert await count_running(client, "WorkflowId STARTS_WITH 'project-WJ'") == 243
        assert await projected() == 243
        status = await project_status(client, plans[0].code)
        assert isinstance(status, ProjectStatus) and status.code == plans[0].code
        for code in codes:
            await client.get_workflow_handle(c.project_workflow_id(code)).terminate()


async def _equals(value: Any, expected: int) -> bool:
    return (await value) == expected


async def _at_least(value: Any, expected: int) -> int | None:
    got = await value
    return got if got >= expected else None


async def test_bureau_down_then_delivered_exactly_once(
    dev_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    receiver: WebhookReceiver,
    settings: Settings,
) -> None:
    client = dev_env.client
    bureau = await add_bureau(pool, receiver.url)
    today = date.today()
    # One business day per real second: the milestone 3 days out is missed after ~4 s.
    plan = make_plan(ProjectKind.SERVICE, start=today, bureau=bureau, milestone_days=[3, 300, 330])
    clock = ProgrammeClock(scale=86_400)
    receiver.failing = True
    async with running_worker(client, pool, http, settings) as task_queue:
        await start_project(client, plan, load_policy(), task_queue=task_queue, clock=clock)
        key = f"{plan.code}:milestone_missed:implementing:{plan.milestones[0].planned.isoformat()}"
        async with pool.acquire() as conn:
            attempts = await eventually(
                lambda: conn.fetchval(
                    "SELECT attempts FROM notifications WHERE key = $1 AND attempts >= 2", key
                ),
                timeout=30,
            )
        # The run is not blocked: a bureau transition is accepted while deliveries fail.
        result = await send_update(
            client,
            plan.code,
            ProjectLifecycle.transition_stage,
            StageTransitionInput(
                bureau=bureau, idempotency_key="during-outage", step=Step.IMPLEMENTING
            ),
        )
        assert result.stage is Stage.IMPLEMENTING
        receiver.failing = False
        delivered = await eventually(lambda: receiver.deliveries(plan.code).get(key), timeout=60)
        await asyncio.sleep(1)
        counts = receiver.deliveries(plan.code)
        print(f"webhook attempts while down: {attempts}; deliveries of {key}: {counts[key]}")
        assert delivered == 1 and counts[key] == 1
        assert all(n == 1 for n in counts.values()), counts
        async with pool.acquire() as conn:
            status = await conn.fetchval("SELECT status FROM notifications WHERE key = $1", key)
        assert status == "delivered"
        await client.get_workflow_handle(c.project_workflow_id(plan.code)).terminate()
