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
from typing import Any

import asyncpg

from guatu.core import metrics
from guatu.core.records import (
    AuditRow,
    NotificationRow,
    audit_from_recordset,
    notifications_from_recordset,
    recordset,
)
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


_WRITE = f"""
WITH project AS ({_UPSERT_PROJECT.strip()} RETURNING 1),
stages AS (
    INSERT INTO stage_history (key, project, step, stage, on_date, planned, recorded_at, actor,
        bureau, note)
    SELECT r.key, $1, r.step, r.stage, r.on_date, r.planned, r.recorded_at, r.actor, r.bureau,
        r.note
    FROM jsonb_to_recordset($22::jsonb) AS r(key text, step text, stage text, on_date date,
        planned date, recorded_at timestamptz, actor text, bureau text, note text)
    ON CONFLICT (key) DO NOTHING RETURNING 1),
reports AS (
    INSERT INTO progress_reports (project, month, corrected, investment_wan,
        cumulative_investment_wan, physical_progress_pct, narrative, received_at, on_time, actor)
    SELECT $1, r.month, r.corrected, r.investment_wan, r.cumulative_investment_wan,
        r.physical_progress_pct, r.narrative, r.received_at, r.on_time, r.actor
    FROM jsonb_to_recordset($23::jsonb) AS r(month text, corrected int,
        investment_wan double precision, cumulative_investment_wan double precision,
        physical_progress_pct double precision, narrative text, received_at timestamptz,
        on_time boolean, actor text)
    ON CONFLICT DO NOTHING RETURNING 1),
lights AS (
    INSERT INTO light_history (key, project, at, light, previous, explanations)
    SELECT r.key, $1, r.at, r.light, r.previous, r.explanations
    FROM jsonb_to_recordset($24::jsonb) AS r(key text, at timestamptz, light text, previous text,
        explanations jsonb)
    ON CONFLICT (key) DO NOTHING RETURNING 1),
audit AS ({audit_from_recordset("$25::jsonb", duplicates="skip")} RETURNING 1),
notices AS ({notifications_from_recordset("$26::jsonb", duplicates="skip")} RETURNING 1),
issues AS (
    {
    _UPSERT_ISSUE.strip().replace(
        "VALUES ($1, $2, $3, $4, $5, $6)",
        '''SELECT $1, r.id, r.title,
        r.raised_month, r.resolved_month, r.version
    FROM jsonb_to_recordset($27::jsonb) AS r(id text, title text, raised_month text,
        resolved_month text, version int)''',
    )
} RETURNING 1)
SELECT 1
"""


async def write_batch(
    pool: asyncpg.Pool, batch: ProjectionBatch, *, since: float | None = None
) -> None:
    """Write `batch` atomically, in one statement (one round trip: the doors write on the
    request's path); writing it again, or an older batch, changes nothing. `since`: when the
    door sent the Update (`time.monotonic()`), for the read model's lag."""
    await pool.execute(_WRITE, *_arguments(batch))
    metrics.projection_committed(since)


def _arguments(batch: ProjectionBatch) -> list[Any]:
    snap = batch.snapshot
    code = snap["code"]
    # One row per issue: a statement's upsert may touch a row once; the rows are in the order
    # the lifecycle made them, so the last is the issue's newest state (its title kept).
    issues: dict[str, dict[str, Any]] = {}
    for i in batch.issues:
        row = i.model_dump(mode="json")
        if not row["title"] and i.id in issues:
            row["title"] = issues[i.id]["title"]
        issues[i.id] = row
    return [
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
        [
            {
                **c.model_dump(mode="json"),
                "key": f"{code}:{c.stage.value}:{c.step.value if c.step else '-'}:"
                f"{c.recorded_at.isoformat()}",
                "on_date": c.on.isoformat(),
            }
            for c in batch.stage_changes
        ],
        [r.model_dump(mode="json") for r in batch.reports],
        [
            {
                **lc.model_dump(mode="json"),
                "key": f"{code}:{lc.at.isoformat()}:{lc.light.value}",
            }
            for lc in batch.light_changes
        ],
        recordset([AuditRow(**a.model_dump(), project=code) for a in batch.audit]),
        recordset([NotificationRow.of(n, blank_project_null=False) for n in batch.notices]),
        list(issues.values()),
    ]
