"""The trend series (`/api/v1/trends/*`) on a small hand-computed read model of 2031
(tests/api/trends_fixture.py: the projects, reports, light changes and why), with two real
monthly rounds (2031-01, 2031-02) run by a worker for the bump chart, and a revision of the
second after a correction.

Expected figures are worked out by hand below, from the fixture's table.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
import pytest_asyncio
from openpyxl import load_workbook
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.api.app import create_app
from guatu.core.tokens import create_token
from guatu.ranking.service import revise_round, trigger_round
from tests.api import trends_fixture as fx
from tests.api.conftest import TEST_OPTIONS
from tests.helpers import running_worker
from tests.ranking.conftest import end_ladders

pytestmark = pytest.mark.timeout(180)

N = None  # a month not reached yet (after March 2031)


@dataclass
class Trends:
    client: httpx.AsyncClient
    auth: dict[str, str]
    codes: dict[str, str]
    bureaus: dict[str, str]
    pool: asyncpg.Pool

    async def get(self, path: str, **params: object) -> dict[str, object]:
        r = await self.client.get(f"/api/v1/trends/{path}", params=params, headers=self.auth)
        assert r.status_code == 200, r.text
        body: dict[str, object] = r.json()
        return body


@pytest_asyncio.fixture
async def trends(dev_env: WorkflowEnvironment, fresh_pool: asyncpg.Pool) -> AsyncIterator[Trends]:
    codes, bureaus = await fx.insert(fresh_pool, f"tr{uuid.uuid4().hex[:6]}")
    token = await create_token(fresh_pool, "leader", label="trends")
    app = create_app(dev_env.client, fresh_pool, Settings(), options=TEST_OPTIONS)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://guatu.test", timeout=30
    ) as api:
        yield Trends(api, {"Authorization": f"Bearer {token}"}, codes, bureaus, fresh_pool)


@contextlib.asynccontextmanager
async def two_rounds(
    env: WorkflowEnvironment, t: Trends, http: httpx.AsyncClient, settings: Settings
) -> AsyncIterator[str]:
    """The rounds of 2031-01 and 2031-02, run by a worker of the test's database."""
    async with running_worker(env.client, t.pool, http, settings) as tq:
        try:
            for period in ("2031-01", "2031-02"):
                handle = await trigger_round(env.client, period, "default", task_queue=tq)
                await asyncio.wait_for(handle.result(), 90)
            yield tq
        finally:
            await end_ladders(env.client, list(t.bureaus.values()))


async def test_investment_against_the_year_plan(trends: Trends) -> None:
    # Programme (A1, A2, B1, C1; X9 is cancelled). 时间进度 at the close of month M:
    # A1, B1, C1 span the whole year → M/12; A2 spans July–December → (M − 6)/6 from July.
    # plan(M) = 1200·M/12 + 2400·M/12 + 1200·M/12 = 400·M for M ≤ 6,
    #           + 600·(M − 6)/6 = 100·(M − 6) from July: 2900, 3400, …, 4800 + 600 = 5400.
    prog = await trends.get("investment")
    assert prog["year"] == 2031 and prog["as_of"] == "2031-03-15"
    assert prog["basis"] == "year_plan" and prog["projects"] == 4
    assert prog["months"] == [f"2031-{m:02d}" for m in range(1, 13)]
    assert prog["plan_wan"] == [
        400,
        800,
        1200,
        1600,
        2000,
        2400,
        2900,
        3400,
        3900,
        4400,
        4900,
        5400,
    ]
    assert prog["year_plan_wan"] == 1200 + 600 + 2400 + 1200  # 5400
    # Actual, cumulative: Jan A1 100 (the correction, not 80) + B1 100 = 200; Feb + A1 0 + B1 500
    # = 700; Mar + A1 150 = 850 (March is reported, and it is the current month); X9's 700 is out.
    assert prog["actual_wan"] == [200, 700, 850, N, N, N, N, N, N, N, N, N]
    assert prog["scope"]["name_zh"] == "全区"

    # Bureau a: A1 (100 a month) and A2 (100 a month from July); X9 cancelled.
    a = await trends.get("investment", bureau=trends.bureaus["a"])
    assert a["projects"] == 2 and a["scope"]["name_zh"] == "趋势A局"
    assert a["plan_wan"] == [100, 200, 300, 400, 500, 600, 800, 1000, 1200, 1400, 1600, 1800]
    assert a["actual_wan"] == [100, 100, 250, N, N, N, N, N, N, N, N, N]

    # Program P02: A2 and B1 (200 a month). Nobody in P02 reported March: the line stops at
    # February, the last closed month.
    p02 = await trends.get("investment", program="P02")
    assert p02["plan_wan"] == [200, 400, 600, 800, 1000, 1200, 1500, 1800, 2100, 2400, 2700, 3000]
    assert p02["actual_wan"] == [100, 600, N, N, N, N, N, N, N, N, N, N]
    assert p02["scope"]["name_zh"].startswith("P02 ")

    # Bureau c: C1 reported nothing: zero through February, the last closed month.
    c = await trends.get("investment", bureau=trends.bureaus["c"])
    assert c["plan_wan"][:3] == [100, 200, 300]
    assert c["actual_wan"][:3] == [0, 0, N]

    # Another year: 2030 had no plan (all plans start in 2031) and, being past, is complete.
    past = await trends.get("investment", year=2030)
    assert past["plan_wan"] == [0] * 12 and past["actual_wan"] == [0] * 12


async def test_rank_movement_over_the_year(
    trends: Trends, dev_env: WorkflowEnvironment, http: httpx.AsyncClient, settings: Settings
) -> None:
    # Scores under `default` v2 (60 investment on the year plan, capped at 1.3; 25 milestones,
    # none planned → 100 %; 15 reports of the period on time; no red months). A2 starts in July
    # and X9 is cancelled: out of scope for both rounds.
    # January (时间进度 1/12): A1 100 ÷ 100 = 1.0 → 60 + 25 + 15 = 100; B1 100 ÷ 200 = 0.5 → 30 +
    #   25 + 15 = 70; C1 0 ÷ 100 → 0 + 25 + 0 (January missing) = 25.
    # February (2/12): A1 100 ÷ 200 = 0.5 → 30 + 25 + 15 = 70; B1 600 ÷ 400 = 1.5, capped 1.3 →
    #   78 + 25 + 15 = 118; C1 25.
    # Bureaus (one project each in scope): January a 100, b 70, c 25; February b 118, a 70, c 25.
    # Lists: red = top 3 that met the target (ratio ≥ 1), black = bottom 3 that missed it.
    async with two_rounds(dev_env, trends, http, settings) as tq:
        await check_ranks(trends)
        await check_export(trends)
        # A correction of B1's February (500 → 0) and revision 2 of February: the bump chart
        # reads the latest revision. B1 100 ÷ 400 = 0.25 → 15 + 25 + 15 = 55 < a's 70.
        async with trends.pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO progress_reports (project, month, corrected, investment_wan,"
                " cumulative_investment_wan, physical_progress_pct, received_at, on_time, actor)"
                " VALUES ($1, '2031-02', 1, 0, 0, 10, $2, true, 'test')",
                trends.codes["B1"],
                fx.at(3, 20),
            )
        handle = await revise_round(
            dev_env.client,
            "2031-02",
            reason="B1 二月月报更正为 0 万元",
            actor="test",
            task_queue=tq,
            pool=trends.pool,
        )
        assert (await asyncio.wait_for(handle.result(), 90)).revision == 2
        revised = await trends.get("ranks")
        assert revised["revisions"] == [1, 2]
        units = {u["code"]: u for u in revised["units"]}
        b = trends.bureaus
        assert [u["code"] for u in revised["units"]] == [b["a"], b["b"], b["c"]]
        assert units[b["a"]]["ranks"] == [1, 1] and units[b["b"]]["ranks"] == [2, 2]
        assert units[b["b"]]["scores"] == [70, 55]
        # Nobody met February's target now: no red list, all three on the black list.
        assert [units[x]["lists"][1] for x in (b["a"], b["b"], b["c"])] == ["black"] * 3


async def check_ranks(trends: Trends) -> None:
    b = trends.bureaus
    bureau = await trends.get("ranks")
    assert bureau["periods"] == ["2031-01", "2031-02"] and bureau["revisions"] == [1, 1]
    assert bureau["labels_zh"] == ["2031年1月", "2031年2月"]
    units = {u["code"]: u for u in bureau["units"]}
    assert [u["code"] for u in bureau["units"]] == [b["b"], b["a"], b["c"]]  # February's order
    assert units[b["a"]]["ranks"] == [1, 2] and units[b["a"]]["scores"] == [100, 70]
    assert units[b["b"]]["ranks"] == [2, 1] and units[b["b"]]["scores"] == [70, 118]
    assert units[b["c"]]["ranks"] == [3, 3] and units[b["c"]]["scores"] == [25, 25]
    assert units[b["a"]]["lists"] == ["red", "black"]
    assert units[b["b"]]["lists"] == ["black", "red"]
    assert units[b["a"]]["name_zh"] == "趋势A局" and units[b["a"]]["name_en"] == "Trend bureau A"

    # Programs, weighted by total investment: P01 = A1 and C1 (1200 each): January
    # (100 + 25) ÷ 2 = 62.5, February (70 + 25) ÷ 2 = 47.5; P02 = B1: 70, then 118.
    program = await trends.get("ranks", level="program")
    p = {u["code"]: u for u in program["units"]}
    assert set(p) == {"P01", "P02"}
    assert p["P02"]["ranks"] == [1, 1] and p["P02"]["scores"] == [70, 118]
    assert p["P01"]["ranks"] == [2, 2] and p["P01"]["scores"] == [62.5, 47.5]

    # A year without rounds: no periods, no units.
    empty = await trends.get("ranks", year=2032)
    assert empty["periods"] == [] and empty["units"] == []


async def check_export(trends: Trends) -> None:
    """The same series in the Excel export, in three sheets of their own."""
    r = await trends.client.get("/api/v1/export.xlsx", headers=trends.auth)
    assert r.status_code == 200, r.text
    wb = load_workbook(io.BytesIO(r.content))
    assert {"投资趋势", "排名走势", "红黄绿灯趋势"} <= set(wb.sheetnames)
    inv = [
        list(row)
        for row in wb["投资趋势"].iter_rows(min_row=5, max_row=16, max_col=4, values_only=True)
    ]
    # Month, plan, actual, actual ÷ plan: 200 ÷ 400 = 50.0 %, 700 ÷ 800 = 87.5 %,
    # 850 ÷ 1200 = 70.8 %; April: plan 1600, no actual yet.
    assert inv[0] == ["2031-01", 400, 200, 50.0] and inv[1] == ["2031-02", 800, 700, 87.5]
    assert inv[2] == ["2031-03", 1200, 850, 70.8] and inv[3] == ["2031-04", 1600, None, None]
    assert inv[11] == ["2031-12", 5400, None, None]
    scopes = [
        list(row)
        for row in wb["投资趋势"].iter_rows(values_only=True)
        if row[1] == trends.bureaus["a"]
    ]
    assert scopes[2][:7] == ["责任单位", trends.bureaus["a"], "趋势A局", "2031-03", 300, 250, 83.3]
    ranks = [list(row) for row in wb["排名走势"].iter_rows(values_only=True)]
    head = ranks.index(
        ["代码", "名称", "2031年1月 名次", "2031年2月 名次", "2031年1月 得分", "2031年2月 得分"]
    )
    assert ranks[head + 1] == [trends.bureaus["b"], "趋势B局", 2, 1, 70, 118]
    assert ranks[head + 2] == [trends.bureaus["a"], "趋势A局", 1, 2, 100, 70]
    lights = [
        list(row) for row in wb["红黄绿灯趋势"].iter_rows(min_row=4, max_row=6, values_only=True)
    ]
    assert [row[:5] for row in lights] == [
        ["2031-01", 3, 1, 0, 4],
        ["2031-02", 3, 1, 1, 5],
        ["2031-03", 3, 0, 2, 5],
    ]


async def test_lights_at_each_month_end(trends: Trends) -> None:
    # From the fixture's light history (every project, X9 too):
    # January end: A1 yellow, A2 green, C1 green, X9 green; B1 not on the chart yet.
    # February end: A1 red, A2 green, B1 yellow (its red came at 00:30 on 1 March, Shanghai),
    #   C1 green (its next changes, green→yellow→red at one instant on 5 March, start from
    #   green), X9 green.
    # March (current): A1 green, A2 green, B1 red, C1 red, X9 green — the lights now.
    prog = await trends.get("lights")
    assert prog["months"][0] == "2031-01" and prog["as_of"] == "2031-03-15"
    assert prog["green"] == [3, 3, 3, N, N, N, N, N, N, N, N, N]
    assert prog["yellow"] == [1, 1, 0, N, N, N, N, N, N, N, N, N]
    assert prog["red"] == [0, 1, 2, N, N, N, N, N, N, N, N, N]
    async with trends.pool.acquire() as conn:  # March equals the overview's count of now
        now = dict(await conn.fetch("SELECT light, count(*) FROM projects GROUP BY light"))
    assert (now["green"], now["red"]) == (prog["green"][2], prog["red"][2])

    # Bureau a: A1, A2, X9.
    a = await trends.get("lights", bureau=trends.bureaus["a"])
    assert (a["green"][:3], a["yellow"][:3], a["red"][:3]) == ([2, 2, 3], [1, 0, 0], [0, 1, 0])
    # Program P02: A2 and B1 (on the chart from February).
    p02 = await trends.get("lights", program="P02")
    assert (p02["green"][:3], p02["yellow"][:3], p02["red"][:3]) == (
        [1, 1, 1],
        [0, 1, 0],
        [0, 0, 1],
    )


async def test_trends_are_for_leaders(trends: Trends) -> None:
    bureau_token = await create_token(trends.pool, "bureau", trends.bureaus["a"], "system a")
    r = await trends.client.get(
        "/api/v1/trends/investment", headers={"Authorization": f"Bearer {bureau_token}"}
    )
    assert r.status_code == 403
    r = await trends.client.get("/api/v1/trends/lights")
    assert r.status_code == 401
    r = await trends.client.get(
        "/api/v1/trends/ranks", params={"level": "project"}, headers=trends.auth
    )
    assert r.status_code == 422
    r = await trends.client.get(
        "/api/v1/trends/investment", params={"year": 1999}, headers=trends.auth
    )
    assert r.status_code == 422
    r = await trends.client.get(
        "/api/v1/trends/ranks", params={"ruleset": "nope"}, headers=trends.auth
    )
    assert r.status_code == 422 and r.json()["code"] == "unknown_ruleset"
    # The years at the doors' edges answer (a year with nothing in it: zero plan, no ranks).
    for year in (2000, 2100):
        inv = await trends.get("investment", year=year)
        assert inv["plan_wan"] == [0] * 12 and inv["year"] == year
        assert (await trends.get("lights", year=year, bureau=trends.bureaus["b"]))["year"] == year
        assert (await trends.get("ranks", year=year, level="program"))["units"] == []
