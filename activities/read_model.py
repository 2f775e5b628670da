"""Projection of lifecycle changes into the PostgreSQL read model (idempotent by key)."""

from __future__ import annotations

from datetime import date

import asyncpg
from temporalio import activity

from guatu.core import metrics
from guatu.core.constants import ACTIVITY_PROJECT
from guatu.lifecycle.models import Bureau, Program, ProjectionBatch

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


class ReadModelActivities:
    """Writes one ProjectionBatch in one transaction; replaying a batch changes nothing."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @activity.defn(name=ACTIVITY_PROJECT)
    async def apply_projection(self, batch: ProjectionBatch) -> None:
        snap = batch.snapshot
        code = snap["code"]
        async with self.pool.acquire() as conn, conn.transaction():
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
        metrics.projection_committed()


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
