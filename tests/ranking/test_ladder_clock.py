"""A ladder started on a programme clock decides its very first period on that clock.

RankingRound's feed-ladder step starts a bureau's ladder and sends `record_period` at once; the
update can be handled in the ladder's first workflow task, before `run` begins. The clock must
already be anchored then (it was anchored in `run`: the first period's 督办单 was due 30 days
after the *real* date, seen in tests/integration/test_mid_year_adoption.py). Update-with-start
puts the update in the first workflow task every time, so this is deterministic.
"""

from __future__ import annotations

from datetime import date, datetime

import asyncpg
import httpx
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.core import constants as c
from guatu.core.clock import CST, local_date
from guatu.ladder.models import LadderInput, RecordPeriodInput, RecordPeriodResult
from guatu.lifecycle.models import ProgrammeClock
from guatu.ranking.actions import ActionKind
from guatu.ranking.messages import BureauOutcome
from guatu.ranking.models import LadderRules, ListKind, RedProject
from tests.helpers import add_bureau, running_worker
from tests.ranking.conftest import end_ladders


async def test_first_record_runs_on_the_programme_clock(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool, http: httpx.AsyncClient, settings: Settings
) -> None:
    client = dev_env.client
    bureau = await add_bureau(pool, None)
    # Business time: 10 March 2033, 10:00 in Wenjiang, whatever the real date is.
    clock = ProgrammeClock(scale=1.0, anchor_business=datetime(2033, 3, 10, 10, tzinfo=CST))
    outcome = BureauOutcome(
        bureau=bureau,
        name_zh="测试局",
        period="2033-02",
        kind="month",
        ruleset_id="default",
        ruleset_version=2,
        rank=3,
        of=3,
        score=40.0,
        listed=ListKind.BLACK,
        target_met=False,
        investment_ratio=0.5,
        red_projects=[
            RedProject(
                code="CLK-1", name_zh="时钟项目", streak=2, red_months=["2033-01", "2033-02"]
            )
        ],
    )
    async with running_worker(client, pool, http, settings) as tq:
        try:
            result: RecordPeriodResult = await client.execute_update_with_start_workflow(
                c.UPDATE_RECORD_PERIOD,
                RecordPeriodInput(outcome=outcome, ladder=LadderRules()),
                start_workflow_operation=WithStartWorkflowOperation(
                    c.LADDER_WORKFLOW,
                    LadderInput(bureau=bureau, name_zh="测试局", clock=clock),
                    id=c.bureau_ladder_workflow_id(bureau),
                    task_queue=tq,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                ),
                id="record_period:default:2033-02",
                result_type=RecordPeriodResult,
            )
        finally:
            await end_ladders(client, [bureau])
    by_kind = {d.kind: d for d in result.decisions}
    # Black list → 通报; CLK-1 red two months running → 督办单, due 30 days after business
    # today: 10 March + 30 days = 9 April 2033.
    assert set(by_kind) == {ActionKind.NOTICE, ActionKind.PROJECT_SUPERVISION}
    order = by_kind[ActionKind.PROJECT_SUPERVISION]
    assert order.deadline == date(2033, 4, 9)
    assert {local_date(d.decided_at) for d in result.decisions} == {date(2033, 3, 10)}
