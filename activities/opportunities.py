"""Activities of OpportunityListing and OpportunityInterest: write a listing's or an interest's
row with its audit entries and notices, in one transaction. Idempotent: a retry (or an older
version arriving late) changes nothing."""

from __future__ import annotations

from typing import Any

import asyncpg
from temporalio import activity

from activities.ranking import insert_audit, insert_notices
from guatu.core import constants as c
from guatu.opportunities.models import InterestBatch, ListingBatch

_LISTING = [
    "id",
    "workflow_id",
    "subject_kind",
    "subject",
    "subject_name_zh",
    "bureau",
    "bureau_name",
    "kind",
    "title_zh",
    "description",
    "amount_wan",
    "conditions",
    "closes_on",
    "status",
    "published_by",
    "published_at",
    "closed_at",
    "closed_by",
    "close_reason",
    "interests",
    "version",
]
_INTEREST = [
    "id",
    "workflow_id",
    "opportunity_id",
    "opportunity_title",
    "bureau",
    "bureau_name",
    "company_name",
    "uscc",
    "contact_name",
    "contact_phone",
    "contact_email",
    "message",
    "status",
    "submitted_at",
    "respond_due",
    "remind_at",
    "overdue_at",
    "office_due",
    "escalate_at",
    "deadline_explain",
    "reminded_at",
    "overdue_notified_at",
    "escalated_at",
    "reply",
    "replied_by",
    "replied_at",
    "replied_late",
    "outcome",
    "outcome_note",
    "outcome_amount_wan",
    "outcome_by",
    "outcome_at",
    "version",
]


def _upsert(table: str, columns: list[str]) -> str:
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        f"({', '.join(f'${i}' for i in range(1, len(columns) + 1))})"
        " ON CONFLICT (id) DO UPDATE SET "
        + ", ".join(f"{col} = excluded.{col}" for col in columns if col != "id")
        + f", updated_at = now() WHERE {table}.version < excluded.version"
    )


_UPSERT_LISTING = _upsert("opportunities", _LISTING)
_UPSERT_INTEREST = _upsert("opportunity_interests", _INTEREST)


def _values(row: dict[str, Any], columns: list[str]) -> list[Any]:
    return [row[col].value if hasattr(row[col], "value") else row[col] for col in columns]


class OpportunityActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @activity.defn(name=c.ACTIVITY_OPPORTUNITY_PERSIST)
    async def persist_listing(self, batch: ListingBatch) -> None:
        values = _values(batch.view.model_dump(), _LISTING)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(_UPSERT_LISTING, *values)
            await insert_audit(conn, batch.audit)
            await insert_notices(conn, batch.notices)

    @activity.defn(name=c.ACTIVITY_INTEREST_PERSIST)
    async def persist_interest(self, batch: InterestBatch) -> None:
        values = _values(batch.view.model_dump(), _INTEREST)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(_UPSERT_INTEREST, *values)
            await insert_audit(conn, batch.audit)
            await insert_notices(conn, batch.notices)
