"""Test helpers: plan factories, a worker context, and a bureau webhook receiver."""

from __future__ import annotations

import asyncio
import inspect
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
from temporalio.client import Client

from config.settings import Settings
from guatu.lifecycle.models import (
    CurveShape,
    MilestonePlan,
    ProjectKind,
    ProjectPlan,
    Step,
    TimerPolicy,
)
from worker import build_worker

ENGINEERING_STEPS = [
    Step.LAND_USE,
    Step.PLANNING_PERMIT,
    Step.CONSTRUCTION_PERMIT,
    Step.CONSTRUCTION_STARTED,
    Step.COMPLETED,
    Step.ACCEPTED,
]
SERVICE_STEPS = [Step.IMPLEMENTING, Step.DONE, Step.EVALUATED]


def make_plan(
    kind: ProjectKind = ProjectKind.ENGINEERING,
    *,
    start: date,
    bureau: str,
    milestone_days: list[int] | None = None,
    total: float = 1200.0,
    months: int = 12,
    code: str | None = None,
) -> ProjectPlan:
    """A plan whose milestones fall `milestone_days` after `start` (one per step, in order)."""
    steps = ENGINEERING_STEPS if kind is ProjectKind.ENGINEERING else SERVICE_STEPS
    days = milestone_days or [30 * (i + 1) for i in range(len(steps))]
    finish = start + timedelta(days=30 * months)
    return ProjectPlan(
        code=code or f"T-{uuid.uuid4().hex[:10].upper()}",
        name_zh="测试项目",
        name_en="test project",
        program="P06",
        bureau=bureau,
        kind=kind,
        total_investment_wan=total,
        start=start,
        finish=finish,
        milestones=[
            MilestonePlan(step=s, planned=start + timedelta(days=d))
            for s, d in zip(steps, days, strict=False)
        ],
        curve=CurveShape.LINEAR,
    )


POLICY = TimerPolicy()


async def eventually(check: Callable[[], Any], timeout: float = 15.0, every: float = 0.1) -> Any:
    """Poll `check` (sync or async) until it returns something truthy; return that.

    Projections, deliveries and visibility are asynchronous: tests wait for them, boundedly.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {result!r}")
        await asyncio.sleep(every)


async def add_bureau(pool: asyncpg.Pool, url: str | None) -> str:
    code = f"tb_{uuid.uuid4().hex[:8]}"
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO bureaus (code, name_zh, name_en, webhook_url) VALUES ($1,$2,$3,$4)",
            code,
            "测试局",
            "test bureau",
            url,
        )
    return code


@asynccontextmanager
async def running_worker(
    client: Client,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    settings: Settings,
    **overrides: object,
) -> AsyncIterator[str]:
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    worker = build_worker(client, pool, http, settings, task_queue=task_queue, **overrides)
    async with worker:
        yield task_queue


class WebhookReceiver:
    """A bureau's notification endpoint: records every POST and dedups by Idempotency-Key."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, object]]] = []
        self.failing = False
        self.server: asyncio.AbstractServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/notify"

    def deliveries(self, project: str | None = None) -> Counter[str]:
        return Counter(
            k for k, body in self.posts if project is None or body.get("project") == project
        )

    def kinds(self, project: str) -> list[str]:
        seen: dict[str, str] = {}
        for key, body in self.posts:
            if body.get("project") == project:
                seen.setdefault(key, str(body.get("kind")))
        return list(seen.values())

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server:
            self.server.close()
            await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            if self.failing:
                writer.write(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                    b"Connection: close\r\n\r\n"
                )
            else:
                self.posts.append((headers.get("idempotency-key", ""), json.loads(body)))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        finally:
            writer.close()
