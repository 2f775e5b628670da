"""The plan file's 示范场景 column: imported projects join their scene; an unknown scene is a
row error and nothing starts."""

from __future__ import annotations

import uuid
from pathlib import Path

from guatu.plan_file.write import write_plans
from tests.api.conftest import World


async def test_plan_import_scene_column(world: World, tmp_path: Path) -> None:
    scene = f"S-IMP{uuid.uuid4().hex[:6].upper()}"
    made = await world.call(
        "leader",
        "PUT",
        f"/api/v1/scenes/{scene}",
        json={"name_zh": "导入测试场景", "program": "P06", "lead_bureau": world.bureau_a},
    )
    assert made.status_code == 201, made.text
    plans = [world.plan(world.bureau_a), world.plan(world.bureau_a), world.plan(world.bureau_b)]
    lines = write_plans(plans, tmp_path / "p.csv").read_text("utf-8-sig").splitlines()
    header = lines[0].split(",")
    col = [h.split(" / ")[-1] for h in header].index("scene")
    assert header[col] == "示范场景 / scene"
    rows = [line.split(",") for line in lines[1:]]
    rows[0][col], rows[1][col] = scene, scene  # the third row has no scene

    # An unknown scene: a row error in the scene column, nothing starts.
    bad = [r[:] for r in rows]
    bad[2][col] = "S-NOPE"
    r = await world.call(
        "manager",
        "POST",
        "/api/v1/projects/import",
        content="\n".join([lines[0], *(",".join(x) for x in bad)]).encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert r.status_code == 422, r.text
    assert [(e["row"], e["column"], e["code"]) for e in r.json()["details"]] == [
        (4, "scene", "unknown_scene")
    ]
    assert "没有示范场景「S-NOPE」" in r.json()["details"][0]["zh"]

    world.started.extend(p.code for p in plans)
    r = await world.call(
        "manager",
        "POST",
        "/api/v1/projects/import",
        content="\n".join([lines[0], *(",".join(x) for x in rows)]).encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert r.status_code == 200 and r.json()["created"] == 3, r.text
    view = (await world.call("leader", "GET", f"/api/v1/scenes/{scene}")).json()
    assert view["projects"] == sorted([plans[0].code, plans[1].code])
    audit = await world.rows(
        "SELECT channel, actor FROM audit_log WHERE action = 'scene:add' AND bureau = $1",
        world.bureau_a,
    )
    assert [(a["channel"], a["actor"].split(":")[0]) for a in audit] == [("import", "manager")]
