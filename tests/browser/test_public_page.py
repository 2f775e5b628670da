"""信息公开 in headless Chromium, without a token; and the leaders' dashboard's scene table.

The data are tests/scenes/fixture.py's (figures by hand there): 4 projects, 20000 万元 = 2.00 亿元
in total, 6400 万元 invested = 0.64 亿元, 85.3 % of the plan to date; scene 九曲江安·十里光华 red
(1 red of 3 members, 84.3 % of plan), scene 社区养老服务示范场景 green.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from playwright.async_api import async_playwright
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.api.app import create_app
from guatu.api.dashboard import mount_dashboard
from tests.api.conftest import TEST_OPTIONS
from tests.browser.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, serving
from tests.scenes.fixture import INTERNAL_NOTE, seed

pytestmark = pytest.mark.timeout(150)


async def test_public_page_and_dashboard_scenes(
    dev_env: WorkflowEnvironment, own_pool: asyncpg.Pool, user_data_dir: str
) -> None:
    seeded = await seed(own_pool)
    app = create_app(dev_env.client, own_pool, Settings(), options=TEST_OPTIONS)
    mount_dashboard(app)
    async with serving(app) as base, async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            user_data_dir,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
            locale="zh-CN",
        )
        try:
            page = context.pages[0] if context.pages else await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
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
        finally:
            await context.close()
