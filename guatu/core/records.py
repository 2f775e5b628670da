"""The one writer of `audit_log` and `notifications` rows (migration 001_read_model.sql).

Every path that stores an audit row or an outbox notice builds an `AuditRow` or a
`NotificationRow` and writes it here; the tables' column lists are defined once, below.

Who writes what, and what a second row with the same `key` does (`duplicates`):
- accepted administrative writes — scenes (`guatu.scenes.store`), channels
  (`guatu.channels.store`), evaluations and their answers (`guatu.society.evaluations`) — and
  refused inputs (`guatu.lifecycle.service.audit_rejection`, key NULL) write with
  `duplicates="raise"`: the statement has no ON CONFLICT clause, so a repeated key raises
  `asyncpg.UniqueViolationError` (an evaluation relies on it to see a concurrent submission;
  the scene and channel keys are random, a refusal's key is NULL, and NULL never conflicts);
- the workflows' activities (`activities.ranking.insert_audit` / `insert_notices`, used by the
  ranking, ladder, appeals, society and opportunities activities) write with
  `duplicates="skip"` (`ON CONFLICT (key) DO NOTHING`): a retried activity adds nothing;
- a lifecycle's projection (`guatu.lifecycle.projection`) writes its audit rows and notices
  inside its single batched statement, from a JSON recordset: `audit_from_recordset` /
  `notifications_from_recordset` give that statement's INSERT parts and `recordset` its rows.

Columns a row leaves at their defaults are written with the column's own default value
(`before`/`after` `{}`, `reason` '', `channel` 'workflow', `project` NULL), so a row stored
through here is the row the table would have made of a shorter INSERT.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any, Literal

import asyncpg
from pydantic_core import to_jsonable_python

from guatu.core.notice import Notice

Duplicates = Literal["raise", "skip"]
"""What a row whose `key` is already stored does: `raise` (`asyncpg.UniqueViolationError`, no
ON CONFLICT clause) or `skip` (`ON CONFLICT (key) DO NOTHING`)."""


@dataclass(frozen=True)
class _Table:
    name: str
    columns: tuple[tuple[str, str], ...]  # (column, PostgreSQL type), in INSERT order

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)


AUDIT_LOG = _Table(
    "audit_log",
    (
        ("key", "text"),
        ("at", "timestamptz"),
        ("actor", "text"),
        ("bureau", "text"),
        ("project", "text"),
        ("action", "text"),
        ("idempotency_key", "text"),
        ("accepted", "boolean"),
        ("before", "jsonb"),
        ("after", "jsonb"),
        ("reason", "text"),
        ("channel", "text"),
    ),
)

NOTIFICATIONS = _Table(
    "notifications",
    (
        ("key", "text"),
        ("bureau", "text"),
        ("project", "text"),
        ("kind", "text"),
        ("title_zh", "text"),
        ("body_zh", "text"),
        ("body_en", "text"),
        ("created_at", "timestamptz"),
        ("deadline", "date"),
    ),
)


@dataclass(frozen=True)
class AuditRow:
    """One `audit_log` row: an accepted or a refused input. `key` is unique when given (an
    accepted input's, e.g. `scene:<uuid>`, `evaluation:<id>:submitted`); a refusal has none.
    `channel` is the door (`api`, `cli`, …); `workflow`, the column's default, for rows the
    workflows' activities write."""

    at: datetime
    actor: str
    bureau: str
    action: str
    accepted: bool
    key: str | None = None
    project: str | None = None
    idempotency_key: str | None = None
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    channel: str = "workflow"


@dataclass(frozen=True)
class NotificationRow:
    """One `notifications` (outbox) row, as a notice is first stored: its delivery columns
    (`status`, `attempts`, …) keep their defaults and belong to delivery (`activities.notify`)."""

    key: str
    bureau: str
    project: str | None
    kind: str
    title_zh: str
    body_zh: str
    body_en: str
    created_at: datetime
    deadline: date | None

    @classmethod
    def of(cls, notice: Notice, *, blank_project_null: bool) -> NotificationRow:
        """The row of `notice`. `blank_project_null`: store a notice without a project (`""`,
        e.g. a ranking round's notice to a bureau) with project NULL, as the activities' outbox
        writer does; the lifecycle's projection stores `project` as the notice has it."""
        return cls(
            key=notice.key,
            bureau=notice.bureau,
            project=(notice.project or None) if blank_project_null else notice.project,
            kind=notice.kind,
            title_zh=notice.title_zh,
            body_zh=notice.body_zh,
            body_en=notice.body_en,
            created_at=notice.created_at,
            deadline=notice.deadline,
        )


def _on_conflict(duplicates: Duplicates) -> str:
    if duplicates == "skip":
        return " ON CONFLICT (key) DO NOTHING"
    if duplicates == "raise":
        return ""
    raise ValueError(f"duplicates must be 'raise' or 'skip', not {duplicates!r}")


def insert_sql(table: _Table, *, duplicates: Duplicates) -> str:
    """`INSERT INTO <table> (<columns>) VALUES ($1, …)`, one parameter per column in order."""
    params = ", ".join(f"${i}" for i in range(1, len(table.columns) + 1))
    return (
        f"INSERT INTO {table.name} ({', '.join(table.names)}) VALUES ({params})"
        f"{_on_conflict(duplicates)}"
    )


def recordset_insert_sql(table: _Table, source: str, *, duplicates: Duplicates) -> str:
    """`INSERT INTO <table> (<columns>) SELECT … FROM jsonb_to_recordset(<source>)`: every row
    of the JSON array `source` (a SQL expression, e.g. `$25::jsonb`; rows from `recordset`),
    for use inside a larger statement (a CTE)."""
    names = ", ".join(table.names)
    picked = ", ".join(f"r.{name}" for name in table.names)
    typed = ", ".join(f"{name} {kind}" for name, kind in table.columns)
    return (
        f"INSERT INTO {table.name} ({names}) SELECT {picked}"
        f" FROM jsonb_to_recordset({source}) AS r({typed}){_on_conflict(duplicates)}"
    )


def audit_from_recordset(source: str, *, duplicates: Duplicates) -> str:
    """The INSERT of `AuditRow`s given as the JSON recordset `source` (see `recordset`)."""
    return recordset_insert_sql(AUDIT_LOG, source, duplicates=duplicates)


def notifications_from_recordset(source: str, *, duplicates: Duplicates) -> str:
    """The INSERT of `NotificationRow`s given as the JSON recordset `source` (see `recordset`)."""
    return recordset_insert_sql(NOTIFICATIONS, source, duplicates=duplicates)


def _values(table: _Table, row: AuditRow | NotificationRow) -> tuple[Any, ...]:
    """The row's values in the table's column order (the `$n` of `insert_sql`)."""
    return tuple(getattr(row, name) for name in table.names)


def recordset(rows: Sequence[AuditRow] | Sequence[NotificationRow]) -> list[dict[str, Any]]:
    """`rows` as the JSON array a `*_from_recordset` INSERT reads (timestamps and dates as ISO
    text, as pydantic's JSON mode writes them)."""
    return [{f.name: to_jsonable_python(getattr(row, f.name)) for f in fields(row)} for row in rows]


async def _write(
    conn: asyncpg.Connection,
    table: _Table,
    rows: Sequence[AuditRow] | Sequence[NotificationRow],
    duplicates: Duplicates,
) -> None:
    if not rows:
        return
    sql = insert_sql(table, duplicates=duplicates)
    if len(rows) == 1:
        await conn.execute(sql, *_values(table, rows[0]))
    else:
        await conn.executemany(sql, [_values(table, row) for row in rows])


async def write_audit(
    conn: asyncpg.Connection, rows: Sequence[AuditRow], *, duplicates: Duplicates
) -> None:
    """Store `rows` in `audit_log`, on `conn` (inside the caller's transaction if it has one).
    `duplicates`: what a row whose key is already stored does (module docstring)."""
    await _write(conn, AUDIT_LOG, rows, duplicates)


async def audit_accepted(
    conn: asyncpg.Connection,
    kind: str,
    actor: str,
    bureau: str,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
    door: str,
) -> None:
    """Audit one accepted write of reference data (a scene, a bureau's channel), on `conn`:
    keyed `<kind>:<uuid>`, at the current time, `before` and `after` as given, `door` the
    channel (`api`, `cli`, `import`). A key already stored raises (it cannot be: a new uuid)."""
    row = AuditRow(
        key=f"{kind}:{uuid.uuid4().hex}",
        at=datetime.now(UTC),
        actor=actor,
        bureau=bureau,
        action=action,
        accepted=True,
        before=before,
        after=after,
        channel=door,
    )
    await write_audit(conn, [row], duplicates="raise")


async def write_notifications(
    conn: asyncpg.Connection, rows: Sequence[NotificationRow], *, duplicates: Duplicates
) -> None:
    """Store `rows` in `notifications` (the outbox delivery reads), on `conn`.
    `duplicates`: what a row whose key is already stored does (module docstring)."""
    await _write(conn, NOTIFICATIONS, rows, duplicates)


__all__ = [
    "AUDIT_LOG",
    "NOTIFICATIONS",
    "AuditRow",
    "Duplicates",
    "NotificationRow",
    "audit_accepted",
    "audit_from_recordset",
    "insert_sql",
    "notifications_from_recordset",
    "recordset",
    "recordset_insert_sql",
    "write_audit",
    "write_notifications",
]
