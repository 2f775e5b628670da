"""CitizenObservation on the time-skipping server through the door (`guatu.society.service`),
with the read model in PostgreSQL. Business time is anchored on Tuesday 2026-09-29 10:00 in
Wenjiang; the dates are the hand-computed ones of tests/society/test_observation_book.py
(working days across 国庆 2026 with its 调休 Saturday 10-10): reply due 10-12, reminder at the
start of 10-09, overdue from the start of 10-13 with 区幸福办 due 10-15, office overdue from the
start of 10-16."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import asyncpg
import httpx
import pytest
import pytest_asyncio
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from config.settings import Settings
from guatu.core.clock import CST, local_date
from guatu.lifecycle.models import ProgrammeClock
from guatu.society import service
from guatu.society.models import (
    Category,
    ObservationFiling,
    ObservationRules,
    RateInput,
    ReplyInput,
    ResolveInput,
    Satisfaction,
)
from tests.helpers import WebhookReceiver, add_bureau, eventually, running_worker
from workflows.registry import WORKFLOWS

ANCHOR = datetime(2026, 9, 29, 10, tzinfo=CST)
RULES = ObservationRules(
    reply_days=5, reminder_days=2, rating_days=5, escalation_days=3, daily_limit_per_target=2
)
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 200


@dataclass
class Lab:
    env: WorkflowEnvironment
    pool: asyncpg.Pool
    task_queue: str
    bureau: str
    project: str

    def filing(self, key: str, photos: list[bytes] | None = None) -> ObservationFiling:
        return ObservationFiling(
            target=self.project,
            category=Category.NUISANCE,
            rating=2,
            text="夜间施工噪声大，22点后仍在作业",
            photos=photos or [],
            observer="ob1",
            idempotency_key=key,
        )

    async def submit(self, key: str, photos: list[bytes] | None = None):  # type: ignore[no-untyped-def]
        return await service.submit_observation(
            self.env.client,
            self.pool,
            self.filing(key, photos),
            task_queue=self.task_queue,
            clock=ProgrammeClock(anchor_business=ANCHOR),
            rules=RULES,
        )

    async def row(self, oid: str) -> asyncpg.Record:
        async with self.pool.acquire() as conn:
            return await conn.fetchrow("SELECT * FROM observations WHERE id = $1", oid)

    async def skip(self, **delta: float) -> None:
        await self.env.sleep(timedelta(**delta))
        await asyncio.sleep(0.3)

    async def notices(self, oid: str) -> list[tuple[str, str]]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT key, bureau FROM notifications WHERE key LIKE $1 ORDER BY created_at, key",
                f"observation:{oid}:%",
            )
        return [(r["key"].removeprefix(f"observation:{oid}:"), r["bureau"]) for r in rows]


@pytest_asyncio.fixture
async def lab(
    ts_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    receiver: WebhookReceiver,
    settings: Settings,
) -> AsyncIterator[Lab]:
    bureau = await add_bureau(pool, receiver.url)
    project = f"OB-{uuid.uuid4().hex[:6].upper()}"
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO projects (code, name_zh, program, bureau, kind, stage, status, light,"
            " total_investment_wan, planned_investment_to_date_wan, actual_investment_wan,"
            " physical_progress_pct, plan, business_today, version)"
            " VALUES ($1,'红桥社区养老综合体','P10',$2,'service','implementing','active','green',"
            " 100,0,0,0,$3,$4,1)",
            project,
            bureau,
            json.dumps({}),
            date(2026, 9, 29),
        )
    async with running_worker(ts_env.client, pool, http, settings) as task_queue:
        yield Lab(ts_env, pool, task_queue, bureau, project)


async def test_unanswered_observation_is_reminded_overdue_escalated_and_resolved(lab: Lab) -> None:
    view = await lab.submit("f1", [JPEG])
    oid = view.id
    assert oid.endswith("-20260929-ob1-1")
    assert (view.reply_due, view.remind_on) == (date(2026, 10, 12), date(2026, 10, 9))
    assert "10月10日（星期六）" in view.calendar_note  # the 调休 Saturday counted
    row = await eventually(lambda: lab.row(oid))
    assert row["photos"][0]["content_type"] == "image/jpeg"
    assert await service.get_photo(lab.pool, oid, 1) == ("image/jpeg", JPEG)
    # The same filing again: the same observation, not a second one.
    again = await lab.submit("f1", [JPEG])
    assert again.id == oid and again.duplicate
    await lab.skip(days=9, hours=15)  # 2026-10-09 01:00
    await eventually(lambda: _status(lab, oid, "reminded"))
    await lab.skip(days=3, hours=23)  # 2026-10-13 00:00 + a little
    await eventually(lambda: _status(lab, oid, "escalated"))
    row = await lab.row(oid)
    assert (row["escalation_reason"], row["office_due"]) == ("unanswered", date(2026, 10, 15))
    assert local_date(row["overdue_at"]) == date(2026, 10, 13)
    await lab.skip(days=3)  # 2026-10-16
    await eventually(lambda: _office_overdue(lab, oid))
    # The observer cannot resolve, nor reply; 区幸福办 (a leader token) can.
    with pytest.raises(service.Rejected) as err:
        await service.reply_observation(
            lab.env.client,
            lab.pool,
            oid,
            ReplyInput(
                text="已处理完毕请放心",
                bureau="ob1",
                actor="observer:ob1",
                role="observer",
                idempotency_key="x1",
            ),
        )
    assert err.value.code == "not_responsible"
    done = await service.resolve_observation(
        lab.env.client,
        lab.pool,
        oid,
        ResolveInput(
            text="经督办，施工单位已调整作业时间",
            actor="leader:王",
            role="leader",
            idempotency_key="s1",
        ),
    )
    assert done.status.value == "closed"
    # The run ends once its last notices are out (nothing left to block the next test's clock).
    handle = lab.env.client.get_workflow_handle(view.workflow_id)
    await handle.result()
    # Its whole history replays on this code (timers, updates, activities: deterministic).
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    await replayer.replay_workflow(await handle.fetch_history())
    # (Same moment: by key.)
    assert await lab.notices(oid) == [
        ("filed", lab.bureau),
        ("reminder", lab.bureau),
        ("escalated:unanswered", "xfb"),
        ("overdue", lab.bureau),
        ("office_overdue", "xfb"),
        ("resolved", lab.bureau),
    ]
    async with lab.pool.acquire() as conn:
        refused = await conn.fetchval(
            "SELECT reason FROM audit_log WHERE action = 'observation:reply' AND NOT accepted"
            " AND idempotency_key = 'x1'"
        )
    assert refused.startswith("not_responsible")


async def test_reply_rate_unsatisfied_and_the_daily_limit(lab: Lab) -> None:
    first = await lab.submit("g1")
    await lab.skip(days=11, hours=5)  # 2026-10-10 15:00, the 调休 Saturday
    replied = await service.reply_observation(
        lab.env.client,
        lab.pool,
        first.id,
        ReplyInput(
            text="已责令施工单位22点后停止高噪声作业",
            bureau=lab.bureau,
            actor="bureau:t",
            role="bureau",
            idempotency_key="r1",
        ),
    )
    assert replied.reply_on_time is True and replied.rating_due == date(2026, 10, 16)
    with pytest.raises(service.Rejected) as err:
        await service.reply_observation(
            lab.env.client,
            lab.pool,
            first.id,
            ReplyInput(
                text="再次答复，补充说明情况",
                bureau=lab.bureau,
                actor="bureau:t",
                role="bureau",
                idempotency_key="r2",
            ),
        )
    assert err.value.code == "already_replied"
    await lab.skip(days=2)  # 2026-10-12 15:00: office due 10-13, 10-14, 10-15
    rated = await service.rate_observation(
        lab.env.client,
        lab.pool,
        first.id,
        RateInput(
            satisfaction=Satisfaction.UNSATISFIED,
            comment="仍有噪声",
            observer="ob1",
            role="observer",
            idempotency_key="t1",
        ),
    )
    assert (rated.status.value, rated.office_due) == ("escalated", date(2026, 10, 15))
    assert await eventually(lambda: _status(lab, first.id, "escalated"))
    # The limit is 2 a day per target and observer (the door's clock is at its anchor, 09-29,
    # where g1 was filed): one more that day, then the limit.
    second = await lab.submit("g2")
    assert second.id.endswith("-20260929-ob1-2")
    with pytest.raises(service.Rejected) as err:
        await lab.submit("g3")
    assert err.value.code == "daily_limit"
    for oid in (first.id, second.id):  # leave nothing running on the shared test server
        await lab.env.client.get_workflow_handle(f"observation-{oid}").terminate()


async def _status(lab: Lab, oid: str, status: str) -> bool:
    row = await lab.row(oid)
    return row is not None and row["status"] == status


async def _office_overdue(lab: Lab, oid: str) -> bool:
    row = await lab.row(oid)
    return row is not None and row["office_overdue_at"] is not None


async def test_the_daily_limit_holds_under_concurrent_filings(lab: Lab) -> None:
    """Three filings at once with a limit of two: the workflow ID (n ≤ limit) decides, so two
    start and one is refused, whatever the interleaving."""
    results = await asyncio.gather(*(lab.submit(f"c{i}") for i in range(3)), return_exceptions=True)
    started = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, service.Rejected)]
    assert len(started) == 2 and len(refused) == 1, results
    assert refused[0].code == "daily_limit"
    assert sorted(v.id[-2:] for v in started) == ["-1", "-2"]
    for v in started:
        await lab.env.client.get_workflow_handle(v.workflow_id).terminate()
