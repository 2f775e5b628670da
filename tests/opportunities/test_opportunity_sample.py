"""`guatu up`'s sample opportunities: published once on the sample scenes, marked 【示例】."""

from __future__ import annotations

import contextlib

import asyncpg
import httpx
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.opportunities.book import listing_workflow_id
from guatu.opportunities.sample import seed_sample_opportunities
from guatu.opportunities.service import PublicOpportunity, public_opportunities
from guatu.scenes.sample import seed_sample_scenes
from tests.helpers import eventually, running_worker


async def test_sample_opportunities_are_published_once_and_marked(
    dev_env: WorkflowEnvironment,
    fresh_pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    settings: Settings,
) -> None:
    await seed_sample_scenes(fresh_pool, ["WJ2026-P07-006", "WJ2026-P10-011", "WJ2026-P10-001"])
    async with running_worker(dev_env.client, fresh_pool, http, settings) as tq:
        assert await seed_sample_opportunities(dev_env.client, fresh_pool, task_queue=tq) == 3
        assert await seed_sample_opportunities(dev_env.client, fresh_pool, task_queue=tq) == 0
        try:
            # Each listing writes its row from its first workflow task.
            published = await eventually(lambda: _three(fresh_pool), timeout=30)
            assert all(o.title_zh.startswith("【示例】") for o in published)
            # Open ones first, nearest closing date first: 30, 45, 60 days.
            assert [o.kind_zh for o in published] == ["采购需求", "场地资源", "运营合作"]
            assert {o.bureau_name_zh for o in published} == {"区行政审批局", "区民政局"}
        finally:
            async with fresh_pool.acquire() as conn:
                ids = [r["id"] for r in await conn.fetch("SELECT id FROM opportunities")]
            for oid in ids:
                with contextlib.suppress(RPCError):
                    await dev_env.client.get_workflow_handle(listing_workflow_id(oid)).terminate()


async def _three(pool: asyncpg.Pool) -> list[PublicOpportunity] | None:
    published = await public_opportunities(pool)
    return published if len(published) == 3 else None
