"""Freezing a period's inputs from the read model, and storing frozen snapshots.

One file: freezing and storing are one contract (what is read at close is exactly what is hashed,
stored and reused), so the reader and the store stay side by side.

At period close the inputs of every project in scope are read from the read model and frozen:
- the plan (`projects.plan`) gives planned-to-date on the 序时 curve at close
  (`guatu.lifecycle.rules.progress.planned_to_date_wan`), year-to-date plan and the milestones;
- `progress_reports`: for each month the highest `corrected` version wins; its amount and its
  `on_time` flag;
- `stage_history`: the first date each step was reached (only dates before close count);
- `projects.red_months`: the months the project's light was red, up to the period's end (as the
  lifecycle last revised them: late reports and transitions re-check past months);
- the year's plan (`year_plan_wan`) and its plan-to-date at close on 时间进度
  (`year_plan_to_date_wan`), for the `year_plan` basis;
- 市民观察 ratings and reply timeliness and the 第三方评估 score (`society`,
  `guatu.ranking.society_inputs`), for the rule sets that score them.
In scope: projects not cancelled whose plan starts before the period closes.

The snapshot is stored once per period as canonical JSON with its SHA-256; a later round of
the same period (any rule set) reuses it, which is what makes a re-run byte-identical.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
from pydantic import BaseModel

from guatu.core.clock import month_key, months_between, parse_month
from guatu.lifecycle.models import CurveShape, ProjectPlan
from guatu.lifecycle.rules.progress import planned_to_date_wan, year_plan_to_date_wan, year_plan_wan
from guatu.ranking.canonical import paused_gc
from guatu.ranking.models import (
    MilestoneInput,
    ProjectInput,
    ReportInput,
    Snapshot,
    SocietyInput,
    trusted,
)
from guatu.ranking.periods import Period, parse_period
from guatu.ranking.rulesets import canonical_json, sha256
from guatu.ranking.society_inputs import read_society_inputs

M = TypeVar("M", bound=BaseModel)
DELIVERED_STEPS = ("completed", "done", "accepted", "evaluated", "closed")


def _plan(value: Any) -> ProjectPlan:
    if isinstance(value, str | bytes):
        return ProjectPlan.model_validate_json(value)
    return ProjectPlan.model_validate(value)


def _json_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [] if value == "[]" else list(json.loads(value))
    return list(value or [])


def project_input(
    row: Mapping[str, Any],
    reports: Mapping[str, tuple[float, bool]],
    steps: Mapping[str, date],
    period: Period,
    society: SocietyInput | None = None,
) -> ProjectInput | None:
    """Pure: one project's frozen inputs, or None when it is out of scope for the period.

    `reports` maps month → (investment_wan, on_time) of the winning version of each month;
    `steps` maps step → the first date it was reached. `row["plan"]` is the plan as a dict or
    as JSON text. The plan is validated; the inputs built from it are constructed without a
    second validation, every float field coerced with `float()` exactly as validation would.
    """
    plan = _plan(row["plan"])
    if row["status"] == "cancelled" or plan.start >= period.close:
        return None
    last = period.last_month
    year_start = date(int(last[:4]), 1, 1)
    year_key = month_key(year_start)
    to_date = planned_to_date_wan(plan, period.close)
    before_year = planned_to_date_wan(plan, year_start)
    monthly = {m: float(v[0]) for m, v in sorted(reports.items()) if m <= last}
    reached = {s: d for s, d in steps.items() if d < period.close}
    delivered = min((d for s, d in reached.items() if s in DELIVERED_STEPS), default=None)
    expected = (
        [
            m
            for m in months_between(plan.start, parse_month(last))
            if delivered is None or parse_month(m) < delivered
        ]
        if month_key(plan.start) <= last
        else []
    )
    return trusted(
        ProjectInput,
        {
            "code": str(row["code"]),
            "name_zh": str(row["name_zh"]),
            "program": str(row["program"]),
            "bureau": str(row["bureau"]),
            "kind": str(row["kind"]),
            "stage": str(row["stage"]),
            "status": str(row["status"]),
            "start": plan.start,
            "finish": plan.finish,
            "total_investment_wan": float(round(plan.total_investment_wan, 2)),
            "planned_to_date_wan": float(round(to_date, 2)),
            "planned_ytd_wan": float(round(to_date - before_year, 2)),
            "actual_cumulative_wan": float(round(sum(monthly.values()), 2)),
            "actual_ytd_wan": float(round(sum(v for m, v in monthly.items() if m >= year_key), 2)),
            "monthly_investment_wan": monthly,
            "milestones": [
                trusted(
                    MilestoneInput,
                    {
                        "step": m.step.value,
                        "planned": m.planned,
                        "actual": reached.get(m.step.value),
                    },
                )
                for m in plan.milestones
            ],
            "reports": [
                trusted(
                    ReportInput,
                    {
                        "month": m,
                        "received": m in reports,
                        "on_time": bool(reports[m][1]) if m in reports else False,
                    },
                )
                for m in expected
            ],
            "red_months": sorted(str(m) for m in _json_list(row["red_months"]) if m <= last),
            "year_plan_wan": float(round(year_plan_wan(plan, year_start.year), 2)),
            "year_plan_to_date_wan": float(round(year_plan_to_date_wan(plan, last), 2)),
            "society": society,
        },
    )


_FREEZE_SQL = """
WITH winning AS (
    SELECT DISTINCT ON (project, month) project, month, investment_wan, on_time
    FROM progress_reports WHERE month <= $1
    ORDER BY project, month, corrected DESC
), reports AS (
    SELECT project, array_agg(month ORDER BY month COLLATE "C") AS months,
        array_agg(investment_wan ORDER BY month COLLATE "C") AS amounts,
        array_agg(on_time ORDER BY month COLLATE "C") AS on_time
    FROM winning GROUP BY project
), reached AS (
    SELECT project, step, min(on_date) AS on_date FROM stage_history
    WHERE step IS NOT NULL AND on_date < $2 GROUP BY project, step
), steps AS (
    SELECT project, array_agg(step ORDER BY step) AS steps,
        array_agg(on_date ORDER BY step) AS dates
    FROM reached GROUP BY project
)
SELECT p.code, p.name_zh, p.program, p.bureau, p.kind, p.stage, p.status,
    (p.plan->>'start')::date AS start, (p.plan->>'finish')::date AS finish,
    (p.plan->>'total_investment_wan')::float8 AS total,
    coalesce(p.plan->>'curve', 'linear') AS curve,
    ARRAY(SELECT y.key::int FROM jsonb_each_text(coalesce(p.plan->'yearly_investment_wan',
        '{}'::jsonb)) AS y) AS years,
    ARRAY(SELECT y.value::float8 FROM jsonb_each_text(coalesce(p.plan->'yearly_investment_wan',
        '{}'::jsonb)) AS y) AS amounts_by_year,
    ARRAY(SELECT m.e->>'step' FROM jsonb_array_elements(coalesce(p.plan->'milestones',
        '[]'::jsonb)) WITH ORDINALITY AS m (e, i) ORDER BY m.i) AS milestone_steps,
    ARRAY(SELECT (m.e->>'planned')::date FROM jsonb_array_elements(coalesce(p.plan->'milestones',
        '[]'::jsonb)) WITH ORDINALITY AS m (e, i) ORDER BY m.i) AS milestone_dates,
    ARRAY(SELECT m FROM jsonb_array_elements_text(coalesce(p.red_months, '[]'::jsonb)) AS m
        WHERE m <= $1 ORDER BY m COLLATE "C") AS red_months,
    r.months, r.amounts, r.on_time, s.steps, s.dates
FROM projects p
LEFT JOIN reports r ON r.project = p.code
LEFT JOIN steps s ON s.project = p.code
WHERE p.status <> 'cancelled' AND (p.plan->>'start')::date < $2
ORDER BY p.code
"""


class _Curve:
    """The fields of a plan its 序时 curve reads (`guatu.lifecycle.rules.progress`), taken
    from the stored plan's JSON by `read_snapshot` instead of validating a whole `ProjectPlan`."""

    __slots__ = ("curve", "finish", "start", "total_investment_wan", "yearly_investment_wan")

    def __init__(
        self, start: date, finish: date, total: float, curve: str, yearly: dict[int, float]
    ) -> None:
        self.start = start
        self.finish = finish
        self.total_investment_wan = total
        self.curve = CurveShape(curve)
        self.yearly_investment_wan = yearly


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _month_of(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _year_elapsed_share(plan: _Curve, month: date) -> float:
    """`progress.year_elapsed_share` in month arithmetic: span months of the year through
    `month` ÷ span months (the same integers, so the very same float)."""
    year = month.year
    last_day = max(plan.finish - timedelta(days=1), plan.start)
    first = _month_index(max(plan.start, date(year, 1, 1)))
    last = _month_index(min(last_day, date(year, 12, 31)))
    if last < first:
        return month.month / 12
    return max(0, min(last, _month_index(month)) - first + 1) / (last - first + 1)


def _builder(cls: type[M]) -> Callable[[dict[str, Any]], M]:
    """`models.trusted(cls, values)` without its per-call check of the field names: for the
    million inputs of a 100,000-project freeze, whose keys are written out in `_frozen_input`
    (tests/ranking/test_freeze.py compares the result with the validated reading)."""
    setattr_ = object.__setattr__

    def build(values: dict[str, Any]) -> M:
        m = cls.__new__(cls)
        setattr_(m, "__dict__", values)
        setattr_(m, "__pydantic_fields_set__", set(values))
        setattr_(m, "__pydantic_extra__", None)
        setattr_(m, "__pydantic_private__", None)
        return m

    return build


_new_project = _builder(ProjectInput)
_new_milestone = _builder(MilestoneInput)
_new_report = _builder(ReportInput)


def _frozen_input(
    row: Mapping[str, Any], period: Period, society: SocietyInput | None
) -> ProjectInput:
    """One project's frozen inputs from a row of `_FREEZE_SQL` (in scope by its WHERE) and its
    society inputs (`read_society_inputs`); the same values `project_input` builds from a
    validated plan."""
    yearly = dict(zip(row["years"], row["amounts_by_year"], strict=True))
    plan = _Curve(row["start"], row["finish"], float(row["total"]), row["curve"], yearly)
    last = period.last_month
    last_day = parse_month(last)
    year_start = date(last_day.year, 1, 1)
    year_key = month_key(year_start)
    to_date = planned_to_date_wan(plan, period.close)  # type: ignore[arg-type]
    before_year = planned_to_date_wan(plan, year_start)  # type: ignore[arg-type]
    months: list[str] = row["months"] or []
    monthly = dict(zip(months, [float(v) for v in row["amounts"] or []], strict=True))
    on_time = dict(zip(months, row["on_time"] or [], strict=True))
    reached = dict(zip(row["steps"] or [], row["dates"] or [], strict=True))
    delivered = min((d for s, d in reached.items() if s in DELIVERED_STEPS), default=None)
    first = _month_index(plan.start)
    end = _month_index(last_day)
    if delivered is not None:
        end = min(end, _month_index(delivered) - (1 if delivered.day == 1 else 0))
    year_plan = float(year_plan_wan(plan, year_start.year))  # type: ignore[arg-type]
    return _new_project(
        {
            "code": str(row["code"]),
            "name_zh": str(row["name_zh"]),
            "program": str(row["program"]),
            "bureau": str(row["bureau"]),
            "kind": str(row["kind"]),
            "stage": str(row["stage"]),
            "status": str(row["status"]),
            "start": plan.start,
            "finish": plan.finish,
            "total_investment_wan": float(round(plan.total_investment_wan, 2)),
            "planned_to_date_wan": float(round(to_date, 2)),
            "planned_ytd_wan": float(round(to_date - before_year, 2)),
            "actual_cumulative_wan": float(round(sum(monthly.values()), 2)),
            "actual_ytd_wan": float(round(sum(v for m, v in monthly.items() if m >= year_key), 2)),
            "monthly_investment_wan": monthly,
            "milestones": [
                _new_milestone({"step": step, "planned": planned, "actual": reached.get(step)})
                for step, planned in zip(
                    row["milestone_steps"], row["milestone_dates"], strict=True
                )
            ],
            "reports": [
                _new_report(
                    {
                        "month": m,
                        "received": m in on_time,
                        "on_time": bool(on_time[m]) if m in on_time else False,
                    }
                )
                for m in map(_month_of, range(first, end + 1))
            ],
            "red_months": list(row["red_months"]),
            "year_plan_wan": float(round(year_plan, 2)),
            "year_plan_to_date_wan": float(
                round(year_plan * _year_elapsed_share(plan, last_day), 2)
            ),
            "society": society,
        },
    )


async def _snapshot(
    conn: asyncpg.Connection, period: Period, frozen_at: datetime, projects: list[ProjectInput]
) -> Snapshot:
    """The snapshot both readers end with: the projects read, with the names of the bureaus and
    programs they use (sorted by code; the others left out)."""
    bureaus = {
        r["code"]: r["name_zh"] for r in await conn.fetch("SELECT code, name_zh FROM bureaus")
    }
    programs = {
        r["code"]: r["name_zh"] for r in await conn.fetch("SELECT code, name_zh FROM programs")
    }
    used_b = {p.bureau for p in projects}
    used_p = {p.program for p in projects}
    return Snapshot(
        period=period.key,
        kind=period.kind.value,
        close=period.close,
        months=period.months,
        frozen_at=frozen_at,
        bureaus={k: v for k, v in sorted(bureaus.items()) if k in used_b},
        programs={k: v for k, v in sorted(programs.items()) if k in used_p},
        projects=projects,
    )


async def read_snapshot(conn: asyncpg.Connection, period_key: str, frozen_at: datetime) -> Snapshot:
    """Read the inputs of every project in scope from the read model, as of now.

    Set-wise: PostgreSQL selects the projects in scope, picks each month's winning report,
    each step's first date before close and the red months through the period, and hands over
    only the plan fields the 序时 curve needs; Python computes the curve values per project.
    """
    period = parse_period(period_key)
    rows = await conn.fetch(_FREEZE_SQL, period.last_month, period.close)
    society = await read_society_inputs(conn, period, ((r["code"], r["program"]) for r in rows))
    with paused_gc():
        projects = [_frozen_input(row, period, society.get(row["code"])) for row in rows]
    return await _snapshot(conn, period, frozen_at, projects)


async def read_snapshot_by_plan(
    conn: asyncpg.Connection, period_key: str, frozen_at: datetime
) -> Snapshot:
    """The reference reading: every plan validated and every input built one by one in
    Python. `read_snapshot` must give the very same snapshot (tests/ranking compare them)."""
    period = parse_period(period_key)
    rows = await conn.fetch(
        "SELECT code, name_zh, program, bureau, kind, stage, status, plan::text AS plan,"
        " red_months::text AS red_months"
        " FROM projects ORDER BY code"
    )
    reports: dict[str, dict[str, tuple[float, bool]]] = {}
    for r in await conn.fetch(
        "SELECT DISTINCT ON (project, month) project, month, investment_wan, on_time"
        " FROM progress_reports WHERE month <= $1"
        " ORDER BY project, month, corrected DESC",
        period.last_month,
    ):
        reports.setdefault(r["project"], {})[r["month"]] = (r["investment_wan"], r["on_time"])
    steps: dict[str, dict[str, date]] = {}
    for r in await conn.fetch(
        "SELECT project, step, min(on_date) AS on_date FROM stage_history"
        " WHERE step IS NOT NULL GROUP BY project, step"
    ):
        steps.setdefault(r["project"], {})[r["step"]] = r["on_date"]
    society = await read_society_inputs(conn, period, ((r["code"], r["program"]) for r in rows))
    with paused_gc():
        projects = [
            p
            for row in rows
            if (
                p := project_input(
                    row,
                    reports.get(row["code"], {}),
                    steps.get(row["code"], {}),
                    period,
                    society.get(row["code"]),
                )
            )
            is not None
        ]
    return await _snapshot(conn, period, frozen_at, projects)


def snapshot_text(snapshot: Snapshot) -> str:
    with paused_gc():
        return canonical_json(snapshot.model_dump(mode="json"))


async def store_snapshot(conn: asyncpg.Connection, snapshot: Snapshot) -> tuple[str, bool]:
    """Store a snapshot unless the period is frozen already. Returns (sha256, reused)."""
    text = snapshot_text(snapshot)
    digest = sha256(text)
    inserted = await conn.fetchval(
        "INSERT INTO ranking_snapshots (period, kind, close_date, frozen_at, projects, body, sha256)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (period) DO NOTHING RETURNING sha256",
        snapshot.period,
        snapshot.kind,
        snapshot.close,
        snapshot.frozen_at,
        len(snapshot.projects),
        text,
        digest,
    )
    if inserted is not None:
        return digest, False
    stored = await conn.fetchval(
        "SELECT sha256 FROM ranking_snapshots WHERE period = $1", snapshot.period
    )
    return str(stored), True


async def load_snapshot(
    conn: asyncpg.Connection, period: str, cached: Snapshot | None = None, cached_sha256: str = ""
) -> tuple[Snapshot, str] | None:
    """The frozen snapshot of a period and its SHA-256, or None if the period is not frozen.

    `cached` is a snapshot this process froze itself, whose canonical JSON had `cached_sha256`:
    it is used instead of parsing the stored body again when the stored digest is the same.
    """
    digest = await conn.fetchval("SELECT sha256 FROM ranking_snapshots WHERE period = $1", period)
    if digest is None:
        return None
    if cached is not None and cached.period == period and cached_sha256 == digest:
        return cached, digest
    body = await conn.fetchval("SELECT body FROM ranking_snapshots WHERE period = $1", period)
    with paused_gc():
        return Snapshot.model_validate_json(body), digest
