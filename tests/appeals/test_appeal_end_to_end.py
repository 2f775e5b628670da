"""Appeals end to end on the dev server, through the API, against a real published round: the
hand-computed ranking fixture of tests/ranking (period 2031-03, own database).

From that fixture (tests/ranking/test_rules.py): bureau scores b 106.00, c 89.25, a 51.25,
d 7.00; project D1 (bureau d) is red in 2031-02 and 2031-03, two months running, so the round
issues d a 督办单 for D1.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.api.app import create_app
from guatu.appeals.models import AppealView
from guatu.core import constants as c
from guatu.core.clock import CST, local_date
from guatu.core.tokens import create_token
from guatu.ranking import service as ranking
from guatu.workdays import default_calendar
from tests.api.conftest import TEST_OPTIONS
from tests.helpers import WebhookReceiver, eventually, running_worker
from tests.ranking import fixture
from tests.ranking.conftest import end_ladders, prefix

REASON = "A2 项目三月月报已于 3 月 24 日按期报送，系统误记为逾期，请予复核"
EVIDENCE = "报送回执编号 WJ-2031-03-0457，截图见附件"


@dataclass
class World:
    env: WorkflowEnvironment
    pool: asyncpg.Pool
    http: httpx.AsyncClient
    receiver: WebhookReceiver
    task_queue: str
    bureaus: list[str]
    tokens: dict[str, str]
    px: str

    async def call(
        self, who: str, method: str, path: str, key: str | None = None, **kw: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        if key:
            headers["Idempotency-Key"] = key
        return await self.http.request(method, f"/api/v1{path}", headers=headers, **kw)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.pool.acquire() as conn:
            return list(await conn.fetch(sql, *args))


@pytest_asyncio.fixture
async def world(
    dev_env: WorkflowEnvironment,
    fresh_pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    receiver: WebhookReceiver,
    settings: Settings,
) -> AsyncIterator[World]:
    px = prefix()
    bureaus = await fixture.add_bureaus(fresh_pool, px, receiver.url)
    await fixture.insert(fresh_pool, px)
    tokens = {
        "a": await create_token(fresh_pool, "bureau", bureaus[0], "system A"),
        "b": await create_token(fresh_pool, "bureau", bureaus[1], "system B"),
        "d": await create_token(fresh_pool, "bureau", bureaus[3], "system D"),
        "leader": await create_token(fresh_pool, "leader", label="区领导"),
    }
    async with running_worker(dev_env.client, fresh_pool, http, settings) as tq:
        first = await (
            await ranking.trigger_round(dev_env.client, fixture.PERIOD, "default", task_queue=tq)
        ).result()
        assert first.bureaus == 4
        app = create_app(
            dev_env.client, fresh_pool, Settings(), task_queue=tq, options=TEST_OPTIONS
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://guatu.test", timeout=60
        ) as api:
            yield World(dev_env, fresh_pool, api, receiver, tq, bureaus, tokens, px)
        await end_ladders(dev_env.client, bureaus)


def body(**kw: Any) -> dict[str, Any]:
    return {"period": fixture.PERIOD, "item": "score", "reason": REASON, "evidence": EVIDENCE, **kw}


async def test_rejected_appeal_refusals_and_authorisation(world: World) -> None:
    a, b, _, d = world.bureaus
    filed = await world.call("a", "POST", "/appeals", key="file-1", json=body())
    assert filed.status_code == 200, filed.text
    view = filed.json()
    appeal = f"default-2031-03-{a}-score-r1"
    assert (view["id"], view["status"], view["revision"]) == (appeal, "open", 1)
    # a ranks 3rd of 4 with 51.25 (hand-computed, see the module docstring).
    assert "第 3/4 名，51.25 分" in view["subject_zh"]
    # Due 10 working days after the local filing day (the default rule set's unit, counted on
    # the working-day calendar, tests/workdays); the office 5 working days after that.
    filed_on = local_date(datetime.fromisoformat(view["filed_at"]))
    cal = default_calendar()
    due = cal.add(filed_on, 10, "working")
    assert view["decision_due"] == due.isoformat()
    assert view["office_due"] == cal.add(due, 5, "working").isoformat()

    # The same request again: the same appeal, marked duplicate. Another one on the same item
    # while it is open: refused.
    again = await world.call("a", "POST", "/appeals", key="file-1", json=body())
    assert (again.status_code, again.json()["id"], again.json()["duplicate"]) == (200, appeal, True)
    dup = await world.call("a", "POST", "/appeals", key="file-2", json=body(reason=REASON + "。"))
    assert (dup.status_code, dup.json()["code"]) == (422, "duplicate_appeal")
    assert dup.json()["zh"].startswith("对2031年3月") and "appeal" in dup.json()["en"]

    # Scope: b sees neither the appeal nor that it exists; the leader sees it.
    mine = await world.call("b", "GET", "/appeals")
    assert mine.status_code == 200 and mine.json()["items"] == []
    foreign = await world.call("b", "GET", f"/appeals/{appeal}")
    missing = await world.call("b", "GET", "/appeals/default-2031-03-nobody-score-r1")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    listed = await world.call("leader", "GET", "/appeals?status=open")
    assert [r["id"] for r in listed.json()["items"]] == [appeal]
    own = await world.call("a", "GET", "/appeals")
    assert [r["id"] for r in own.json()["items"]] == [appeal]

    # Only leaders decide; a leader's reason has a minimum length.
    by_bureau = await world.call(
        "a",
        "POST",
        f"/appeals/{appeal}/decision",
        key="d-0",
        json={"decision": "accept", "reason": "本单位认为申诉成立理由充分"},
    )
    assert by_bureau.status_code == 403
    short = await world.call(
        "leader",
        "POST",
        f"/appeals/{appeal}/decision",
        key="d-1",
        json={"decision": "reject", "reason": "不成立"},
    )
    assert (short.status_code, short.json()["code"]) == (422, "reason_too_short")
    rejection = "经核查，A2 三月月报于 3 月 27 日报送，晚于 25 日截止日，逾期属实"
    decided = await world.call(
        "leader",
        "POST",
        f"/appeals/{appeal}/decision",
        key="d-2",
        json={"decision": "reject", "reason": rejection},
    )
    assert decided.status_code == 200, decided.text
    assert (decided.json()["status"], decided.json()["decision_reason"]) == ("rejected", rejection)
    result = await world.env.client.get_workflow_handle(
        c.appeal_workflow_id(appeal), result_type=AppealView
    ).result()
    assert result.status.value == "rejected" and result.revision_workflow_id == ""

    # Audited with the leader's token as actor and the reason; the bureau is told, in Chinese.
    audit = await world.fetch(
        "SELECT actor, action, reason, accepted FROM audit_log WHERE key = $1",
        f"appeal:{appeal}:decision",
    )
    assert [(r["action"], r["reason"], r["accepted"]) for r in audit] == [
        ("appeal:reject", rejection, True)
    ]
    assert audit[0]["actor"].startswith("leader:")
    got = await eventually(
        lambda: [p for k, p in world.receiver.posts if k == f"appeal:{appeal}:rejected"]
    )
    assert got[0]["bureau"] == a and got[0]["title_zh"].startswith("【申诉不成立】")
    assert rejection in got[0]["body_zh"]
    # The round stays as published: revision 1.
    assert (
        await world.fetch("SELECT revision FROM ranking_rounds WHERE period = $1", fixture.PERIOD)
    )[0]["revision"] == 1

    # Decided: the same item of the same revision cannot be appealed again.
    once_more = await world.call("a", "POST", "/appeals", key="file-3", json=body())
    assert (once_more.status_code, once_more.json()["code"]) == (422, "already_appealed")

    # Another bureau's 督办单 reads like a missing one; d's own is accepted for filing.
    order = f"{d}:default:2031-03:project:{world.px.upper()}-D1"
    other = await world.call(
        "a", "POST", "/appeals", key="file-4", json=body(item="order", order_id=order)
    )
    assert (other.status_code, other.json()["code"]) == (422, "order_not_found")
    mine_order = await world.call(
        "d", "POST", "/appeals", key="file-5", json=body(item="order", order_id=order)
    )
    assert mine_order.status_code == 200, mine_order.text
    assert mine_order.json()["id"] == f"default-2031-03-{d}-order.project.{world.px.upper()}-D1-r1"
    assert "督办单" in mine_order.json()["subject_zh"]
    # A period without a published round; a foreign project's score.
    unknown = await world.call("b", "POST", "/appeals", key="file-6", json=body(period="2031-02"))
    assert (unknown.status_code, unknown.json()["code"]) == (422, "round_not_found")
    foreign_project = await world.call(
        "b", "POST", "/appeals", key="file-7", json=body(project=f"{world.px.upper()}-A1")
    )
    assert (foreign_project.status_code, foreign_project.json()["code"]) == (
        422,
        "project_not_found",
    )

    # The window: a round published on Wednesday 2020-01-01 (元旦) could be appealed for 7
    # working days: 2, 3, 6, 7, 8, 9, 10 January, until 2020-01-10.
    async with world.pool.acquire() as conn:
        await conn.execute(
            "UPDATE ranking_rounds SET computed_at = $1 WHERE period = $2",
            datetime(2020, 1, 1, 9, tzinfo=CST),
            fixture.PERIOD,
        )
    late = await world.call("b", "POST", "/appeals", key="file-8", json=body(item="list"))
    assert (late.status_code, late.json()["code"]) == (422, "window_closed")
    assert "2020-01-10" in late.json()["zh"]
    refused = await world.fetch(
        "SELECT action, reason FROM audit_log WHERE accepted = false"
        " AND action LIKE 'appeal:%' ORDER BY id"
    )
    assert [r["reason"].split(":")[0] for r in refused] == [
        "duplicate_appeal",
        "reason_too_short",
        "already_appealed",
        "order_not_found",
        "round_not_found",
        "project_not_found",
        "window_closed",
    ]
    # End d's open appeal so no workflow is left running.
    with contextlib.suppress(Exception):
        await world.env.client.get_workflow_handle(
            c.appeal_workflow_id(mine_order.json()["id"])
        ).terminate()


async def test_accepted_appeal_publishes_revision_2_with_the_appeal_as_reason(world: World) -> None:
    _, b, _, _ = world.bureaus
    filed = await world.call("b", "POST", "/appeals", key="file-1", json=body(item="list"))
    assert filed.status_code == 200, filed.text
    appeal = filed.json()["id"]
    assert appeal == f"default-2031-03-{b}-list-r1"
    acceptance = "核实后 B1 三月投资额统计有误，申诉成立，重新冻结后发布更正排名"
    decided = await world.call(
        "leader",
        "POST",
        f"/appeals/{appeal}/decision",
        key="d-1",
        json={"decision": "accept", "reason": acceptance},
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "accepted"
    final = await world.env.client.get_workflow_handle(
        c.appeal_workflow_id(appeal), result_type=AppealView
    ).result()
    assert final.revised_to == 2
    assert final.revision_workflow_id == c.ranking_round_workflow_id(
        fixture.PERIOD, "default", 2
    ) or final.revision_workflow_id.startswith(f"ranking-default-{fixture.PERIOD}-r")

    # Revision 2 is the round now, with the appeal as its reason; revision 1 is archived.
    [current] = await world.fetch(
        "SELECT revision, reason, actor FROM ranking_rounds WHERE period = $1", fixture.PERIOD
    )
    assert current["revision"] == 2
    assert current["reason"].startswith(f"申诉 {appeal} 成立") and acceptance in current["reason"]
    assert current["actor"].startswith("leader:")
    archived = await world.fetch(
        "SELECT revision FROM ranking_round_archive WHERE period = $1", fixture.PERIOD
    )
    assert [r["revision"] for r in archived] == [1]
    # The read model holds the outcome; the decision and the revision are audited.
    [row] = await world.fetch(
        "SELECT status, decision, revised_to, revision_workflow_id FROM appeals WHERE id = $1",
        appeal,
    )
    assert (row["status"], row["decision"], row["revised_to"]) == ("accepted", "accept", 2)
    actions = await world.fetch(
        "SELECT action FROM audit_log WHERE key LIKE $1 ORDER BY id", f"appeal:{appeal}:%"
    )
    assert [r["action"] for r in actions] == [
        "appeal:file:list",
        "appeal:accept",
        "appeal:revision",
    ]
    got = await eventually(
        lambda: [p for k, p in world.receiver.posts if k == f"appeal:{appeal}:revised"]
    )
    assert got[0]["bureau"] == b and "第 2 版" in got[0]["title_zh"]
    # The new revision opens its own window: the bureau may appeal revision 2.
    again = await world.call("b", "POST", "/appeals", key="file-2", json=body(item="list"))
    assert again.status_code == 200 and again.json()["id"] == f"default-2031-03-{b}-list-r2"
    with contextlib.suppress(Exception):
        await world.env.client.get_workflow_handle(
            c.appeal_workflow_id(again.json()["id"])
        ).terminate()
