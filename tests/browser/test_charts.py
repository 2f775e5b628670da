"""The dashboard's trend charts in headless Chromium, at a desktop and a phone viewport.

The read model of tests/api/trends_fixture.py (2031, hand-computed in tests/api/test_trends.py)
with its two monthly rounds; the API and the dashboard served by uvicorn. At 1600 × 1000 and at
390 × 844 the page must draw the three charts with the API's numbers (read back from ECharts'
own option, `echarts.getInstanceByDom(el).getOption()`), switch the investment and light charts
to a bureau clicked in the bump chart or to a program chosen in the scope list, log no error,
load nothing from outside the server, and on the phone be no wider than the screen. Screenshots
go to artifacts/.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import hashlib
import tomllib
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import BrowserContext, Page, async_playwright
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.api.app import create_app
from guatu.api.dashboard import mount_dashboard
from guatu.core.tokens import create_token
from guatu.ranking.service import trigger_round
from tests.api import trends_fixture as fx
from tests.api.conftest import TEST_OPTIONS
from tests.browser.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, serving
from tests.helpers import running_worker
from tests.ranking.conftest import end_ladders

pytestmark = pytest.mark.timeout(240)

DESKTOP = {"width": 1600, "height": 1000}
PHONE = {"width": 390, "height": 844}
OPTION = """(id) => {
  const c = echarts.getInstanceByDom(document.getElementById(id));
  const o = c.getOption();
  return { series: o.series.map((s) => ({ id: s.id, name: s.name, data: s.data })),
           x: o.xAxis[0].data };
}"""


async def test_charts_show_the_api_series(
    dev_env: WorkflowEnvironment,
    own_pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    settings: Settings,
    user_data_dir: str,
) -> None:
    pool = own_pool
    client = dev_env.client
    _, bureaus = await fx.insert(pool, f"ch{uuid.uuid4().hex[:6]}")
    async with running_worker(client, pool, http, settings) as tq:
        try:
            for period in ("2031-01", "2031-02"):
                handle = await trigger_round(client, period, "default", task_queue=tq)
                await asyncio.wait_for(handle.result(), 90)
            token = await create_token(pool, "leader", label="charts")
            app = create_app(client, pool, Settings(), task_queue=tq, options=TEST_OPTIONS)
            mount_dashboard(app)
            async with serving(app) as base:
                api = await series(base, token, bureaus)
                # The API's figures are the hand-computed ones (tests/api/test_trends.py).
                assert api["investment"]["plan_wan"][:3] == [400, 800, 1200]
                assert api["investment"]["actual_wan"][:4] == [200, 700, 850, None]
                async with async_playwright() as pw:
                    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
                        await check_viewport(
                            pw, base, token, api, bureaus, name, viewport, user_data_dir
                        )
        finally:
            await end_ladders(client, list(bureaus.values()))


async def series(base: str, token: str, bureaus: dict[str, str]) -> dict[str, Any]:
    async with httpx.AsyncClient(
        base_url=base, timeout=10, headers={"Authorization": f"Bearer {token}"}
    ) as api:

        async def get(path: str, **params: str) -> Any:
            r = await api.get(f"/api/v1/trends/{path}", params=params)
            assert r.status_code == 200, r.text
            return r.json()

        return {
            "investment": await get("investment"),
            "lights": await get("lights"),
            "ranks_bureau": await get("ranks", level="bureau"),
            "ranks_program": await get("ranks", level="program"),
            "investment_b": await get("investment", bureau=bureaus["b"]),
            "lights_b": await get("lights", bureau=bureaus["b"]),
            "investment_p02": await get("investment", program="P02"),
        }


async def option(page: Page, chart: str) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(OPTION, f"chart-{chart}")
    return result


def by_id(opt: dict[str, Any]) -> dict[str, Any]:
    return {s["id"]: s for s in opt["series"]}


async def wait_scope(page: Page, scope: str) -> None:
    for chart in ("investment", "lights"):
        await page.wait_for_selector(f"#chart-{chart}[data-scope='{scope}']")


async def check_viewport(
    pw: Any,
    base: str,
    token: str,
    api: dict[str, Any],
    bureaus: dict[str, str],
    name: str,
    viewport: dict[str, int],
    user_data_dir: str,
) -> None:
    context: BrowserContext = await pw.chromium.launch_persistent_context(
        f"{user_data_dir}/{name}",
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport=viewport,
        locale="zh-CN",
    )
    try:
        page = context.pages[0] if context.pages else await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        page.on(
            "console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None
        )
        outside: list[str] = []
        page.on(
            "request",
            lambda r: None if r.url.startswith((base, "blob:", "data:")) else outside.append(r.url),
        )
        await page.goto(f"{base}/#token={token}")
        await page.wait_for_selector("body[data-refreshes='1']", timeout=30000)
        for chart in ("investment", "ranks", "lights"):
            await page.wait_for_selector(f"#chart-{chart}[data-ready='1']")
            box = await page.locator(f"#chart-{chart} canvas").first.bounding_box()
            assert box and box["width"] > 200 and box["height"] > 150, (chart, box)
            assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (chart, box)

        # Investment: both lines are the API's twelve months (None after March).
        inv = await option(page, "investment")
        assert inv["x"][:3] == ["1月", "2月", "3月"]
        lines = by_id(inv)
        assert lines["plan"]["data"] == api["investment"]["plan_wan"]
        assert lines["actual"]["data"] == api["investment"]["actual_wan"]
        assert lines["plan"]["data"][11] == 5400 and lines["actual"]["data"][2] == 850
        assert (await page.inner_text("#trend-scope-name")).strip() == "全区"

        # Bump chart of the bureaus: b went 2 → 1, a 1 → 2, c stayed 3rd.
        ranks = by_id(await option(page, "ranks"))
        for unit in api["ranks_bureau"]["units"]:
            assert ranks[unit["code"]]["data"] == unit["ranks"]
            assert ranks[unit["code"]]["name"] == unit["name_zh"]
        assert ranks[bureaus["b"]]["data"] == [2, 1] and ranks[bureaus["a"]]["data"] == [1, 2]

        # Lights at each month's end, stacked.
        lights = by_id(await option(page, "lights"))
        for light in ("green", "yellow", "red"):
            assert lights[light]["data"] == api["lights"][light]
        assert [lights[k]["data"][1] for k in ("green", "yellow", "red")] == [3, 1, 1]

        if name == "phone":
            await check_phone(page, viewport)
        await page.evaluate("window.scrollTo(0, 0)")
        await settled(page)
        await page.screenshot(path=str(shot(f"charts-{name}.png")))

        # A click on bureau b's point in the bump chart (February, rank 1) switches the
        # investment and light charts to bureau b.
        await page.locator("#chart-ranks").scroll_into_view_if_needed()
        point = await page.evaluate(
            """([id, code]) => {
            const el = document.getElementById(id);
            const [x, y] = echarts.getInstanceByDom(el).convertToPixel({ seriesId: code }, [1, 1]);
            const r = el.getBoundingClientRect();
            return { x: r.left + x, y: r.top + y };
        }""",
            ["chart-ranks", bureaus["b"]],
        )
        await page.mouse.click(point["x"], point["y"])
        await wait_scope(page, f"bureau={bureaus['b']}")
        lines = by_id(await option(page, "investment"))
        assert lines["plan"]["data"] == api["investment_b"]["plan_wan"]
        assert (
            lines["actual"]["data"]
            == api["investment_b"]["actual_wan"]
            != api["investment"]["actual_wan"]
        )
        assert (await page.inner_text("#trend-scope-name")).strip() == "趋势B局"
        assert await page.input_value("#trend-scope") == f"bureau:{bureaus['b']}"
        lights = by_id(await option(page, "lights"))
        assert lights["red"]["data"] == api["lights_b"]["red"]
        await settled(page)
        await page.locator("#trends").screenshot(path=str(shot(f"charts-{name}-bureau.png")))

        # The scope list: program P02; the bump chart shows the programs.
        await page.select_option("#trend-scope", "program:P02")
        await wait_scope(page, "program=P02")
        lines = by_id(await option(page, "investment"))
        assert lines["actual"]["data"] == api["investment_p02"]["actual_wan"]
        await page.click("#trends [data-rank-level='program']")
        await page.wait_for_selector("#chart-ranks[data-level='program']")
        programs = by_id(await option(page, "ranks"))
        assert {k: v["data"] for k, v in programs.items()} == {
            u["code"]: u["ranks"] for u in api["ranks_program"]["units"]
        }

        # English: the same numbers under English names.
        await page.click("#lang")
        inv = await option(page, "investment")
        assert inv["x"][:2] == ["Jan", "Feb"]
        assert by_id(inv)["actual"]["data"] == api["investment_p02"]["actual_wan"]
        assert by_id(inv)["actual"]["name"] == "Done this year"
        assert (await page.inner_text("#tr-title")).strip() == "This year's trends"
        await settled(page)
        await page.locator("#trends").screenshot(path=str(shot(f"charts-{name}-en.png")))
        if name == "phone":
            assert await page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        await page.click("#lang")

        assert errors == [], errors
        assert outside == [], f"the page loaded something from elsewhere: {outside}"
    finally:
        with contextlib.suppress(Exception):
            await context.close()


async def settled(page: Page) -> None:
    """Let the charts' 400-ms animation finish before a screenshot (the option is set at once)."""
    await page.wait_for_timeout(700)


async def check_phone(page: Page, viewport: dict[str, int]) -> None:
    """At 390 px: nothing wider than the screen, a readable header, tables scroll in a box."""
    width = viewport["width"]
    assert await page.evaluate("document.documentElement.scrollWidth") <= width
    wide = await page.evaluate(
        """(w) => [...document.querySelectorAll('body *')]
        .filter((el) => el.offsetParent !== null && !el.closest('.table-wrap, .gantt-wrap, #orders, .breakdown'))
        .filter((el) => el.getBoundingClientRect().right > w + 0.5)
        .map((el) => el.tagName + '#' + el.id + '.' + el.className).slice(0, 10)""",
        width,
    )
    assert wide == [], f"wider than the screen: {wide}"
    # The title wraps into at most three lines, not one character a line.
    title = await page.locator(".top h1").bounding_box()
    assert title and title["width"] > 200 and title["height"] < 80, title
    # The program table is wider than the screen and scrolls inside its own container.
    wrap = await page.evaluate("""() => { const el = document.querySelector('#overview .table-wrap');
        return { client: el.clientWidth, scroll: el.scrollWidth,
                 overflow: getComputedStyle(el).overflowX }; }""")
    assert wrap["client"] <= width and wrap["scroll"] > wrap["client"], wrap
    assert wrap["overflow"] == "auto"
    await settled(page)
    await page.screenshot(path=str(shot("charts-phone-full.png")), full_page=True)


def shot(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def test_vendored_echarts_ships_with_the_package() -> None:
    """The chart library is package data (in the wheel, so an installed Guatu serves it), with
    its licence, and its README names the version and the served file's hash."""
    root = Path(__file__).resolve().parents[2]
    package = root / "guatu" / "api" / "dashboard"
    vendor = package / "static" / "vendor" / "echarts"
    version = (vendor / "VERSION").read_text().strip()
    readme = (vendor / "README.md").read_text()
    assert f"echarts@{version}" in readme
    assert hashlib.sha256((vendor / "echarts.min.js").read_bytes()).hexdigest() in readme
    assert "Apache License" in (vendor / "LICENSE").read_text()
    assert (vendor / "NOTICE").exists()
    setuptools = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = setuptools["package-data"]["guatu.api.dashboard"]
    for path in sorted((package / "static").rglob("*")):
        if path.is_file():
            rel = path.relative_to(package).as_posix()
            # setuptools globs: `*` does not cross a directory.
            assert any(
                fnmatch.fnmatch(rel, p) and rel.count("/") == p.count("/") for p in patterns
            ), f"{rel} is not package data"
