"""Bureau endpoints: transitions, reports and issues, the inbox; idempotency and refusals."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from guatu.core.clock import month_key
from guatu.lifecycle.models import ProjectKind, StageTransitionInput, Step
from guatu.lifecycle.service import send_update
from tests.api.conftest import World, today
from workflows.project_lifecycle import ProjectLifecycle


async def test_transition_accepted_with_actor_from_token(world: World) -> None:
    plan = await world.start(world.plan(world.bureau_a))
    key = f"t-{uuid.uuid4().hex}"
    r = await world.call(
        "a",
        "POST",
        f"/api/v1/projects/{plan.code}/transitions",
        headers={"Idempotency-Key": key},
        json={"step": "preliminary", "note": "前期启动"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["accepted"], body["project"], body["stage"], body["duplicate"]) == (
        True,
        plan.code,
        "preliminary",
        False,
    )
    assert body["message_zh"] == "已记录「进入前期」，当前阶段：前期"
    audit = await _eventually_rows(
        world,
        "SELECT actor, bureau, action, accepted FROM audit_log"
        " WHERE project = $1 AND idempotency_key = $2",
        plan.code,
        key,
    )
    me = (await world.call("a", "GET", "/api/v1/me")).json()
    assert me["actor"].startswith("bureau:") and me["actor"].endswith("(system A)")
    assert [tuple(a) for a in audit] == [
        (me["actor"], world.bureau_a, "transition:preliminary", True)
    ]


async def _eventually_rows(world: World, sql: str, *args: object, n: int = 1) -> list:
    for _ in range(100):
        rows = await world.rows(sql, *args)
        if len(rows) >= n:
            return rows
        await asyncio.sleep(0.1)
    raise AssertionError(f"fewer than {n} rows for {sql}")


async def test_body_cannot_name_actor_or_bureau(world: World) -> None:
    plan = await world.start(world.plan(world.bureau_a))
    path = f"/api/v1/projects/{plan.code}/transitions"
    for extra in ({"actor": "someone else"}, {"bureau": world.bureau_a}, {"colour": "red"}):
        r = await world.call(
            "a", "POST", path, headers=world.key(), json={"step": "preliminary", **extra}
        )
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["code"] == "invalid_input"
        assert body["details"][0]["type"] == "extra_forbidden"
        assert body["details"][0]["loc"] == ["body", next(iter(extra))]
    report = {
        "month": month_key(today()),
        "investment_wan": 1,
        "physical_progress_pct": 1,
        "actor": "x",
    }
    r = await world.call(
        "a", "POST", f"/api/v1/projects/{plan.code}/reports", headers=world.key(), json=report
    )
    assert r.status_code == 422 and r.json()["details"][0]["loc"] == ["body", "actor"]
    # Nothing reached the workflow.
    status = (await world.call("leader", "GET", f"/api/v1/projects/{plan.code}")).json()
    assert status["stage"] == "approved" and status["last_report"] is None


async def test_missing_or_malformed_idempotency_key_is_422(world: World) -> None:
    plan = await world.start(world.plan(world.bureau_a))
    path = f"/api/v1/projects/{plan.code}/transitions"
    r = await world.call("a", "POST", path, json={"step": "preliminary"})
    assert r.status_code == 422
    assert r.json()["details"][0]["loc"] == ["header", "Idempotency-Key"]
    r = await world.call(
        "a", "POST", path, headers={"Idempotency-Key": "x" * 201}, json={"step": "preliminary"}
    )
    assert r.status_code == 422


async def test_rule_refusal_is_422_with_code_and_audited(world: World) -> None:
    plan = await world.start(world.plan(world.bureau_a))
    key = uuid.uuid4().hex
    # An engineering project in 立项 cannot jump to 竣工.
    r = await world.call(
        "a",
        "POST",
        f"/api/v1/projects/{plan.code}/transitions",
        headers={"Idempotency-Key": key},
        json={"step": "completed"},
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "illegal_transition"
    assert "竣工" in body["zh"] and "completed" in body["en"]
    rows = await world.rows(
        "SELECT actor, accepted, channel, reason FROM audit_log"
        " WHERE project = $1 AND idempotency_key = $2",
        plan.code,
        key,
    )
    me = (await world.call("a", "GET", "/api/v1/me")).json()
    assert [(r["actor"], r["accepted"], r["channel"]) for r in rows] == [
        (me["actor"], False, "api")
    ]
    assert rows[0]["reason"].startswith("illegal_transition: ")
    # The refused key may be reused for the corrected request.
    r = await world.call(
        "a",
        "POST",
        f"/api/v1/projects/{plan.code}/transitions",
        headers={"Idempotency-Key": key},
        json={"step": "preliminary"},
    )
    assert r.status_code == 200 and r.json()["stage"] == "preliminary"


async def test_future_date_refused(world: World) -> None:
    plan = await world.start(world.plan(world.bureau_a))
    tomorrow = (today() + timedelta(days=2)).isoformat()
    r = await world.call(
        "a",
        "POST",
        f"/api/v1/projects/{plan.code}/transitions",
        headers=world.key(),
        json={"step": "preliminary", "on": tomorrow},
    )
    assert r.status_code == 422 and r.json()["code"] == "future_date"


async def test_same_key_five_times_concurrently_is_one_transition(world: World) -> None:
    plan = await world.start(world.plan(world.bureau_a))
    key = f"r4-{uuid.uuid4().hex}"
    path = f"/api/v1/projects/{plan.code}/transitions"

    async def send() -> tuple[int, dict]:
        r = await world.call(
            "a",
            "POST",
            path,
            headers={"Idempotency-Key": key},
            json={"step": "preliminary", "note": "once"},
        )
        return r.status_code, r.json()

    answers = await asyncio.gather(*(send() for _ in range(5)))
    assert [s for s, _ in answers] == [200] * 5
    stages = {(b["stage"], b["accepted"]) for _, b in answers}
    assert stages == {("preliminary", True)}
    # A sixth, later retry is answered from the workflow's memory of the key.
    status, later = await send()
    assert status == 200 and later["stage"] == "preliminary"
    await _eventually_rows(
        world, "SELECT 1 FROM stage_history WHERE project = $1 AND step = 'preliminary'", plan.code
    )
    await asyncio.sleep(0.5)  # any duplicate projection would have landed by now
    history = await world.rows(
        "SELECT step FROM stage_history WHERE project = $1 AND step IS NOT NULL", plan.code
    )
    audit = await world.rows("SELECT accepted FROM audit_log WHERE project = $1", plan.code)
    assert [h["step"] for h in history] == ["preliminary"]
    assert [a["accepted"] for a in audit] == [True]
    # One answer applied it; the others say they are duplicates, with the same stage and light.
    assert sorted(b["duplicate"] for _, b in answers) == [False, True, True, True, True]
    assert len({(b["stage"], b["light"], b["status"]) for _, b in answers}) == 1
    assert later["duplicate"] is True


async def test_same_key_other_body_is_409(world: World) -> None:
    plan = await world.start(world.plan(world.bureau_a))
    key = world.key()
    path = f"/api/v1/projects/{plan.code}"
    r = await world.call(
        "a", "POST", f"{path}/transitions", headers=key, json={"step": "preliminary"}
    )
    assert r.status_code == 200
    r = await world.call(
        "a",
        "POST",
        f"{path}/transitions",
        headers=key,
        json={"step": "preliminary", "note": "changed"},
    )
    assert r.status_code == 409 and r.json()["code"] == "idempotency_key_reused"
    report = {"month": month_key(today()), "investment_wan": 10, "physical_progress_pct": 5}
    r = await world.call("a", "POST", f"{path}/reports", headers=key, json=report)
    assert r.status_code == 409
    assert r.json()["details"] == {"first_action": "transition"}


async def test_report_raises_and_resolves_issues(world: World) -> None:
    plan = await world.start(world.plan(world.bureau_a, total=1000.0))
    path = f"/api/v1/projects/{plan.code}"
    month = month_key(today())
    first = {
        "month": month,
        "investment_wan": 120.5,
        "physical_progress_pct": 12,
        "narrative": "征地推进中",
        "issues_raised": [
            {"id": "I-1", "title": "征地拆迁滞后"},
            {"id": "I-2", "title": "管线迁改"},
        ],
    }
    r = await world.call("a", "POST", f"{path}/reports", headers=world.key(), json=first)
    assert r.status_code == 200, r.text
    assert r.json()["message_zh"] == f"{month} 月报已接收"
    issues = (await world.call("a", "GET", f"{path}/issues")).json()
    assert sorted(i["id"] for i in issues) == ["I-1", "I-2"]
    # A second report of the same month without `correction` is refused by the rules …
    again = {**first, "issues_raised": [], "issues_resolved": ["I-1"]}
    r = await world.call("a", "POST", f"{path}/reports", headers=world.key(), json=again)
    assert r.status_code == 422 and r.json()["code"] == "duplicate_month"
    # … and accepted as a correction, which resolves (销号) I-1.
    r = await world.call(
        "a", "POST", f"{path}/reports", headers=world.key(), json={**again, "correction": True}
    )
    assert (
        r.status_code == 200
        and r.json()["message_en"] == f"report for {month} accepted (correction)"
    )
    issues = (await world.call("a", "GET", f"{path}/issues")).json()
    assert [(i["id"], i["title"]) for i in issues] == [("I-2", "管线迁改")]
    detail = (await world.call("a", "GET", path)).json()
    assert detail["actual_investment_wan"] == 120.5
    assert detail["last_report"]["corrected"] == 1
    # Resolving an issue that is not open is refused.
    r = await world.call(
        "a",
        "POST",
        f"{path}/reports",
        headers=world.key(),
        json={**again, "issues_resolved": ["I-9"], "correction": True},
    )
    assert r.status_code == 422 and r.json()["code"] == "unknown_issue"


async def test_report_numbers_must_be_finite(world: World) -> None:
    plan = await world.start(world.plan(world.bureau_a))
    path = f"/api/v1/projects/{plan.code}/reports"
    month = month_key(today())
    for bad in ("NaN", "Infinity", "1e400"):
        raw = (
            f'{{"month": "{month}", "investment_wan": {bad}, "physical_progress_pct": 1}}'
        ).encode()
        r = await world.call(
            "a",
            "POST",
            path,
            headers={**world.key(), "Content-Type": "application/json"},
            content=raw,
        )
        assert r.status_code == 422, (bad, r.text)
    r = await world.call(
        "a",
        "POST",
        path,
        headers=world.key(),
        json={"month": "2021-13", "investment_wan": 1, "physical_progress_pct": 1},
    )
    assert r.status_code == 422 and r.json()["details"][0]["loc"] == ["body", "month"]
    r = await world.call(
        "a",
        "POST",
        path,
        headers={**world.key(), "Content-Type": "application/json"},
        content=b'{"month": ',
    )
    assert r.status_code == 422
    r = await world.call(
        "a",
        "POST",
        path,
        headers=world.key(),
        json={"month": month, "investment_wan": -5, "physical_progress_pct": 1},
    )
    assert r.status_code == 422 and r.json()["code"] == "negative_amount"


async def test_service_project_transition(world: World) -> None:
    plan = await world.start(world.plan(world.bureau_a, ProjectKind.SERVICE))
    r = await world.call(
        "a",
        "POST",
        f"/api/v1/projects/{plan.code}/transitions",
        headers=world.key(),
        json={"step": "implementing"},
    )
    assert r.status_code == 200 and r.json()["stage"] == "implementing"


async def test_unknown_project_is_404(world: World) -> None:
    r = await world.call(
        "a",
        "POST",
        "/api/v1/projects/NOPE-404/transitions",
        headers=world.key(),
        json={"step": "preliminary"},
    )
    assert r.status_code == 404 and r.json()["code"] == "project_not_found"
    r = await world.call(
        "a",
        "POST",
        "/api/v1/projects/bad code!/transitions",
        headers=world.key(),
        json={"step": "preliminary"},
    )
    assert r.status_code == 422


async def test_body_too_large_is_413(world: World) -> None:
    plan = await world.start(world.plan(world.bureau_a))
    path = f"/api/v1/projects/{plan.code}/reports"
    big = {
        "month": month_key(today()),
        "investment_wan": 1,
        "physical_progress_pct": 1,
        "narrative": "长" * 100_000,
    }  # 300 KB of UTF-8 > 256 KiB
    r = await world.call("a", "POST", path, headers=world.key(), json=big)
    assert r.status_code == 413 and r.json()["code"] == "body_too_large"

    async def chunks():  # no Content-Length: the limit holds while streaming
        for _ in range(40):
            yield b" " * 10_000

    r = await world.call(
        "a",
        "POST",
        path,
        headers={**world.key(), "Content-Type": "application/json"},
        content=chunks(),
    )
    assert r.status_code == 413 and r.json()["code"] == "body_too_large"
    # A long narrative within the limit is the rules' business, not the size cap's.
    r = await world.call(
        "a", "POST", path, headers=world.key(), json={**big, "narrative": "长" * 5001}
    )
    assert r.status_code == 422


async def test_inbox_lists_and_acknowledges_own_notices(world: World) -> None:
    created = today()
    async with world.pool.acquire() as conn:
        for i in range(5):
            await conn.execute(
                "INSERT INTO notifications (key, bureau, project, kind, title_zh, body_zh,"
                " body_en, created_at, deadline, status) VALUES"
                " ($1, $2, 'X-1', 'report_reminder', $3, '请报送', 'please report',"
                " now() - make_interval(mins => $4), $5, 'inbox')",
                f"{world.bureau_a}:n{i}",
                world.bureau_a,
                f"通知{i}",
                10 - i,
                created,
            )
        await conn.execute(
            "INSERT INTO notifications (key, bureau, project, kind, title_zh, body_zh,"
            " created_at, status) VALUES ($1, $2, 'Y-1', 'x', 'B的通知', '…', now(), 'inbox')",
            f"{world.bureau_b}:n0",
            world.bureau_b,
        )
    r = await world.call("a", "GET", "/api/v1/notifications", params={"page_size": 2})
    assert r.status_code == 200
    page = r.json()
    assert (page["total"], page["page"], page["page_size"]) == (5, 1, 2)
    assert [n["title_zh"] for n in page["items"]] == ["通知4", "通知3"]  # newest first
    r = await world.call("a", "GET", "/api/v1/notifications", params={"page": 3, "page_size": 2})
    assert [n["title_zh"] for n in r.json()["items"]] == ["通知0"]
    # Asking for bureau B's inbox with A's token still gives A's.
    r = await world.call("a", "GET", "/api/v1/notifications", params={"bureau": world.bureau_b})
    assert {n["bureau"] for n in r.json()["items"]} == {world.bureau_a}
    key = f"{world.bureau_a}:n1"
    r = await world.call("a", "POST", f"/api/v1/notifications/{key}/ack")
    assert r.status_code == 200 and r.json()["acknowledged_at"] is not None
    first_ack = r.json()["acknowledged_at"]
    r = await world.call("a", "POST", f"/api/v1/notifications/{key}/ack")
    assert r.status_code == 200 and r.json()["acknowledged_at"] == first_ack
    r = await world.call("a", "GET", "/api/v1/notifications", params={"unacknowledged": True})
    assert r.json()["total"] == 4 and key not in {n["key"] for n in r.json()["items"]}
    r = await world.call("a", "POST", f"/api/v1/notifications/{world.bureau_a}:nope/ack")
    assert r.status_code == 404 and r.json()["code"] == "notification_not_found"
    # A leader reads any bureau's inbox, but may not acknowledge for it.
    r = await world.call(
        "leader", "GET", "/api/v1/notifications", params={"bureau": world.bureau_b}
    )
    assert [n["title_zh"] for n in r.json()["items"]] == ["B的通知"]
    r = await world.call("leader", "POST", f"/api/v1/notifications/{key}/ack")
    assert r.status_code == 403


async def test_inbox_receives_a_real_notice_from_the_workflow(world: World) -> None:
    """A notice decided by a lifecycle reaches the inbox of a bureau without a webhook."""
    from guatu.lifecycle.models import ProgrammeClock

    # One real second is six programme hours: the reminder 7 days before a milestone planned
    # 8 days after the start falls due one programme day (4 s) after the start.
    plan = world.plan(world.bureau_a, ProjectKind.SERVICE, days_ago=0, milestone_days=[8, 200, 300])
    await world.start(plan, clock=ProgrammeClock(scale=6 * 3600))
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        r = await world.call(
            "a",
            "GET",
            "/api/v1/notifications",
            params={"project": plan.code, "unacknowledged": True},
        )
        items = r.json()["items"]
        # Listed once projected (pending); `inbox` once the delivery found no webhook.
        if (
            items and items[0]["status"] == "inbox"
        ) or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.5)
    assert [n["kind"] for n in items] == ["milestone_reminder"]
    assert items[0]["status"] == "inbox" and items[0]["title_zh"].startswith("【节点提醒】")
    r = await world.call("a", "POST", f"/api/v1/notifications/{items[0]['key']}/ack")
    assert r.status_code == 200


async def test_a_replayed_key_answers_duplicate_with_the_current_stage_and_light(
    world: World,
) -> None:
    """Issue 8: a replayed Idempotency-Key says `duplicate: true` and carries the project's
    stage and light NOW, not the first answer verbatim, and changes nothing."""
    plan = await world.start(world.plan(world.bureau_a, ProjectKind.SERVICE))
    path = f"/api/v1/projects/{plan.code}/transitions"
    first_key = f"k1-{uuid.uuid4().hex}"
    first = await world.call(
        "a", "POST", path, headers={"Idempotency-Key": first_key}, json={"step": "implementing"}
    )
    assert first.status_code == 200, first.text
    assert (first.json()["stage"], first.json()["duplicate"]) == ("implementing", False)
    second = await world.call("a", "POST", path, headers=world.key(), json={"step": "done"})
    assert second.status_code == 200 and second.json()["stage"] == "done"
    before = (await world.call("leader", "GET", f"/api/v1/projects/{plan.code}")).json()
    again = await world.call(
        "a", "POST", path, headers={"Idempotency-Key": first_key}, json={"step": "implementing"}
    )
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["duplicate"] is True
    assert (body["stage"], body["light"]) == ("done", before["light"])
    assert "未做任何更改" in body["message_zh"]
    # A direct Update (the service layer, as the CLI sends it) with the same key: the same.
    direct = await send_update(
        world.env.client,
        plan.code,
        ProjectLifecycle.transition_stage,
        StageTransitionInput(
            bureau=world.bureau_a, idempotency_key=first_key, step=Step.IMPLEMENTING
        ),
    )
    assert (direct.duplicate, direct.stage.value, direct.light.value) == (
        True,
        "done",
        before["light"],
    )
    after = (await world.call("leader", "GET", f"/api/v1/projects/{plan.code}")).json()
    assert after["version"] == before["version"] and after["stage"] == "done"
