"""机会清单 end to end on the dev server, through the API and the public routes (no token).

Real time, default clock: the closing date is 400 days after today (the rule data allows 730),
so no test meets its closing day; answer deadlines are checked against the working-day calendar
from the day the interest was submitted, as the appeals' end-to-end test does.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.api.app import create_app
from guatu.api.auth import RateLimiter
from guatu.core.clock import local_date
from guatu.core.tokens import create_token
from guatu.opportunities.book import interest_workflow_id, listing_workflow_id
from guatu.opportunities.models import InterestView
from guatu.workdays import default_calendar
from tests.api.conftest import TEST_OPTIONS
from tests.helpers import WebhookReceiver, add_bureau, eventually, running_worker

CLOSES = local_date(datetime.now(UTC)) + timedelta(days=400)
HUAWEI = "914403001922038216"
TENCENT = "9144030071526726XG"


@dataclass
class World:
    env: WorkflowEnvironment
    pool: asyncpg.Pool
    http: httpx.AsyncClient
    bureaus: list[str]
    scene: str
    tokens: dict[str, str]
    app: Any

    async def call(
        self, who: str, method: str, path: str, key: str | None = None, **kw: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        if key:
            headers["Idempotency-Key"] = key
        return await self.http.request(method, f"/api/v1{path}", headers=headers, **kw)

    async def public(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return await self.http.request(method, f"/public/api{path}", **kw)


@pytest_asyncio.fixture
async def world(
    dev_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    receiver: WebhookReceiver,
    settings: Settings,
) -> AsyncIterator[World]:
    bureaus = [await add_bureau(pool, receiver.url), await add_bureau(pool, receiver.url)]
    scene = f"T{uuid.uuid4().hex[:8].upper()}"
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO scenes (code, name_zh, program, lead_bureau) VALUES ($1, $2, $3, $4)",
            scene,
            "九曲江安·十里光华（测试）",
            "P10",
            bureaus[0],
        )
    tokens = {
        "a": await create_token(pool, "bureau", bureaus[0], "system A"),
        "b": await create_token(pool, "bureau", bureaus[1], "system B"),
        "manager": await create_token(pool, "manager", label="项目管理"),
        "leader": await create_token(pool, "leader", label="区领导"),
    }
    async with running_worker(dev_env.client, pool, http, settings) as tq:
        app = create_app(dev_env.client, pool, Settings(), task_queue=tq, options=TEST_OPTIONS)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://guatu.test", timeout=60
        ) as api:
            yield World(dev_env, pool, api, bureaus, scene, tokens, app)


def publish_body(scene: str, **kw: Any) -> dict[str, Any]:
    return {
        "subject_kind": "scene",
        "subject": scene,
        "kind": "venue",
        "title_zh": "江安河沿线24小时自助服务点场地",
        "description": "沿江安河设置 24 小时自助服务终端的场地资源",
        "amount_wan": 300,
        "conditions": "具备政务自助终端运营经验",
        "closes_on": CLOSES.isoformat(),
        **kw,
    }


def company(uscc: str = HUAWEI, **kw: Any) -> dict[str, Any]:
    return {
        "company_name": "示例科技有限公司",
        "uscc": uscc,
        "contact_name": "张经理",
        "contact_phone": "028-82710000",
        "contact_email": "zhang@example.com",
        "message": "有意承接场地运营",
        **kw,
    }


async def test_publish_answer_and_outcome_through_every_door(world: World) -> None:
    a, b = world.bureaus
    # This test posts more than a client may in a burst (the next test checks the limit).
    world.app.state.opportunity_limiters = {
        "read": RateLimiter(rate=100, burst=100),
        "write": RateLimiter(rate=100, burst=100),
    }
    # Only managers publish; a missing subject is refused in Chinese first.
    assert (
        await world.call("a", "POST", "/opportunities", "p0", json=publish_body(world.scene))
    ).status_code == 403
    missing = await world.call(
        "manager", "POST", "/opportunities", "p1", json=publish_body("NOPE-1")
    )
    assert (missing.status_code, missing.json()["code"]) == (422, "subject_not_found")
    assert missing.json()["zh"] == "没有示范场景 NOPE-1，请核对编号"
    far = publish_body(world.scene, closes_on=(CLOSES + timedelta(days=400)).isoformat())
    too_far = await world.call("manager", "POST", "/opportunities", "p1b", json=far)
    assert (too_far.status_code, too_far.json()["code"]) == (422, "closing_too_far")
    published = await world.call(
        "manager", "POST", "/opportunities", "p2", json=publish_body(world.scene)
    )
    assert published.status_code == 200, published.text
    oid = published.json()["id"]
    assert oid == f"{world.scene}.venue.{CLOSES:%Y%m%d}"
    assert published.json()["bureau"] == a and published.json()["status"] == "open"
    again = await world.call(
        "manager", "POST", "/opportunities", "p2", json=publish_body(world.scene)
    )
    assert again.json()["id"] == oid and again.json()["duplicate"] is True

    # Public list, no token: the opportunity, nothing internal.
    listed = await eventually(lambda: _published(world, oid))
    assert listed["kind_zh"] == "场地资源" and listed["status_zh"] == "征集中"
    assert listed["subject_name_zh"] == "九曲江安·十里光华（测试）"
    assert not {"published_by", "interests", "bureau", "version", "workflow_id"} & set(listed)

    # Bad credit codes: 422, Chinese first, nothing started.
    bad = await world.public(
        "POST", f"/opportunities/{oid}/interest", json=company(HUAWEI[:-1] + "7")
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "uscc_check_digit")
    assert "校验位不符（第 18 位应为 6）" in bad.json()["zh"]
    short = await world.public("POST", f"/opportunities/{oid}/interest", json=company("9144"))
    assert short.json()["code"] == "uscc_length" and "应为 18 位" in short.json()["zh"]
    nobody = await world.public(
        "POST", "/opportunities/NOPE.venue.20300101/interest", json=company()
    )
    assert (nobody.status_code, nobody.json()["code"]) == (404, "opportunity_not_found")

    got = await world.public("POST", f"/opportunities/{oid}/interest", json=company())
    assert got.status_code == 200, got.text
    receipt = got.json()
    iid = receipt["interest_id"]
    assert iid == f"{oid}.{HUAWEI}" and receipt["duplicate"] is False
    assert "张经理" not in got.text and "zhang@example.com" not in got.text
    cal = default_calendar()
    submitted_on = datetime.fromisoformat(receipt["submitted_on"]).date()
    assert receipt["respond_due"] == cal.add(submitted_on, 5, "working").isoformat()
    twice = await world.public("POST", f"/opportunities/{oid}/interest", json=company())
    assert twice.json()["interest_id"] == iid and twice.json()["duplicate"] is True

    # The bureau sees its interest (with the contact); another bureau gets 404 like a missing one.
    row = await eventually(lambda: _get(world, "a", f"/interests/{iid}"))
    assert row["contact_phone"] == "028-82710000" and row["status"] == "waiting"
    foreign = await world.call("b", "GET", f"/interests/{iid}")
    missing_i = await world.call("b", "GET", f"/interests/{oid}.{TENCENT}")
    assert foreign.status_code == missing_i.status_code == 404
    assert foreign.json() == missing_i.json()
    assert (await world.call("b", "GET", "/interests")).json()["items"] == []
    everyone = await world.call("leader", "GET", f"/interests?opportunity={oid}")
    assert [r["id"] for r in everyone.json()["items"]] == [iid]

    # Only the bureau answers; a manager or leader cannot.
    reply = {"reply": "已收到，请于下周到政务服务中心面谈"}
    assert (
        await world.call("leader", "POST", f"/interests/{iid}/response", "r0", json=reply)
    ).status_code == 403
    too_short = await world.call(
        "a", "POST", f"/interests/{iid}/response", "r1", json={"reply": "好"}
    )
    assert (too_short.status_code, too_short.json()["code"]) == (422, "reply_too_short")
    answered = await world.call("a", "POST", f"/interests/{iid}/response", "r2", json=reply)
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "responded" and answered.json()["replied_late"] is False
    second = await world.call(
        "a", "POST", f"/interests/{iid}/response", "r3", json={"reply": "再次答复企业"}
    )
    assert (second.status_code, second.json()["code"]) == (422, "already_answered")

    # A manager closes the list early: no new interest (409), and the list says so publicly.
    closed = await world.call(
        "manager", "POST", f"/opportunities/{oid}/close", "c1", json={"reason": "场地已落实运营方"}
    )
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    late = await world.public("POST", f"/opportunities/{oid}/interest", json=company(TENCENT))
    assert (late.status_code, late.json()["code"]) == (409, "opportunity_closed")
    assert "不再接受合作意向" in late.json()["zh"]
    await world.env.client.get_workflow_handle(listing_workflow_id(oid)).result()
    ended = await world.public("POST", f"/opportunities/{oid}/interest", json=company(TENCENT))
    assert (ended.status_code, ended.json()["code"]) == (409, "opportunity_closed")

    # The interest outlives its list: its outcome ends it (the abandoned child after its parent).
    no_reason = await world.call(
        "a", "POST", f"/interests/{iid}/outcome", "o1", json={"outcome": "not_concluded"}
    )
    assert (no_reason.status_code, no_reason.json()["code"]) == (422, "note_required")
    signed = await world.call(
        "a",
        "POST",
        f"/interests/{iid}/outcome",
        "o2",
        json={"outcome": "signed", "note": "签订场地运营协议", "amount_wan": 280},
    )
    assert signed.status_code == 200, signed.text
    final = await world.env.client.get_workflow_handle(
        interest_workflow_id(iid), result_type=InterestView
    ).result()
    assert final.status.value == "signed" and final.outcome_amount_wan == 280
    after = await world.call(
        "a", "POST", f"/interests/{iid}/outcome", "o3", json={"outcome": "signed"}
    )
    assert (after.status_code, after.json()["code"]) == (422, "already_concluded")
    assert local_date(final.outcome_at) == local_date(final.replied_at)  # type: ignore[arg-type]
    # Refusals are audited; nothing was written for them.
    async with world.pool.acquire() as conn:
        refused = await conn.fetch(
            "SELECT action FROM audit_log WHERE NOT accepted AND idempotency_key = ANY($1::text[])",
            ["r1", "r3", "o1", "o3", f"{oid}:{TENCENT}"],
        )
    assert sorted(r["action"] for r in refused) == [
        "interest:not_concluded",
        "interest:respond",
        "interest:respond",
        "interest:signed",
        "interest:submit",
        "interest:submit",
    ]


async def test_public_submissions_are_rate_limited_per_client(world: World) -> None:
    published = await world.call(
        "manager",
        "POST",
        "/opportunities",
        "p1",
        json=publish_body(world.scene, kind="procurement"),
    )
    oid = published.json()["id"]
    codes = []
    for _ in range(7):
        r = await world.public("POST", f"/opportunities/{oid}/interest", json=company("9144"))
        codes.append(r.status_code)
    # Burst 5: five answered (422, a bad code), then 429 with Retry-After, in Chinese first.
    assert codes == [422] * 5 + [429] * 2
    limited = await world.public("POST", f"/opportunities/{oid}/interest", json=company())
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["zh"].startswith("提交过于频繁")
    # Reads have their own bucket.
    assert (await world.public("GET", "/opportunities")).status_code == 200
    await world.call(
        "manager", "POST", f"/opportunities/{oid}/close", "c1", json={"reason": "测试结束"}
    )


async def _published(world: World, oid: str) -> dict[str, Any] | None:
    r = await world.public("GET", "/opportunities")
    assert r.status_code == 200 and "max-age" in r.headers["Cache-Control"]
    return next((o for o in r.json() if o["id"] == oid), None)


async def _get(world: World, who: str, path: str) -> dict[str, Any] | None:
    r = await world.call(who, "GET", path)
    return r.json() if r.status_code == 200 else None
