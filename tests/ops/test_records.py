"""The one writer of `audit_log` and `notifications` rows (guatu/core/records.py), on a real
PostgreSQL: the column lists match the tables, each `duplicates` mode does what its sites rely on,
a row left at its defaults is stored as the table's own defaults would store it, and the batched
(JSON recordset) INSERT stores what the row-by-row one does."""

from __future__ import annotations

import uuid
from dataclasses import fields
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import pytest

from guatu.core.notice import Notice
from guatu.core.records import (
    AUDIT_LOG,
    NOTIFICATIONS,
    AuditRow,
    NotificationRow,
    audit_from_recordset,
    notifications_from_recordset,
    recordset,
    write_audit,
    write_notifications,
)

AT = datetime(2026, 3, 9, 1, 2, 3, 456789, tzinfo=UTC)
AUDIT_FIELDS = (
    "key, at, actor, bureau, project, action, idempotency_key, accepted, before, after, reason,"
    " channel"
)
NOTICE_FIELDS = (
    "key, bureau, project, kind, title_zh, body_zh, body_en, created_at, deadline, status,"
    " attempts, delivered_at, last_error, acknowledged_at"
)


def _key(prefix: str) -> str:
    return f"{prefix}:{uuid.uuid4().hex}"


async def _audit(conn: asyncpg.Connection, key: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(f"SELECT {AUDIT_FIELDS} FROM audit_log WHERE key = $1", key)
    return [dict(r) for r in rows]


async def _notice(conn: asyncpg.Connection, key: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(f"SELECT {NOTICE_FIELDS} FROM notifications WHERE key = $1", key)
    return [dict(r) for r in rows]


def _notice_of(key: str, project: str) -> Notice:
    return Notice(
        key=key,
        bureau="xzspj",
        project=project,
        kind="test",
        title_zh="标题",
        body_zh="正文",
        body_en="body",
        created_at=AT,
        deadline=date(2026, 3, 20),
    )


async def test_the_column_lists_are_the_tables_columns(pool: asyncpg.Pool) -> None:
    assert {f.name for f in fields(AuditRow)} == set(AUDIT_LOG.names)
    assert [f.name for f in fields(NotificationRow)] == list(NOTIFICATIONS.names)
    for table in (AUDIT_LOG, NOTIFICATIONS):
        found = dict(
            await pool.fetch(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = 'public' AND table_name = $1",
                table.name,
            )
        )
        kinds = {
            "text": "text",
            "timestamptz": "timestamp with time zone",
            "boolean": "boolean",
            "jsonb": "jsonb",
            "date": "date",
        }
        assert {name: kinds[kind] for name, kind in table.columns} == {
            name: found[name] for name, _ in table.columns
        }


async def test_skip_keeps_the_first_row_and_raise_refuses_the_second(pool: asyncpg.Pool) -> None:
    key = _key("records-test")
    first = AuditRow(key=key, at=AT, actor="a", bureau="xzspj", action="x", accepted=True)
    second = AuditRow(key=key, at=AT, actor="b", bureau="xzspj", action="y", accepted=True)
    async with pool.acquire() as conn:
        await write_audit(conn, [first], duplicates="skip")
        await write_audit(conn, [second, second], duplicates="skip")
        assert [r["actor"] for r in await _audit(conn, key)] == ["a"]
        with pytest.raises(asyncpg.UniqueViolationError):
            await write_audit(conn, [second], duplicates="raise")
        assert [r["actor"] for r in await _audit(conn, key)] == ["a"]
        with pytest.raises(ValueError, match="duplicates"):
            await write_audit(conn, [second], duplicates="ignore")  # type: ignore[arg-type]


async def test_refusals_without_a_key_never_conflict(pool: asyncpg.Pool) -> None:
    action = _key("records-test-refusal")
    row = AuditRow(at=AT, actor="a", bureau="xzspj", action=action, accepted=False, reason="r")
    async with pool.acquire() as conn:
        await write_audit(conn, [row], duplicates="raise")
        await write_audit(conn, [row, row], duplicates="raise")
        count = await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = $1", action)
    assert count == 3


async def test_a_row_at_its_defaults_is_the_tables_default_row(pool: asyncpg.Pool) -> None:
    bare, ours = _key("records-test"), _key("records-test")
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO audit_log (key, at, actor, bureau, action, accepted)"
            " VALUES ($1, $2, 'a', 'xzspj', 'x', true)",
            bare,
            AT,
        )
        row = AuditRow(key=ours, at=AT, actor="a", bureau="xzspj", action="x", accepted=True)
        await write_audit(conn, [row], duplicates="raise")
        (stored_bare,), (stored_ours,) = await _audit(conn, bare), await _audit(conn, ours)
    assert {**stored_bare, "key": ours} == stored_ours
    assert stored_ours["channel"] == "workflow"
    assert stored_ours["before"] == stored_ours["after"] == {}


async def test_a_blank_project_is_null_only_when_asked(pool: asyncpg.Pool) -> None:
    nulled, kept = _key("records-test"), _key("records-test")
    rows = [
        NotificationRow.of(_notice_of(nulled, ""), blank_project_null=True),
        NotificationRow.of(_notice_of(kept, ""), blank_project_null=False),
    ]
    async with pool.acquire() as conn:
        await write_notifications(conn, rows, duplicates="skip")
        await write_notifications(conn, rows, duplicates="skip")
        (n,), (k,) = await _notice(conn, nulled), await _notice(conn, kept)
        with pytest.raises(asyncpg.UniqueViolationError):
            await write_notifications(conn, rows[:1], duplicates="raise")
    assert n["project"] is None
    assert k["project"] == ""
    assert (n["status"], n["attempts"], n["created_at"], n["deadline"]) == (
        "pending",
        0,
        AT,
        date(2026, 3, 20),
    )


async def test_the_recordset_insert_stores_what_the_row_insert_does(pool: asyncpg.Pool) -> None:
    by_row, by_set = _key("records-test"), _key("records-test")

    def audit(key: str) -> AuditRow:
        return AuditRow(
            key=key,
            at=AT,
            actor="a",
            bureau="xzspj",
            project="P01-001",
            action="x",
            idempotency_key="k-1",
            accepted=True,
            before={"n": 1, "list": [1, "二"]},
            after={"nested": {"at": "2026-03-09"}},
            reason="why",
            channel="api",
        )

    def notice(key: str) -> NotificationRow:
        return NotificationRow.of(_notice_of(key, "P01-001"), blank_project_null=False)

    statement = (
        f"WITH a AS ({audit_from_recordset('$1::jsonb', duplicates='skip')} RETURNING 1),"
        f" n AS ({notifications_from_recordset('$2::jsonb', duplicates='skip')} RETURNING 1)"
        " SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM n)"
    )
    async with pool.acquire() as conn:
        await write_audit(conn, [audit(by_row)], duplicates="raise")
        await write_notifications(conn, [notice(by_row)], duplicates="raise")
        sets = (recordset([audit(by_set)]), recordset([notice(by_set)]))
        assert tuple(await conn.fetchrow(statement, *sets)) == (1, 1)
        assert tuple(await conn.fetchrow(statement, *sets)) == (0, 0)  # skipped, not raised
        (audit_row,), (audit_set,) = await _audit(conn, by_row), await _audit(conn, by_set)
        (notice_row,), (notice_set,) = await _notice(conn, by_row), await _notice(conn, by_set)
    assert {**audit_row, "key": by_set} == audit_set
    assert {**notice_row, "key": by_set} == notice_set
    assert audit_set["before"] == {"n": 1, "list": [1, "二"]}
    assert audit_set["at"] == AT
