"""Collected only when named on the command line (see test_replay_everything.py): proves that
the suite it runs beside really built its workers with an empty workflow cache."""

from __future__ import annotations

import asyncpg
import httpx
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from worker import build_worker


async def test_workers_of_this_run_cache_nothing(
    ts_env: WorkflowEnvironment, pool: asyncpg.Pool, http: httpx.AsyncClient, settings: Settings
) -> None:
    assert settings.max_cached_workflows == 0
    worker = build_worker(ts_env.client, pool, http, settings, task_queue="replay-probe")
    assert worker.config()["max_cached_workflows"] == 0
