"""The leaders' dashboard (挂图) in headless Chromium against a running stack.

A real stack: the Temporal dev server, PostgreSQL (a database of this test's own), a worker,
and the API with the dashboard served by uvicorn on a free port. Four projects in three fresh
bureaus and two programs, one ranking round for last month; then a leader logs in through the
page and the page must show what the API answers: the totals, the lights, the top of both
rankings; a click opens a project's live detail; the view exports to Excel; a revoked token
sends the page back to its login.

| project | bureau | program | kind | total 万元 | what happened | light |
|---|---|---|---|---:|---|---|
| A1 | 甲 | P01 | engineering | 20000 | 用地, 规划许可 on their dates; 2400 万 reported last month | green |
| A2 | 甲 | P03 | engineering | 6000 | 用地 on its date; 规划许可 due 10 days ago, missing | yellow |
| B1 | 乙 | P01 | engineering | 3500 | nothing: 用地 due 40 days ago, past the 30-day grace | red |
| C1 | 丙 | P03 | service | 500 | nothing due yet | green |

Plans span 36 months from 70 days ago, so at last month's close at most 70 ÷ 1080 = 6.5 % was
planned: on the total basis (the policy of this test) no project is behind the 序时 curve by 10
points, and the lights come from milestones only. Total planned investment 20000 + 6000 + 3500 + 500 = 30000 万元 = 3.00 亿元.

甲 must meet its 序时 target on every day of the year (the red list, not the black). The
`default` rules (v2) measure it on the year's plan: 甲's completion this year (A1's 2400 万,
reported for last month, the period's own month) against Σ year plan × 时间进度. A linear plan
of 1080 days puts total × (its days in the year) ÷ 1080 in a year; 时间进度 counts whole months
of the year's plan span. The start is 70 days before today, so last month's close lies 1 to 3
span months after the start month:
- a plan begun last year (today before about 12 March): the span is all 12 months and at most
  2 have elapsed: ≤ 26000 × 366/1080 × 2/12 = 1468.5 万元;
- a plan begun this year: the most is due on 1 April, start 21 January (22 in a leap year), 345
  of its days in the year, 3 of 12 span months elapsed: 26000 × 345/1080 × 3/12 = 2076.4 万元.
  Later starts have fewer days in the year over fewer span months: on 1 December (start
  22 September) 26000 × 101/1080 × 3/4 = 1823.6; on 1 January (start 23 October, the whole
  span Oct–Dec elapsed) 26000 × 70/1080 × 3/3 = 1685.2.
We checked every day of 2024–2032 (leap years too): the maximum is 2076.4 万元, on 1 April, so
A1's 2400 万 covers 甲's target on any date. (With 2000 万 — enough under v1's whole-span
basis, at most 70 ÷ 1080 × 26000 = 1685 万 — the test failed on 1 April.)
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from openpyxl import load_workbook
from playwright.async_api import Page, async_playwright
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.api.app import create_app
from guatu.api.dashboard import mount_dashboard
from guatu.api.deps import ApiOptions
from guatu.core import constants as c
from guatu.core.clock import CST, month_key
from guatu.core.tokens import create_token, revoke_token, token_id_of
from guatu.lifecycle.models import (
    ProgressReportInput,
    ProjectKind,
    ProjectPlan,
    StageTransitionInput,
    Step,
    TimerPolicy,
)
from guatu.lifecycle.service import send_update, start_project
from guatu.ranking.messages import RoundResult
from guatu.ranking.service import trigger_round
from tests.browser.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, serving
from tests.helpers import make_plan, running_worker
from tests.ranking.conftest import end_ladders
from workflows.project_lifecycle import ProjectLifecycle

pytestmark = pytest.mark.timeout(150)

OPTIONS = ApiOptions(
    rate_per_second=1000,
    rate_burst=10_000,
    failed_auth_burst=10_000,
    temporal_timeout_seconds=10,
    update_timeout_seconds=15,
    db_timeout_seconds=5,
)
EXPECTED_LIGHTS = {"A1": "green", "A2": "yellow", "B1": "red", "C1": "green"}
# The page is under test, not the rules: lights from milestones on the total basis, as if the
# projects had always been on the chart (no 待补报 window for deadlines before the load; those
# rules have tests of their own in tests/rules and tests/test_lifecycle_adoption.py).
POLICY = TimerPolicy(progress_basis="total", backfill_report_dues=0)


async def add_bureaus(pool: asyncpg.Pool, tag: str) -> dict[str, str]:
    codes = {x: f"bt_{tag}_{x}" for x in "abc"}
    names = {"a": "甲测试局", "b": "乙测试局", "c": "丙测试局"}
    async with pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO bureaus (code, name_zh, name_en, webhook_url) VALUES ($1,$2,$3,NULL)",
            [(codes[x], names[x], f"test bureau {x}") for x in "abc"],
        )
    return codes


async def lights(pool: asyncpg.Pool, codes: dict[str, str]) -> dict[str, str]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT code, light, actual_investment_wan FROM projects WHERE code = ANY($1)",
            list(codes.values()),
        )
    by_code = {r["code"]: r for r in rows}
    return {k: by_code[v]["light"] for k, v in codes.items() if v in by_code}


async def eventually(check: Any, timeout: float = 20.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not reached within {timeout} s")
        await asyncio.sleep(0.2)


def f2(value: float) -> str:
    return f"{value:.2f}"


async def texts(page: Page, selector: str) -> list[str]:
    return [t.strip() for t in await page.locator(selector).all_inner_texts()]


async def test_dashboard_shows_what_the_api_answers(
    dev_env: WorkflowEnvironment,
    own_pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    settings: Settings,
    user_data_dir: str,
) -> None:
    pool = own_pool
    client = dev_env.client
    tag = uuid.uuid4().hex[:6]
    bureaus = await add_bureaus(pool, tag)
    today = datetime.now(CST).date()
    start = today - timedelta(days=70)
    last_month = month_key(today.replace(day=1) - timedelta(days=1))
    prefix = f"BT{tag.upper()}"

    def plan(
        key: str,
        bureau: str,
        program: str,
        total: float,
        kind: ProjectKind = ProjectKind.ENGINEERING,
        **kw: Any,
    ) -> ProjectPlan:
        p = make_plan(
            kind,
            start=start,
            bureau=bureaus[bureau],
            total=total,
            months=36,
            code=f"{prefix}-{key}",
            **kw,
        )
        return p.model_copy(update={"program": program, "name_zh": f"浏览器测试项目{key}"})

    plans = {
        "A1": plan("A1", "a", "P01", 20000),
        "A2": plan("A2", "a", "P03", 6000),
        "B1": plan("B1", "b", "P01", 3500),
        "C1": plan("C1", "c", "P03", 500, ProjectKind.SERVICE, milestone_days=[90, 200, 300]),
    }
    codes = {k: p.code for k, p in plans.items()}

    async with running_worker(client, pool, http, settings) as task_queue:
        try:
            for p in plans.values():
                await start_project(client, p, POLICY, task_queue=task_queue)

            async def step(key: str, s: Step, on_day: int) -> None:
                p = plans[key]
                data = StageTransitionInput(
                    bureau=p.bureau,
                    idempotency_key=f"{p.code}-{s.value}",
                    step=s,
                    on=start + timedelta(days=on_day),
                )
                await send_update(
                    client, p.code, ProjectLifecycle.transition_stage, data, pool=pool
                )

            await step("A1", Step.PRELIMINARY, 5)
            await step("A1", Step.LAND_USE, 30)
            await step("A1", Step.PLANNING_PERMIT, 60)
            await step("A2", Step.PRELIMINARY, 5)
            await step("A2", Step.LAND_USE, 30)
            await send_update(
                client,
                codes["A1"],
                ProjectLifecycle.submit_report,
                ProgressReportInput(
                    bureau=bureaus["a"],
                    idempotency_key=f"{codes['A1']}-{last_month}",
                    month=last_month,
                    investment_wan=2400,
                    physical_progress_pct=8,
                ),
                pool=pool,
            )

            async def projected() -> bool:
                return await lights(pool, codes) == EXPECTED_LIGHTS

            await eventually(projected)
            round_handle = await trigger_round(client, last_month, task_queue=task_queue)
            ranked: RoundResult = await asyncio.wait_for(round_handle.result(), 60)
            assert ranked.period == last_month and ranked.bureaus == 3

            token = await create_token(pool, "leader", label="browser test")
            app = create_app(client, pool, Settings(), task_queue=task_queue, options=OPTIONS)
            mount_dashboard(app)
            async with serving(app) as base:
                await check_page(base, token, pool, codes, bureaus, user_data_dir)
        finally:
            for code in codes.values():
                with contextlib.suppress(Exception):
                    await client.get_workflow_handle(c.project_workflow_id(code)).terminate()
            await end_ladders(client, list(bureaus.values()))


async def check_page(
    base: str,
    token: str,
    pool: asyncpg.Pool,
    codes: dict[str, str],
    bureaus: dict[str, str],
    user_data_dir: str,
) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=auth, timeout=10) as api:
        overview = (await api.get("/api/v1/overview")).json()
        board = {
            level: (await api.get("/api/v1/rankings", params={"level": level})).json()
            for level in ("bureau", "program")
        }
        listed = (await api.get("/api/v1/projects", params={"page_size": 200})).json()
        detail = (await api.get(f"/api/v1/projects/{codes['A1']}")).json()
        orders = (await api.get("/api/v1/escalations")).json()

        async def on_ladder() -> Any:
            # The ladders write their standing a moment after the round's update returns.
            found = (await api.get("/api/v1/dashboard/ladders")).json()
            return found if len(found["levels"]) == 2 else None

        ladders = await eventually(on_ladder, timeout=15)
        page_html = await api.get("/")
    assert page_html.status_code == 200
    assert "default-src 'self'" in page_html.headers["content-security-policy"]

    # The API itself answers the hand-computed figures.
    total = overview["total"]
    assert total["total_investment_wan"] == 30000.0
    assert total["actual_investment_wan"] == 2400.0
    assert total["lights"] == {"green": 2, "yellow": 1, "red": 1}
    assert [p["code"] for p in overview["programs"]] == ["P01", "P03"]
    assert listed["total"] == 4
    assert {r["code"] for r in board["bureau"]["rows"]} == set(bureaus.values())
    # 甲 reported its investment and met its milestones; 乙 and 丙 reported nothing.
    assert board["bureau"]["rows"][0]["code"] == bureaus["a"]
    assert detail["code"] == codes["A1"] and detail["light"] == "green"
    # A first black list is a 黑榜通报 (level 1) and issues no 督办 with a deadline yet.
    black = [r["code"] for r in board["bureau"]["rows"] if r["list"] == "black"]
    assert sorted(black) == sorted([bureaus["b"], bureaus["c"]])
    assert sorted((x["bureau"], x["level"]) for x in ladders["levels"]) == sorted(
        (b, 1) for b in black
    )
    assert orders == []

    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            user_data_dir,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1600, "height": 1000},
            accept_downloads=True,
            locale="zh-CN",
        )
        try:
            page = context.pages[0] if context.pages else await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            outside: list[str] = []
            page.on(
                "request",
                lambda r: (
                    None if r.url.startswith((base, "blob:", "data:")) else outside.append(r.url)
                ),
            )
            # Timers under the test's control: the page's 30-second refresh can be run at once.
            await page.clock.install()
            await page.goto(base + "/")

            # Login: a bad token is refused on the page, the leader's token lets in.
            await page.wait_for_selector("#login-view:not([hidden])")
            await page.fill("#token", "gt_000000000000_" + "x" * 40)
            await page.click("#login-button")
            await page.wait_for_selector("#login-error:not([hidden])")
            assert "令牌无效或已吊销" in await page.inner_text("#login-error")
            # While the API answers 503 the page keeps the token and tries again by itself.
            me = f"{base}/api/v1/me"
            await page.route(
                me,
                lambda route: route.fulfill(
                    status=503,
                    content_type="application/json",
                    headers={"Retry-After": "5"},
                    body='{"code": "database_unavailable", "zh": "数据库暂时不可用，请稍后重试",'
                    ' "en": "unavailable", "details": null}',
                ),
            )
            await page.fill("#token", token)
            await page.click("#login-button")
            # (the bad token's message is still shown until the answer arrives)
            await page.locator("#login-error", has_text="数据库暂时不可用").wait_for()
            assert "10 秒后自动重试" in await page.inner_text("#login-error")
            await page.unroute(me)
            await page.clock.run_for(10_500)
            await page.wait_for_selector("body[data-refreshes='1']", timeout=20000)
            assert await page.is_hidden("#login-view")
            assert await page.evaluate("sessionStorage.getItem('guatu.token')") == token

            # Totals: 3.00 亿元 of the published 828.11 亿元; the lights as the API counts them.
            value = page.locator("[data-field='total-investment']")
            assert (
                float(await value.get_attribute("data-value") or "nan")
                == total["total_investment_wan"]
            )
            assert (await value.inner_text()).strip() == "3.00 亿元"
            assert (
                await page.inner_text("[data-field='published-total']")
            ).strip() == "828.11 亿元"
            assert (
                await page.inner_text("[data-field='actual-investment']")
            ).strip() == "2,400 万元"
            for light, count in total["lights"].items():
                assert (await page.inner_text(f"[data-field='light-{light}']")).strip() == str(
                    count
                )
            assert (await page.inner_text("[data-field='projects']")).strip() == "4"
            assert len(await page.locator("#program-table tbody tr").all()) == 2

            # Rankings: every row in the API's order, names and scores as the API gives them.
            for level in ("bureau", "program"):
                rows = board[level]["rows"]
                shown = page.locator(f"#board-{level} .rank-row")
                assert [await r.get_attribute("data-code") for r in await shown.all()] == [
                    r["code"] for r in rows
                ]
                top = shown.first
                assert (await top.locator(".rname").inner_text()).strip() == rows[0]["name_zh"]
                assert (await top.locator(".score").inner_text()).strip() == f2(rows[0]["score"])
                assert (await top.locator(".rank").inner_text()).strip() == "1"
            top_bureau = board["bureau"]["rows"][0]
            assert top_bureau["name_zh"] == "甲测试局"
            # The score breakdown opens on click.
            await page.click("#board-bureau .rank-row >> nth=0")
            breakdown = page.locator(f"#board-bureau [data-breakdown='{bureaus['a']}']")
            await breakdown.wait_for()
            assert top_bureau["breakdown"], "the API gives a breakdown"
            assert top_bureau["breakdown"][-1]["text_zh"] in await breakdown.inner_text()

            # Supervision: no open order; the bureaus on the ladder as the API lists them.
            assert "暂无未销号的督办事项" in await page.inner_text("#orders")
            assert sorted(
                [
                    await li.get_attribute("data-ladder") or ""
                    for li in await page.locator("#ladders [data-ladder]").all()
                ]
            ) == sorted(black)

            # The wall chart: one row per project, coloured by its light; the red one is listed.
            rows_shown = page.locator("#gantt g.row")
            assert {
                await r.get_attribute("data-code"): await r.get_attribute("data-light")
                for r in await rows_shown.all()
            } == {item["code"]: item["light"] for item in listed["items"]}
            assert await page.locator("#red-projects [data-project]").count() >= 1
            red = await texts(page, "#red-projects [data-project]")
            assert any(codes["B1"] in t for t in red)
            # The light's explanation on click.
            await page.click("#legend [data-light='red']")
            assert "30 天宽限期" in await page.inner_text("#light-help")

            # Filter to program P01: A1 and B1.
            await page.select_option("#f-program", "P01")
            assert sorted(
                [await r.get_attribute("data-code") or "" for r in await rows_shown.all()]
            ) == sorted([codes["A1"], codes["B1"]])

            # Click through to A1: its live status from the workflow.
            await page.click(f"#gantt g.row[data-code='{codes['A1']}']")
            await page.wait_for_selector("#drawer[data-loaded='1']")
            assert codes["A1"] in await page.inner_text("#d-title")
            assert (
                await page.get_attribute("[data-field='d-stage']", "data-value") == detail["stage"]
            )
            assert await page.get_attribute("[data-field='d-light']", "data-value") == "green"
            assert (
                float(await page.get_attribute("[data-field='d-actual']", "data-value") or "nan")
                == detail["actual_investment_wan"]
                == 2400.0
            )
            assert await page.locator("[data-field='d-stale']").count() == 0
            await page.screenshot(path=str(shot("dashboard-project.png")))
            await page.click("#drawer-close")

            # When the workflow cannot answer (503), the detail falls back to the read model.
            b1 = f"{base}/api/v1/projects/{codes['B1']}"
            await page.route(
                b1,
                lambda route: route.fulfill(
                    status=503,
                    content_type="application/json",
                    headers={"Retry-After": "5"},
                    body='{"code": "temporal_unavailable", "zh": "工作流服务暂时不可用，请稍后重试",'
                    ' "en": "unavailable", "details": null}',
                ),
            )
            await page.click(f"#gantt g.row[data-code='{codes['B1']}']")
            await page.wait_for_selector("#drawer[data-loaded='1']")
            assert "工作流服务暂时不可用" in await page.inner_text("[data-field='d-stale']")
            assert await page.get_attribute("[data-field='d-light']", "data-value") == "red"
            await page.unroute(b1)
            await page.click("#drawer-close")

            # Export the current view (P01 only) to Excel.
            async with page.expect_download() as download_info:
                await page.click("#export")
            download = await download_info.value
            workbook = load_workbook(io.BytesIO(Path(await download.path()).read_bytes()))
            assert workbook.sheetnames == [
                "总览",
                "项目",
                "排名",
                "督办",
                "投资趋势",
                "排名走势",
                "红黄绿灯趋势",
            ]
            exported = [row[0] for row in workbook["项目"].iter_rows(min_row=2, values_only=True)]
            assert sorted(exported) == sorted([codes["A1"], codes["B1"]])
            await page.select_option("#f-program", "")

            await page.evaluate("window.scrollTo(0, 0)")
            await page.screenshot(path=str(shot("dashboard.png")), full_page=True)

            # The English switch: 30000 万元 = CNY 300 million.
            await page.click("#lang")
            assert (
                await page.inner_text("[data-field='total-investment']")
            ).strip() == "CNY 300.00 m"
            assert await page.inner_text("#ov-title") == "Programme overview"
            await page.click("#lang")
            assert (await page.inner_text("[data-field='total-investment']")).strip() == "3.00 亿元"

            # The page refreshes by itself every 30 s.
            before = int(await page.evaluate("document.body.dataset.refreshes"))
            await page.clock.run_for(30_500)
            await page.wait_for_selector(f"body[data-refreshes='{before + 1}']")

            # A revoked token: the next refresh sends the page back to its login.
            token_id = token_id_of(token)
            assert token_id is not None
            assert await revoke_token(pool, token_id)
            await page.clock.run_for(30_500)
            await page.wait_for_selector("#login-view:not([hidden])")
            assert "登录已失效" in await page.inner_text("#login-error")
            assert await page.evaluate("sessionStorage.getItem('guatu.token')") is None
            assert errors == []
            assert outside == [], f"the page loaded something from elsewhere: {outside}"
        finally:
            await context.close()


def shot(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
