"""市民观察 through the HTTP API: the observer files (with a photo), the responsible bureau replies,
the observer rates; another bureau and another observer see nothing (404); bad photos, long
texts and a second reply are clear 4xx in Chinese and English; the published figures carry no
observer identity."""

from __future__ import annotations

import base64

from guatu.core.tokens import create_token
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
