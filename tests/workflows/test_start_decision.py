"""One start decision for the API and the CLI (`guatu.lifecycle.service.start_once`)."""

from __future__ import annotations

from datetime import date

import asyncpg
import httpx
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.core import constants as c
from guatu.lifecycle.models import ProjectKind, ProjectPlan
from guatu.lifecycle.service import StartOutcome, start_once
from tests.helpers import add_bureau, eventually, make_plan, running_worker
from tests.workflows.test_lifecycle import NO_PROGRESS_RULE


async def test_started_running_other_plan_finished(
    dev_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    settings: Settings,
) -> None:
    client = dev_env.client
    bureau = await add_bureau(pool, "http://127.0.0.1:9/none")
    plan = make_plan(ProjectKind.SERVICE, start=date(2030, 3, 1), bureau=bureau)
    other = plan.model_copy(update={"total_investment_wan": plan.total_investment_wan + 1})
    async with running_worker(client, pool, http, settings) as task_queue:

        async def start(p: ProjectPlan) -> StartOutcome:
            decision = await start_once(
                client, p, NO_PROGRESS_RULE, task_queue=task_queue, index=False
            )
            assert decision.code == plan.code and plan.code in decision.zh
            return decision.outcome

        assert await start(plan) is StartOutcome.STARTED
        assert await start(plan) is StartOutcome.ALREADY_RUNNING
        assert await start(other) is StartOutcome.PROJECT_EXISTS
        await client.get_workflow_handle(c.project_workflow_id(plan.code)).terminate()
        assert await start(plan) is StartOutcome.PROJECT_FINISHED

    async def runs() -> int:
        query = f"WorkflowId = '{c.project_workflow_id(plan.code)}'"
        return (await client.count_workflows(query)).count

    await eventually(runs)
    assert await runs() == 1  # started once, whatever was asked after
