"""Builders of plans, reports and states for the rule tests: fixed dates, no clock, no server."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from guatu.lifecycle.models import (
    CurveShape,
    MilestonePlan,
    ProjectKind,
    ProjectPlan,
    ProjectState,
    ReportRecord,
    Step,
)


def plan(
    *,
    start: date = date(2030, 1, 1),
    finish: date = date(2031, 1, 1),
    total: float = 1200.0,
    yearly: dict[int, float] | None = None,
    milestones: dict[Step, date] | None = None,
    kind: ProjectKind = ProjectKind.ENGINEERING,
    curve: CurveShape = CurveShape.LINEAR,
) -> ProjectPlan:
    return ProjectPlan(
        code="LR-001",
        name_zh="规则测试项目",
        program="P06",
        bureau="fgj",
        kind=kind,
        total_investment_wan=total,
        yearly_investment_wan=yearly or {},
        start=start,
        finish=finish,
        milestones=[MilestonePlan(step=s, planned=d) for s, d in (milestones or {}).items()],
        curve=curve,
    )


def report(month: str, wan: float, pct: float = 10.0) -> ReportRecord:
    return ReportRecord(
        month=month,
        investment_wan=wan,
        cumulative_investment_wan=0.0,
        physical_progress_pct=pct,
        received_at=datetime(2030, 1, 1, tzinfo=UTC),
        on_time=True,
    )


def reports(**by_month: float) -> dict[str, ReportRecord]:
    """`reports(m2030_03=100)` → {"2030-03": report("2030-03", 100)}."""
    out: dict[str, ReportRecord] = {}
    for name, wan in by_month.items():
        key = f"{name[1:5]}-{name[6:8]}"
        out[key] = report(key, wan)
    return out


def state(the_plan: ProjectPlan | None = None, **fields: Any) -> ProjectState:
    return ProjectState(plan=the_plan or plan(), **fields)
