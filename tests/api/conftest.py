"""Fixtures of the API tests: the app wired to the real dev server, PostgreSQL and a worker.

One worker (on its own task queue) serves every API test of the session, so updates sent
through the API really execute. Each test gets fresh bureaus and tokens, so tests never see
each other's projects through a bureau scope.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.api.app import create_app
from guatu.api.deps import ApiOptions
from guatu.core import constants as c
from guatu.core.clock import CST
from guatu.core.tokens import create_token
from guatu.lifecycle.models import ProjectKind, ProjectPlan, TimerPolicy
from guatu.lifecycle.service import start_project
from tests.helpers import add_bureau, make_plan, running_worker

# Tests set their own tight limits where they test them; elsewhere limits stay out of the way.
TEST_OPTIONS = ApiOptions(
    rate_per_second=1000,
    rate_burst=10_000,
    failed_auth_burst=10_000,
    temporal_timeout_seconds=10,
    update_timeout_seconds=15,
    db_timeout_seconds=5,
)


def today() -> date:
    from datetime import datetime

    return datetime.now(CST).date()


@pytest_asyncio.fixture(scope="session")
async def api_task_queue(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool, http: httpx.AsyncClient
) -> AsyncIterator[str]:
    settings = Settings(graceful_shutdown_seconds=2, max_cached_workflows=1000)
    async with running_worker(dev_env.client, pool, http, settings) as task_queue:
        yield task_queue


@pytest_asyncio.fixture(scope="session")
async def api_app(dev_env: WorkflowEnvironment, pool: asyncpg.Pool, api_task_queue: str) -> FastAPI:
    return create_app(
        dev_env.client, pool, Settings(), task_queue=api_task_queue, options=TEST_OPTIONS
    )


@dataclass
class World:
    """Two fresh bureaus with a token each, and one token per other role."""

    app: FastAPI
    client: httpx.AsyncClient
    pool: asyncpg.Pool
    env: WorkflowEnvironment
    task_queue: str
    bureau_a: str
    bureau_b: str
    tokens: dict[str, str]
    started: list[str] = field(default_factory=list)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def key(self) -> dict[str, str]:
        return {"Idempotency-Key": uuid.uuid4().hex}

    async def start(
        self, plan: ProjectPlan, policy: TimerPolicy | None = None, **kw: Any
    ) -> ProjectPlan:
        """Start directly through the service layer (the API's own start is tested apart)."""
        await start_project(
            self.env.client, plan, policy or TimerPolicy(), task_queue=self.task_queue, **kw
        )
        self.started.append(plan.code)
        return plan

    def plan(
        self,
        bureau: str,
        kind: ProjectKind = ProjectKind.ENGINEERING,
        days_ago: int = 70,
        **kw: Any,
    ) -> ProjectPlan:
        return make_plan(kind, start=today() - timedelta(days=days_ago), bureau=bureau, **kw)

    async def rows(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.pool.acquire() as conn:
            return list(await conn.fetch(sql, *args))

    async def call(self, who: str, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {**self.auth(who), **kw.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kw)


@pytest_asyncio.fixture
async def world(
    api_app: FastAPI, pool: asyncpg.Pool, dev_env: WorkflowEnvironment, api_task_queue: str
) -> AsyncIterator[World]:
    bureau_a = await add_bureau(pool, None)
    bureau_b = await add_bureau(pool, None)
    tokens = {
        "a": await create_token(pool, "bureau", bureau_a, "system A"),
        "b": await create_token(pool, "bureau", bureau_b, "system B"),
        "manager": await create_token(pool, "manager", label="plan office"),
        "leader": await create_token(pool, "leader", label="district leader"),
        "admin": await create_token(pool, "admin"),
    }
    transport = httpx.ASGITransport(app=api_app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://guatu.test", timeout=30
    ) as client:
        w = World(api_app, client, pool, dev_env, api_task_queue, bureau_a, bureau_b, tokens)
        yield w
        for code in w.started:
            handle = dev_env.client.get_workflow_handle(c.project_workflow_id(code))
            try:
                await handle.terminate()
            except Exception:
                pass
