"""OpportunityListing and OpportunityInterest on the time-skipping server: the closing timer
raced by interests and a manager's close; the answer deadline raced by the bureau's answer at
each of its branches. Business time is anchored at Tuesday 2026-09-29 10:00 in Wenjiang (never
today). With the rule data (5 working days, reminder 1 before, escalation 5 after), by hand
across 国庆 2026 (10-01…10-07 off, Saturday 10-10 调休 a working day):
due 2026-10-12; reminder at the start of Saturday 10-10; overdue from 10-13 00:00; escalation
due 10-19 (10-13, 14, 15, 16, 19), escalated from 10-20 00:00. The list closes at the end of
its closing day, 2026-10-09 (from 10-10 00:00).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.core.clock import CST, local_date
from guatu.lifecycle.models import ProgrammeClock
from guatu.lifecycle.service import Rejected
from guatu.opportunities import service
from guatu.opportunities.book import interest_workflow_id, listing_workflow_id
from guatu.opportunities.models import (
    CloseInput,
    InterestStatus,
    InterestSubmission,
    InterestView,
    ListingStatus,
    OpportunityKind,
    Outcome,
    OutcomeInput,
    PublishInput,
    RespondInput,
    SubjectKind,
)
from tests.helpers import WebhookReceiver, add_bureau, eventually, running_worker

ANCHOR = datetime(2026, 9, 29, 10, tzinfo=CST)
CODES = ["914403001922038216", "9144030071526726XG", "91350100M000100Y43"]


@dataclass
class Lab:
    env: WorkflowEnvironment
    pool: asyncpg.Pool
    receiver: WebhookReceiver
    task_queue: str
    bureau: str
    scene: str
    started: datetime | None = None
    opportunity: str = ""
    interests: list[str] = field(default_factory=list)

    async def business_now(self) -> datetime:
        assert self.started is not None
        return ANCHOR + (await self.env.get_current_time() - self.started)

    async def publish(self, closes_on: date = date(2026, 10, 9)) -> str:
        self.started = await self.env.get_current_time()
        view = await service.publish(
            self.env.client,
            self.pool,
            PublishInput(
                subject_kind=SubjectKind.SCENE,
                subject=self.scene,
                kind=OpportunityKind.OPERATION,
                title_zh="红桥社区养老综合体运营合作",
                amount_wan=1200,
                conditions="具备养老服务运营经验",
                closes_on=closes_on,
                actor="manager:李",
                idempotency_key=f"pub-{uuid.uuid4().hex[:6]}",
            ),
            task_queue=self.task_queue,
            clock=ProgrammeClock(anchor_business=ANCHOR),
        )
        assert view.bureau == self.bureau and view.subject_name_zh == "测试场景"
        self.opportunity = view.id
        return view.id

    async def interest(self, uscc: str = CODES[0]) -> str:
        receipt = await service.express_interest(
            self.env.client,
            self.pool,
            self.opportunity,
            InterestSubmission(
                company_name="示例科技有限公司",
                uscc=uscc,
                contact_name="张经理",
                contact_phone="028-82710000",
            ),
            clock=ProgrammeClock(anchor_business=await self.business_now()),
        )
        self.interests.append(receipt.interest_id)
        return receipt.interest_id

    async def skip_to(self, at: datetime) -> None:
        now = await self.business_now()
        assert at > now, (at, now)
        await self.env.sleep(at - now)
        await asyncio.sleep(0.3)

    async def respond(self, interest: str) -> InterestView:
        return await service.respond(
            self.env.client,
            self.pool,
            interest,
            RespondInput(
                reply="已收到，请于下周到区民政局面谈",
                actor="bureau:刘",
                role="bureau",
                bureau=self.bureau,
                idempotency_key=f"r-{interest}",
            ),
        )

    async def row(self, interest: str) -> asyncpg.Record | None:
        async with self.pool.acquire() as conn:
            return await conn.fetchrow(
                "SELECT * FROM opportunity_interests WHERE id = $1", interest
            )

    async def status(self, interest: str, status: InterestStatus) -> bool:
        row = await self.row(interest)
        return row is not None and row["status"] == status.value

    async def notices(self, interest: str) -> list[tuple[str, str]]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT key, bureau FROM notifications WHERE key LIKE $1 ORDER BY created_at, key",
                f"interest:{interest}:%",
            )
        return [(r["key"].removeprefix(f"interest:{interest}:"), r["bureau"]) for r in rows]


@pytest_asyncio.fixture
async def lab(
    ts_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    receiver: WebhookReceiver,
    settings: Settings,
) -> AsyncIterator[Lab]:
    bureau = await add_bureau(pool, receiver.url)
    scene = f"T{uuid.uuid4().hex[:8].upper()}"
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO scenes (code, name_zh, program, lead_bureau) VALUES ($1, $2, $3, $4)",
            scene,
            "测试场景",
            "P10",
            bureau,
        )
    async with running_worker(ts_env.client, pool, http, settings) as task_queue:
        lab = Lab(ts_env, pool, receiver, task_queue, bureau, scene)
        yield lab
        # Runs left waiting (an interest without its outcome, an open list) would hold the
        # session's time-skipping server for the next test, with no worker for their queue.
        ids = [interest_workflow_id(i) for i in lab.interests]
        ids += [listing_workflow_id(lab.opportunity)] if lab.opportunity else []
        for workflow_id in ids:
            handle = ts_env.client.get_workflow_handle(workflow_id)
            # Not while a delivery is in flight: the server would hold its clock for it.
            await eventually(lambda h=handle: _idle(h))
            with contextlib.suppress(RPCError):
                await handle.terminate("test over")


async def _idle(handle: WorkflowHandle[Any, Any]) -> bool:
    described = await handle.describe()
    return not described.raw_description.pending_activities


async def test_answered_before_the_reminder_nothing_else_fires(lab: Lab) -> None:
    await lab.publish()
    iid = await lab.interest()
    await eventually(lambda: lab.status(iid, InterestStatus.WAITING))
    row = await lab.row(iid)
    assert row is not None
    assert (row["respond_due"], row["office_due"]) == (date(2026, 10, 12), date(2026, 10, 19))
    assert row["remind_at"] == datetime(2026, 10, 10, tzinfo=CST)
    await lab.skip_to(datetime(2026, 10, 9, 23, tzinfo=CST))  # the hour before the reminder
    view = await lab.respond(iid)
    assert view.status is InterestStatus.RESPONDED and view.reminded_at is None
    await lab.skip_to(datetime(2026, 10, 25, tzinfo=CST))  # past every deadline: nothing fires
    row = await lab.row(iid)
    assert row is not None and row["status"] == "responded" and row["overdue_notified_at"] is None
    assert await lab.notices(iid) == [("submitted", lab.bureau)]


async def test_answered_on_the_due_day_is_reminded_never_overdue(lab: Lab) -> None:
    await lab.publish()
    iid = await lab.interest()
    await eventually(lambda: lab.status(iid, InterestStatus.WAITING))
    await lab.skip_to(datetime(2026, 10, 12, 23, tzinfo=CST))  # the last hour of the due day
    await eventually(lambda: lab.status(iid, InterestStatus.REMINDED))
    row = await lab.row(iid)
    assert row is not None and local_date(row["reminded_at"]) == date(2026, 10, 10)  # 调休 Sat
    view = await lab.respond(iid)
    assert not view.replied_late
    await lab.skip_to(datetime(2026, 10, 25, tzinfo=CST))
    assert await lab.notices(iid) == [("submitted", lab.bureau), ("reminder", lab.bureau)]


async def test_overdue_then_answered_before_the_escalation(lab: Lab) -> None:
    await lab.publish()
    iid = await lab.interest()
    await eventually(lambda: lab.status(iid, InterestStatus.WAITING))
    await lab.skip_to(datetime(2026, 10, 13, 1, tzinfo=CST))  # the due day has passed
    await eventually(lambda: lab.status(iid, InterestStatus.OVERDUE))
    await lab.skip_to(datetime(2026, 10, 19, 23, tzinfo=CST))  # the last hour before escalation
    view = await lab.respond(iid)
    assert view.replied_late and view.escalated_at is None
    await lab.skip_to(datetime(2026, 10, 25, tzinfo=CST))
    assert await lab.notices(iid) == [
        ("submitted", lab.bureau),
        ("reminder", lab.bureau),
        ("overdue", lab.bureau),
        ("overdue:xfb", "xfb"),
        ("replied:xfb", "xfb"),
    ]
    # The bureau's webhook got the 催办, Chinese first.
    got = await eventually(
        lambda: [b for key, b in lab.receiver.posts if key == f"interest:{iid}:overdue"]
    )
    assert got[0]["title_zh"].startswith("【催办】")
    assert "2026-10-19 前仍未答复的，将提请区幸福办书面通报" in got[0]["body_zh"]


async def test_unanswered_escalates_then_the_outcome_ends_it(lab: Lab) -> None:
    # The list stays open past the outcome: the time-skipping test server holds its clock when
    # an abandoned child ends after its parent has (the real server does not; see
    # test_opportunity_api for that order on the dev server).
    await lab.publish(closes_on=date(2026, 12, 31))
    iid = await lab.interest()
    await eventually(lambda: lab.status(iid, InterestStatus.WAITING))
    await lab.skip_to(datetime(2026, 10, 20, 1, tzinfo=CST))
    await eventually(lambda: lab.status(iid, InterestStatus.ESCALATED))
    row = await lab.row(iid)
    assert row is not None and local_date(row["escalated_at"]) == date(2026, 10, 20)
    assert local_date(row["overdue_notified_at"]) == date(2026, 10, 13)
    outcome = OutcomeInput(
        outcome=Outcome.SIGNED,
        note="签订运营合作协议",
        amount_wan=800,
        actor="bureau:刘",
        role="bureau",
        bureau=lab.bureau,
        idempotency_key="o1",
    )
    view = await service.record_outcome(lab.env.client, lab.pool, iid, outcome)
    assert view.status is InterestStatus.SIGNED and view.replied_late
    final = await lab.env.client.get_workflow_handle(
        interest_workflow_id(iid), result_type=InterestView
    ).result()
    assert final.outcome is Outcome.SIGNED
    # After its end, another outcome is refused from the read model, audited.
    with pytest.raises(Rejected) as err:
        await service.record_outcome(
            lab.env.client, lab.pool, iid, outcome.model_copy(update={"idempotency_key": "o2"})
        )
    assert err.value.code == "already_concluded"
    assert [k for k, _ in await lab.notices(iid)] == [
        "submitted",
        "reminder",
        "overdue",
        "overdue:xfb",
        "escalated",
        "escalated:bureau",
        "outcome",  # an outcome is the (late) answer too: the office hears of both
        "replied:xfb",
    ]


async def test_closing_timer_races_interests(lab: Lab) -> None:
    oid = await lab.publish()
    await lab.skip_to(datetime(2026, 10, 9, 23, 30, tzinfo=CST))  # the closing day's last hour
    first = await lab.interest(CODES[0])
    again = await service.express_interest(
        lab.env.client,
        lab.pool,
        oid,
        InterestSubmission(
            company_name="示例科技有限公司",
            uscc=CODES[0],
            contact_name="张经理",
            contact_phone="028-82710000",
        ),
        clock=ProgrammeClock(anchor_business=await lab.business_now()),
    )
    assert again.duplicate and again.interest_id == first
    # The interest counts its answer from its own day: 10-09 → 10-10 (1, 调休), 10-12 … 10-15.
    assert again.respond_due == date(2026, 10, 15)
    await lab.skip_to(datetime(2026, 10, 10, 0, 30, tzinfo=CST))
    handle = lab.env.client.get_workflow_handle(listing_workflow_id(oid))
    with pytest.raises(Rejected) as err:
        await lab.interest(CODES[1])
    assert err.value.code == "opportunity_closed" and "不再接受合作意向" in err.value.zh
    await handle.result()
    row = await service.get_opportunity(lab.pool, oid)
    assert row is not None and row["status"] == "closed" and row["interests"] == 1
    assert row["close_reason"] == "deadline"
    async with lab.pool.acquire() as conn:
        refused = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'interest:submit' AND NOT accepted"
            " AND idempotency_key = $1",
            f"{oid}:{CODES[1]}",
        )
    assert refused == 1
    # The interest taken before the close lives on after its listing has ended.
    await eventually(lambda: lab.status(first, InterestStatus.WAITING))


async def test_a_manager_closes_before_the_closing_date(lab: Lab) -> None:
    oid = await lab.publish()
    await lab.interest(CODES[2])
    await lab.skip_to(datetime(2026, 10, 2, 9, tzinfo=CST))
    close = CloseInput(
        reason="项目已引入运营方", actor="manager:李", role="manager", idempotency_key="c1"
    )
    view = await service.close(lab.env.client, lab.pool, oid, close)
    assert view.status is ListingStatus.CLOSED and view.interests == 1
    assert local_date(view.closed_at) == date(2026, 10, 2)  # type: ignore[arg-type]
    with pytest.raises(Rejected) as err:
        await lab.interest(CODES[0])
    assert err.value.code == "opportunity_closed"
    with pytest.raises(Rejected) as err:
        await service.close(
            lab.env.client, lab.pool, oid, close.model_copy(update={"idempotency_key": "c2"})
        )
    assert err.value.code == "already_closed"
    published = await service.public_opportunities(lab.pool)
    mine = [p for p in published if p.id == oid]
    assert mine and mine[0].status_zh == "已截止" and mine[0].kind_zh == "运营合作"
