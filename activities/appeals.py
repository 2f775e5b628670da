"""Activities of RankingAppeal: persist an appeal's changes, and publish the revision an accepted
appeal leads to. Both are idempotent, so a retry changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg
import structlog
from temporalio import activity
from temporalio.client import Client

from activities.ranking import insert_audit, insert_notices
from guatu.appeals.models import AppealBatch, ReviseInput, ReviseResult
from guatu.core import constants as c
from guatu.ranking.messages import RoundResult

log = structlog.get_logger(__name__)

_COLUMNS = [
    "id",
    "workflow_id",
    "bureau",
    "bureau_name",
    "period",
    "ruleset_id",
    "revision",
    "item",
    "project",
    "order_id",
    "subject_zh",
    "status",
    "reason",
    "evidence",
    "filed_by",
    "filed_at",
    "published_at",
    "decision_due",
    "remind_at",
    "escalate_at",
    "office_due",
    "reminded_at",
    "escalated_at",
    "office_overdue_at",
    "decision",
    "decision_reason",
    "decided_by",
    "decided_at",
    "revision_workflow_id",
    "revised_to",
    "version",
]
_FIXED = {"id", "workflow_id", "bureau", "period", "ruleset_id", "revision", "item", "filed_at"}
_UPSERT = (
    f"INSERT INTO appeals ({', '.join(_COLUMNS)}) VALUES "
    f"({', '.join(f'${i}' for i in range(1, len(_COLUMNS) + 1))})"
    " ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(
        f"{col} = excluded.{col}"
        for col in _COLUMNS
        if col not in _FIXED and col != "revision_workflow_id"
    )
    # The revise activity records the revision's workflow as soon as it starts it.
    + ", revision_workflow_id = COALESCE(NULLIF(excluded.revision_workflow_id, ''),"
    " appeals.revision_workflow_id), updated_at = now()"
    " WHERE appeals.version < excluded.version"
)
HEARTBEAT_EVERY_S = 20.0


class AppealActivities:
    def __init__(self, pool: asyncpg.Pool, client: Client) -> None:
        self.pool = pool
        self.client = client

    @activity.defn(name=c.ACTIVITY_APPEAL_PERSIST)
    async def persist(self, batch: AppealBatch) -> None:
        row: dict[str, Any] = batch.view.model_dump()
        values = [row[col].value if hasattr(row[col], "value") else row[col] for col in _COLUMNS]
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(_UPSERT, *values)
            await insert_audit(conn, batch.audit)
            await insert_notices(conn, batch.notices)

    @activity.defn(name=c.ACTIVITY_APPEAL_REVISE)
    async def revise(self, data: ReviseInput) -> ReviseResult:
        """Publish the superseding revision of the appealed round, or attach to the one this
        appeal already started (recorded before waiting), and wait for it to complete."""
        from guatu.ranking.service import revise_round

        async with self.pool.acquire() as conn:
            started = await conn.fetchval(
                "SELECT revision_workflow_id FROM appeals WHERE id = $1", data.appeal_id
            )
        if started:
            # Revision workflows have an ID each (`…-rN`): attach to the one this appeal began.
            handle = self.client.get_workflow_handle(started, result_type=RoundResult)
        else:
            handle = await revise_round(
                self.client,
                data.period,
                reason=data.reason,
                actor=data.actor,
                ruleset=data.ruleset_id,
                task_queue=activity.info().task_queue,
                pool=self.pool,
            )
            async with self.pool.acquire() as conn:
                await conn.execute(
                    "UPDATE appeals SET revision_workflow_id = $2 WHERE id = $1",
                    data.appeal_id,
                    handle.id,
                )
            log.info("appeal revision started", appeal=data.appeal_id, workflow=handle.id)

        async def beat() -> None:
            while True:
                activity.heartbeat()
                await asyncio.sleep(HEARTBEAT_EVERY_S)

        beating = asyncio.create_task(beat())
        try:
            result = await handle.result()
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
        return ReviseResult(workflow_id=handle.id, revision=result.revision)
