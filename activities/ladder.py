"""Activities of 激励奖惩: a BureauLadder's writes to PostgreSQL.

- `ladder_persist` (ladders before the bounded layout): decisions, orders, exemptions, audit rows,
  outbox notices and the whole state, in one transaction;
- `ladder_persist_changes` (patch ladder-bounded-state-2026-12): the same rows, the period inputs
  and remembered answers, and the state's changes merged into its standing.

Both are idempotent (keys and versions): a retry writes nothing twice. The SQL is in
`guatu.ladder.store`.
"""

from __future__ import annotations

import asyncpg
from temporalio import activity

from activities.ranking import insert_audit, insert_notices
from guatu.core import constants as c
from guatu.ladder import store
from guatu.ladder.models import LadderBatch, LadderChanges


class LadderActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @activity.defn(name=c.ACTIVITY_LADDER_PERSIST)
    async def persist(self, batch: LadderBatch) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await store.write_standing(conn, batch.bureau, batch.state, batch.version)
            await store.insert_decisions(conn, batch.decisions)
            await store.upsert_orders(conn, batch.orders, batch.version)
            await store.insert_exemptions(conn, batch.exemptions)
            await insert_audit(conn, batch.audit)
            await insert_notices(conn, batch.notices)

    @activity.defn(name=c.ACTIVITY_LADDER_PERSIST_CHANGES)
    async def persist_changes(self, changes: LadderChanges) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await store.write_changes(conn, changes)
            await store.insert_decisions(conn, changes.decisions)
            await store.upsert_orders(conn, changes.orders, changes.version)
            await store.insert_exemptions(conn, changes.exemptions)
            await insert_audit(conn, changes.audit)
            await insert_notices(conn, changes.notices)
