"""Manager endpoints: start, bulk import, plan change, suspend / resume / cancel."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from guatu.core import constants as c
from guatu.lifecycle.models import ProjectKind
from tests.api.conftest import World, today
from workflows.project_lifecycle import ProjectLifecycle


def plan_json(world: World, bureau: str, **kw: Any) -> dict[str, Any]:
    plan = world.plan(bureau, **kw)
    return plan.model_dump(mode="json")


async def test_start_project_is_idempotent_and_conflicts_are_409(world: World) -> None:
    body = plan_json(world, world.bureau_a)
    world.started.append(body["code"])
    r = await world.call("manager", "POST", "/api/v1/projects", json=body)
    assert r.status_code == 201, r.text
    assert r.json() == {
        "project": body["code"],
        "workflow_id": f"project-{body['code']}",
        "created": True,
    }
    assert r.headers["location"] == f"/api/v1/projects/{body['code']}"
    # The project runs on the task queue the app was given, started by the manager's token.
    handle = world.env.client.get_workflow_handle(c.project_workflow_id(body["code"]))
    description = await handle.describe()
    assert description.task_queue == world.task_queue
    state = await handle.query(ProjectLifecycle.state)
    me = (await world.call("manager", "GET", "/api/v1/me")).json()
    assert state.stage_history[0].actor == me["actor"]
    # The same plan again: 200, nothing new.
    r = await world.call("manager", "POST", "/api/v1/projects", json=body)
    assert r.status_code == 200 and r.json()["created"] is False
    # Another plan under the same code: 409.
    r = await world.call(
        "manager",
        "POST",
        "/api/v1/projects",
        json={**body, "total_investment_wan": body["total_investment_wan"] + 1},
    )
    assert r.status_code == 409 and r.json()["code"] == "project_exists"


async def test_start_validates_the_plan(world: World) -> None:
    body = plan_json(world, world.bureau_a)
    for bad, loc in (
        ({**body, "owner": "x"}, ["body", "owner"]),
        ({**body, "code": "lower-case"}, ["body", "code"]),
        ({**body, "total_investment_wan": -1}, ["body", "total_investment_wan"]),
        (
            {**body, "milestones": [{"step": "land_use", "planned": "2021-01-01", "extra": 1}]},
            ["body", "milestones", 0, "extra"],
        ),
    ):
        r = await world.call("manager", "POST", "/api/v1/projects", json=bad)
        assert r.status_code == 422, r.text
        assert r.json()["details"][0]["loc"] == loc
    handle = world.env.client.get_workflow_handle(c.project_workflow_id(body["code"]))
    try:
        await handle.describe()
        raise AssertionError("an invalid plan was started")
    except Exception as err:
        assert "not found" in str(err).lower()


async def test_bulk_import(world: World) -> None:
    plans = [
        plan_json(world, world.bureau_a),
        plan_json(world, world.bureau_b),
        plan_json(world, world.bureau_a, kind=ProjectKind.SERVICE),
    ]
    world.started.extend(p["code"] for p in plans)
    # One bad row: 422 naming its index, and nothing starts.
    broken = [*plans[:2], {**plans[2], "kind": "bridge"}]
    r = await world.call("manager", "POST", "/api/v1/projects/import", json=broken)
    assert r.status_code == 422
    assert [d["loc"][:3] for d in r.json()["details"]] == [["body", 2, "kind"]]
    r = await world.call(
        "manager", "POST", "/api/v1/projects/import", json=plans, params={"dry_run": True}
    )
    assert r.status_code == 200
    assert r.json() | {"items": []} == {
        "total": 3,
        "created": 0,
        "existing": 0,
        "conflicts": 0,
        "dry_run": True,
        "items": [],
    }
    r = await world.call("leader", "GET", "/api/v1/projects", params={"bureau": world.bureau_a})
    assert r.json()["total"] == 0
    r = await world.call("manager", "POST", "/api/v1/projects/import", json=plans)
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["total"], result["created"], result["existing"], result["conflicts"]) == (
        3,
        3,
        0,
        0,
    )
    # Re-running is idempotent; a changed plan is a conflict, reported per item.
    changed = [plans[0], plans[1], {**plans[2], "name_zh": "改名"}]
    r = await world.call("manager", "POST", "/api/v1/projects/import", json=changed)
    result = r.json()
    assert (result["created"], result["existing"], result["conflicts"]) == (0, 2, 1)
    assert [(i["index"], i["outcome"], i["code"]) for i in result["items"]][2] == (
        2,
        "conflict",
        "project_exists",
    )
    r = await world.call("manager", "POST", "/api/v1/projects/import", json=[plans[0], plans[0]])
    assert r.status_code == 422 and r.json()["code"] == "duplicate_codes"
    r = await world.call("manager", "POST", "/api/v1/projects/import", json=[])
    assert r.status_code == 422


async def test_plan_change(world: World) -> None:
    plan = await world.start(world.plan(world.bureau_a, days_ago=0))
    path = f"/api/v1/projects/{plan.code}/plan-change"
    new_date = (plan.milestones[0].planned + timedelta(days=30)).isoformat()
    body = {
        "reason": "征地延期",
        "milestones": [{"step": "land_use", "planned": new_date}],
        "total_investment_wan": 1500,
    }
    r = await world.call("manager", "POST", path, headers=world.key(), json=body)
    assert r.status_code == 200, r.text
    assert r.json()["message_en"] == "plan changed; deadlines re-armed"
    detail = (await world.call("leader", "GET", f"/api/v1/projects/{plan.code}")).json()
    assert detail["total_investment_wan"] == 1500 and detail["baselines"] == 1
    assert detail["milestones"][0]["planned"] == new_date
    r = await world.call("manager", "POST", path, headers=world.key(), json={"reason": "无变更"})
    assert r.status_code == 422 and r.json()["code"] == "empty_change"
    r = await world.call(
        "manager", "POST", path, headers=world.key(), json={**body, "actor": "not me"}
    )
    assert r.status_code == 422
    r = await world.call("manager", "POST", path, headers=world.key(), json={"milestones": []})
    assert r.status_code == 422 and r.json()["details"][0]["loc"] == ["body", "reason"]


async def test_suspend_resume_cancel(world: World) -> None:
    plan = await world.start(world.plan(world.bureau_a, days_ago=0))
    base = f"/api/v1/projects/{plan.code}"
    r = await world.call("manager", "POST", f"{base}/suspend", headers=world.key(), json={})
    assert r.status_code == 422 and r.json()["code"] == "reason_required"
    r = await world.call(
        "manager", "POST", f"{base}/suspend", headers=world.key(), json={"reason": "资金未到位"}
    )
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    # A suspended project takes no report from its bureau.
    r = await world.call(
        "a", "POST", f"{base}/transitions", headers=world.key(), json={"step": "preliminary"}
    )
    assert r.status_code == 422 and r.json()["code"] == "project_suspended"
    r = await world.call(
        "manager", "POST", f"{base}/suspend", headers=world.key(), json={"reason": "again"}
    )
    assert r.status_code == 422 and r.json()["code"] == "project_suspended"
    r = await world.call("manager", "POST", f"{base}/resume", headers=world.key(), json={})
    assert r.status_code == 200 and r.json()["status"] == "active"
    r = await world.call(
        "manager",
        "POST",
        f"{base}/cancel",
        headers=world.key(),
        json={"reason": "规划调整，项目撤销"},
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    handle = world.env.client.get_workflow_handle(c.project_workflow_id(plan.code))
    await asyncio.wait_for(handle.result(), 10)
    # The run has ended: any further change is a conflict, and a restart is refused.
    r = await world.call("manager", "POST", f"{base}/resume", headers=world.key(), json={})
    assert r.status_code == 409 and r.json()["code"] == "project_finished", r.text
    r = await world.call(
        "a", "POST", f"{base}/transitions", headers=world.key(), json={"step": "preliminary"}
    )
    assert r.status_code == 409 and r.json()["code"] == "project_finished"
    r = await world.call("manager", "POST", "/api/v1/projects", json=plan.model_dump(mode="json"))
    assert r.status_code == 409 and r.json()["code"] == "project_finished"
    # The detail of an ended project still reads (the query replays its history).
    r = await world.call("leader", "GET", base)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    audit = await world.rows(
        "SELECT action, accepted, actor FROM audit_log WHERE project = $1 ORDER BY id", plan.code
    )
    me = (await world.call("manager", "GET", "/api/v1/me")).json()
    accepted = [(a["action"], a["actor"]) for a in audit if a["accepted"]]
    assert accepted == [("suspend", me["actor"]), ("resume", me["actor"]), ("cancel", me["actor"])]


async def test_manager_routes_need_the_manager_role(world: World) -> None:
    body = plan_json(world, world.bureau_a)
    for who in ("a", "leader", "admin"):
        r = await world.call(who, "POST", "/api/v1/projects", json=body)
        assert r.status_code == 403 and r.json()["code"] == "forbidden"
        r = await world.call(who, "POST", "/api/v1/projects/import", json=[body])
        assert r.status_code == 403
        r = await world.call(
            who,
            "POST",
            f"/api/v1/projects/{body['code']}/cancel",
            headers={"Idempotency-Key": uuid.uuid4().hex},
            json={"reason": "x"},
        )
        assert r.status_code == 403
    # The bureau side is closed to managers too.
    r = await world.call(
        "manager",
        "POST",
        f"/api/v1/projects/{body['code']}/transitions",
        headers={"Idempotency-Key": "k"},
        json={"step": "preliminary"},
    )
    assert r.status_code == 403
    assert today()  # the plan dates above are relative to today


async def test_import_csv_and_xlsx_plan_files(world: World, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from guatu.plan_file.write import write_plans

    plans = [world.plan(world.bureau_a), world.plan(world.bureau_b, kind=ProjectKind.SERVICE)]
    world.started.extend(p.code for p in plans)
    csv_file = write_plans(plans, tmp_path / "plan.csv")
    xlsx_file = write_plans(plans, tmp_path / "plan.xlsx")
    xlsx_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    r = await world.call(
        "manager",
        "POST",
        "/api/v1/projects/import",
        params={"dry_run": True},
        content=xlsx_file.read_bytes(),
        headers={"Content-Type": xlsx_type},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["total"], r.json()["dry_run"]) == (2, True)
    r = await world.call(
        "manager",
        "POST",
        "/api/v1/projects/import",
        content=csv_file.read_bytes(),
        headers={"Content-Type": "text/csv; charset=utf-8"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["existing"]) == (2, 0)
    r = await world.call(
        "manager",
        "POST",
        "/api/v1/projects/import",
        content=xlsx_file.read_bytes(),
        headers={"Content-Type": xlsx_type},
    )
    assert (r.json()["created"], r.json()["existing"]) == (0, 2)
    for plan in plans:
        detail = (await world.call("leader", "GET", f"/api/v1/projects/{plan.code}")).json()
        assert (detail["bureau"], detail["kind"]) == (plan.bureau, plan.kind.value)
    # Three bad cells in two rows: every one listed by row and column, nothing started.
    lines = csv_file.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    col = {h.split(" / ")[-1]: i for i, h in enumerate(header)}
    fresh = [world.plan(world.bureau_a), world.plan(world.bureau_a)]
    rows = write_plans(fresh, tmp_path / "fresh.csv").read_text(encoding="utf-8-sig").splitlines()
    first, second = rows[1].split(","), rows[2].split(",")
    first[col["kind"]] = "桥梁类"
    first[col["total_investment_wan"]] = "很多"
    second[col["bureau"]] = "no_such_bureau"
    bad = "\n".join([rows[0], ",".join(first), ",".join(second)]).encode("utf-8")
    r = await world.call(
        "manager",
        "POST",
        "/api/v1/projects/import",
        content=bad,
        headers={"Content-Type": "text/csv"},
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_plan_file", r.text
    found = sorted((e["row"], e["column"]) for e in r.json()["details"])
    assert found == [(2, "kind"), (2, "total_investment_wan"), (3, "bureau")]
    for plan in fresh:
        r = await world.call("leader", "GET", f"/api/v1/projects/{plan.code}")
        assert r.status_code == 404
    r = await world.call(
        "manager",
        "POST",
        "/api/v1/projects/import",
        content=b"<xml/>",
        headers={"Content-Type": "application/xml"},
    )
    assert r.status_code == 415 and r.json()["code"] == "unsupported_media_type"
    r = await world.call(
        "manager",
        "POST",
        "/api/v1/projects/import",
        content=b"not a zip",
        headers={"Content-Type": xlsx_type},
    )
    assert r.status_code == 422, r.text
