"""RankingAppeal on the time-skipping server: the leaders' deadline as a durable timer, raced
by the decision. Business time is anchored at 2026-12-31 10:00 in Wenjiang (never today), so
with the `default` terms counted in calendar days (decision 10, reminder 3, escalation 5 days)
the dates are, by hand:
due 12-31 + 10 = 2027-01-10; reminder at the start of 01-10 − 3 = 01-07; escalation at the start
of 01-11; the office's deadline 01-10 + 5 = 01-15, overdue from the start of 01-16.
The last test counts the same terms in working days (the `default` rule set's unit) across 国庆.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.appeals import service
from guatu.appeals.book import appeal_id, deadlines
from guatu.appeals.models import (
    AppealFiling,
    AppealInput,
    AppealItem,
    AppealStatus,
    AppealView,
    DecideInput,
    Decision,
)
from guatu.core import constants as c
from guatu.core.clock import CST, local_date
from guatu.lifecycle.models import ProgrammeClock
from guatu.ranking.models import AppealRules
from guatu.ranking.rulesets import load_ruleset
from tests.helpers import WebhookReceiver, add_bureau, eventually, running_worker

ANCHOR = datetime(2026, 12, 31, 10, tzinfo=CST)
REJECTION = "经核查，该月报确系逾期报送，排名无误"


@dataclass
class Lab:
    env: WorkflowEnvironment
    pool: asyncpg.Pool
    receiver: WebhookReceiver
    task_queue: str
    bureau: str

    @property
    def id(self) -> str:
        return appeal_id(self.filing(), 1)

    def filing(self) -> AppealFiling:
        return AppealFiling(
            bureau=self.bureau,
            period="2026-11",
            item=AppealItem.SCORE,
            reason="十一月月报已按期报送，系统误记为逾期，请予复核",
            evidence="报送回执编号 WJ-2026-11-0457",
            actor="bureau:test",
            idempotency_key="file-1",
        )

    async def start(
        self, anchor: datetime = ANCHOR, rules: AppealRules | None = None
    ) -> WorkflowHandle[Any, AppealView]:
        rules = rules or load_ruleset("default").appeal.model_copy(update={"day_unit": "calendar"})
        data = AppealInput(
            appeal_id=self.id,
            filing=self.filing(),
            rules=rules,
            published_at=anchor - timedelta(days=2),
            subject_zh="2026年11月竞进比拼得分（第 7/8 名，42.50 分）",
            bureau_name="测试局",
            clock=ProgrammeClock(anchor_business=anchor),
            # As the door does: working days are counted before the run starts.
            deadlines=deadlines(anchor, rules) if rules.day_unit == "working" else None,
        )
        return await self.env.client.start_workflow(
            c.APPEAL_WORKFLOW,
            data,
            id=c.appeal_workflow_id(self.id),
            task_queue=self.task_queue,
            result_type=AppealView,
        )

    async def view(self) -> AppealView:
        handle = self.env.client.get_workflow_handle(c.appeal_workflow_id(self.id))
        return await handle.query(c.QUERY_APPEAL, result_type=AppealView)

    async def skip(self, **delta: float) -> None:
        await self.env.sleep(timedelta(**delta))
        await asyncio.sleep(0.3)

    async def decide(self, decision: Decision = Decision.REJECT) -> AppealView:
        return await service.decide_appeal(
            self.env.client,
            self.pool,
            self.id,
            DecideInput(
                decision=decision,
                reason=REJECTION,
                actor="leader:王区长",
                role="leader",
                idempotency_key="decide-1",
            ),
        )

    async def notices(self) -> list[tuple[str, str]]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT key, bureau FROM notifications WHERE key LIKE $1 ORDER BY created_at, key",
                f"appeal:{self.id}:%",
            )
        return [(r["key"].removeprefix(f"appeal:{self.id}:"), r["bureau"]) for r in rows]

    async def row(self) -> asyncpg.Record:
        async with self.pool.acquire() as conn:
            return await conn.fetchrow("SELECT * FROM appeals WHERE id = $1", self.id)


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
        yield Lab(ts_env, pool, receiver, task_queue, bureau)


async def _status(lab: Lab, status: AppealStatus) -> bool:
    row = await lab.row()
    return row is not None and row["status"] == status.value


async def test_decided_before_the_reminder_nothing_else_fires(lab: Lab) -> None:
    handle = await lab.start()
    await eventually(lambda: _status(lab, AppealStatus.OPEN))
    row = await lab.row()
    assert (row["decision_due"], row["office_due"]) == (date(2027, 1, 10), date(2027, 1, 15))
    assert row["remind_at"] == datetime(2027, 1, 7, tzinfo=CST)
    await lab.skip(days=2)  # 2027-01-02 10:00: before the reminder
    decided = await lab.decide()
    assert decided.status is AppealStatus.REJECTED and decided.reminded_at is None
    final = await handle.result()
    assert (final.reminded_at, final.escalated_at) == (None, None)
    assert local_date(final.decided_at) == date(2027, 1, 2)  # type: ignore[arg-type]
    assert await lab.notices() == [
        ("filed", lab.bureau),
        ("filed:xfb", "xfb"),
        ("rejected", lab.bureau),
        ("rejected:xfb", "xfb"),
    ]


async def test_decided_just_before_the_deadline_is_reminded_never_escalated(lab: Lab) -> None:
    handle = await lab.start()
    await eventually(lambda: _status(lab, AppealStatus.OPEN))
    await lab.skip(days=10, hours=13)  # 2027-01-10 23:00: the last hour of the decision day
    await eventually(lambda: _status(lab, AppealStatus.REMINDED))
    view = await lab.view()
    assert local_date(view.reminded_at) == date(2027, 1, 7)  # type: ignore[arg-type]
    assert view.escalated_at is None
    decided = await lab.decide()
    assert decided.status is AppealStatus.REJECTED
    final = await handle.result()
    assert final.escalated_at is None
    await lab.skip(days=30)  # nothing is left to fire
    assert await lab.notices() == [
        ("filed", lab.bureau),
        ("filed:xfb", "xfb"),
        ("reminder", "xfb"),
        ("rejected", lab.bureau),
        ("rejected:xfb", "xfb"),
    ]
    # The decision is audited with its reason and was on time (01-10 ≤ 01-10).
    async with lab.pool.acquire() as conn:
        audit = await conn.fetchrow(
            "SELECT actor, action, reason, after FROM audit_log WHERE key = $1",
            f"appeal:{lab.id}:decision",
        )
    assert (audit["actor"], audit["action"], audit["reason"]) == (
        "leader:王区长",
        "appeal:reject",
        REJECTION,
    )
    assert audit["after"]["late"] is False
    # The bureau's webhook got the rejection, Chinese first, with the reason.
    got = await eventually(
        lambda: [body for key, body in lab.receiver.posts if key == f"appeal:{lab.id}:rejected"]
    )
    assert got[0]["title_zh"].startswith("【申诉不成立】")
    assert f"理由：{REJECTION}" in got[0]["body_zh"]


async def test_undecided_appeal_escalates_to_the_office_with_its_own_deadline(lab: Lab) -> None:
    handle = await lab.start()
    await eventually(lambda: _status(lab, AppealStatus.OPEN))
    await lab.skip(days=10, hours=15)  # 2027-01-11 01:00: the deadline has passed
    await eventually(lambda: _status(lab, AppealStatus.ESCALATED))
    view = await lab.view()
    assert local_date(view.escalated_at) == date(2027, 1, 11)  # type: ignore[arg-type]
    assert view.office_due == date(2027, 1, 15) and view.office_overdue_at is None
    async with lab.pool.acquire() as conn:
        escalation = await conn.fetchrow(
            "SELECT deadline, body_zh FROM notifications WHERE key = $1",
            f"appeal:{lab.id}:escalated",
        )
    assert escalation["deadline"] == date(2027, 1, 15)
    assert "2027-01-15 前办结" in escalation["body_zh"]

    await lab.skip(days=5)  # 2027-01-16 01:00: the office's deadline has passed too
    await eventually(lambda: lab.row())
    await eventually(lambda: _office_overdue(lab))
    decided = await lab.decide()  # late, but still decided and audited as late
    assert decided.status is AppealStatus.REJECTED
    await handle.result()
    assert await lab.notices() == [
        ("filed", lab.bureau),
        ("filed:xfb", "xfb"),
        ("reminder", "xfb"),
        ("escalated", "xfb"),
        ("escalated:bureau", lab.bureau),
        ("office_overdue", "xfb"),
        ("rejected", lab.bureau),
        ("rejected:xfb", "xfb"),
    ]
    async with lab.pool.acquire() as conn:
        after = await conn.fetchval(
            "SELECT after FROM audit_log WHERE key = $1", f"appeal:{lab.id}:decision"
        )
    assert after["late"] is True and after["status"] == "rejected"


async def _office_overdue(lab: Lab) -> bool:
    row = await lab.row()
    return row is not None and row["office_overdue_at"] is not None


async def test_working_day_deadlines_across_national_day(lab: Lab) -> None:
    """The `default` terms in working days, filed on Tuesday 2026-09-29 10:00. By hand (2026:
    国庆 1–7 Oct off, Saturday 10 Oct 调休 a working day):
    decision due, 10 working days: 30 Sep (1); 8, 9 Oct (2, 3); Sat 10 Oct (4); 12–16 Oct (5–9);
    Mon 19 Oct (10) → 2026-10-19. Reminder 3 working days before: 16, 15, 14 Oct → the start of
    14 Oct. Office, 5 working days after 19 Oct: 20, 21, 22, 23, 26 Oct → 2026-10-26."""
    rules = load_ruleset("default").appeal
    assert rules.day_unit == "working"
    handle = await lab.start(anchor=datetime(2026, 9, 29, 10, tzinfo=CST), rules=rules)
    await eventually(lambda: _status(lab, AppealStatus.OPEN))
    row = await lab.row()
    assert (row["decision_due"], row["office_due"]) == (date(2026, 10, 19), date(2026, 10, 26))
    assert row["remind_at"] == datetime(2026, 10, 14, tzinfo=CST)
    view = await lab.view()
    assert "国庆节假期 10月1日至10月7日（7 天）" in view.deadline_explain
    assert "10月10日（星期六）（国庆节调休）" in view.deadline_explain
    async with lab.pool.acquire() as conn:
        filed = await conn.fetchval(
            "SELECT body_zh FROM notifications WHERE key = $1", f"appeal:{lab.id}:filed"
        )
    assert "2026-10-19 前作出决定" in filed and "期限说明：" in filed and "国庆节" in filed

    await lab.skip(days=14, hours=13)  # 2026-10-13 23:00: not reminded yet
    assert (await lab.view()).reminded_at is None
    await lab.skip(hours=2)  # 2026-10-14 01:00
    await eventually(lambda: _status(lab, AppealStatus.REMINDED))
    async with lab.pool.acquire() as conn:
        reminder = await conn.fetchval(
            "SELECT body_zh FROM notifications WHERE key = $1", f"appeal:{lab.id}:reminder"
        )
    assert "还剩 3 个工作日" in reminder
    await lab.skip(days=6)  # 2026-10-20 01:00: the decision day has passed
    await eventually(lambda: _status(lab, AppealStatus.ESCALATED))
    view = await lab.view()
    assert local_date(view.escalated_at) == date(2026, 10, 20)  # type: ignore[arg-type]
    decided = await lab.decide()
    assert decided.status is AppealStatus.REJECTED
    await handle.result()
