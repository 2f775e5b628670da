"""Projection of lifecycle changes into the PostgreSQL read model (idempotent by key).

The SQL is `guatu.lifecycle.projection.write_batch`, shared with the doors' write-through.
"""

from __future__ import annotations

import asyncpg
from temporalio import activity

from guatu.core.constants import ACTIVITY_PROJECT
from guatu.lifecycle.models import Bureau, Program, ProjectionBatch
from guatu.lifecycle.projection import write_batch


class ReadModelActivities:
    """Writes one ProjectionBatch in one transaction; replaying a batch changes nothing."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @activity.defn(name=ACTIVITY_PROJECT)
    async def apply_projection(self, batch: ProjectionBatch) -> None:
        await write_batch(self.pool, batch)


async def upsert_reference(
    pool: asyncpg.Pool, bureaus: list[Bureau], programs: list[Program]
) -> None:
    """Load bureaus and programs; webhook URLs from config win over what the table holds."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.executemany(
            "INSERT INTO bureaus (code, name_zh, name_en, webhook_url) VALUES ($1,$2,$3,$4)"
            " ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh,"
            " name_en = excluded.name_en, webhook_url = excluded.webhook_url",
            [(b.code, b.name_zh, b.name_en, b.webhook_url) for b in bureaus],
        )
        await conn.executemany(
            "INSERT INTO programs (code, number, name_zh, name_en, lead_bureau)"
            " VALUES ($1,$2,$3,$4,$5) ON CONFLICT (code) DO UPDATE SET"
            " number = excluded.number, name_zh = excluded.name_zh,"
            " name_en = excluded.name_en, lead_bureau = excluded.lead_bureau",
            [(p.code, p.number, p.name_zh, p.name_en, p.lead_bureau) for p in programs],
        )
