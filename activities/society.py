"""Activity of CitizenObservation: persist an observation's changes (row, audit, outbox) in one
transaction. Idempotent: the row is written only by a higher version, audit and notices by key."""

from __future__ import annotations

from typing import Any

import asyncpg
from temporalio import activity

from activities.ranking import insert_audit, insert_notices
from guatu.core import constants as c
from guatu.society.models import ObservationBatch, TargetKind

COLUMNS = [
    "id",
    "workflow_id",
    "target_kind",
    "target",
    "target_name",
    "bureau",
    "bureau_name",
    "program",
    "observer",
    "category",
    "rating",
    "text",
    "wants_reply",
    "photos",
    "status",
    "filed_at",
    "reply_due",
    "remind_on",
    "reminded_at",
    "overdue_at",
    "reply",
    "replied_by",
    "replied_at",
    "reply_on_time",
    "rating_due",
    "satisfaction",
    "rating_comment",
    "rated_at",
    "escalated_at",
    "escalation_reason",
    "office_due",
    "office_overdue_at",
    "resolution",
    "resolved_by",
    "closed_at",
    "calendar_note",
    "filing_key",
    "version",
]
_FIXED = {"id", "workflow_id", "target_kind", "target", "observer", "filed_at", "filing_key"}
_UPSERT = (
    f"INSERT INTO observations ({', '.join(COLUMNS)}) VALUES "
    f"({', '.join(f'${i}' for i in range(1, len(COLUMNS) + 1))})"
    " ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{col} = excluded.{col}" for col in COLUMNS if col not in _FIXED)
    + ", updated_at = now() WHERE observations.version < excluded.version"
)


def _value(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


class SocietyActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @activity.defn(name=c.ACTIVITY_OBSERVATION_PERSIST)
    async def persist_observation(self, batch: ObservationBatch) -> None:
        row: dict[str, Any] = batch.view.model_dump(mode="python")
        row["photos"] = [p.model_dump(mode="json") for p in batch.view.photos]
        values = [_value(row[col]) for col in COLUMNS]
        v = batch.view
        project = v.target if v.target_kind is TargetKind.PROJECT else None
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(_UPSERT, *values)
            await insert_audit(conn, batch.audit, project)
            await insert_notices(conn, batch.notices)
