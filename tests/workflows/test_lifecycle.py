"""ProjectLifecycle on the time-skipping test server, with the real read model and webhook.

Each test drives one workflow (the test server skips time for one awaited workflow at a time)
and moves time explicitly with `ts_env.sleep`, so both branches of every deadline are raced.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.core import constants as c
from guatu.core.clock import local_date, month_key
from guatu.lifecycle.models import (
    EvaluationRecordInput,
    IssueRaised,
    Light,
    MilestonePlan,
    PlanChangeInput,
    ProgressReportInput,
    ProjectKind,
    ProjectPlan,
    ProjectState,
    ProjectStatus,
    RunControlInput,
    RunStatus,
    Stage,
    StageTransitionInput,
    Step,
    TimerPolicy,
    UpdateResult,
)
from guatu.lifecycle.rules.deadlines import report_due_day
from guatu.lifecycle.service import Rejected, project_status, send_update, start_project
from tests.helpers import WebhookReceiver, add_bureau, eventually, make_plan, running_worker
from workflows.project_lifecycle import ProjectLifecycle

# Milestone tests switch the progress rule off so that only the milestone rule colours.
NO_PROGRESS_RULE = TimerPolicy(progress_yellow_points=1000, progress_red_points=1000)


@dataclass
class Lab:
    env: WorkflowEnvironment
    client: Client
    pool: asyncpg.Pool
    receiver: WebhookReceiver
    task_queue: str
    bureau: str
    started: list[str] = field(default_factory=list)

    async def start(
        self, plan: ProjectPlan, policy: TimerPolicy = NO_PROGRESS_RULE
    ) -> WorkflowHandle[Any, Any]:
        await start_project(self.client, plan, policy, task_queue=self.task_queue, index=False)
        self.started.append(plan.code)
        return self.client.get_workflow_handle(
            c.project_workflow_id(plan.code), result_type=ProjectStatus
        )

    async def today(self) -> date:
        """Today on the test server's clock, which earlier tests have moved forward."""
        return local_date(await self.env.get_current_time())

    async def status(self, code: str) -> ProjectStatus:
        return await project_status(self.client, code)

    async def state(self, code: str) -> ProjectState:
        handle = self.client.get_workflow_handle(c.project_workflow_id(code))
        return await handle.query(ProjectLifecycle.state)

    async def skip(self, days: float) -> None:
        await self.env.sleep(timedelta(days=days))
        await asyncio.sleep(0.3)

    async def skip_to_next_month(self) -> str:
        """Skip to the 2nd of next month (after the 1st's progress check); return its key."""
        today = await self.today()
        target = (today.replace(day=1) + timedelta(days=32)).replace(day=2)
        await self.skip((target - today).days)
        return month_key(target)

    async def step(self, code: str, step: Step, key: str | None = None, **kw: Any) -> UpdateResult:
        data = StageTransitionInput(
            bureau=kw.pop("bureau", self.bureau),
            idempotency_key=key or f"{code}-{step.value}",
            step=step,
            **kw,
        )
        return await send_update(
            self.client, code, ProjectLifecycle.transition_stage, data, pool=self.pool
        )

    async def report(
        self,
        code: str,
        month: str,
        amount: float,
        progress: float,
        key: str | None = None,
        **kw: Any,
    ) -> UpdateResult:
        data = ProgressReportInput(
            bureau=kw.pop("bureau", self.bureau),
            idempotency_key=key or f"{code}-{month}-{amount}-{progress}",
            month=month,
            investment_wan=amount,
            physical_progress_pct=progress,
            **kw,
        )
        return await send_update(
            self.client, code, ProjectLifecycle.submit_report, data, pool=self.pool
        )

    async def notices(self, code: str, kind: str) -> int:
        return sum(1 for k in self.receiver.kinds(code) if k == kind)

    async def rows(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.pool.acquire() as conn:
            return list(await conn.fetch(sql, *args))


@pytest_asyncio.fixture
async def lab(
    ts_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    receiver: WebhookReceiver,
    settings: Settings,
) -> AsyncIterator[Lab]:
    bureau = await add_bureau(pool, receiver.url)
    async with running_worker(ts_env.client, pool, http, settings) as task_queue:
        lab = Lab(ts_env, ts_env.client, pool, receiver, task_queue, bureau)
        yield lab
        # An open workflow without its worker would hold the test server's clock still for the
        # next test: end every run this test started.
        for code in lab.started:
            handle = ts_env.client.get_workflow_handle(c.project_workflow_id(code))
            with contextlib.suppress(Exception):
                # Terminating with an activity in flight leaks the test server's time lock.
                await eventually(lambda h=handle: _idle(h), timeout=5)
                await handle.terminate()


async def test_full_engineering_lifecycle(lab: Lab) -> None:
    start = await lab.today()
    plan = make_plan(start=start, bureau=lab.bureau, milestone_days=[20, 25, 30, 60, 200, 230])
    handle = await lab.start(plan)
    order = [
        Step.PRELIMINARY,
        Step.PLANNING_PERMIT,
        Step.LAND_USE,
        Step.CONSTRUCTION_PERMIT,
        Step.CONSTRUCTION_STARTED,
        Step.UNDER_CONSTRUCTION,
        Step.COMPLETED,
        Step.ACCEPTED,
    ]
    for step in order:
        result = await lab.step(plan.code, step)
        assert result.accepted and not result.duplicate
    assert (await lab.status(plan.code)).stage is Stage.ACCEPTED
    await lab.step(plan.code, Step.CLOSED)
    final = await handle.result()
    assert final.stage is Stage.CLOSED and final.status is RunStatus.CLOSED
    assert final.light is Light.GREEN
    history = await lab.rows(
        "SELECT stage FROM stage_history WHERE project = $1 ORDER BY recorded_at, key", plan.code
    )
    assert [r["stage"] for r in history][0] == "approved"
    assert [r["stage"] for r in history][-1] == "closed"
    assert len(history) == len(order) + 2
    audit = await lab.rows(
        "SELECT count(*) AS n FROM audit_log WHERE project = $1 AND accepted", plan.code
    )
    assert audit[0]["n"] == len(order) + 1
    row = await lab.rows("SELECT stage, status FROM projects WHERE code = $1", plan.code)
    assert (row[0]["stage"], row[0]["status"]) == ("closed", "closed")


async def test_full_service_lifecycle(lab: Lab) -> None:
    plan = make_plan(
        ProjectKind.SERVICE,
        start=await lab.today(),
        bureau=lab.bureau,
        milestone_days=[20, 120, 200],
    )
    handle = await lab.start(plan)
    for step in (Step.IMPLEMENTING, Step.DONE, Step.EVALUATED):
        await lab.step(plan.code, step)
    # The 评估 stage closes only with a third-party evaluation recorded (guatu.society).
    with pytest.raises(Rejected) as refused:
        await lab.step(plan.code, Step.CLOSED)
    assert refused.value.code == "evaluation_required"
    await send_update(
        lab.client,
        plan.code,
        c.UPDATE_RECORD_EVALUATION,
        EvaluationRecordInput(evaluation_id="project-X-2026-v1", score=85, idempotency_key="ev1"),
    )
    await lab.step(plan.code, Step.CLOSED)
    final = await handle.result()
    assert final.stage is Stage.CLOSED
    assert [m["actual"] is not None for m in final.milestones] == [True, True, True]


async def test_milestone_met_before_deadline_stays_green(lab: Lab) -> None:
    plan = make_plan(
        ProjectKind.SERVICE,
        start=await lab.today(),
        bureau=lab.bureau,
        milestone_days=[20, 300, 330],
    )
    await lab.start(plan)
    await lab.skip(15)  # inside the 7-day reminder window of the first milestone
    await eventually(lambda: lab.notices(plan.code, "milestone_reminder"))
    await lab.step(plan.code, Step.IMPLEMENTING)
    await lab.skip(60)  # far past the planned date and its grace
    status = await lab.status(plan.code)
    assert status.light is Light.GREEN
    assert await lab.notices(plan.code, "milestone_missed") == 0
    assert await lab.notices(plan.code, "milestone_escalated") == 0


async def test_milestone_missed_turns_yellow_then_red_and_notifies(lab: Lab) -> None:
    plan = make_plan(
        ProjectKind.SERVICE,
        start=await lab.today(),
        bureau=lab.bureau,
        milestone_days=[20, 300, 330],
    )
    await lab.start(plan)
    await lab.skip(14)
    assert await eventually(lambda: lab.notices(plan.code, "milestone_reminder")) == 1
    await lab.skip(8)  # one day after the planned date
    status = await lab.status(plan.code)
    assert status.light is Light.YELLOW
    assert status.explanations[0].rule == "milestone.missed"
    assert "逾期" in status.explanations[0].text_zh
    assert await eventually(lambda: lab.notices(plan.code, "milestone_missed")) == 1
    await lab.skip(30)  # past the 30-day grace
    status = await lab.status(plan.code)
    assert status.light is Light.RED
    assert status.explanations[0].rule == "milestone.escalated"
    assert await eventually(lambda: lab.notices(plan.code, "milestone_escalated")) == 1
    lights = await lab.rows(
        "SELECT light FROM light_history WHERE project = $1 ORDER BY at", plan.code
    )
    assert [r["light"] for r in lights] == ["yellow", "red"]
    # Reaching the step late clears the light: the reason is gone.
    await lab.step(plan.code, Step.IMPLEMENTING)
    assert (await lab.status(plan.code)).light is Light.GREEN


async def test_monthly_report_reminder_and_late_marking(lab: Lab) -> None:
    plan = make_plan(
        ProjectKind.SERVICE,
        start=await lab.today(),
        bureau=lab.bureau,
        milestone_days=[300, 320, 340],
    )
    await lab.start(plan)
    first_month = month_key(plan.start)
    # Skip to the month after next: the first full month's report is late unless sent.
    await lab.skip(70)
    state = await lab.state(plan.code)
    late = [m for m, w in state.report_watch.items() if w.late]
    assert first_month in late
    # One late notice per month marked late, except a month whose due day passed before the
    # start (marked silently): exactly those keys. 70 days hold at least two due days.
    told = [m for m in late if report_due_day(m, state.policy) >= plan.start]
    assert len(told) >= 2
    expected = {f"{plan.code}:report_late:{m}" for m in told}

    async def late_notices_are_the_late_months() -> bool:
        keys = {k for k in lab.receiver.deliveries(plan.code) if ":report_late:" in k}
        return keys == expected

    await eventually(late_notices_are_the_late_months)
    # A report sent late is accepted and recorded as not on time.
    await lab.report(plan.code, first_month, 10, 5)
    rows = await eventually(
        lambda: lab.rows(
            "SELECT on_time FROM progress_reports WHERE project = $1 AND month = $2",
            plan.code,
            first_month,
        )
    )
    assert rows[0]["on_time"] is False


async def test_report_on_time_is_not_marked_late(lab: Lab) -> None:
    plan = make_plan(
        ProjectKind.SERVICE,
        start=await lab.today(),
        bureau=lab.bureau,
        milestone_days=[300, 320, 340],
    )
    await lab.start(plan)
    month = await lab.skip_to_next_month()  # the 2nd: well before the 25th
    await lab.report(plan.code, month, 10, 5)
    await lab.skip_to_next_month()
    state = await lab.state(plan.code)
    assert state.reports[month].on_time is True
    assert not (state.report_watch.get(month) and state.report_watch[month].late)
    keys = [k for k in lab.receiver.deliveries(plan.code) if f"report_late:{month}" in k]
    assert keys == []


async def test_progress_curve_colours_and_back_to_green(lab: Lab) -> None:
    # 12 months, 1,200 万, linear: the 序时 plan is 100 万 a month, checked as each month closes.
    start = (await lab.today()).replace(day=1)
    plan = make_plan(
        ProjectKind.SERVICE,
        start=start,
        bureau=lab.bureau,
        milestone_days=[330, 340, 350],
        total=1200.0,
        months=12,
    )
    # The total basis (points of the whole investment); the year-plan basis is in tests/rules.
    await lab.start(plan, TimerPolicy(progress_basis="total"))
    m0 = month_key(start)
    await lab.report(plan.code, m0, 100, 8)  # on plan
    m1 = await lab.skip_to_next_month()
    status = await lab.status(plan.code)
    assert status.light is Light.GREEN, status.explanations
    assert status.explanations[0].inputs["month"] == m0
    await lab.report(plan.code, m1, 0, 9)
    m2 = await lab.skip_to_next_month()
    # Month two closed with nothing invested: ≈ 8 points behind → still green.
    assert (await lab.status(plan.code)).light is Light.GREEN
    await lab.report(plan.code, m2, 0, 10)
    await lab.skip_to_next_month()
    # Month three: ≈ 16 points behind → yellow, with the gap explained.
    status = await lab.status(plan.code)
    assert status.light is Light.YELLOW, status.explanations
    why = status.explanations[0]
    assert why.rule == "progress.yinchuan" and 10 <= why.inputs["gap_points"] <= 30
    assert "落后序时进度" in why.text_zh
    assert why.inputs["month"] == m2
    # Green, green, then yellow: one notice, for the change to yellow.

    async def one_progress_notice() -> bool:
        keys = {k for k in lab.receiver.deliveries(plan.code) if ":progress:" in k}
        return keys == {f"{plan.code}:progress:{m2}:yellow"}

    await eventually(one_progress_notice)
    assert await lab.notices(plan.code, "progress_light") == 1
    # Catching up: a correction of month three with the missing investment → back to green.
    await lab.report(plan.code, m2, 200, 25, correction=True)
    assert (await lab.status(plan.code)).light is Light.GREEN


async def test_progress_far_behind_is_red(lab: Lab) -> None:
    start = (await lab.today()).replace(day=1)
    plan = make_plan(
        ProjectKind.SERVICE,
        start=start,
        bureau=lab.bureau,
        milestone_days=[330, 340, 350],
        total=1200.0,
        months=6,
    )
    await lab.start(plan, TimerPolicy(progress_basis="total"))
    await lab.skip(100)  # ≈ 3 months of a 6-month plan with nothing invested → > 30 points
    status = await lab.status(plan.code)
    assert status.light is Light.RED
    assert any(
        e.rule == "progress.yinchuan" and e.inputs["gap_points"] > 30 for e in status.explanations
    )
    state = await lab.state(plan.code)
    assert state.red_months, "a red month must be recorded for the ranking"


async def test_plan_change_rearms_deadlines(lab: Lab) -> None:
    plan = make_plan(
        ProjectKind.SERVICE,
        start=await lab.today(),
        bureau=lab.bureau,
        milestone_days=[10, 300, 330],
    )
    await lab.start(plan)
    await lab.skip(12)
    assert (await lab.status(plan.code)).light is Light.YELLOW
    new_date = plan.start + timedelta(days=60)
    result = await send_update(
        lab.client,
        plan.code,
        ProjectLifecycle.change_plan,
        PlanChangeInput(
            idempotency_key="re-plan-1",
            reason="征地延期",
            milestones=[MilestonePlan(step=Step.IMPLEMENTING, planned=new_date)],
        ),
    )
    assert result.light is Light.GREEN
    state = await lab.state(plan.code)
    assert len(state.baselines) == 1
    assert state.baselines[0].milestone(Step.IMPLEMENTING).planned == plan.milestones[0].planned  # type: ignore[union-attr]
    await lab.skip(40)  # before the new date: still green, and reminded of the new date
    assert (await lab.status(plan.code)).light is Light.GREEN
    await lab.skip(15)  # past the new date
    assert (await lab.status(plan.code)).light is Light.YELLOW
    await eventually(
        lambda: len([k for k in lab.receiver.deliveries(plan.code) if "milestone_missed" in k]) == 2
    )
    missed = [k for k in lab.receiver.deliveries(plan.code) if "milestone_missed" in k]
    assert sorted(missed) == sorted(
        [
            f"{plan.code}:milestone_missed:implementing:{plan.milestones[0].planned.isoformat()}",
            f"{plan.code}:milestone_missed:implementing:{new_date.isoformat()}",
        ]
    )


async def test_suspend_resume_cancel(lab: Lab) -> None:
    plan = make_plan(
        ProjectKind.SERVICE,
        start=await lab.today(),
        bureau=lab.bureau,
        milestone_days=[10, 300, 330],
    )
    handle = await lab.start(plan)
    await send_update(
        lab.client,
        plan.code,
        ProjectLifecycle.suspend,
        RunControlInput(idempotency_key="s1", reason="资金未到位"),
    )
    await lab.skip(20)  # the milestone falls due while suspended: nothing fires
    assert (await lab.status(plan.code)).light is Light.GREEN
    with pytest.raises(Rejected) as refused:
        await lab.report(plan.code, month_key(plan.start), 1, 1)
    assert refused.value.code == "project_suspended"
    await send_update(
        lab.client, plan.code, ProjectLifecycle.resume, RunControlInput(idempotency_key="r1")
    )
    status = await lab.status(plan.code)
    assert status.status is RunStatus.ACTIVE and status.light is Light.YELLOW
    await send_update(
        lab.client,
        plan.code,
        ProjectLifecycle.cancel,
        RunControlInput(idempotency_key="c1", reason="规划调整，项目撤销"),
    )
    final = await handle.result()
    assert final.status is RunStatus.CANCELLED and final.status_reason == "规划调整，项目撤销"


async def test_continue_as_new_keeps_state_and_keys(lab: Lab) -> None:
    plan = make_plan(
        ProjectKind.SERVICE,
        start=(await lab.today()).replace(day=1),
        bureau=lab.bureau,
        milestone_days=[300, 320, 340],
        months=24,
    )
    policy = NO_PROGRESS_RULE.model_copy(update={"continue_as_new_events": 40})
    handle = await lab.start(plan, policy)
    first_run = (await handle.describe()).run_id
    first = await lab.report(
        plan.code,
        month_key(plan.start),
        10,
        5,
        key="first-key",
        issues_raised=[IssueRaised(id="I-1", title="征地拆迁滞后")],
    )
    await lab.skip(200)  # many timers and projections → several continue-as-new
    state = await lab.state(plan.code)
    assert state.runs > 1
    assert month_key(plan.start) in state.reports and "I-1" in state.open_issues
    again = await lab.report(
        plan.code,
        month_key(plan.start),
        10,
        5,
        key="first-key",
        issues_raised=[IssueRaised(id="I-1", title="征地拆迁滞后")],
    )
    # A duplicate, answered with the project's state now (the run that holds the key).
    status = await lab.status(plan.code)
    assert again.duplicate and not first.duplicate
    assert (again.stage, again.light, again.status) == (status.stage, status.light, status.status)
    # The run now is a later one, and its history stays short.
    desc = await handle.describe()
    assert desc.run_id != first_run
    assert desc.raw_description.workflow_execution_info.history_length < 400


async def test_idempotent_update_applies_once_and_answers_duplicates(lab: Lab) -> None:
    plan = make_plan(ProjectKind.SERVICE, start=await lab.today(), bureau=lab.bureau)
    await lab.start(plan)
    month = month_key(plan.start)
    first = await lab.report(plan.code, month, 10, 5, key="same")
    results = await asyncio.gather(
        *(lab.report(plan.code, month, 10, 5, key="same") for _ in range(5))
    )
    assert not first.duplicate and all(r.duplicate for r in results)
    assert {(r.stage, r.light, r.status) for r in results} == {
        (first.stage, first.light, first.status)
    }
    reports = await eventually(
        lambda: lab.rows("SELECT corrected FROM progress_reports WHERE project = $1", plan.code)
    )
    assert [r["corrected"] for r in reports] == [0]
    rows = await eventually(
        lambda: lab.rows(
            "SELECT count(*) AS n FROM audit_log WHERE project = $1 AND accepted", plan.code
        )
    )
    assert rows[0]["n"] == 1
    assert first.accepted


async def _idle(handle: WorkflowHandle[Any, Any]) -> bool:
    desc = await handle.describe()
    if desc.raw_description.pending_activities:
        return False
    # A workflow task in flight at the terminate leaks the time lock as well (the test server
    # does not report it in describe; with max_cached_workflows=0 every task replays and is slow).
    last = (await handle.fetch_history()).events[-1].event_type
    return last not in (
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    )


async def _accepted_updates(handle: WorkflowHandle[Any, Any]) -> int:
    history = await handle.fetch_history()
    return sum(
        1
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    )


REJECTIONS: list[tuple[str, Callable[[Lab, ProjectPlan], Awaitable[Any]], str]] = [
    (
        "negative_amount",
        lambda lab, p: lab.report(p.code, month_key(p.start), -5, 10),
        "不能为负数",
    ),
    (
        "progress_out_of_range",
        lambda lab, p: lab.report(p.code, month_key(p.start), 5, 101),
        "0–100%",
    ),
    ("future_month", lambda lab, p: lab.report(p.code, "2999-01", 5, 10), "未来月份"),
    (
        "not_owner",
        lambda lab, p: lab.report(p.code, month_key(p.start), 5, 10, bureau="someone_else"),
        "无权报送",
    ),
    ("illegal_transition", lambda lab, p: lab.step(p.code, Step.COMPLETED), "不能报送「竣工」"),
]


@pytest.mark.parametrize(("code", "send", "phrase"), REJECTIONS, ids=[r[0] for r in REJECTIONS])
async def test_validator_rejections_write_nothing(
    lab: Lab, code: str, send: Callable[[Lab, ProjectPlan], Awaitable[Any]], phrase: str
) -> None:
    plan = make_plan(start=await lab.today(), bureau=lab.bureau)
    handle = await lab.start(plan)
    await asyncio.sleep(0.5)
    before = await lab.state(plan.code)
    accepted_before = await _accepted_updates(handle)
    with pytest.raises(Rejected) as refused:
        await send(lab, plan)
    assert refused.value.code == code
    assert phrase in refused.value.zh
    assert refused.value.en  # the English half is there too
    assert await _accepted_updates(handle) == accepted_before
    after = await lab.state(plan.code)
    assert after.version == before.version and after.reports == before.reports
    audit = await lab.rows(
        "SELECT reason FROM audit_log WHERE project = $1 AND NOT accepted", plan.code
    )
    assert len(audit) == 1 and audit[0]["reason"].startswith(code)


async def test_report_rejections_against_earlier_reports(lab: Lab) -> None:
    start = (await lab.today()).replace(day=1) - timedelta(days=40)
    plan = make_plan(ProjectKind.SERVICE, start=start.replace(day=1), bureau=lab.bureau)
    await lab.start(plan)
    first = month_key(plan.start)
    second = month_key(plan.start + timedelta(days=32))
    await lab.report(plan.code, first, 10, 30)
    with pytest.raises(Rejected) as dup:
        await lab.report(plan.code, first, 11, 31)
    assert dup.value.code == "duplicate_month" and "更正" in dup.value.zh
    with pytest.raises(Rejected) as down:
        await lab.report(plan.code, second, 10, 20)
    assert down.value.code == "progress_decreased"
    with pytest.raises(Rejected) as nothing:
        await lab.report(plan.code, second, 10, 40, correction=True)
    assert nothing.value.code == "nothing_to_correct"
    fixed = await lab.report(plan.code, first, 12, 31, correction=True)
    assert fixed.accepted
    state = await lab.state(plan.code)
    assert state.reports[first].investment_wan == 12 and state.reports[first].corrected == 1
