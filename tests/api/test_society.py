"""市民观察 through the HTTP API: the observer files (with a photo), the responsible bureau replies,
the observer rates; another bureau and another observer see nothing (404); bad photos, long
texts and a second reply are clear 4xx in Chinese and English; the published figures carry no
observer identity."""

from __future__ import annotations

import base64

from guatu.core.tokens import create_token
from guatu.lifecycle.models import ProjectKind
from guatu.society.models import load_rules
from tests.api.conftest import World
from tests.helpers import eventually

PNG = b"\x89PNG\r\n\x1a\n" + b"\x02" * 300


async def test_observation_reply_rating_and_scoping(world: World) -> None:
    plan = await world.start(world.plan(world.bureau_a))
    await eventually(lambda: world.rows("SELECT 1 FROM projects WHERE code = $1", plan.code))
    world.tokens["ob1"] = await create_token(world.pool, "observer", label="市民观察员 张")
    world.tokens["ob2"] = await create_token(world.pool, "observer", label="市民观察员 李")
    body = {
        "target": plan.code,
        "category": "safety",
        "rating": 2,
        "text": "工地围挡有缺口，行人可进入",
        "photos": [base64.b64encode(PNG).decode()],
    }
    # Bad input first: nothing is started.
    bad = await world.call(
        "ob1",
        "POST",
        "/api/v1/observations",
        headers=world.key(),
        json={**body, "photos": [base64.b64encode(b"GIF89a....").decode()]},
    )
    assert bad.status_code == 422 and bad.json()["code"] == "photo_not_image"
    assert bad.json()["zh"].startswith("第 1 张照片") and "JPEG or PNG" in bad.json()["en"]
    limit = load_rules().observation.text_max_chars
    long = await world.call(
        "ob1",
        "POST",
        "/api/v1/observations",
        headers=world.key(),
        json={**body, "text": "很" * (limit + 1)},
    )
    assert long.status_code == 422 and long.json()["code"] == "text_too_long"
    assert await world.rows("SELECT 1 FROM observations WHERE target = $1", plan.code) == []
    # A bureau cannot file one.
    assert (
        await world.call("a", "POST", "/api/v1/observations", headers=world.key(), json=body)
    ).status_code == 403

    filed = await world.call("ob1", "POST", "/api/v1/observations", headers=world.key(), json=body)
    assert filed.status_code == 200, filed.text
    oid = filed.json()["id"]
    assert filed.json()["status"] == "open" and filed.json()["bureau"] == world.bureau_a
    path = f"/api/v1/observations/{oid}"
    photo = await world.call("ob1", "GET", f"{path}/photos/1")
    assert (photo.status_code, photo.headers["content-type"], photo.content) == (
        200,
        "image/png",
        PNG,
    )
    for who in ("b", "ob2"):
        assert (await world.call(who, "GET", path)).status_code == 404
    assert (await world.call("a", "GET", path)).status_code == 200
    listed = await world.call("ob2", "GET", "/api/v1/observations")
    assert listed.json()["total"] == 0

    reply = {"text": "已安排施工单位当日修复围挡缺口并加强巡查"}
    assert (
        await world.call("b", "POST", f"{path}/reply", headers=world.key(), json=reply)
    ).status_code == 404
    answered = await world.call("a", "POST", f"{path}/reply", headers=world.key(), json=reply)
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "replied" and answered.json()["reply_on_time"] is True
    again = await world.call("a", "POST", f"{path}/reply", headers=world.key(), json=reply)
    assert again.status_code == 422 and again.json()["code"] == "already_replied"
    assert "不能重复答复" in again.json()["zh"]

    rating = {"satisfaction": "satisfied"}
    assert (
        await world.call("ob2", "POST", f"{path}/rating", headers=world.key(), json=rating)
    ).status_code == 404
    rated = await world.call("ob1", "POST", f"{path}/rating", headers=world.key(), json=rating)
    assert rated.status_code == 200 and rated.json()["status"] == "closed"

    figures = await world.call("leader", "GET", "/api/v1/society/figures")
    assert figures.status_code == 200
    mine = next(p for p in figures.json()["projects"] if p["code"] == plan.code)
    assert (mine["observations"], mine["replies_due"], mine["replied_on_time"]) == (1, 1, 1)
    assert (mine["timeliness"], mine["satisfaction"], mine["average_rating"]) == (1.0, 1.0, 2.0)
    observer_id = world.tokens["ob1"].split("_")[1]
    assert observer_id not in figures.text


async def test_service_project_cannot_close_without_an_evaluation(world: World) -> None:
    """评估 stage: closing waits for a third-party evaluation; evaluators are scoped to their
    programs; evaluations are immutable (a correction is a new version with a reason); the
    evaluated bureau sees and answers them, another bureau sees nothing."""
    plan = await world.start(world.plan(world.bureau_a, ProjectKind.SERVICE))
    await eventually(lambda: world.rows("SELECT 1 FROM projects WHERE code = $1", plan.code))
    other = "P01" if plan.program != "P01" else "P02"
    world.tokens["ev"] = await create_token(
        world.pool, "evaluator", label="某评估公司", programs=[plan.program]
    )
    world.tokens["ev2"] = await create_token(
        world.pool, "evaluator", label="另一评估公司", programs=[other]
    )
    steps = f"/api/v1/projects/{plan.code}/transitions"
    for step in ("implementing", "done", "evaluated"):
        r = await world.call("a", "POST", steps, headers=world.key(), json={"step": step})
        assert r.status_code == 200, r.text
    closed = await world.call("a", "POST", steps, headers=world.key(), json={"step": "closed"})
    assert closed.status_code == 422 and closed.json()["code"] == "evaluation_required"
    assert closed.json()["zh"].startswith("服务类项目须有第三方评估")

    pdf = b"%PDF-1.4\n" + b"x" * 500
    body = {
        "subject": "project",
        "project": plan.code,
        "year": 2026,
        "indicators": [
            {"key": "coverage", "name_zh": "服务覆盖率", "score": 90, "weight": 2},
            {"key": "satisfaction", "name_zh": "群众满意度", "score": 75, "weight": 1},
        ],
        "conclusion": "项目总体达到预期目标，群众满意度有待提升",
        "report_name": "评估报告.pdf",
        "report": base64.b64encode(pdf).decode(),
    }
    outside = await world.call("ev2", "POST", "/api/v1/evaluations", headers=world.key(), json=body)
    assert outside.status_code == 422 and outside.json()["code"] == "outside_programs"
    assert "未受委托" in outside.json()["zh"] and "not engaged" in outside.json()["en"]
    assert (
        await world.call("a", "POST", "/api/v1/evaluations", headers=world.key(), json=body)
    ).status_code == 403
    ev = await world.call("ev", "POST", "/api/v1/evaluations", headers=world.key(), json=body)
    assert ev.status_code == 200, ev.text
    eid = ev.json()["id"]
    # (90 × 2 + 75 × 1) ÷ 3 = 85.00
    assert (eid, ev.json()["score"], ev.json()["version"]) == (
        f"project-{plan.code}-2026-v1",
        85.0,
        1,
    )
    closing = await world.call("a", "POST", steps, headers=world.key(), json={"step": "closed"})
    assert closing.status_code == 200, closing.text
    assert closing.json()["stage"] == "closed"

    again = await world.call("ev", "POST", "/api/v1/evaluations", headers=world.key(), json=body)
    assert again.status_code == 422 and again.json()["code"] == "already_evaluated"
    no_reason = {**body, "supersedes": eid, "reason": "短"}
    r = await world.call("ev", "POST", "/api/v1/evaluations", headers=world.key(), json=no_reason)
    assert r.status_code == 422 and r.json()["code"] == "reason_required"
    fixed = {**body, "supersedes": eid, "reason": "第二项指标抽样有误，重新计算后更正"}
    fixed["indicators"] = [{**body["indicators"][1], "score": 81}]
    v2 = await world.call("ev", "POST", "/api/v1/evaluations", headers=world.key(), json=fixed)
    assert v2.status_code == 200 and v2.json()["version"] == 2 and v2.json()["score"] == 81.0
    first = await world.call("leader", "GET", f"/api/v1/evaluations/{eid}")
    assert first.json()["score"] == 85.0  # the first version stays as it was
    assert first.json()["superseded_by"] == f"project-{plan.code}-2026-v2"
    report = await world.call("a", "GET", f"/api/v1/evaluations/{eid}/report")
    assert (report.status_code, report.content) == (200, pdf)
    for who in ("b", "ev2"):
        assert (await world.call(who, "GET", f"/api/v1/evaluations/{eid}")).status_code == 404
    answer = {"text": "已收悉，将按评估意见提升群众满意度"}
    r = await world.call(
        "a", "POST", f"/api/v1/evaluations/{eid}/answer", headers=world.key(), json=answer
    )
    assert r.status_code == 200 and r.json()["answer"]["text"] == answer["text"]
    r = await world.call(
        "a", "POST", f"/api/v1/evaluations/{eid}/answer", headers=world.key(), json=answer
    )
    assert r.status_code == 422 and r.json()["code"] == "already_answered"
    audit = await world.rows(
        "SELECT action, accepted FROM audit_log WHERE action LIKE 'evaluation:%'"
        " AND (project = $1 OR key LIKE $2) ORDER BY id",
        plan.code,
        f"evaluation:project-{plan.code}-%",
    )
    actions = [(a["action"], a["accepted"]) for a in audit]
    assert ("evaluation:submit:project", False) in actions  # outside the programs, refused
    assert ("evaluation:submit", True) in actions and ("evaluation:correct", True) in actions
    assert ("evaluation:answer", True) in actions


async def test_the_two_new_roles_reach_only_their_own_doors(world: World) -> None:
    """Observer and evaluator tokens: 403 on every other role's writing door, and on each
    other's; an admin issues them (an evaluator only with its programs)."""
    no_programs = await world.call(
        "admin", "POST", "/api/v1/tokens", json={"role": "evaluator", "label": "x"}
    )
    assert no_programs.status_code == 422
    made = await world.call(
        "admin", "POST", "/api/v1/tokens", json={"role": "evaluator", "programs": ["P06"]}
    )
    assert made.status_code == 201 and made.json()["programs"] == ["P06"]
    world.tokens["ev"] = made.json()["token"]
    made = await world.call("admin", "POST", "/api/v1/tokens", json={"role": "observer"})
    assert made.status_code == 201
    world.tokens["ob"] = made.json()["token"]
    plan = world.plan(world.bureau_a)
    doors = [
        ("POST", f"/api/v1/projects/{plan.code}/transitions", {"step": "preliminary"}),
        ("POST", "/api/v1/projects", {}),
        ("POST", "/api/v1/appeals", {}),
        ("POST", "/api/v1/tokens", {"role": "admin"}),
        ("GET", "/api/v1/tokens", None),
        ("GET", "/api/v1/overview", None),
        ("POST", "/api/v1/observations/x-1/reply", {"text": "答复内容答复内容答复"}),
        ("POST", "/api/v1/observations/x-1/resolution", {"text": "办结情况办结情况办结"}),
        ("POST", "/api/v1/evaluations/x-1/answer", {"text": "答复"}),
    ]
    for who in ("ob", "ev"):
        for method, path, body in doors:
            r = await world.call(who, method, path, headers=world.key(), json=body)
            assert r.status_code == 403, (who, method, path, r.status_code, r.text)
    ev_files = await world.call(
        "ev",
        "POST",
        "/api/v1/observations",
        headers=world.key(),
        json={"target": plan.code, "category": "quality", "rating": 3, "text": "x"},
    )
    assert ev_files.status_code == 403
    ob_evaluates = await world.call(
        "ob",
        "POST",
        "/api/v1/evaluations",
        headers=world.key(),
        json={
            "subject": "program",
            "program": "P06",
            "year": 2026,
            "conclusion": "x",
            "indicators": [{"key": "a", "name_zh": "a", "score": 1}],
        },
    )
    assert ob_evaluates.status_code == 403
    for who in ("ob", "ev"):
        assert (await world.call(who, "GET", "/api/v1/society/figures")).status_code == 200
