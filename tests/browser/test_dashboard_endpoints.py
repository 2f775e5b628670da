"""The dashboard's page, assets and own endpoints over HTTP (no browser): who may read them,
what they refuse, and the export's contents on a small programme written to the read model."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import date

import asyncpg
import httpx
import pytest_asyncio
from fastapi import FastAPI
from openpyxl import load_workbook
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.api.app import create_app
from guatu.api.dashboard import mount_dashboard
from guatu.api.deps import ApiOptions
from guatu.core.tokens import create_token

OPTIONS = ApiOptions(rate_per_second=1000, rate_burst=10_000, failed_auth_burst=10_000)


@pytest_asyncio.fixture
async def app(dev_env: WorkflowEnvironment, own_pool: asyncpg.Pool) -> FastAPI:
    app = create_app(dev_env.client, own_pool, Settings(), options=OPTIONS)
    mount_dashboard(app)
    mount_dashboard(app)  # a second call changes nothing
    return app


@pytest_asyncio.fixture
async def web(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://guatu.test", timeout=10
    ) as client:
        yield client


async def insert_projects(pool: asyncpg.Pool) -> None:
    """Three projects written to the read model as lifecycles would (two in P01, one in P02)."""
    rows = [
        ("DX-1", "P01", "fgj", "red", 20000.0, 5000.0, 1000.0),
        ("DX-2", "P01", "fgj", "green", 3000.0, 1000.0, 1200.0),
        ("DX-3", "P02", "jyj", "yellow", 500.0, 100.0, 50.0),
    ]
    explanation = [
        {
            "rule": "milestone.escalated",
            "light": "red",
            "text_zh": "节点「取得用地」已逾期 45 天 → 红灯",
            "text_en": "overdue",
        }
    ]
    milestones = [
        {
            "step": "land_use",
            "name_zh": "取得用地",
            "planned": "2026-01-10",
            "actual": None,
            "missed": True,
        }
    ]
    async with pool.acquire() as conn:
        for code, program, bureau, light, total, planned, actual in rows:
            plan = {
                "code": code,
                "name_zh": f"导出测试{code}",
                "program": program,
                "bureau": bureau,
                "kind": "engineering",
                "total_investment_wan": total,
                "yearly_investment_wan": {"2026": total / 2},
                "start": "2026-01-01",
                "finish": "2027-12-31",
                "milestones": [],
                "curve": "linear",
            }
            await conn.execute(
                "INSERT INTO projects (code, name_zh, program, bureau, kind, stage, status, light,"
                " explanations, total_investment_wan, planned_investment_to_date_wan,"
                " actual_investment_wan, physical_progress_pct, milestones, plan, business_today,"
                " version) VALUES ($1,$2,$3,$4,'engineering','preliminary','active',$5,$6,$7,"
                "$8,$9,10,$10,$11,$12,1)",
                code,
                f"导出测试{code}",
                program,
                bureau,
                light,
                explanation if light == "red" else [],
                total,
                planned,
                actual,
                milestones if light == "red" else [],
                plan,
                date(2026, 2, 24),
            )


async def test_page_and_assets_are_served_locally(web: httpx.AsyncClient) -> None:
    page = await web.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert "挂图作战" in page.text
    # Assets are versioned by their content and served from the package.
    assert "__VERSION__" not in page.text
    for asset, kind in (
        ("app.js", "javascript"),
        ("app.css", "text/css"),
        ("favicon.svg", "image/svg+xml"),
    ):
        assert f"/static/{asset}" in page.text
        r = await web.get(f"/static/{asset}")
        assert r.status_code == 200 and kind in r.headers["content-type"], asset
    # Nothing refers to another host.
    for body in (
        page.text,
        (await web.get("/static/app.js")).text,
        (await web.get("/static/app.css")).text,
    ):
        assert "http://" not in body and "https://" not in body and "//cdn" not in body
    assert (await web.get("/static/missing.js")).status_code == 404
    assert (await web.get("/static/..%2F__init__.py")).status_code == 404
    assert (await web.get("/static/%2e%2e/routes.py")).status_code == 404
    assert (await web.head("/")).status_code == 200


async def test_dashboard_endpoints_need_a_leader(
    web: httpx.AsyncClient, own_pool: asyncpg.Pool
) -> None:
    bureau = await create_token(own_pool, "bureau", "fgj", "bureau system")
    manager = await create_token(own_pool, "manager")
    for path in ("/api/v1/export.xlsx", "/api/v1/dashboard/ladders"):
        assert (await web.get(path)).status_code == 401
        for token in (bureau, manager):
            r = await web.get(path, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 403, (path, r.text)
            assert r.json()["code"] == "forbidden"
    leader = {"Authorization": f"Bearer {await create_token(own_pool, 'leader')}"}
    for params in (
        {"light": "purple"},
        {"stage": "flying"},
        {"period": "June"},
        {"program": "P01;DROP"},
        {"year": "1999"},
    ):
        r = await web.get("/api/v1/export.xlsx", params=params, headers=leader)
        assert r.status_code == 422, (params, r.text)
    # No ladder has run in this database: nothing on the ladder.
    r = await web.get("/api/v1/dashboard/ladders", headers=leader)
    assert r.status_code == 200 and r.json() == {"levels": [], "decisions": []}


async def test_export_holds_the_filtered_view(
    web: httpx.AsyncClient, own_pool: asyncpg.Pool
) -> None:
    await insert_projects(own_pool)
    leader = {"Authorization": f"Bearer {await create_token(own_pool, 'leader')}"}
    r = await web.get("/api/v1/export.xlsx", params={"program": "P01"}, headers=leader)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in r.headers["content-disposition"]
    assert "filename*=UTF-8''%E6%8C%82%E5%9B%BE" in r.headers["content-disposition"]  # 挂图
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["总览", "项目", "排名", "督办", "投资趋势", "排名走势", "红黄绿灯趋势"]
    projects = list(wb["项目"].iter_rows(values_only=True))
    header, body = projects[0], projects[1:]
    assert header[:3] == ("项目编号", "项目名称", "工程")
    assert [row[0] for row in body] == ["DX-1", "DX-2"]
    first = dict(zip(header, body[0], strict=True))
    assert first["灯"] == "红灯" and first["责任单位"] == "区发展和改革局"
    assert first["总投资（万元）"] == 20000 and first["实际完成（万元）"] == 1000
    assert first["完成序时 %"] == 20.0  # 1000 ÷ 5000
    assert "已逾期 45 天" in first["亮灯原因"]
    assert "取得用地：计划 2026-01-10，逾期未完成" in first["节点（计划 / 实际）"]
    # The overview sheet holds the whole programme (not only the filter): 23500 万元 = 2.35 亿元.
    facts = {
        row[0]: row[1:] for row in wb["总览"].iter_rows(min_row=6, max_row=18, values_only=True)
    }
    assert facts["计划总投资（万元）"][:2] == (23500, 2.35)
    assert facts["项目数"][0] == 3
    assert facts["绿灯 / 黄灯 / 红灯"][0] == "1 / 1 / 1"
    assert "项目表筛选：工程=P01" in str(wb["总览"]["A3"].value)
    # Nothing was ranked in this database.
    assert "本期排名尚未生成" in str(wb["排名"]["A1"].value)
    assert wb["督办"].max_row == 1
    # The whole programme without a filter.
    r = await web.get("/api/v1/export.xlsx", headers=leader)
    codes = [
        row[0]
        for row in load_workbook(io.BytesIO(r.content))["项目"].iter_rows(
            min_row=2, values_only=True
        )
    ]
    assert codes == ["DX-1", "DX-2", "DX-3"]


async def test_export_writes_every_text_as_text_never_a_formula(
    web: httpx.AsyncClient, own_pool: asyncpg.Pool
) -> None:
    """Guards the sweep's formula-injection finding: a project named `=…` became a live formula
    in the leaders' Excel export. Every exported text cell is a string cell holding the literal
    text, and the workbook holds no formula at all."""
    import zipfile

    await insert_projects(own_pool)
    hostile = {
        "DX-1": '=HYPERLINK("http://evil.example/","点我")',
        "DX-2": "+1+1",
        "DX-3": "-2+3\t=1\r=2",
    }
    async with own_pool.acquire() as conn:
        for code, name in hostile.items():
            await conn.execute("UPDATE projects SET name_zh = $2 WHERE code = $1", code, name)
        await conn.execute(
            "UPDATE projects SET explanations = $1 WHERE code = 'DX-1'",
            [{"rule": "x", "light": "red", "text_zh": "@SUM(1,2)"}],
        )
    leader = {"Authorization": f"Bearer {await create_token(own_pool, 'leader')}"}
    r = await web.get("/api/v1/export.xlsx", headers=leader)
    assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as package:
        sheets = [n for n in package.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(
            b"<f>" in package.read(n) or b"<f " in package.read(n) for n in sheets
        )
    ws = load_workbook(io.BytesIO(r.content))["项目"]
    names = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2) for r in range(2, 5)}
    for code, name in hostile.items():
        # The literal text (an XML reader may give a carriage return back as a line feed).
        assert names[code].data_type == "s", code
        assert names[code].value in (name, name.replace("\r", "\n")), code
    assert ws.cell(row=2, column=9).value == "@SUM(1,2)"  # 亮灯原因 of DX-1
    for row in ws.iter_rows():
        assert all(cell.data_type != "f" for cell in row)
