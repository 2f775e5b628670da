"""示范场景: the light rule by hand, and the API's reads and writes on the real PostgreSQL.

Member projects are written straight into the read model (as their lifecycles would), so the
progress figures below are hand-computed from those rows.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.api.app import create_app
from guatu.core.tokens import create_token
from guatu.scenes.models import SceneProgress
from guatu.scenes.rules import scene_light
from tests.api.conftest import TEST_OPTIONS
from tests.helpers import add_bureau


def progress(green: int, yellow: int, red: int, actual: float, planned: float) -> SceneProgress:
    n = green + yellow + red
    return SceneProgress(
        members=n,
        known=n,
        total_investment_wan=1000,
        planned_investment_to_date_wan=planned,
        actual_investment_wan=actual,
        investment_ratio=round(actual / planned, 4) if planned else 1.0,
        milestones_due=0,
        milestones_met=0,
        milestones_pending=0,
        lights={"green": green, "yellow": yellow, "red": red},
    )


@pytest.mark.parametrize(
    ("g", "y", "r", "actual", "planned", "light"),
    [
        (0, 0, 0, 0, 0, "none"),  # nothing started
        (4, 0, 0, 95, 100, "green"),  # 95 % ≥ 90 %
        (4, 0, 0, 89, 100, "yellow"),  # 89 % < 90 %
        (3, 1, 0, 100, 100, "yellow"),  # a yellow member
        (5, 0, 1, 100, 100, "yellow"),  # 1 red of 6 < a third
        (4, 0, 2, 100, 100, "red"),  # 2 red of 6 = a third
        (4, 0, 0, 69, 100, "red"),  # 69 % < 70 %
        (4, 0, 0, 0, 0, "green"),  # nothing planned yet counts as on plan
    ],
)
def test_scene_light_rule(
    g: int, y: int, r: int, actual: float, planned: float, light: str
) -> None:
    got, zh, en = scene_light(progress(g, y, r, actual, planned))
    assert got == light
    assert zh and en


def test_light_reasons_are_chinese_first() -> None:
    _, zh, en = scene_light(progress(4, 0, 2, 60, 100))
    assert zh == [
        "6 个成员项目中 2 个红灯（达到三分之一）",
        "完成投资为序时计划的 60.0%（低于 70%）",
    ]
    assert en[0] == "2 of 6 member projects red (a third or more)"


@dataclass
class World:
    api: httpx.AsyncClient
    pool: asyncpg.Pool
    bureau: str
    codes: list[str]
    tokens: dict[str, str]

    async def call(self, who: str, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return await self.api.request(method, f"/api/v1{path}", headers=headers, **kw)


MILESTONES = [
    {"step": "a", "result": "met"},
    {"step": "b", "result": "missed"},
    {"step": "c", "result": "pending"},
]


@pytest_asyncio.fixture
async def world(dev_env: WorkflowEnvironment, pool: asyncpg.Pool) -> AsyncIterator[World]:
    bureau = await add_bureau(pool, None)
    px = uuid.uuid4().hex[:6].upper()
    # code, light, total, planned to date, actual
    rows = [
        (f"S{px}-1", "green", 1000.0, 400.0, 420.0),
        (f"S{px}-2", "yellow", 500.0, 200.0, 150.0),
        (f"S{px}-3", "red", 300.0, 100.0, 20.0),
    ]
    async with pool.acquire() as conn:
        for code, light, total, planned, actual in rows:
            await conn.execute(
                "INSERT INTO projects (code, name_zh, program, bureau, kind, stage, status, light,"
                " total_investment_wan, planned_investment_to_date_wan, actual_investment_wan,"
                " physical_progress_pct, milestones, plan, business_today, version)"
                " VALUES ($1,$2,'P07',$3,'service','implementation','active',$4,$5,$6,$7,0,$8,"
                " '{}'::jsonb,$9,1)",
                code,
                f"场景项目{code[-1]}",
                bureau,
                light,
                total,
                planned,
                actual,
                MILESTONES,
                date(2026, 10, 1),
            )
    tokens = {
        role: await create_token(pool, role, bureau if role == "bureau" else None, f"t-{role}")
        for role in ("bureau", "manager", "leader", "admin")
    }
    app = create_app(dev_env.client, pool, Settings(), options=TEST_OPTIONS)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://guatu.test", timeout=30
    ) as api:
        yield World(api, pool, bureau, [r[0] for r in rows], tokens)
    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM projects WHERE code = ANY($1)", [r[0] for r in rows])


async def test_scene_write_read_and_progress(world: World) -> None:
    code = f"S-{world.codes[0].split('-')[0]}"
    a, b, c = world.codes
    body = {
        "name_zh": "九曲江安·十里光华",
        "name_en": "Nine bends of the Jiang'an",
        "program": "P07",
        "lead_bureau": world.bureau,
        "description": "江安河沿线 24 小时自助服务",
        "projects": [a, b],
    }
    # Only leaders and administrators write.
    for who in ("bureau", "manager"):
        refused = await world.call(who, "PUT", f"/scenes/{code}", json=body)
        assert refused.status_code == 403, refused.text
    created = await world.call("leader", "PUT", f"/scenes/{code}", json=body)
    assert created.status_code == 201, created.text
    view = created.json()
    # a: green 420/400; b: yellow 150/200 → Σ 570 / 600 = 0.95; 1 yellow → yellow.
    assert view["progress"]["investment_ratio"] == 0.95
    assert view["progress"]["lights"] == {"green": 1, "yellow": 1, "red": 0}
    assert (view["progress"]["milestones_due"], view["progress"]["milestones_met"]) == (4, 2)
    assert view["light"] == "yellow"
    assert view["light_reasons_zh"] == ["2 个成员项目中 0 个红灯、1 个黄灯"]
    assert view["program_name_zh"] == "稳定公平可及营商环境建设工程"

    # Adding c (red, 20/100): 590 / 700 = 0.8429 < 0.90, and 1 red of 3 ≥ a third → red.
    added = await world.call("admin", "POST", f"/scenes/{code}/projects", json={"projects": [c]})
    assert added.status_code == 200, added.text
    assert added.json()["light"] == "red"
    assert added.json()["progress"]["investment_ratio"] == 0.8429
    assert [m["code"] for m in added.json()["members"]] == [a, b, c]

    # Every role reads; the list filters by program.
    for who in ("bureau", "manager", "leader", "admin"):
        listed = await world.call(who, "GET", "/scenes", params={"program": "P07"})
        assert listed.status_code == 200
        assert code in [s["code"] for s in listed.json()]
    assert (await world.call("bureau", "GET", f"/scenes/{code}")).json()["light"] == "red"

    # Bad input: nothing half-written.
    unknown = await world.call(
        "leader", "PUT", f"/scenes/{code}", json={**body, "projects": [a, "NOPE-1"]}
    )
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_project")
    assert "NOPE-1" in unknown.json()["zh"]
    bad_program = await world.call(
        "leader", "PUT", f"/scenes/{code}", json={**body, "program": "P99"}
    )
    assert (bad_program.status_code, bad_program.json()["code"]) == (422, "unknown_program")
    still = (await world.call("leader", "GET", f"/scenes/{code}")).json()
    assert still["projects"] == [a, b, c] and still["version"] == 2

    removed = await world.call("leader", "DELETE", f"/scenes/{code}/projects/{c}")
    assert removed.status_code == 200 and removed.json()["projects"] == [a, b]
    not_member = await world.call("leader", "DELETE", f"/scenes/{code}/projects/{c}")
    assert (not_member.status_code, not_member.json()["code"]) == (422, "not_a_member")
    async with world.pool.acquire() as conn:
        actions = [
            r["action"]
            for r in await conn.fetch(
                "SELECT action FROM audit_log WHERE action LIKE 'scene:%' AND bureau = $1"
                " ORDER BY id",
                world.bureau,
            )
        ]
    assert actions == ["scene:create", "scene:add", "scene:remove"]
    gone = await world.call("admin", "DELETE", f"/scenes/{code}")
    assert gone.status_code == 204
    assert (await world.call("leader", "GET", f"/scenes/{code}")).status_code == 404


async def test_scene_cli(world: World, pg_dsn: str) -> None:
    import asyncio
    import json

    from typer.testing import CliRunner

    from guatu.cli.main import app

    runner = CliRunner()
    env = {"DATABASE_URL": pg_dsn}
    code = f"S-C{world.codes[0].split('-')[0][1:]}"
    a, b, c = world.codes

    def cli(*args: str) -> Any:
        return runner.invoke(app, list(args), env=env)

    made = await asyncio.to_thread(
        cli, "scene", "set", code, "--name-zh", "公园城市示范场景", "--program", "P06",
        "--lead-bureau", world.bureau, "--project", a, "--project", c,
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert f"已创建示范场景 {code}（2 个项目）" in made.output
    shown = await asyncio.to_thread(cli, "scene", "show", code, "--json")
    assert shown.exit_code == 0, shown.output
    view = json.loads(shown.stdout)
    # a green 420/400, c red 20/100: 440/500 = 0.88; 1 red of 2 ≥ a third → red.
    assert (view["light"], view["progress"]["investment_ratio"]) == ("red", 0.88)
    text = await asyncio.to_thread(cli, "scene", "show", code)
    assert "场景灯 light" in text.output and "2 个成员项目中 1 个红灯" in text.output
    bad = await asyncio.to_thread(cli, "scene", "add", code, "NOPE-9")
    assert bad.exit_code == 1 and "以下项目不存在" in bad.output
    added = await asyncio.to_thread(cli, "scene", "add", code, b)
    assert added.exit_code == 0 and "3 个项目" in added.output
    listed = await asyncio.to_thread(cli, "scene", "list", "--program", "P06", "--json")
    assert code in [s["code"] for s in json.loads(listed.stdout)]
    assert (await asyncio.to_thread(cli, "scene", "delete", code)).exit_code == 0


def test_sample_scenes_follow_the_sample_programme() -> None:
    from guatu.lifecycle.programme import load_sample_plans
    from guatu.scenes.sample import sample_scenes

    plans = load_sample_plans(2021)
    names = {p.code: p.name_zh for p in plans}
    scenes = dict(sample_scenes(names))
    assert sorted(scenes) == ["S-CHILD", "S-ELDER", "S-JQJA", "S-PARK"]
    jqja = scenes["S-JQJA"]
    assert (jqja.name_zh, jqja.program, jqja.lead_bureau) == ("九曲江安·十里光华", "P07", "xzspj")
    assert [names[c] for c in jqja.projects] == [
        "江安河沿线24小时自助服务终端布设",
        "九曲江安·十里光华“就近办”政务服务示范场景",
        "红桥社区养老服务综合体",
        "江浦路社区儿童友好场景",
    ]
    # Moved to another start year, the members follow.
    moved = dict(sample_scenes(p.code for p in load_sample_plans(2026)))
    assert len(moved["S-JQJA"].projects) == 4
    assert all(c in {p.code for p in load_sample_plans(2026)} for c in moved["S-PARK"].projects)


async def test_seed_sample_scenes_once(fresh_pool: asyncpg.Pool) -> None:
    from guatu.lifecycle.programme import load_sample_plans
    from guatu.scenes import store
    from guatu.scenes.sample import seed_sample_scenes

    codes = [p.code for p in load_sample_plans(2021)]
    assert await seed_sample_scenes(fresh_pool, codes) == 4
    assert await seed_sample_scenes(fresh_pool, codes) == 0  # a second start writes nothing
    listed = await store.list_scenes(fresh_pool)
    assert [s.code for s in listed] == ["S-CHILD", "S-ELDER", "S-JQJA", "S-PARK"]
    assert all(s.illustrative for s in listed)
    # The projects have not written their rows yet: members are listed, nothing is lit.
    jqja = next(s for s in listed if s.code == "S-JQJA")
    assert (jqja.progress.members, jqja.progress.known, jqja.light) == (4, 0, "none")
