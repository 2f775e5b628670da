"""Fixtures of the browser tests: a database of their own, Chromium, and the served app.

The dashboard shows programme-wide totals and rankings, and a ranking round reads every
project in the read model: a browser test gets its own database on the session's PostgreSQL
server (migrations applied, reference data loaded), so that other tests' projects never enter
what it checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Page, Playwright

from tests.conftest import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest_asyncio.fixture
async def own_pool(fresh_pool: asyncpg.Pool) -> asyncpg.Pool:
    """Overview totals and ranking rounds read every project: a database of the test's own."""
    return fresh_pool


@pytest.fixture
def user_data_dir() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="guatu-chromium-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


class _Server(uvicorn.Server):
    """uvicorn without signal handlers: pytest owns the process's signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve `app` on a free port of 127.0.0.1 for the duration; yields the base URL."""
    port = free_port()
    server = _Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off"
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started or task.done():
                break
            await asyncio.sleep(0.05)
        if not server.started:
            raise RuntimeError("uvicorn did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)


@contextlib.asynccontextmanager
async def chromium_page(
    pw: Playwright, user_data_dir: str, **options: Any
) -> AsyncIterator[tuple[Page, list[str]]]:
    """A page of a fresh headless Chromium (zh-CN, 1400 × 1000 unless `options` say otherwise)
    and the list its uncaught page errors are appended to; the browser is closed after."""
    context = await pw.chromium.launch_persistent_context(
        user_data_dir,
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        **{"viewport": {"width": 1400, "height": 1000}, "locale": "zh-CN", **options},
    )
    try:
        page = context.pages[0] if context.pages else await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        yield page, errors
    finally:
        await context.close()
