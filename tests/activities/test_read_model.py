"""The read model's projection is idempotent and never lets an older snapshot win."""

from __future__ import annotations

from datetime import UTC, date, datetime

import asyncpg

from activities.read_model import ReadModelActivities
from guatu.core import db
from guatu.lifecycle.models import (
    AuditEntry,
    Explanation,
    Light,
    LightChange,
    Notice,
    ProjectionBatch,
    ReportRecord,
    Stage,
    StageChange,
    Step,
)
from tests.helpers import make_plan

AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def batch(code: str, version: int, stage: str) -> ProjectionBatch:
    plan = make_plan(start=date(2026, 1, 1), bureau="sthjj", code=code)
    snapshot = {
        "code": code,
        "name_zh": "测试",
        "program": "P06",
        "bureau": "sthjj",
        "kind": "engineering",
        "stage": stage,
        "status": "active",
        "light": "yellow",
        "explanations": [],
        "total_investment_wan": 1200.0,
        "planned_investment_to_date_wan": 100.0,
        "actual_investment_wan": 80.0,
        "physical_progress_pct": 5.0,
        "milestones": [],
        "open_issues": 0,
        "last_report_month": "2026-02",
        "red_months": [],
        "plan": plan.model_dump(mode="json"),
        "business_today": "2026-03-01",
        "version": version,
        "runs": 1,
    }
    why = Explanation(rule="milestone.missed", light=Light.YELLOW)
    return ProjectionBatch(
        snapshot=snapshot,
        stage_changes=[
            StageChange(
                step=Step.PRELIMINARY,
                stage=Stage.PRELIMINARY,
                on=date(2026, 2, 1),
                recorded_at=AT,
                actor="a",
                bureau="sthjj",
            )
        ],
        reports=[
            ReportRecord(
                month="2026-02",
                investment_wan=80,
                cumulative_investment_wan=80,
                physical_progress_pct=5,
                received_at=AT,
                on_time=True,
            )
        ],
        light_changes=[
            LightChange(at=AT, light=Light.YELLOW, previous=Light.GREEN, explanations=[why])
        ],
        audit=[
            AuditEntry(
                key=f"{code}:k1",
                at=AT,
                actor="a",
                bureau="sthjj",
                action="report",
                idempotency_key="k1",
                accepted=True,
            )
        ],
        notices=[
            Notice(
                key=f"{code}:n1",
                bureau="sthjj",
                project=code,
                kind="milestone_missed",
                title_zh="t",
                body_zh="b",
                created_at=AT,
            )
        ],
    )


async def counts(pool: asyncpg.Pool, code: str) -> dict[str, int]:
    async with pool.acquire() as conn:
        return {
            table: int(await conn.fetchval(f"SELECT count(*) FROM {table} WHERE {col} = $1", code))
            for table, col in [
                ("projects", "code"),
                ("stage_history", "project"),
                ("progress_reports", "project"),
                ("light_history", "project"),
                ("audit_log", "project"),
                ("notifications", "project"),
            ]
        }


async def test_projection_twice_changes_nothing(pool: asyncpg.Pool) -> None:
    activities = ReadModelActivities(pool)
    code = "T-IDEMPOTENT-1"
    await activities.apply_projection(batch(code, 2, "preliminary"))
    first = await counts(pool, code)
    assert first == {
        "projects": 1,
        "stage_history": 1,
        "progress_reports": 1,
        "light_history": 1,
        "audit_log": 1,
        "notifications": 1,
    }
    await activities.apply_projection(batch(code, 2, "preliminary"))
    assert await counts(pool, code) == first


async def test_older_snapshot_never_wins(pool: asyncpg.Pool) -> None:
    activities = ReadModelActivities(pool)
    code = "T-VERSION-1"
    await activities.apply_projection(batch(code, 5, "under_construction"))
    await activities.apply_projection(batch(code, 4, "preliminary"))  # a late retry of v4
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT stage, version FROM projects WHERE code = $1", code)
    assert (row["stage"], row["version"]) == ("under_construction", 5)


async def test_migrations_apply_once(pool: asyncpg.Pool) -> None:
    assert await db.migrate(pool) == []
