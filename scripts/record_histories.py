"""Record workflow histories for the replay guard (tests/replay/histories/*.json).

Runs real scenarios of every registered workflow (workflows/registry.py) with an embedded
PostgreSQL and a webhook receiver, and writes each history as JSON:

- on the time-skipping test server (days pass in seconds): ProjectLifecycle (engineering to
  closing, a service suspended and cancelled, a continue-as-new), BureauLadder (every rung up
  and down, a correction-plan deadline escalated, an exemption, a revision that withdraws an
  order, continue-as-new) and RankingAppeal (reminder, escalation, rejection);
- on the dev server (real schedules): a RankingRound started by a Schedule backfill (the
  scheduled parent, which reads `TemporalScheduledStartTime`, and the business-key round it
  hands over to), the BureauLadders that round feeds, its NoticeDelivery children, and an
  accepted RankingAppeal whose revision reruns the round (`-r2`) and revises the ladders.

Search attributes are registered first on both servers, so lifecycles start indexed and
their `upsert_search_attributes` commands are in the recorded histories (the test server knows
only Temporal's own attributes until `AddSearchAttributes` is called: earlier recordings
started unindexed because the start was refused with "search attribute GuatuLight is not
defined").

Every file is named `<scenario>_<tag>.json`; the tag says which code recorded it (`v4`: main
at the time of issue 11). Re-record after an intentional workflow change that is guarded by
`workflow.patched`: bump TAG and keep the old files (they are what running workflows look
like). Histories of the code *before* a patch come from `scripts/record_prepatch.py`.

    .venv/bin/python scripts/record_histories.py                  # everything
    .venv/bin/python scripts/record_histories.py --only ladder    # lifecycle|ladder|appeal|round|society|opportunity
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleBackfill,
    ScheduleOverlapPolicy,
    ScheduleSpec,
    ScheduleState,
    WorkflowExecutionStatus,
    WorkflowHistory,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.settings import Settings
from guatu.appeals.book import appeal_id
from guatu.appeals.models import AppealFiling, AppealInput, AppealItem, DecideInput, Decision
from guatu.core import constants as c
from guatu.core import db
from guatu.core.clock import CST, local_date, month_key
from guatu.ladder import service as ladder_service
from guatu.ladder.models import (
    CorrectionPlanInput,
    ExemptionInput,
    LadderInput,
    RecordPeriodInput,
    RecordPeriodResult,
)
from guatu.lifecycle.models import (
    MilestonePlan,
    PlanChangeInput,
    ProgrammeClock,
    ProgressReportInput,
    ProjectKind,
    RunControlInput,
    StageTransitionInput,
    Step,
    TimerPolicy,
)
from guatu.lifecycle.service import search_attributes, start_input, start_project
from guatu.ranking.messages import BureauOutcome, RankingRoundInput
from guatu.ranking.models import LadderRules, ListKind
from guatu.ranking.periods import parse_period
from guatu.ranking.rulesets import load_ruleset
from guatu.runtime.stack import EmbeddedPostgres, temporal_binary, test_server_binary
from tests.helpers import WebhookReceiver, add_bureau, make_plan, running_worker
from tests.ranking import fixture
from workflows.bureau_ladder import BureauLadder
from workflows.project_lifecycle import ProjectLifecycle
from workflows.ranking_appeal import RankingAppeal

# Bump when recording histories of a changed (patched) workflow; keep the older files.
# v5: lifecycle write-through, bounded state, yearly continue-as-new; the bounded ladder
TAG = "v7"  # v7: RankingRound off the event loop (ranking-off-loop-2026-12)
OUT = Path(__file__).resolve().parent.parent / "tests" / "replay" / "histories"
MANIFEST = "manifest.json"  # file → workflow ID, type, the code that recorded it
REASON = "特大暴雨引发洪灾，全部工地依令停工（不可抗力）"
SETTINGS = Settings(graceful_shutdown_seconds=1)


async def register_search_attributes(client: Client) -> None:
    """Guatu's search attributes on the server (the dev server gets them at start too)."""
    with contextlib.suppress(Exception):  # already registered
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=client.namespace,
                search_attributes={
                    k.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for k in c.SEARCH_ATTRIBUTES
                },
            )
        )


def head_commit() -> str:
    root = Path(__file__).resolve().parent.parent
    return subprocess.run(
        ["git", "rev-parse", "--short=10", "HEAD"], cwd=root, capture_output=True, text=True
    ).stdout.strip()


def write_history(
    out: Path, manifest: Path, file: str, history: WorkflowHistory, **entry: object
) -> None:
    """Write one history and its manifest entry (the replay test needs the real workflow ID:
    RankingRound decides on it)."""
    (out / file).write_text(history.to_json(), encoding="utf-8")
    index = json.loads(manifest.read_text(encoding="utf-8")) if manifest.exists() else {}
    index[file] = {"workflow_id": history.workflow_id, **entry}
    manifest.write_text(
        json.dumps(dict(sorted(index.items())), ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8",
    )
    print(f"recorded {file}: {len(history.events)} events")


async def save(
    client: Client, workflow_id: str, name: str, run_id: str | None = None, tag: str = ""
) -> None:
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    history = await handle.fetch_history()
    desc = await handle.describe()
    write_history(
        OUT,
        OUT / MANIFEST,
        f"{name}_{tag or TAG}.json",
        history,
        workflow_type=desc.workflow_type,
        commit=head_commit(),
        recorded_from="main",  # this tree (scripts/record_prepatch.py --reindex sets predates)
        predates=[],
        scenario=name,
    )


async def save_runs(client: Client, workflow_id: str, first_run_id: str, name: str) -> None:
    """Every run of a chain of continue-as-new, from the first: `<name>_run<N>`."""
    run_id: str | None = first_run_id
    n = 0
    while run_id:
        n += 1
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        await save(client, workflow_id, f"{name}_run{n}", run_id=run_id)
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.HasField("workflow_execution_continued_as_new_event_attributes")
            else None
        )


async def quiet(client: Client, workflow_id: str, seconds: float = 60) -> None:
    """No activity and no workflow task in flight, twice half a second apart."""
    handle = client.get_workflow_handle(workflow_id)
    deadline = asyncio.get_running_loop().time() + seconds
    last: tuple[str, int] | None = None
    while asyncio.get_running_loop().time() < deadline:
        d = (await handle.describe()).raw_description
        now = (d.workflow_execution_info.execution.run_id, d.workflow_execution_info.history_length)
        if not d.pending_activities and not d.HasField("pending_workflow_task") and now == last:
            return
        last = now
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{workflow_id} did not settle")


# ---------------------------------------------------------------------------------------------
# ProjectLifecycle (time-skipping server, indexed)
# ---------------------------------------------------------------------------------------------


async def record_lifecycles(env: WorkflowEnvironment, pool: asyncpg.Pool, url: str) -> None:
    client = env.client
    bureau = await add_bureau(pool, url)
    async with httpx.AsyncClient() as http, running_worker(client, pool, http, SETTINGS) as tq:
        today = local_date(await env.get_current_time())

        # 1. Engineering: permits, a missed milestone (yellow → red), reports, plan change,
        #    then through to closing.
        plan = make_plan(
            start=today.replace(day=1),
            bureau=bureau,
            milestone_days=[20, 25, 30, 90, 300, 330],
            months=12,
        )
        await start_project(client, plan, TimerPolicy(), task_queue=tq)
        wid = c.project_workflow_id(plan.code)
        handle = client.get_workflow_handle(wid)

        async def step(s: Step, key: str) -> None:
            await handle.execute_update(
                ProjectLifecycle.transition_stage,
                StageTransitionInput(bureau=bureau, idempotency_key=key, step=s),
            )

        await step(Step.PRELIMINARY, "e1")
        await step(Step.LAND_USE, "e2")
        await handle.execute_update(
            ProjectLifecycle.submit_report,
            ProgressReportInput(
                bureau=bureau,
                idempotency_key="r1",
                month=month_key(plan.start),
                investment_wan=80,
                physical_progress_pct=5,
            ),
        )
        await env.sleep(timedelta(days=70))
        await handle.execute_update(
            ProjectLifecycle.change_plan,
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
        await handle.result()
        await save(client, wid, "engineering_full")

        # 2. Service: suspended, resumed, cancelled.
        plan2 = make_plan(
            ProjectKind.SERVICE, start=today, bureau=bureau, milestone_days=[10, 200, 300]
        )
        await start_project(client, plan2, TimerPolicy(), task_queue=tq)
        handle2 = client.get_workflow_handle(c.project_workflow_id(plan2.code))
        await handle2.execute_update(
            ProjectLifecycle.suspend, RunControlInput(idempotency_key="s", reason="资金未到位")
        )
        await env.sleep(timedelta(days=20))
        await handle2.execute_update(ProjectLifecycle.resume, RunControlInput(idempotency_key="r"))
        await env.sleep(timedelta(days=40))
        await handle2.execute_update(
            ProjectLifecycle.cancel, RunControlInput(idempotency_key="c", reason="项目撤销")
        )
        await handle2.result()
        await save(client, handle2.id, "service_suspend_cancel")

        # 3. Continue-as-new: a small event budget forces it; every run is recorded (the next
        #    one starts from the state carried over).
        plan3 = make_plan(
            ProjectKind.SERVICE,
            start=today.replace(day=1),
            bureau=bureau,
            milestone_days=[300, 320, 340],
            months=24,
        )
        handle3 = await client.start_workflow(
            ProjectLifecycle.run,
            start_input(plan3, TimerPolicy(continue_as_new_events=40)),
            id=c.project_workflow_id(plan3.code),
            task_queue=tq,
            search_attributes=search_attributes(plan3),
        )
        await env.sleep(timedelta(days=120))
        await quiet(client, handle3.id)
        await save_runs(client, handle3.id, handle3.first_execution_run_id, "service_can")
        await client.get_workflow_handle(handle3.id).terminate()


# ---------------------------------------------------------------------------------------------
# BureauLadder (time-skipping server)
# ---------------------------------------------------------------------------------------------


def outcome(bureau: str, period: str, listed: ListKind | None) -> BureauOutcome:
    return BureauOutcome(
        bureau=bureau,
        name_zh="测试局",
        period=period,
        kind=parse_period(period).kind.value,
        ruleset_id="default",
        ruleset_version=1,
        rank=7,
        of=8,
        score=42.5,
        listed=listed,
        target_met=listed is ListKind.RED,
        investment_ratio=0.81,
        reasons_zh=["合计 42.50 分"],
        reasons_en=["total 42.50"],
        red_projects=[],
    )


async def record_ladder(env: WorkflowEnvironment, pool: asyncpg.Pool, url: str) -> None:
    """Up to 督办, its deadline escalated; an exemption; a plan; a revision withdrawing a 督办;
    down and red; continue-as-new several times (a small event budget)."""
    client = env.client
    bureau = await add_bureau(pool, url)
    wid = c.bureau_ladder_workflow_id(bureau)
    async with httpx.AsyncClient() as http, running_worker(client, pool, http, SETTINGS) as tq:
        handle = await client.start_workflow(
            BureauLadder.run,
            LadderInput(bureau=bureau, name_zh="测试局", continue_as_new_events=90),
            id=wid,
            task_queue=tq,
        )

        async def record(period: str, listed: ListKind | None, revision: int = 1) -> Any:
            result: RecordPeriodResult = await client.get_workflow_handle(wid).execute_update(
                BureauLadder.record_period,
                RecordPeriodInput(
                    outcome=outcome(bureau, period, listed),
                    ladder=LadderRules(),
                    revision=revision,
                    reason="补报数据后重新冻结" if revision > 1 else "",
                    actor="王区长" if revision > 1 else "",
                ),
                id=f"record_period:default:{period}:r{revision}",
            )
            # A pause lets the ladder continue as new between periods (it never does while
            # updates keep arriving), so later runs start from carried-over state.
            await asyncio.sleep(0.5)
            return result

        async def skip(days: float) -> None:
            await env.sleep(timedelta(days=days))
            await asyncio.sleep(0.3)

        for period in ("2031-01", "2031-02"):
            await record(period, ListKind.BLACK)
        third = await record("2031-03", ListKind.BLACK)  # 督办, plan due in 15 days
        await skip(17)  # overdue: escalated (督办升级)
        await ladder_service.submit_correction_plan(
            client,
            bureau,
            CorrectionPlanInput(
                order_id=third.decisions[0].order_id,
                plan="倒排工期，增加施工班组，每周报送进度。",
                actor="局长",
                idempotency_key="plan-1",
            ),
        )
        await ladder_service.grant_exemption(
            client,
            bureau,
            ExemptionInput(
                period="2031-05",
                reason=REASON,
                actor="王区长",
                role="district_leader",
                idempotency_key="ex-1",
            ),
            pool=pool,
            task_queue=tq,
        )
        await record("2031-04", ListKind.BLACK)  # 督办 again
        # Revision 2 of 2031-04 takes it off the black list: the 督办 is withdrawn (更正通报).
        await record("2031-04", None, revision=2)
        await record("2031-05", ListKind.BLACK)  # exempted
        for period, listed in (
            ("2031-06", None),
            ("2031-07", ListKind.RED),
            ("2031-08", ListKind.RED),
            ("2031-09", None),
        ):
            await record(period, listed)
        await skip(20)
        await quiet(client, wid)
        await save_runs(client, wid, handle.first_execution_run_id, "ladder_steps")
        await handle.terminate()


# ---------------------------------------------------------------------------------------------
# RankingAppeal (time-skipping server): reminder, escalation, rejection
# ---------------------------------------------------------------------------------------------


def appeal_input(bureau: str, published: datetime, anchor: datetime, idem: str) -> AppealInput:
    filing = AppealFiling(
        bureau=bureau,
        period="2031-03",
        item=AppealItem.SCORE,
        reason="三月月报已按期报送，系统误记为逾期，请予复核",
        evidence="报送回执编号 WJ-2031-03-0457",
        actor="bureau:test",
        idempotency_key=idem,
    )
    return AppealInput(
        appeal_id=appeal_id(filing, 1),
        filing=filing,
        rules=load_ruleset("default").appeal,
        published_at=published,
        subject_zh="2031年3月竞进比拼得分",
        bureau_name="测试局",
        clock=ProgrammeClock(anchor_business=anchor),
    )


async def record_appeal(env: WorkflowEnvironment, pool: asyncpg.Pool, url: str) -> None:
    client = env.client
    bureau = await add_bureau(pool, url)
    async with httpx.AsyncClient() as http, running_worker(client, pool, http, SETTINGS) as tq:
        data = appeal_input(
            bureau,
            datetime(2031, 4, 1, 9, tzinfo=CST),
            datetime(2031, 4, 2, 10, tzinfo=CST),
            "file-1",
        )
        handle = await client.start_workflow(
            RankingAppeal.run, data, id=c.appeal_workflow_id(data.appeal_id), task_queue=tq
        )
        for _ in range(4):  # reminder (day 7), escalation (day 11), the office's deadline
            await env.sleep(timedelta(days=4))
            await asyncio.sleep(0.3)
        await handle.execute_update(
            RankingAppeal.decide,
            DecideInput(
                decision=Decision.REJECT,
                reason="经核查，该月报确系逾期报送，排名无误",
                actor="leader:王区长",
                role="leader",
                idempotency_key="decide-1",
            ),
        )
        await handle.result()
        await save(client, handle.id, "appeal_rejected_after_escalation")


# ---------------------------------------------------------------------------------------------
# OpportunityListing and OpportunityInterest (time-skipping server): an interest through its
# reminder, 催办 and escalation to its late answer and outcome; then the list's closing timer
# ---------------------------------------------------------------------------------------------


async def record_opportunity(env: WorkflowEnvironment, pool: asyncpg.Pool, url: str) -> None:
    from guatu.opportunities import service as opportunities
    from guatu.opportunities.book import interest_workflow_id
    from guatu.opportunities.models import (
        InterestSubmission,
        OpportunityKind,
        Outcome,
        OutcomeInput,
        PublishInput,
        RespondInput,
        SubjectKind,
    )
    from workflows.opportunity import OpportunityInterest, OpportunityListing

    client = env.client
    bureau = await add_bureau(pool, url)
    scene = f"R{uuid.uuid4().hex[:6].upper()}"
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO scenes (code, name_zh, program, lead_bureau) VALUES ($1, $2, $3, $4)",
            scene,
            "九曲江安·十里光华（录制）",
            "P10",
            bureau,
        )
    anchor = datetime(2031, 4, 1, 10, tzinfo=CST)
    async with httpx.AsyncClient() as http, running_worker(client, pool, http, SETTINGS) as tq:
        started = await env.get_current_time()
        listing = await opportunities.publish(
            client,
            pool,
            PublishInput(
                subject_kind=SubjectKind.SCENE,
                subject=scene,
                kind=OpportunityKind.OPERATION,
                title_zh="社区养老综合体运营合作",
                amount_wan=1200,
                closes_on=date(2031, 5, 30),
                actor="manager:test",
                idempotency_key="publish-1",
            ),
            task_queue=tq,
            clock=ProgrammeClock(anchor_business=anchor),
        )

        async def now() -> datetime:
            return anchor + (await env.get_current_time() - started)

        async def submit(uscc: str) -> str:
            receipt = await opportunities.express_interest(
                client,
                pool,
                listing.id,
                InterestSubmission(
                    company_name="示例科技有限公司",
                    uscc=uscc,
                    contact_name="张经理",
                    contact_phone="028-82710000",
                ),
                clock=ProgrammeClock(anchor_business=await now()),
            )
            return receipt.interest_id

        late = await submit("914403001922038216")
        await submit("914403001922038216")  # the same enterprise again: its first receipt
        for _ in range(6):  # reminder, overdue (催办), escalation to 区幸福办
            await env.sleep(timedelta(days=4))
            await asyncio.sleep(0.3)
        answered = client.get_workflow_handle(interest_workflow_id(late))
        await answered.execute_update(
            OpportunityInterest.respond,
            RespondInput(
                reply="已联系企业，约定面谈",
                actor="bureau:test",
                role="bureau",
                bureau=bureau,
                idempotency_key="respond-1",
            ),
        )
        await answered.execute_update(
            OpportunityInterest.record_outcome,
            OutcomeInput(
                outcome=Outcome.SIGNED,
                note="签订运营合作协议",
                amount_wan=800,
                actor="bureau:test",
                role="bureau",
                bureau=bureau,
                idempotency_key="outcome-1",
            ),
        )
        await answered.result()
        await save(client, answered.id, "interest_escalated_signed")
        handle = client.get_workflow_handle(listing.workflow_id)
        await env.sleep(timedelta(days=40))  # past the end of 2031-05-30: the list closes
        for _ in range(120):
            if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
                break
            await asyncio.sleep(0.5)
        await handle.result()
        await save(client, handle.id, "opportunity_closed_by_date")
        assert (await handle.query(OpportunityListing.opportunity)).interests == 1


# ---------------------------------------------------------------------------------------------
# RankingRound on the dev server: a scheduled run (backfill), the round, ladders, notices, and
# an accepted appeal's revision
# ---------------------------------------------------------------------------------------------


async def record_round(env: WorkflowEnvironment, pool: asyncpg.Pool, url: str) -> None:
    client = env.client
    px = f"r{uuid.uuid4().hex[:6]}"
    bureaus = await fixture.add_bureaus(pool, px, url)
    await fixture.insert(pool, px)
    schedule_id = f"record-ranking-{px}"
    async with httpx.AsyncClient() as http, running_worker(client, pool, http, SETTINGS) as tq:
        # Force majeure in bureau d before the round: its ladder starts with an exemption.
        await ladder_service.grant_exemption(
            client,
            bureaus[3],
            ExemptionInput(
                period="2031-03",
                reason=REASON,
                actor="王区长",
                role="district_leader",
                idempotency_key=f"{px}-ex",
            ),
            pool=pool,
            task_queue=tq,
        )
        schedule = await client.create_schedule(
            schedule_id,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    c.RANKING_WORKFLOW,
                    RankingRoundInput(kind="month", ruleset_id="default"),
                    id=f"ranking-scheduled-{px}",
                    task_queue=tq,
                ),
                spec=ScheduleSpec(cron_expressions=["0 9 1 * *"], time_zone_name="Asia/Shanghai"),
                state=ScheduleState(paused=True),
            ),
        )
        # The run of 2031-04-01 09:00 (Asia/Shanghai) ranks March 2031, the fixture's period.
        nominal = datetime(2031, 4, 1, 1, tzinfo=UTC)
        await schedule.backfill(
            ScheduleBackfill(
                start_at=nominal - timedelta(minutes=1),
                end_at=nominal + timedelta(minutes=1),
                overlap=ScheduleOverlapPolicy.ALLOW_ALL,
            )
        )
        round_id = c.ranking_round_workflow_id("2031-03", "default")
        await wait_started(client, round_id)
        await client.get_workflow_handle(round_id).result()
        scheduled = await scheduled_run(client, tq)
        await save(client, scheduled, "round_scheduled_parent")
        await save(client, round_id, "round_2031_03")
        for name, bureau in zip("abcd", bureaus, strict=True):
            await quiet(client, c.bureau_ladder_workflow_id(bureau))
            await save(client, c.bureau_ladder_workflow_id(bureau), f"round_ladder_{name}")
        notices = [
            e.id async for e in client.list_workflows(f"WorkflowType = '{c.NOTICE_WORKFLOW}'")
        ]
        for wid in sorted(notices)[:2]:
            await client.get_workflow_handle(wid).result()
        for i, wid in enumerate(sorted(notices)[:2]):
            await save(client, wid, f"notice_delivery_{i + 1}")

        # An accepted appeal of bureau a: its revision reruns the round as `-r2`.
        data = appeal_input(
            bureaus[0],
            datetime(2031, 4, 1, 9, tzinfo=CST),
            datetime(2031, 4, 2, 10, tzinfo=CST),
            f"{px}-appeal",
        )
        appeal = await client.start_workflow(
            RankingAppeal.run, data, id=c.appeal_workflow_id(data.appeal_id), task_queue=tq
        )
        await appeal.execute_update(
            RankingAppeal.decide,
            DecideInput(
                decision=Decision.ACCEPT,
                reason="经核查，三月月报确已按期报送，予以更正",
                actor="leader:王区长",
                role="leader",
                idempotency_key="decide-1",
            ),
        )
        await appeal.result()
        await save(client, appeal.id, "appeal_accepted_revision")
        revision_id = c.ranking_round_workflow_id("2031-03", "default", 2)
        await client.get_workflow_handle(revision_id).result()
        await save(client, revision_id, "round_2031_03_r2")
        await quiet(client, c.bureau_ladder_workflow_id(bureaus[0]))
        await save(client, c.bureau_ladder_workflow_id(bureaus[0]), "round_ladder_a_revised")
        await schedule.delete()
        for bureau in bureaus:
            with contextlib.suppress(Exception):
                await client.get_workflow_handle(c.bureau_ladder_workflow_id(bureau)).terminate()


async def wait_started(client: Client, workflow_id: str, seconds: float = 60) -> None:
    for _ in range(int(seconds * 4)):
        with contextlib.suppress(Exception):
            await client.get_workflow_handle(workflow_id).describe()
            return
        await asyncio.sleep(0.25)
    raise TimeoutError(f"{workflow_id} never started")


async def scheduled_run(client: Client, task_queue: str) -> str:
    async for e in client.list_workflows(
        f"WorkflowType = '{c.RANKING_WORKFLOW}' AND TaskQueue = '{task_queue}'"
    ):
        if e.id.startswith("ranking-scheduled-"):
            return e.id
    raise LookupError("no scheduled ranking run")


# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# 市民观察 and the 评估 gate (time-skipping server; issue 9, tag "society")
# ---------------------------------------------------------------------------------------------

SOCIETY_TAG = "society"


async def record_society(env: WorkflowEnvironment, pool: asyncpg.Pool, url: str) -> None:
    """An observation reminded, overdue and escalated, answered late, rated 不满意 and resolved
    by 区幸福办; a service project whose closing waits for a third-party evaluation."""
    from temporalio.client import WorkflowUpdateFailedError

    from guatu.lifecycle.models import EvaluationRecordInput
    from guatu.society import service as society
    from guatu.society.models import (
        Category,
        ObservationFiling,
        RateInput,
        ReplyInput,
        ResolveInput,
        Satisfaction,
    )

    client = env.client
    bureau = await add_bureau(pool, url)
    code = f"OBS-{uuid.uuid4().hex[:6].upper()}"
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO projects (code, name_zh, program, bureau, kind, stage, status, light,"
            " total_investment_wan, planned_investment_to_date_wan, actual_investment_wan,"
            " physical_progress_pct, plan, business_today, version)"
            " VALUES ($1,'红桥社区养老综合体','P10',$2,'service','implementing','active','green',"
            " 100,0,0,0,'{}',$3,1)",
            code,
            bureau,
            datetime(2026, 9, 29).date(),
        )
    async with httpx.AsyncClient() as http, running_worker(client, pool, http, SETTINGS) as tq:
        view = await society.submit_observation(
            client,
            pool,
            ObservationFiling(
                target=code,
                category=Category.NUISANCE,
                rating=2,
                text="夜间施工噪声大，22点后仍在作业",
                observer="recorder",
                idempotency_key="o1",
            ),
            task_queue=tq,
            clock=ProgrammeClock(anchor_business=datetime(2026, 9, 29, 10, tzinfo=CST)),
        )
        await env.sleep(timedelta(days=17))  # reminder 10-09, overdue 10-13, office due 10-15
        await society.reply_observation(
            client,
            pool,
            view.id,
            ReplyInput(
                text="已责令施工单位22点后停止高噪声作业",
                bureau=bureau,
                actor="bureau:recorder",
                role="bureau",
                idempotency_key="r1",
            ),
        )
        await society.rate_observation(
            client,
            pool,
            view.id,
            RateInput(
                satisfaction=Satisfaction.UNSATISFIED,
                observer="recorder",
                role="observer",
                idempotency_key="t1",
            ),
        )
        await society.resolve_observation(
            client,
            pool,
            view.id,
            ResolveInput(
                text="经督办，施工单位已调整作业时间",
                actor="leader:recorder",
                role="leader",
                idempotency_key="s1",
            ),
        )
        await client.get_workflow_handle(view.workflow_id).result()
        await save(client, view.workflow_id, "observation_escalated_resolved", tag=SOCIETY_TAG)

        today = local_date(await env.get_current_time())
        plan = make_plan(
            ProjectKind.SERVICE, start=today, bureau=bureau, milestone_days=[20, 120, 200]
        )
        await start_project(client, plan, TimerPolicy(), task_queue=tq)
        handle = client.get_workflow_handle(c.project_workflow_id(plan.code))
        for s in (Step.IMPLEMENTING, Step.DONE, Step.EVALUATED):
            await handle.execute_update(
                ProjectLifecycle.transition_stage,
                StageTransitionInput(bureau=bureau, idempotency_key=f"g-{s.value}", step=s),
            )
        refused = False
        try:  # refused by the validator: nothing in history
            await handle.execute_update(
                ProjectLifecycle.transition_stage,
                StageTransitionInput(bureau=bureau, idempotency_key="g-closed", step=Step.CLOSED),
            )
        except WorkflowUpdateFailedError:
            refused = True
        assert refused, "a service project closed without an evaluation"
        await handle.execute_update(
            ProjectLifecycle.record_evaluation,
            EvaluationRecordInput(
                evaluation_id=f"project-{plan.code}-2026-v1", score=85, idempotency_key="ev1"
            ),
        )
        await handle.execute_update(
            ProjectLifecycle.transition_stage,
            StageTransitionInput(bureau=bureau, idempotency_key="g-closed", step=Step.CLOSED),
        )
        await handle.result()
        await save(client, handle.id, "service_evaluation_gate", tag=SOCIETY_TAG)


SCENARIOS = ("lifecycle", "ladder", "appeal", "round", "society", "opportunity")


async def main(only: Iterable[str], out: Path) -> None:
    global OUT
    OUT = out
    out.mkdir(parents=True, exist_ok=True)
    pg = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="guatu-record-")), port=55990)
    pg.start()
    receiver = WebhookReceiver()
    await receiver.start()
    pool = await db.create_pool(pg.dsn)
    try:
        await db.migrate(pool)
        from activities.read_model import upsert_reference
        from guatu.lifecycle.programme import load_bureaus, load_programs

        await upsert_reference(pool, load_bureaus(), load_programs())
        wanted = set(only)
        if wanted & {"lifecycle", "ladder", "appeal", "society", "opportunity"}:
            ts = await WorkflowEnvironment.start_time_skipping(
                data_converter=pydantic_data_converter,
                test_server_existing_path=test_server_binary(),
            )
            try:
                await register_search_attributes(ts.client)
                if "lifecycle" in wanted:
                    await record_lifecycles(ts, pool, receiver.url)
                if "ladder" in wanted:
                    await record_ladder(ts, pool, receiver.url)
                if "appeal" in wanted:
                    await record_appeal(ts, pool, receiver.url)
                if "society" in wanted:
                    await record_society(ts, pool, receiver.url)
                if "opportunity" in wanted:
                    await record_opportunity(ts, pool, receiver.url)
            finally:
                await ts.shutdown()
        if "round" in wanted:
            dev = await WorkflowEnvironment.start_local(
                data_converter=pydantic_data_converter,
                dev_server_existing_path=temporal_binary(),
                search_attributes=c.SEARCH_ATTRIBUTES,
            )
            try:
                # The round ranks every project in the read model: a database of its own.
                conn = await asyncpg.connect(pg.dsn)
                await conn.execute("CREATE DATABASE guatu_round")
                await conn.close()
                base, _, _ = pg.dsn.rpartition("/")
                round_pool = await db.create_pool(f"{base}/guatu_round")
                try:
                    await db.migrate(round_pool)
                    await upsert_reference(round_pool, load_bureaus(), load_programs())
                    await record_round(dev, round_pool, receiver.url)
                finally:
                    await round_pool.close()
            finally:
                await dev.shutdown()
    finally:
        await pool.close()
        await receiver.stop()
        pg.stop("immediate")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=SCENARIOS)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    asyncio.run(main(args.only or SCENARIOS, args.out))
