"""Record ProjectLifecycle histories for the replay test (tests/replay/histories/*.json).

Runs real scenarios on the time-skipping server with an embedded PostgreSQL and a webhook
receiver, then writes each workflow's history as JSON. Re-record after an intentional workflow
change that is guarded by `workflow.patched` (keep the old files too: they are what running
projects look like).

    .venv/bin/python scripts/record_histories.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.settings import Settings
from guatu.core import constants as c
from guatu.core import db
from guatu.core.clock import local_date, month_key
from guatu.lifecycle.models import (
    MilestonePlan,
    PlanChangeInput,
    ProgressReportInput,
    ProjectKind,
    RunControlInput,
    StageTransitionInput,
    Step,
    TimerPolicy,
)
from guatu.lifecycle.service import send_update, start_input, start_project
from guatu.runtime.stack import EmbeddedPostgres, test_server_binary
from tests.helpers import WebhookReceiver, add_bureau, make_plan, running_worker

# Bump when recording histories of a changed (patched) workflow; keep the older files.
VERSION = "v3"
OUT = Path(__file__).resolve().parent.parent / "tests" / "replay" / "histories"


async def save(client: Client, workflow_id: str, name: str, run_id: str | None = None) -> None:
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    (OUT / f"{name}_{VERSION}.json").write_text(history.to_json(), encoding="utf-8")
    print(f"recorded {name}: {len(history.events)} events")


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    pg = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="guatu-record-")), port=55990)
    pg.start()
    receiver = WebhookReceiver()
    await receiver.start()
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=test_server_binary()
    )
    pool = await db.create_pool(pg.dsn)
    try:
        await db.migrate(pool)
        bureau = await add_bureau(pool, receiver.url)
        client = env.client
        async with (
            httpx.AsyncClient() as http,
            running_worker(client, pool, http, Settings(graceful_shutdown_seconds=1)) as tq,
        ):
            today = local_date(await env.get_current_time())

            # 1. Engineering: permits, a missed milestone (yellow → red), reports, plan change,
            #    then through to closing.
            plan = make_plan(
                start=today.replace(day=1),
                bureau=bureau,
                milestone_days=[20, 25, 30, 90, 300, 330],
                months=12,
            )
            await start_project(client, plan, TimerPolicy(), task_queue=tq, index=False)
            wid = c.project_workflow_id(plan.code)

            async def step(s: Step, key: str) -> None:
                await send_update(
                    client,
                    plan.code,
                    c.UPDATE_TRANSITION,
                    StageTransitionInput(bureau=bureau, idempotency_key=key, step=s),
                )

            await step(Step.PRELIMINARY, "e1")
            await step(Step.LAND_USE, "e2")
            await send_update(
                client,
                plan.code,
                c.UPDATE_REPORT,
                ProgressReportInput(
                    bureau=bureau,
                    idempotency_key="r1",
                    month=month_key(plan.start),
                    investment_wan=80,
                    physical_progress_pct=5,
                ),
            )
            await env.sleep(timedelta(days=70))
            await send_update(
                client,
                plan.code,
                c.UPDATE_PLAN,
                PlanChangeInput(
                    idempotency_key="p1",
                    reason="规划许可延期",
                    milestones=[
                        MilestonePlan(
                            step=Step.PLANNING_PERMIT, planned=plan.start + timedelta(days=100)
                        )
                    ],
                ),
            )
            for s, k in [
                (Step.PLANNING_PERMIT, "e3"),
                (Step.CONSTRUCTION_PERMIT, "e4"),
                (Step.CONSTRUCTION_STARTED, "e5"),
                (Step.UNDER_CONSTRUCTION, "e6"),
                (Step.COMPLETED, "e7"),
                (Step.ACCEPTED, "e8"),
                (Step.CLOSED, "e9"),
            ]:
                await step(s, k)
            await client.get_workflow_handle(wid).result()
            await save(client, wid, "engineering_full")

            # 2. Service: suspended, resumed, cancelled.
            plan2 = make_plan(
                ProjectKind.SERVICE, start=today, bureau=bureau, milestone_days=[10, 200, 300]
            )
            await start_project(client, plan2, TimerPolicy(), task_queue=tq, index=False)
            wid2 = c.project_workflow_id(plan2.code)
            await send_update(
                client,
                plan2.code,
                c.UPDATE_SUSPEND,
                RunControlInput(idempotency_key="s", reason="资金未到位"),
            )
            await env.sleep(timedelta(days=20))
            await send_update(
                client, plan2.code, c.UPDATE_RESUME, RunControlInput(idempotency_key="r")
            )
            await env.sleep(timedelta(days=40))
            await send_update(
                client,
                plan2.code,
                c.UPDATE_CANCEL,
                RunControlInput(idempotency_key="c", reason="项目撤销"),
            )
            await client.get_workflow_handle(wid2).result()
            await save(client, wid2, "service_suspend_cancel")

            # 3. Continue-as-new: a small event budget forces it; the first run is recorded.
            plan3 = make_plan(
                ProjectKind.SERVICE,
                start=today.replace(day=1),
                bureau=bureau,
                milestone_days=[300, 320, 340],
                months=24,
            )
            policy = TimerPolicy(continue_as_new_events=40)
            handle = await client.start_workflow(
                c.PROJECT_WORKFLOW,
                start_input(plan3, policy, index=False),
                id=c.project_workflow_id(plan3.code),
                task_queue=tq,
            )
            first_run = handle.first_execution_run_id
            await env.sleep(timedelta(days=120))
            await save(client, handle.id, "service_continue_as_new", run_id=first_run)
            await client.get_workflow_handle(handle.id).terminate()
    finally:
        await pool.close()
        await env.shutdown()
        await receiver.stop()
        pg.stop("immediate")


if __name__ == "__main__":
    asyncio.run(main())
