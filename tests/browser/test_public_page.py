"""信息公开 in headless Chromium, without a token; and the leaders' dashboard's scene table.

The data are tests/scenes/fixture.py's (figures by hand there): 4 projects, 20000 万元 = 2.00 亿元
in total, 6400 万元 invested = 0.64 亿元, 85.3 % of the plan to date; scene 九曲江安·十里光华 red
(1 red of 3 members, 84.3 % of plan), scene 社区养老服务示范场景 green.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Locator, async_playwright
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.api.app import create_app
from guatu.api.dashboard import mount_dashboard
from guatu.core.clock import local_date
from guatu.opportunities import service as opportunities
from guatu.opportunities.models import OpportunityKind, PublishInput, SubjectKind
from guatu.opportunities.uscc import check_char
from tests.api.conftest import TEST_OPTIONS
from tests.api.public_fixture import SECRETS, seed_observations
from tests.browser.conftest import ARTIFACTS, chromium_page, serving
from tests.helpers import WebhookReceiver, eventually, running_worker
from tests.scenes.fixture import INTERNAL_NOTE, seed

HUAWEI = "914403001922038216"  # a valid 统一社会信用代码 (check digit 6)
# Published text is shown as text, never as markup.
DESCRIPTION = '沿江安河设置 <b>24 小时</b> 自助服务终端的场地资源 <img src=x onerror="alert(1)">'

pytestmark = pytest.mark.timeout(150)


async def test_public_page_and_dashboard_scenes(
    dev_env: WorkflowEnvironment, own_pool: asyncpg.Pool, user_data_dir: str
) -> None:
    seeded = await seed(own_pool)
    app = create_app(dev_env.client, own_pool, Settings(), options=TEST_OPTIONS)
    mount_dashboard(app)
    async with serving(app) as base, async_playwright() as pw:
        async with chromium_page(pw, user_data_dir) as (page, errors):
            requests: list[dict[str, Any]] = []
            page.on("request", lambda r: requests.append({"url": r.url, "headers": r.headers}))

            # The public page: no token, no login.
            await page.goto(base + "/public/")
            await page.wait_for_selector("body[data-loaded='1']", timeout=20000)
            assert await page.title() == "温江区幸福美好生活十大工程 · 信息公开"
            assert await page.inner_text("#as-of") == "2026-10-15"
            assert await page.is_visible("#sample-note")
            kpis = await page.inner_text("#kpis")
            assert "2.00 亿元" in kpis and "0.64 亿元" in kpis and "85.3%" in kpis
            assert await page.inner_text("[data-kpi='start']") == "—"
            rows = await page.locator("#programs tbody tr").count()
            assert rows == 2
            assert "95.0%" in await page.inner_text("#programs tr[data-program='P07']")
            red = page.locator("article[data-scene='S-JQJA']")
            assert await red.get_attribute("data-light") == "red"
            text = await red.inner_text()
            assert "九曲江安·十里光华" in text and "（示例）" in text
            assert "3 个成员项目中 1 个红灯（达到三分之一）" in text
            assert "红桥社区养老服务综合体" in text
            assert await page.get_attribute("article[data-scene='S-ELDER']", "data-light") == (
                "green"
            )
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "public_page.png"), full_page=True)
            body = await page.inner_text("body")
            assert INTERNAL_NOTE not in body and seeded["token"] not in body
            # English on a button.
            await page.click("#lang")
            assert "public information" in await page.inner_text("h1")
            assert "1 of 3 member projects red" in await red.inner_text()
            # Everything from this origin, and never a token.
            assert all(r["url"].startswith(base) for r in requests), requests
            assert not any("authorization" in r["headers"] for r in requests)
            assert errors == []

            # The leaders' dashboard shows the same scenes with their lights.
            await page.goto(base + "/")
            await page.wait_for_selector("#login-view:not([hidden])")
            await page.fill("#token", seeded["token"])
            await page.click("#login-button")
            await page.wait_for_selector("body[data-refreshes='1']", timeout=30000)
            row = page.locator("#scene-table tr[data-scene='S-JQJA']")
            assert await row.locator("td.scene-light").get_attribute("data-light") == "red"
            row_text = await row.inner_text()
            assert "九曲江安·十里光华" in row_text and "84.3%" in row_text
            assert "3 个成员项目中 1 个红灯" in row_text
            await page.locator("#scenes").screenshot(path=str(ARTIFACTS / "dashboard_scenes.png"))
            green = page.locator("#scene-table tr[data-scene='S-ELDER'] td.scene-light")
            assert await green.get_attribute("data-light") == "green"
            assert errors == []


async def test_public_page_opportunities_and_satisfaction(
    dev_env: WorkflowEnvironment,
    own_pool: asyncpg.Pool,
    user_data_dir: str,
    http: httpx.AsyncClient,
    receiver: WebhookReceiver,
    settings: Settings,
) -> None:
    """机会清单: an open opportunity is listed and takes an enterprise's interest (the server's
    Chinese refusal of a bad credit code shown, then the receipt); 市民观察满意度: the figures of
    tests/api/public_fixture.py (by hand there) per bureau, scene and project."""
    seeded = await seed(own_pool)
    today = local_date(datetime.now(UTC))
    await seed_observations(own_pool, today)
    async with own_pool.acquire() as conn:
        await conn.execute("UPDATE bureaus SET webhook_url = $1 WHERE code = 'xzspj'", receiver.url)
    closes = today + timedelta(days=400)
    async with running_worker(dev_env.client, own_pool, http, settings) as tq:
        view = await opportunities.publish(
            dev_env.client,
            own_pool,
            PublishInput(
                subject_kind=SubjectKind.SCENE,
                subject="S-JQJA",
                kind=OpportunityKind.VENUE,
                title_zh="江安河沿线24小时自助服务点场地",
                description=DESCRIPTION,
                amount_wan=300,
                conditions="具备政务自助终端运营经验",
                closes_on=closes,
                actor="manager:secret-actor",
                idempotency_key="public-page-1",
            ),
            task_queue=tq,
        )
        oid = view.id
        await eventually(lambda: opportunities.get_opportunity(own_pool, oid))
        app = create_app(dev_env.client, own_pool, Settings(), task_queue=tq, options=TEST_OPTIONS)
        async with serving(app) as base, async_playwright() as pw:
            async with chromium_page(pw, user_data_dir) as (page, errors):
                await page.goto(base + "/public/")
                await page.wait_for_selector("body[data-loaded='1']", timeout=20000)
                assert await page.is_hidden("#error")

                # 机会清单: the opportunity as published, Chinese first.
                card = page.locator(f"article.opportunity[data-opportunity='{oid}']")
                assert await card.get_attribute("data-status") == "open"
                text = await card.inner_text()
                assert "江安河沿线24小时自助服务点场地" in text and "征集中" in text

                def field(name: str) -> Locator:
                    return card.locator(f"dd[data-field='{name}']")

                assert await field("oppKind").inner_text() == "场地资源"
                assert await field("oppSubject").inner_text() == "示范场景：九曲江安·十里光华"
                assert await field("amount").inner_text() == "300 万元"
                assert await field("conditions").inner_text() == "具备政务自助终端运营经验"
                assert await field("closesOn").inner_text() == closes.isoformat()
                assert await field("answeredBy").inner_text() == "区行政审批局"
                assert await field("description").inner_text() == DESCRIPTION
                assert await card.locator("b, img").count() == 0
                assert "secret-actor" not in await page.inner_text("body")

                # An interest: a bad credit code is refused by the server, in Chinese.
                await card.locator("summary").click()
                form = card.locator("form")
                await form.locator("[name=company_name]").fill("示例科技有限公司")
                await form.locator("[name=uscc]").fill(HUAWEI[:17] + "7")
                await form.locator("[name=contact_name]").fill("张经理")
                await form.locator("[name=contact_phone]").fill("028-82710000")
                await form.locator("button[type=submit]").click()
                result = form.locator("[data-result='error']")
                await result.wait_for(timeout=20000)
                assert await result.inner_text() == (
                    f"统一社会信用代码 {HUAWEI[:17]}7 校验位不符（第 18 位应为 "
                    f"{check_char(HUAWEI[:17])}），请核对是否输错"
                )
                # A malformed field is named by its label.
                await form.locator("[name=uscc]").fill(HUAWEI)
                await form.locator("[name=contact_phone]").fill("call me")
                await form.locator("button[type=submit]").click()
                await form.locator("[data-result='error']", has_text="联系电话").wait_for(
                    timeout=20000
                )
                assert await result.inner_text() == "请检查以下内容：联系电话"
                # Then a valid one: the receipt.
                await form.locator("[name=contact_phone]").fill("028-82710000")
                await form.locator("button[type=submit]").click()
                ok = form.locator("[data-result='ok']")
                await ok.wait_for(timeout=20000)
                receipt = await ok.inner_text()
                assert receipt.startswith("已收到示例科技有限公司的合作意向（编号 ")
                assert "区行政审批局将于" in receipt and receipt.endswith("前答复。")
                row = await eventually(
                    lambda: own_pool.fetchrow(
                        "SELECT company_name, contact_phone FROM opportunity_interests"
                        " WHERE opportunity_id = $1 AND uscc = $2",
                        oid,
                        HUAWEI,
                    )
                )
                assert tuple(row) == ("示例科技有限公司", "028-82710000")

                # 市民观察满意度: the figures by hand.
                cell = "#satisfaction table[data-level='{}'] tr[data-code='{}'] td[data-col='{}']"

                async def shown(level: str, code: str, col: str) -> str:
                    return await page.inner_text(cell.format(level, code, col))

                assert await page.inner_text("[data-sat='observations']") == "6"
                assert await page.inner_text("[data-sat='avgRating']") == "3.50"
                assert await page.inner_text("[data-sat='timeliness']") == "50.0%"
                assert await page.inner_text("[data-sat='satisfactionRate']") == "66.7%"
                xzspj = page.locator(
                    "#satisfaction table[data-level='bureaus'] tr[data-code='xzspj']"
                )
                assert "区行政审批局" in await xzspj.inner_text()
                assert await shown("bureaus", "xzspj", "observations") == "3"
                assert await shown("bureaus", "xzspj", "timeliness") == "66.7%"
                assert await shown("bureaus", "xzspj", "satisfactionRate") == "66.7%"
                assert await shown("bureaus", "xzspj", "escalated") == "1"
                assert await shown("bureaus", "mzj", "timeliness") == "0.0%"
                assert await shown("bureaus", "mzj", "satisfactionRate") == "—"
                assert await shown("scenes", "S-JQJA", "timeliness") == "50.0%"
                assert await shown("scenes", "S-JQJA", "avgRating") == "3.00"
                assert await shown("scenes", "S-ELDER", "timeliness") == "—"
                assert await shown("projects", "PUB-1", "satisfactionRate") == "100.0%"
                body = await page.inner_text("body")
                for secret in SECRETS:
                    assert secret not in body
                assert seeded["token"] not in body
                ARTIFACTS.mkdir(exist_ok=True)
                await page.screenshot(
                    path=str(ARTIFACTS / "public_page_opportunities.png"), full_page=True
                )

                # English on the button: what the visitor typed and the receipt stay.
                await page.click("#lang")
                assert await page.inner_text("#op-title") == "Opportunity lists"
                assert await field("oppKind").inner_text() == "Venue"
                assert await form.locator("[name=uscc]").input_value() == HUAWEI
                assert (await ok.inner_text()).startswith("expression of interest ")
                assert await page.inner_text("#sat-title") == "Citizen observations: satisfaction"
                await page.click("#lang")
                assert await ok.inner_text() == receipt
                assert errors == []
