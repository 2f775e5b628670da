"""Ladder endpoints: a leader's force-majeure exemption, a bureau's correction plan."""

from __future__ import annotations

import contextlib
import uuid

from guatu.core import constants as c
from tests.api.conftest import World

REASON = "特大暴雨引发洪灾，全部工地依令停工（不可抗力）"


async def test_leader_grants_an_exemption_once(world: World) -> None:
    path = f"/api/v1/bureaus/{world.bureau_a}/exemptions"
    key = {"Idempotency-Key": uuid.uuid4().hex}
    try:
        r = await world.call(
            "leader", "POST", path, headers=key, json={"period": "2031-07", "reason": REASON}
        )
        assert r.status_code == 200, r.text
        first = r.json()
        assert (first["bureau"], first["period"], first["duplicate"]) == (
            world.bureau_a,
            "2031-07",
            False,
        )
        r = await world.call(
            "leader", "POST", path, headers=key, json={"period": "2031-07", "reason": REASON}
        )
        assert r.status_code == 200 and r.json() == first  # the retry gets the first answer
        r = await world.call(
            "leader", "POST", path, headers=key, json={"period": "2031-08", "reason": REASON}
        )
        assert r.status_code == 409 and r.json()["code"] == "idempotency_key_reused"
        r = await world.call(
            "leader",
            "POST",
            path,
            headers=world.key(),
            json={"period": "2031-07", "reason": REASON},
        )
        assert r.status_code == 422 and r.json()["code"] == "already_exempted"
        r = await world.call(
            "leader",
            "POST",
            path,
            headers=world.key(),
            json={"period": "2031-09", "reason": "下雨"},
        )
        assert r.status_code == 422 and r.json()["code"] == "reason_required"
        audit = await world.rows(
            "SELECT actor, accepted FROM audit_log WHERE bureau = $1"
            " AND action LIKE 'exemption:%' ORDER BY id",
            world.bureau_a,
        )
        me = (await world.call("leader", "GET", "/api/v1/me")).json()
        assert (me["actor"], True) in [(a["actor"], a["accepted"]) for a in audit]
        assert (me["actor"], False) in [(a["actor"], a["accepted"]) for a in audit]
    finally:
        handle = world.env.client.get_workflow_handle(c.bureau_ladder_workflow_id(world.bureau_a))
        with contextlib.suppress(Exception):
            await handle.terminate()


async def test_exemption_errors(world: World) -> None:
    body = {"period": "2031-07", "reason": REASON}
    r = await world.call(
        "leader",
        "POST",
        "/api/v1/bureaus/no_such_bureau/exemptions",
        headers=world.key(),
        json=body,
    )
    assert r.status_code == 404 and r.json()["code"] == "bureau_not_found"
    for who in ("a", "manager", "admin"):
        r = await world.call(
            who,
            "POST",
            f"/api/v1/bureaus/{world.bureau_a}/exemptions",
            headers=world.key(),
            json=body,
        )
        assert r.status_code == 403
    for bad in ({**body, "period": "July"}, {**body, "actor": "someone"}, {"period": "2031-07"}):
        r = await world.call(
            "leader",
            "POST",
            f"/api/v1/bureaus/{world.bureau_a}/exemptions",
            headers=world.key(),
            json=bad,
        )
        assert r.status_code == 422, (bad, r.text)


async def test_correction_plan_for_an_order_the_bureau_does_not_have(world: World) -> None:
    path = "/api/v1/supervision-orders/ORDER-1/correction-plan"
    plan = {"plan": "一、倒排工期；二、增加施工班组；三、每周报送进度。"}
    r = await world.call("b", "POST", path, headers=world.key(), json=plan)
    assert r.status_code == 404 and r.json()["code"] == "order_not_found"
    for who in ("leader", "manager"):
        assert (
            await world.call(who, "POST", path, headers=world.key(), json=plan)
        ).status_code == 403
    r = await world.call("b", "POST", path, headers=world.key(), json={"plan": ""})
    assert r.status_code == 422
    r = await world.call("b", "POST", path, headers=world.key(), json={**plan, "bureau": "x"})
    assert r.status_code == 422
