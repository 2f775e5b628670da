"""Writing a lifecycle's changes into the PostgreSQL read model: the one writer every path uses.

Two paths write a `ProjectionBatch`, and both call `write_batch`:
- the door that sent an Update (API, CLI, simulation, through `guatu.lifecycle.service`) writes
  the batch the Update returned, right after the Update was recorded (write-through);
- the workflow's projection activity (`activities/read_model.py`) writes what the lifecycle owns
  itself — its start, deadline-driven changes, notices — together with every Update's rows it
  has not projected yet (a door that died between the Update and its write).

One transaction per batch. The snapshot is guarded by version (an older snapshot never replaces a
newer one, whichever path arrives last) and every child row has a deterministic key, so writing a
batch twice, or two overlapping batches, changes nothing.
"""

from __future__ import annotations

from datetime import date

import asyncpg

from guatu.core import metrics
from guatu.lifecycle.models import ProjectionBatch

_UPSERT_PROJECT = """
INSERT INTO projects (code, name_zh, program, bureau, kind, stage, status, light, explanations,
    total_investment_wan, planned_investment_to_date_wan, actual_investment_wan,
    physical_progress_pct, milestones, open_issues, last_report_month, red_months, plan,
    business_today, version, runs, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
    $20, $21, now())
ON CONFLICT (code) DO UPDATE SET
    name_zh = excluded.name_zh, program = excluded.program, bureau = excluded.bureau,
    kind = excluded.kind, stage = excluded.stage, status = excluded.status,
    light = excluded.light, explanations = excluded.explanations,
    total_investment_wan = excluded.total_investment_wan,
    planned_investment_to_date_wan = excluded.planned_investment_to_date_wan,
    actual_investment_wan = excluded.actual_investment_wan,
    physical_progress_pct = excluded.physical_progress_pct, milestones = excluded.milestones,
    open_issues = excluded.open_issues, last_report_month = excluded.last_report_month,
    red_months = excluded.red_months, plan = excluded.plan,
    business_today = excluded.business_today, version = excluded.version,
    runs = excluded.runs, updated_at = now()
WHERE projects.version < excluded.version
"""

# The newest change of an issue wins whatever the order rows arrive in; a title, once known,
# is kept unless a newer raise brings another.
_UPSERT_ISSUE = """
INSERT INTO project_issues (project, id, title, raised_month, resolved_month, version)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (project, id) DO UPDATE SET
    title = CASE WHEN excluded.title <> ''
                  AND (project_issues.title = '' OR excluded.version > project_issues.version)
             THEN excluded.title ELSE project_issues.title END,
    raised_month = CASE WHEN excluded.version > project_issues.version
             THEN excluded.raised_month ELSE project_issues.raised_month END,
    resolved_month = CASE WHEN excluded.version > project_issues.version
             THEN excluded.resolved_month ELSE project_issues.resolved_month END,
    version = GREATEST(project_issues.version, excluded.version)
"""


async def write_batch(pool: asyncpg.Pool, batch: ProjectionBatch) -> None:
    """Write `batch` in one transaction; writing it again (or an older one) changes nothing."""
    async with pool.acquire() as conn, conn.transaction():
        await write_batch_on(conn, batch)
    metrics.projection_committed()


async def write_batch_on(conn: asyncpg.Connection, batch: ProjectionBatch) -> None:
    """`write_batch` on a connection whose transaction the caller holds."""
    snap = batch.snapshot
    code = snap["code"]
    await conn.execute(
        _UPSERT_PROJECT,
        code,
        snap["name_zh"],
        snap["program"],
        snap["bureau"],
        snap["kind"],
        snap["stage"],
        snap["status"],
        snap["light"],
        snap["explanations"],
        snap["total_investment_wan"],
        snap["planned_investment_to_date_wan"],
        snap["actual_investment_wan"],
        snap["physical_progress_pct"],
        snap["milestones"],
        snap["open_issues"],
        snap["last_report_month"],
        snap["red_months"],
        snap["plan"],
        date.fromisoformat(snap["business_today"]),
        snap["version"],
        snap["runs"],
    )
    if batch.stage_changes:
        await conn.executemany(
            "INSERT INTO stage_history (key, project, step, stage, on_date, planned,"
            " recorded_at, actor, bureau, note) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)"
            " ON CONFLICT (key) DO NOTHING",
            [
                (
                    f"{code}:{c.stage.value}:{c.step.value if c.step else '-'}:"
                    f"{c.recorded_at.isoformat()}",
                    code,
                    c.step.value if c.step else None,
                    c.stage.value,
                    c.on,
                    c.planned,
                    c.recorded_at,
                    c.actor,
                    c.bureau,
                    c.note,
                )
                for c in batch.stage_changes
            ],
        )
    if batch.reports:
        await conn.executemany(
            "INSERT INTO progress_reports (project, month, corrected, investment_wan,"
            " cumulative_investment_wan, physical_progress_pct, narrative, received_at,"
            " on_time, actor) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)"
            " ON CONFLICT DO NOTHING",
            [
                (
                    code,
                    r.month,
                    r.corrected,
                    r.investment_wan,
                    r.cumulative_investment_wan,
                    r.physical_progress_pct,
                    r.narrative,
                    r.received_at,
                    r.on_time,
                    r.actor,
                )
                for r in batch.reports
            ],
        )
    if batch.light_changes:
        await conn.executemany(
            "INSERT INTO light_history (key, project, at, light, previous, explanations)"
            " VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (key) DO NOTHING",
            [
                (
                    f"{code}:{lc.at.isoformat()}:{lc.light.value}",
                    code,
                    lc.at,
                    lc.light.value,
                    lc.previous.value,
                    [e.model_dump(mode="json") for e in lc.explanations],
                )
                for lc in batch.light_changes
            ],
        )
    if batch.audit:
        await conn.executemany(
            "INSERT INTO audit_log (key, at, actor, bureau, project, action,"
            " idempotency_key, accepted, before, after, reason)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) ON CONFLICT (key) DO NOTHING",
            [
                (
                    a.key,
                    a.at,
                    a.actor,
                    a.bureau,
                    code,
                    a.action,
                    a.idempotency_key,
                    a.accepted,
                    a.before,
                    a.after,
                    a.reason,
                )
                for a in batch.audit
            ],
        )
    if batch.issues:
        await conn.executemany(
            _UPSERT_ISSUE,
            [
                (code, i.id, i.title, i.raised_month, i.resolved_month, i.version)
                for i in batch.issues
            ],
        )
    if batch.notices:
        await conn.executemany(
            "INSERT INTO notifications (key, bureau, project, kind, title_zh, body_zh,"
            " body_en, created_at, deadline) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)"
            " ON CONFLICT (key) DO NOTHING",
            [
                (
                    n.key,
                    n.bureau,
                    n.project,
                    n.kind,
                    n.title_zh,
                    n.body_zh,
                    n.body_en,
                    n.created_at,
                    n.deadline,
                )
                for n in batch.notices
            ],
        )
