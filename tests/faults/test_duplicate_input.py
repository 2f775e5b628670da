"""The same bureau input sent 5 times at once, and again after a continue-as-new.

Of each batch of five, three go through the service layer and two carry update IDs of their own:
every one reaches the workflow, whose key check folds them into one (the others answer
`duplicate: true` with the project's current stage and light). The policy continues the run as new after a few events, so the
second batch reaches a new run, where the server's update-ID dedup no longer applies and only
the keys carried in the state protect it. One transition, one report, one audit row each.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import asyncpg
import httpx
from pydantic import BaseModel
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.core import constants as c
from guatu.core.clock import month_key
from guatu.lifecycle.models import (
    ClockChangeInput,
    ProgrammeClock,
    ProgressReportInput,
    ProjectKind,
    ProjectState,
    StageTransitionInput,
    Step,
    TimerPolicy,
    UpdateResult,
)
from guatu.lifecycle.service import send_update, start_project
from tests.faults.support import business_today, run_prefix
from tests.helpers import WebhookReceiver, add_bureau, eventually, make_plan, running_worker
from workflows.project_lifecycle import ProjectLifecycle

# Continue as new whenever a run that has more than 5 events wakes up.
POLICY = TimerPolicy(continue_as_new_events=5)


async def test_same_input_five_times_and_after_continue_as_new(
    dev_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    receiver: WebhookReceiver,
    settings: Settings,
) -> None:
    client = dev_env.client
    bureau = await add_bureau(pool, receiver.url)
    plan = make_plan(
        ProjectKind.ENGINEERING,
        start=business_today(),
        bureau=bureau,
        milestone_days=[300, 320, 340, 360, 400, 420],
        code=run_prefix("D"),
    )
    handle = client.get_workflow_handle(c.project_workflow_id(plan.code))
    step = StageTransitionInput(bureau=bureau, idempotency_key="dup-step", step=Step.PRELIMINARY)
    report = ProgressReportInput(
        bureau=bureau,
        idempotency_key="dup-report",
        month=month_key(plan.start),
        investment_wan=10.0,
        physical_progress_pct=5.0,
    )

    async def five(update: str, data: BaseModel) -> list[UpdateResult]:
        through_service = [send_update(client, plan.code, update, data) for _ in range(3)]
        own_ids = [
            handle.execute_update(
                update, data, id=f"{update}:{uuid.uuid4()}", result_type=UpdateResult
            )
            for _ in range(2)
        ]
        return list(await asyncio.gather(*through_service, *own_ids))

    async def state() -> ProjectState:
        return await handle.query(ProjectLifecycle.state)

    async with running_worker(client, pool, http, settings) as task_queue:
        await start_project(client, plan, POLICY, task_queue=task_queue, index=False)
        try:
            first_steps, first_reports = await asyncio.gather(
                five(ProjectLifecycle.transition_stage, step),
                five(ProjectLifecycle.submit_report, report),
            )
            # The run checks its length whenever it wakes; a clock signal at the same scale
            # wakes it without changing anything, so it continues as new now.
            await handle.signal(c.SIGNAL_CLOCK, ClockChangeInput(clock=ProgrammeClock()))
            await eventually(lambda: _runs_at_least(state(), 2), timeout=30)
            runs_before_second = (await state()).runs
            again_steps, again_reports = await asyncio.gather(
                five(ProjectLifecycle.transition_stage, step),
                five(ProjectLifecycle.submit_report, report),
            )
            final = await state()
            async with pool.acquire() as conn:
                await eventually(
                    lambda: conn.fetchval(
                        "SELECT version FROM projects WHERE code = $1 AND version = $2",
                        plan.code,
                        final.version,
                    ),
                    timeout=30,
                )
                transitions = await conn.fetchval(
                    "SELECT count(*) FROM stage_history WHERE project = $1 AND step = $2",
                    plan.code,
                    Step.PRELIMINARY.value,
                )
                report_rows = await conn.fetchval(
                    "SELECT count(*) FROM progress_reports WHERE project = $1", plan.code
                )
                audit = dict(
                    await conn.fetch(
                        "SELECT idempotency_key, count(*) FROM audit_log WHERE project = $1"
                        " GROUP BY idempotency_key",
                        plan.code,
                    )
                )
            runs = [
                e
                async for e in client.list_workflows(
                    f"WorkflowId = '{c.project_workflow_id(plan.code)}'"
                )
            ]
        finally:
            with contextlib.suppress(Exception):
                await handle.terminate()

    def plain(results: list[UpdateResult]) -> set[str]:
        return {r.model_copy(update={"duplicate": False}).model_dump_json() for r in results}

    print(
        f"\ntransition sent 5+5 times, report sent 5+5 times; runs before the second batch="
        f"{runs_before_second}, executions={len(runs)}"
    )
    print(
        f"transitions={transitions} report_rows={report_rows} audit_rows={audit} "
        f"state: steps={sorted(final.steps_done)} stage_changes="
        f"{sum(1 for ch in final.stage_history if ch.step is Step.PRELIMINARY)} "
        f"reports={ {m: r.corrected for m, r in final.reports.items()} }"
    )
    # Of each first batch one answer applied the input; every other one is a duplicate.
    assert sorted(r.duplicate for r in first_steps) == [False, True, True, True, True]
    assert sorted(r.duplicate for r in first_reports) == [False, True, True, True, True]
    assert all(r.duplicate for r in again_steps + again_reports)
    assert {r.stage.value for r in first_steps + again_steps} == {"preliminary"}
    # Later duplicates carry the project's current stage and light (nothing changed in between,
    # so all ten are one answer), not the first answer verbatim.
    assert len(plain(again_steps + again_reports)) == 1
    assert {(r.stage, r.light) for r in again_steps} == {(final.stage, final.light)}

    assert runs_before_second >= 2 and len(runs) >= 2
    # One transition and one report, in the workflow and in the read model; one audit row each.
    assert sum(1 for ch in final.stage_history if ch.step is Step.PRELIMINARY) == 1
    assert list(final.steps_done) == [Step.PRELIMINARY]
    assert {m: r.corrected for m, r in final.reports.items()} == {report.month: 0}
    assert transitions == 1 and report_rows == 1
    assert audit == {"dup-step": 1, "dup-report": 1}


async def _runs_at_least(state: object, runs: int) -> bool:
    assert asyncio.iscoroutine(state)
    return (await state).runs >= runs
