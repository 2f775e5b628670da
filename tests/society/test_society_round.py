"""A `society` round on the real dev server, after the `default` round froze the period: the
frozen snapshot carries the observation figures read from PostgreSQL, both rounds use it, and
the society round explains them line by line. (The hand-computed ranking is
tests/society/test_society_ranking.py; this test checks the path from the read model.)"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import asyncpg
import httpx
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.core.clock import CST
from guatu.ranking import queries, service
from tests.helpers import WebhookReceiver, running_worker
from tests.ranking import fixture
from tests.ranking.conftest import end_ladders, prefix


async def test_society_round_reads_the_frozen_observations(
    dev_env: WorkflowEnvironment,
    fresh_pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    receiver: WebhookReceiver,
    settings: Settings,
) -> None:
    px = prefix()
    bureaus = await fixture.add_bureaus(fresh_pool, px, receiver.url)
    await fixture.insert(fresh_pool, px)
    a1 = f"{px.upper()}-A1"
    async with fresh_pool.acquire() as conn:
        for n, (satisfaction, on_time) in enumerate(
            [("satisfied", True), ("unsatisfied", False), ("unsatisfied", True)]
        ):
            await conn.execute(
                "INSERT INTO observations (id, workflow_id, target_kind, target, bureau, observer,"
                " category, rating, text, wants_reply, status, filed_at, reply_due, replied_at,"
                " reply_on_time, satisfaction, rated_at, version) VALUES ($1, 'w', 'project', $2,"
                " $3, 'o', 'quality', 3, 't', true, 'closed', $4, $5, $6, $7, $8, $9, 1)",
                f"{a1}-{uuid.uuid4().hex[:6]}-{n}",
                a1,
                bureaus[0],
                datetime(2031, 3, 2, tzinfo=CST),
                date(2031, 3, 9),
                datetime(2031, 3, 9 if on_time else 10, 10, tzinfo=CST),
                on_time,
                satisfaction,
                datetime(2031, 3, 12, tzinfo=CST),
            )
    client = dev_env.client
    async with running_worker(client, fresh_pool, http, settings) as tq:
        try:
            first = await (
                await service.trigger_round(client, "2031-03", "default", task_queue=tq)
            ).result()
            society = await (
                await service.trigger_round(client, "2031-03", "society", task_queue=tq)
            ).result()
            assert society.snapshot_sha256 == first.snapshot_sha256  # frozen once, reused
            ranked = await queries.get_ranking(
                fresh_pool, "project", "2031-03", ruleset_id="society"
            )
            row = next(r for r in ranked["rows"] if r["code"] == a1)
            lines = {line["key"]: line for line in row["breakdown"]}
            assert lines["citizen_satisfaction"]["text_zh"] == (
                "期内市民观察员评价答复 3 次，满意 1 次（满意率 33.33%） → 8 × 1/3 = 2.67 / 8 分"
            )
            assert lines["response_timeliness"]["points"] == 4.0  # 6 × 2/3
            assert lines["third_party_score"]["points"] == 6.0  # none: 100 %
        finally:
            await end_ladders(client, bureaus)
