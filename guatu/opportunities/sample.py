"""The sample programme's opportunities (config/sample_opportunities.json), marked 【示例】.

Published by `guatu up` after the sample scenes, through the same service as every door, with
closing dates counted from the business day they are loaded. Loaded once: nothing is published
when an opportunity of the sample already exists.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import asyncpg
import structlog
from temporalio.client import Client

from guatu.core import constants as c
from guatu.core.clock import local_date
from guatu.lifecycle.models import ProgrammeClock
from guatu.lifecycle.service import Rejected
from guatu.opportunities.models import OpportunityKind, PublishInput, SubjectKind
from guatu.opportunities.service import door_now, publish

SAMPLE_FILE = Path(__file__).resolve().parents[2] / "config" / "sample_opportunities.json"
ACTOR = "guatu up (sample)"
log = structlog.get_logger("guatu.opportunities.sample")


async def seed_sample_opportunities(
    client: Client,
    pool: asyncpg.Pool,
    *,
    task_queue: str = c.TASK_QUEUE,
    clock: ProgrammeClock | None = None,
) -> int:
    """Publish the sample opportunities unless they were published before; how many were."""
    async with pool.acquire() as conn:
        if await conn.fetchval("SELECT count(*) FROM opportunities WHERE published_by = $1", ACTOR):
            return 0
    today = local_date(door_now(clock))
    published = 0
    for i, o in enumerate(json.loads(SAMPLE_FILE.read_text("utf-8"))["opportunities"]):
        data = PublishInput(
            subject_kind=SubjectKind.SCENE,
            subject=o["scene"],
            kind=OpportunityKind(o["kind"]),
            title_zh=o["title_zh"],
            description=o["description"],
            amount_wan=o["amount_wan"],
            conditions=o["conditions"],
            closes_on=today + timedelta(days=o["closes_in_days"]),
            actor=ACTOR,
            idempotency_key=f"sample-opportunity-{i}",
        )
        try:
            view = await publish(
                client, pool, data, task_queue=task_queue, clock=clock, channel="sample"
            )
            published += not view.duplicate
        except Rejected as err:  # e.g. its scene is not in this programme
            log.warning("sample opportunity not published", title=o["title_zh"], reason=err.en)
    return published
