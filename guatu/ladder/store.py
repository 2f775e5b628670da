"""A ladder's rows in PostgreSQL (asyncpg): what the persist activities write in one transaction,
and the state a ladder is restarted from (`stored_state`).

Every write is idempotent (keys, versions): a retried activity changes nothing. Tables:
`ladder_standing` (the state the standing reads; a bounded ladder's is merged change by change),
`ladder_decisions`, `ladder_orders`, `ranking_exemptions`, `ladder_inputs`, `ladder_seen`
(guatu/core/migrations/002_ranking.sql, 011_ladder_bounded.sql); audit rows and outbox notices
through the shared writers.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from guatu.ladder.ledger import CLOSED_ORDERS_KEPT, SEEN_KEPT
from guatu.ladder.models import (
    LadderChanges,
    LadderDecision,
    LadderState,
    PeriodInput,
    SupervisionOrder,
)
from guatu.ranking.models import Exemption


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def insert_decisions(conn: asyncpg.Connection, decisions: list[LadderDecision]) -> None:
    if not decisions:
        return
    await conn.executemany(
        "INSERT INTO ladder_decisions (key, bureau, period, ruleset_id, ruleset_version,"
        " track, kind, level_before, level_after, project, order_id, deadline, lines_zh,"
        " lines_en, inputs, decided_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,"
        "$13,$14,$15,$16) ON CONFLICT (key) DO NOTHING",
        [
            (
                d.key,
                d.bureau,
                d.period,
                d.ruleset_id,
                d.ruleset_version,
                d.track,
                d.kind.value,
                d.level_before,
                d.level_after,
                d.project,
                d.order_id,
                d.deadline,
                d.lines_zh,
                d.lines_en,
                d.inputs,
                d.decided_at,
            )
            for d in decisions
        ],
    )


async def upsert_orders(
    conn: asyncpg.Connection, orders: list[SupervisionOrder], version: int
) -> None:
    """Orders as of `version`. A plan once written stays: a bounded ladder carries finished
    orders over without their plan text."""
    if not orders:
        return
    await conn.executemany(
        "INSERT INTO ladder_orders (id, bureau, kind, project, project_name, period,"
        " ruleset_id, ruleset_version, track, issued_at, due, status, plan, plan_actor,"
        " submitted_at, plan_on_time, escalated_at, closed_at, decision_key, version)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20)"
        " ON CONFLICT (id) DO UPDATE SET status = excluded.status,"
        " plan = CASE WHEN excluded.plan = '' THEN ladder_orders.plan ELSE excluded.plan END,"
        " plan_actor = CASE WHEN excluded.plan = '' THEN ladder_orders.plan_actor"
        " ELSE excluded.plan_actor END,"
        " submitted_at = excluded.submitted_at,"
        " plan_on_time = excluded.plan_on_time, escalated_at = excluded.escalated_at,"
        " closed_at = excluded.closed_at, version = excluded.version"
        " WHERE ladder_orders.version <= excluded.version",
        [
            (
                o.id,
                o.bureau,
                o.kind.value,
                o.project,
                o.project_name,
                o.period,
                o.ruleset_id,
                o.ruleset_version,
                o.track,
                o.issued_at,
                o.due,
                o.status.value,
                o.plan,
                o.plan_actor,
                o.submitted_at,
                o.plan_on_time,
                o.escalated_at,
                o.closed_at,
                o.decision_key,
                version,
            )
            for o in orders
        ],
    )


async def insert_exemptions(conn: asyncpg.Connection, exemptions: list[Exemption]) -> None:
    if not exemptions:
        return
    await conn.executemany(
        "INSERT INTO ranking_exemptions (bureau, period, reason, actor, role,"
        " granted_at, key) VALUES ($1,$2,$3,$4,$5,$6,$7)"
        " ON CONFLICT (bureau, period) DO NOTHING",
        [(e.bureau, e.period, e.reason, e.actor, e.role, e.granted_at, e.key) for e in exemptions],
    )


async def write_standing(
    conn: asyncpg.Connection, bureau: str, state: dict[str, Any], version: int
) -> None:
    """The whole state as of `version` (a ladder before the bounded layout)."""
    await conn.execute(
        "INSERT INTO ladder_standing (bureau, state, version, updated_at)"
        " VALUES ($1, $2, $3, now()) ON CONFLICT (bureau) DO UPDATE SET"
        " state = excluded.state, version = excluded.version, updated_at = now()"
        " WHERE ladder_standing.version < excluded.version",
        bureau,
        state,
        version,
    )


async def _insert_inputs(conn: asyncpg.Connection, inputs: list[PeriodInput]) -> None:
    if not inputs:
        return
    await conn.executemany(
        "INSERT INTO ladder_inputs (key, bureau, period, ruleset_id, revision, outcome, ladder,"
        " recorded_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (key) DO NOTHING",
        [
            (
                i.key,
                i.bureau,
                i.period,
                i.ruleset_id,
                i.revision,
                i.outcome.model_dump(mode="json"),
                i.ladder.model_dump(mode="json"),
                i.recorded_at,
            )
            for i in inputs
        ],
    )


async def write_changes(conn: asyncpg.Connection, changes: LadderChanges) -> bool:
    """A bounded ladder's changes, merged into its standing (in the caller's transaction).
    False when the standing is already at this version or later (a retry): nothing is written
    then but the rows keyed by decision, order, input and answer, which are idempotent anyway."""
    await _insert_inputs(conn, changes.inputs)
    if changes.seen:
        await conn.executemany(
            "INSERT INTO ladder_seen (bureau, key, seq, result) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (bureau, key) DO NOTHING",
            [
                (changes.bureau, key, changes.version * 1000 + i, result)
                for i, (key, result) in enumerate(changes.seen.items())
            ],
        )
    row = await conn.fetchrow(
        "SELECT state, version FROM ladder_standing WHERE bureau = $1 FOR UPDATE", changes.bureau
    )
    if row is not None and row["version"] >= changes.version:
        return False
    old = _json(row["state"]) if row is not None and not changes.full else {}
    orders: dict[str, Any] = dict(old.get("orders") or {})
    for order in changes.orders:
        if order.status.finished:
            orders.pop(order.id, None)
        else:
            orders[order.id] = order.model_dump(mode="json")
    state = {
        **changes.head,
        "tracks": {
            **(old.get("tracks") or {}),
            **{k: t.model_dump(mode="json") for k, t in changes.tracks.items()},
        },
        "last_records": {
            **(old.get("last_records") or {}),
            **{k: r.model_dump(mode="json") for k, r in changes.last_records.items()},
        },
        "orders": orders,
        "exemptions": {
            **(old.get("exemptions") or {}),
            **{e.period: e.model_dump(mode="json") for e in changes.exemptions},
        },
    }
    await write_standing(conn, changes.bureau, state, changes.version)
    return True


async def stored_state(conn: asyncpg.Connection, bureau: str) -> LadderState | None:
    """The state a ladder restarts from when its workflow is not running, None if it never ran.

    A bounded ladder's is put back together: its standing, the finished orders it would have
    carried over (the latest, without their plan text), and the answers it remembers.
    """
    stored = _json(
        await conn.fetchval("SELECT state FROM ladder_standing WHERE bureau = $1", bureau)
    )
    if not stored:
        return None
    if not stored.get("bounded"):
        return LadderState.model_validate(stored)
    finished = await conn.fetch(
        "SELECT * FROM ladder_orders WHERE bureau = $1 AND status IN ('closed', 'withdrawn')"
        " ORDER BY issued_at DESC, id LIMIT $2",
        bureau,
        CLOSED_ORDERS_KEPT,
    )
    orders = dict(stored.get("orders") or {})
    for r in reversed(finished):
        order = {k: r[k] for k in SupervisionOrder.model_fields if k in r}
        orders[r["id"]] = {**order, "plan": "", "plan_actor": ""}
    seen = await conn.fetch(
        "SELECT key, result FROM ladder_seen WHERE bureau = $1 ORDER BY seq DESC LIMIT $2",
        bureau,
        SEEN_KEPT,
    )
    return LadderState.model_validate(
        {
            **stored,
            "orders": orders,
            "seen": {r["key"]: _json(r["result"]) for r in reversed(seen)},
        }
    )


__all__ = [
    "insert_decisions",
    "insert_exemptions",
    "stored_state",
    "upsert_orders",
    "write_changes",
    "write_standing",
]
