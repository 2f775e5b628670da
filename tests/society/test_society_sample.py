"""The illustrative 市民观察 / 第三方评估 of `make run`: seeded through the real doors, marked 【示例】,
and a second start adds nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import asyncpg
import httpx
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.core.clock import local_date
from guatu.society.figures import published_figures
from guatu.society.sample import seed_society_sample
from tests.helpers import add_bureau, eventually, running_worker


async def test_sample_is_seeded_once_and_marked(
    dev_env: WorkflowEnvironment, fresh_pool: asyncpg.Pool, http: httpx.AsyncClient
) -> None:
    pool = fresh_pool
    bureau = await add_bureau(pool, None)
    async with pool.acquire() as conn:
        for code, program, kind in (
            ("S-P06-1", "P06", "engineering"),
            ("S-P10-1", "P10", "service"),
            ("S-P07-1", "P07", "service"),
        ):
            await conn.execute(
                "INSERT INTO projects (code, name_zh, program, bureau, kind, stage, status, light,"
                " total_investment_wan, planned_investment_to_date_wan, actual_investment_wan,"
                " physical_progress_pct, plan, business_today, version)"
                " VALUES ($1,'示例项目',$2,$3,$4,'approved','active','green',100,0,0,0,$5,$6,1)",
                code,
                program,
                bureau,
                kind,
                json.dumps({}),
                date(2026, 12, 1),
            )
        await conn.execute(
            "INSERT INTO scenes (code, name_zh, program, lead_bureau) VALUES"
            " ('S-JQJA', '九曲江安·十里光华', 'P07', $1)",
            bureau,
        )
    settings = Settings(graceful_shutdown_seconds=2)
    async with running_worker(dev_env.client, pool, http, settings) as task_queue:
        assert await seed_society_sample(dev_env.client, pool, task_queue) == 6
        assert await seed_society_sample(dev_env.client, pool, task_queue) == 0

        async def rows() -> list[asyncpg.Record]:
            async with pool.acquire() as conn:
                found = await conn.fetch("SELECT target, status, text, bureau FROM observations")
            return found if len(found) == 4 else []

        observed = {r["target"]: r for r in await eventually(rows)}
        assert {k: v["status"] for k, v in observed.items()} == {
            "S-P06-1": "open",
            "S-P10-1": "closed",  # replied and rated 满意
            "S-P07-1": "recorded",  # no answer asked
            "S-JQJA": "recorded",  # the scene's, routed to its lead bureau
        }
        assert observed["S-JQJA"]["bureau"] == bureau
        assert all(r["text"].startswith("【示例】") for r in observed.values())
        async with pool.acquire() as conn:
            evaluated = await conn.fetch("SELECT id, conclusion FROM evaluations ORDER BY id")
        year = local_date(datetime.now(UTC)).year  # the sample's year: Wenjiang's today
        assert [r["id"] for r in evaluated] == [
            f"program-P07-{year}-v1",
            f"project-S-P10-1-{year}-v1",
        ]
        figures = await published_figures(pool)
        assert "sample-observer" not in json.dumps(figures)
        for target in ("S-P06-1",):
            await dev_env.client.get_workflow_handle(
                f"observation-{(await _id(pool, target))}"
            ).terminate()


async def _id(pool: asyncpg.Pool, target: str) -> str:
    async with pool.acquire() as conn:
        return str(await conn.fetchval("SELECT id FROM observations WHERE target = $1", target))
