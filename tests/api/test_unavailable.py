"""PostgreSQL or Temporal unreachable (closed port, or a peer that never answers): 503 with
Retry-After within the configured deadline, never a hang and never a 500."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest_asyncio
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from guatu.api.app import create_app
from guatu.api.deps import ApiOptions
from guatu.core import constants as c
from tests.api.conftest import World
from tests.conftest import free_port

FAST = ApiOptions(
    temporal_timeout_seconds=1.0,
    update_timeout_seconds=1.0,
    db_timeout_seconds=0.5,
    ready_timeout_seconds=0.5,
)


@pytest_asyncio.fixture
async def black_hole() -> AsyncIterator[int]:
    """A TCP port that accepts connections and never says a word."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()


async def lazy_pool(port: int) -> asyncpg.Pool:
    # min_size=0: the pool connects on first use, as a running API would after an outage.
    pool = await asyncpg.create_pool(
        f"postgresql://guatu@127.0.0.1:{port}/guatu", min_size=0, max_size=2, timeout=30
    )
    assert pool is not None
    return pool


async def lazy_client(port: int) -> Client:
    return await Client.connect(
        f"127.0.0.1:{port}", lazy=True, data_converter=pydantic_data_converter
    )


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://guatu.test", timeout=30
    )


async def timed(
    client: httpx.AsyncClient, method: str, path: str, **kw: object
) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    r = await client.request(method, path, **kw)  # type: ignore[arg-type]
    return r, time.monotonic() - started


async def test_database_down_is_503(world: World, api_app: FastAPI, black_hole: int) -> None:
    ctx = api_app.state.guatu
    for port in (free_port(), black_hole):
        pool = await lazy_pool(port)
        app = create_app(ctx.client, pool, ctx.settings, task_queue=ctx.task_queue, options=FAST)
        try:
            async with client_for(app) as client:
                for method, path in (
                    ("GET", "/api/v1/projects"),
                    ("GET", "/api/v1/me"),
                    ("POST", "/api/v1/projects/X-1/transitions"),
                ):
                    r, took = await timed(
                        client,
                        method,
                        path,
                        headers={**world.auth("a"), "Idempotency-Key": "k"},
                        json={"step": "preliminary"},
                    )
                    assert r.status_code == 503, (port, path, r.text)
                    assert r.json()["code"] == "database_unavailable"
                    assert r.headers["retry-after"] == "5"
                    assert took < 3.0, (path, took)
                r, took = await timed(client, "GET", "/readyz")
                assert r.status_code == 503 and took < 3.0
                assert r.json()["database"].startswith("unavailable")
                assert r.json()["temporal"] == "ok"
                assert (await client.get("/healthz")).status_code == 200
        finally:
            pool.terminate()


async def test_temporal_down_is_503(world: World, api_app: FastAPI, black_hole: int) -> None:
    ctx = api_app.state.guatu
    plan = world.plan(world.bureau_a)
    for port in (free_port(), black_hole):
        temporal = await lazy_client(port)
        app = create_app(temporal, ctx.pool, ctx.settings, task_queue=ctx.task_queue, options=FAST)
        async with client_for(app) as client:
            calls = [
                ("leader", "GET", f"/api/v1/projects/{plan.code}", None),
                ("a", "GET", f"/api/v1/projects/{plan.code}/issues", None),
                ("a", "POST", f"/api/v1/projects/{plan.code}/transitions", {"step": "preliminary"}),
                ("manager", "POST", "/api/v1/projects", plan.model_dump(mode="json")),
            ]
            for who, method, path, body in calls:
                r, took = await timed(
                    client,
                    method,
                    path,
                    json=body,
                    headers={**world.auth(who), "Idempotency-Key": "k1"},
                )
                assert r.status_code == 503, (port, path, r.text)
                assert r.json()["code"] == "temporal_unavailable"
                assert r.headers["retry-after"] == "5"
                assert took < 3.0, (path, took)
            r, took = await timed(client, "GET", "/readyz")
            assert r.status_code == 503 and took < 3.0
            assert r.json()["temporal"].startswith("unavailable")
            assert r.json()["database"] == "ok"
        # Reads of the read model do not need Temporal. (With PostgreSQL's deadline of a
        # loaded machine: FAST's 0.5 s is for the calls above, not for listing every project
        # another test left in the shared database.)
        patient = FAST.model_copy(update={"db_timeout_seconds": 10.0})
        app = create_app(
            temporal, ctx.pool, ctx.settings, task_queue=ctx.task_queue, options=patient
        )
        async with client_for(app) as client:
            r = await client.get("/api/v1/projects", headers=world.auth("leader"))
            assert r.status_code == 200, r.text


async def test_update_without_a_worker_is_503_not_a_hang(world: World, api_app: FastAPI) -> None:
    """Temporal is up but no worker serves the project: the update cannot finish in time."""
    ctx = api_app.state.guatu
    plan = world.plan(world.bureau_a)
    from guatu.lifecycle.models import TimerPolicy
    from guatu.lifecycle.service import start_project

    await start_project(world.env.client, plan, TimerPolicy(), task_queue="nobody-listens")
    world.started.append(plan.code)
    async with world.pool.acquire() as conn:  # what the projection would have written
        await conn.execute(
            "INSERT INTO projects (code, name_zh, program, bureau, kind, stage, status, light,"
            " total_investment_wan, planned_investment_to_date_wan, actual_investment_wan,"
            " physical_progress_pct, plan, business_today, version) VALUES"
            " ($1, '无人处理', 'P06', $2, 'engineering', 'approved', 'active', 'green',"
            " 1, 0, 0, 0, '{}', $3, 1)",
            plan.code,
            world.bureau_a,
            datetime.now(UTC).date(),
        )
    app = create_app(ctx.client, ctx.pool, ctx.settings, task_queue=ctx.task_queue, options=FAST)
    async with client_for(app) as client:
        r, took = await timed(
            client,
            "POST",
            f"/api/v1/projects/{plan.code}/transitions",
            headers={**world.auth("a"), "Idempotency-Key": "slow-1"},
            json={"step": "preliminary"},
        )
        assert r.status_code == 503 and r.json()["code"] == "temporal_unavailable"
        assert 0.9 < took < 3.0
        r, took = await timed(
            client, "GET", f"/api/v1/projects/{plan.code}", headers=world.auth("leader")
        )
        assert r.status_code == 503 and took < 3.0
    handle = world.env.client.get_workflow_handle(c.project_workflow_id(plan.code))
    await handle.terminate()
    async with world.pool.acquire() as conn:
        await conn.execute("DELETE FROM projects WHERE code = $1", plan.code)
