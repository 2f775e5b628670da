"""Reads of the PostgreSQL read model for the API, the CLI and the dashboard.

Everything here is a plain SQL read (or the one write of acknowledging a notice); nothing talks
to Temporal. Amounts are 万元 (10,000 yuan), as everywhere in Guatu.
"""

from __future__ import annotations

import copy
import importlib
from dataclasses import dataclass
from datetime import date, datetime
from types import ModuleType
from typing import Any

import asyncpg

from guatu.core.clock import CST
from guatu.lifecycle.models import ProjectKind, Stage, Step

# The programme's published total (《温江区幸福美好生活十大工程实施方案》): 828.11 亿元.
PUBLISHED_TOTAL_WAN = 8_281_100.0

# The step that counts as "started" (开工) and "completed" (竣工 / 完成) for each kind.
START_STEP = {
    ProjectKind.ENGINEERING: Step.CONSTRUCTION_STARTED,
    ProjectKind.SERVICE: Step.IMPLEMENTING,
}
FINISH_STEP = {ProjectKind.ENGINEERING: Step.COMPLETED, ProjectKind.SERVICE: Step.DONE}
STARTED_STAGES = {
    Stage.CONSTRUCTION_STARTED,
    Stage.UNDER_CONSTRUCTION,
    Stage.COMPLETED,
    Stage.ACCEPTED,
    Stage.IMPLEMENTING,
    Stage.DONE,
    Stage.EVALUATED,
}
FINISHED_STAGES = {Stage.COMPLETED, Stage.ACCEPTED, Stage.DONE, Stage.EVALUATED}


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    page: int
    page_size: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "total": self.total,
            "page": self.page,
            "page_size": self.page_size,
        }


_PROJECT_COLUMNS = """
    code, name_zh, plan->>'name_en' AS name_en, program, bureau, kind, stage, status, light,
    explanations, total_investment_wan, planned_investment_to_date_wan, actual_investment_wan,
    physical_progress_pct, milestones, open_issues, last_report_month, red_months,
    (plan->>'start')::date AS start, (plan->>'finish')::date AS finish,
    business_today, version, runs, updated_at
"""


def _where(filters: dict[str, str | None]) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    for column, value in filters.items():
        if value is not None:
            args.append(value)
            clauses.append(f"{column} = ${len(args)}")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


async def list_projects(
    pool: asyncpg.Pool,
    *,
    program: str | None = None,
    bureau: str | None = None,
    stage: str | None = None,
    light: str | None = None,
    status: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page:
    """Projects filtered by program / bureau / stage / light / status, by program then code."""
    where, args = _where(
        {"program": program, "bureau": bureau, "stage": stage, "light": light, "status": status}
    )
    async with pool.acquire() as conn:
        total = await conn.fetchval(f"SELECT count(*) FROM projects{where}", *args)
        rows = await conn.fetch(
            f"SELECT {_PROJECT_COLUMNS} FROM projects{where} ORDER BY program, code"
            f" LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
            *args,
            page_size,
            (page - 1) * page_size,
        )
    return Page([dict(r) for r in rows], int(total), page, page_size)


async def project_bureau(pool: asyncpg.Pool, code: str) -> str | None:
    """The bureau responsible for a project, from the read model (None if not projected yet)."""
    async with pool.acquire() as conn:
        value = await conn.fetchval("SELECT bureau FROM projects WHERE code = $1", code)
    return str(value) if value is not None else None


async def issue_titles(pool: asyncpg.Pool, code: str, ids: list[str]) -> dict[str, str]:
    """Titles of a project's issues from the 问题台账 (project_issues): bounded lifecycles keep
    only the ids of open issues in their state."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id, title FROM project_issues WHERE project = $1 AND id = ANY($2::text[])",
            code,
            ids,
        )
    return {r["id"]: r["title"] for r in rows}


_NOTICE_COLUMNS = """
    key, bureau, project, kind, title_zh, body_zh, body_en, created_at, deadline, status,
    delivered_at, acknowledged_at
"""


async def list_notifications(
    pool: asyncpg.Pool,
    *,
    bureau: str | None = None,
    project: str | None = None,
    unacknowledged: bool = False,
    page: int = 1,
    page_size: int = 50,
) -> Page:
    """A bureau's notices (通知), newest first; `unacknowledged` keeps only those not yet read."""
    where, args = _where({"bureau": bureau, "project": project})
    if unacknowledged:
        where += (" AND " if where else " WHERE ") + "acknowledged_at IS NULL"
    async with pool.acquire() as conn:
        total = await conn.fetchval(f"SELECT count(*) FROM notifications{where}", *args)
        rows = await conn.fetch(
            f"SELECT {_NOTICE_COLUMNS} FROM notifications{where} ORDER BY created_at DESC, key"
            f" LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
            *args,
            page_size,
            (page - 1) * page_size,
        )
    return Page([dict(r) for r in rows], int(total), page, page_size)


async def acknowledge_notification(
    pool: asyncpg.Pool, bureau: str, key: str
) -> dict[str, Any] | None:
    """Mark one of `bureau`'s notices read. Acknowledging twice keeps the first time.

    Returns None when the bureau has no notice with that key (another bureau's notice included).
    """
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "UPDATE notifications SET acknowledged_at = COALESCE(acknowledged_at, now())"
            f" WHERE key = $1 AND bureau = $2 RETURNING {_NOTICE_COLUMNS}",
            key,
            bureau,
        )
    return dict(row) if row is not None else None


async def list_bureaus(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT code, name_zh, name_en FROM bureaus ORDER BY code")
    return [dict(r) for r in rows]


async def list_programs(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT code, number, name_zh, name_en, lead_bureau FROM programs ORDER BY number"
        )
    return [dict(r) for r in rows]


# ---------------------------------------------------------------------------------------------
# Programme overview (the dashboard's headline figures)
# ---------------------------------------------------------------------------------------------


def _bucket() -> dict[str, Any]:
    return {
        "projects": 0,
        "total_investment_wan": 0.0,
        "planned_investment_to_date_wan": 0.0,
        "actual_investment_wan": 0.0,
        "year_target_wan": 0.0,
        "year_actual_wan": 0.0,
        "lights": {"green": 0, "yellow": 0, "red": 0},
        "status": {"active": 0, "suspended": 0, "cancelled": 0, "closed": 0},
        "started": 0,
        "due_to_start": 0,
        "completed": 0,
        "due_to_complete": 0,
    }


def _ratio(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _finish(bucket: dict[str, Any]) -> dict[str, Any]:
    for key in (
        "total_investment_wan",
        "planned_investment_to_date_wan",
        "actual_investment_wan",
        "year_target_wan",
        "year_actual_wan",
    ):
        bucket[key] = round(bucket[key], 2)
    bucket["actual_vs_planned_pct"] = _ratio(
        bucket["actual_investment_wan"], bucket["planned_investment_to_date_wan"]
    )
    bucket["year_progress_pct"] = _ratio(bucket["year_actual_wan"], bucket["year_target_wan"])
    bucket["start_rate_pct"] = _ratio(bucket["started"], bucket["due_to_start"])
    bucket["completion_rate_pct"] = _ratio(bucket["completed"], bucket["due_to_complete"])
    return bucket


def _reached(
    milestones: list[dict[str, Any]], step: Step, stage: Stage, stages: set[Stage]
) -> tuple[bool, date | None]:
    """Whether `step` was reached (by its milestone or by a later stage), and its planned date."""
    mine = next((m for m in milestones if m.get("step") == step.value), None)
    planned = date.fromisoformat(mine["planned"]) if mine and mine.get("planned") else None
    done = bool(mine and mine.get("actual")) or stage in stages or stage is Stage.CLOSED
    return done, planned


# The latest overview per pool, under (year, projects, sum of versions). A project's version
# rises with every change projected (a report, a step, a light, a day's deadline events), so the
# pair (count, sum) changes whenever anything the overview reads does; reading it is one scan of
# an int column (≈ 2 ms at 10,000 projects) against ≈ 120 ms to aggregate everything again.
# Keyed by id() with the pool held, so that an id is never reused while its entry lives.
_OVERVIEWS: dict[int, tuple[asyncpg.Pool, tuple[Any, ...], dict[str, Any]]] = {}
_OVERVIEWS_KEPT = 4


async def programme_overview(pool: asyncpg.Pool, year: int | None = None) -> dict[str, Any]:
    """Planned vs actual investment per program and in total, light counts, start and
    completion rates (recomputed only when the read model changed).

    - `total_investment_wan` is the sum of the plans; `published_total_wan` is 828.11 亿元.
    - The year (default: the programme's business year today) gives `year_target_wan` (the
      plans' yearly amounts for that year) and `year_actual_wan` (monthly reports of that year,
      latest correction of each month).
    - 开工率 `start_rate_pct` = started ÷ due to start, where "due" means the planned date of
      the start step (开工 for engineering, 实施 for service) is on or before the project's
      business today and "started" counts those due projects that reached it. 完工率 `completion_rate_pct` likewise
      with 竣工 / 完成. Cancelled projects are left out of both rates. None when nothing is due.
    - `illustrative_projects`: how many projects are invented sample data (示例数据).
    """
    async with pool.acquire() as conn:
        stamp = await conn.fetchrow(
            "SELECT count(*) AS n, coalesce(sum(version), 0) AS v FROM projects"
        )
    key = (year, stamp["n"], stamp["v"])
    entry = _OVERVIEWS.get(id(pool))
    if entry is None or entry[1] != key:
        entry = (pool, key, await _overview(pool, year))
        _OVERVIEWS.pop(id(pool), None)
        while len(_OVERVIEWS) >= _OVERVIEWS_KEPT:
            del _OVERVIEWS[next(iter(_OVERVIEWS))]
        _OVERVIEWS[id(pool)] = entry
    return copy.deepcopy(entry[2])


async def _overview(pool: asyncpg.Pool, year: int | None) -> dict[str, Any]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT code, program, kind, stage, status, light, total_investment_wan,"
            " planned_investment_to_date_wan, actual_investment_wan, milestones,"
            " plan->'yearly_investment_wan' AS yearly, business_today,"
            " coalesce((plan->>'illustrative')::boolean, false) AS illustrative FROM projects"
        )
        today = max((r["business_today"] for r in rows), default=None) or datetime.now(CST).date()
        year = year or today.year
        actual_rows = await conn.fetch(
            "SELECT r.project, sum(r.investment_wan) AS wan FROM ("
            "  SELECT DISTINCT ON (project, month) project, investment_wan FROM progress_reports"
            "  WHERE month LIKE $1 ORDER BY project, month, corrected DESC) r"
            " GROUP BY r.project",
            f"{year:04d}-%",
        )
        names = {
            r["code"]: dict(r)
            for r in await conn.fetch("SELECT code, number, name_zh, name_en FROM programs")
        }
    year_actual = {r["project"]: float(r["wan"]) for r in actual_rows}
    programs: dict[str, dict[str, Any]] = {}
    total = _bucket()
    for r in rows:
        kind = ProjectKind(r["kind"])
        stage = Stage(r["stage"])
        yearly = r["yearly"] or {}
        started, start_due = _reached(r["milestones"], START_STEP[kind], stage, STARTED_STAGES)
        finished, finish_due = _reached(r["milestones"], FINISH_STEP[kind], stage, FINISHED_STAGES)
        counted = r["status"] != "cancelled"
        for bucket in (programs.setdefault(r["program"], _bucket()), total):
            bucket["projects"] += 1
            bucket["total_investment_wan"] += r["total_investment_wan"]
            bucket["planned_investment_to_date_wan"] += r["planned_investment_to_date_wan"]
            bucket["actual_investment_wan"] += r["actual_investment_wan"]
            bucket["year_target_wan"] += float(yearly.get(str(year), 0.0))
            bucket["year_actual_wan"] += year_actual.get(r["code"], 0.0)
            bucket["lights"][r["light"]] = bucket["lights"].get(r["light"], 0) + 1
            bucket["status"][r["status"]] = bucket["status"].get(r["status"], 0) + 1
            if counted and start_due is not None and start_due <= r["business_today"]:
                bucket["due_to_start"] += 1
                bucket["started"] += started
            if counted and finish_due is not None and finish_due <= r["business_today"]:
                bucket["due_to_complete"] += 1
                bucket["completed"] += finished
    program_list = []
    for code in sorted(programs, key=lambda c: (names.get(c, {}).get("number", 999), c)):
        info = names.get(code, {})
        program_list.append(
            {
                "code": code,
                "name_zh": info.get("name_zh", code),
                "name_en": info.get("name_en", code),
                **_finish(programs[code]),
            }
        )
    overall = _finish(total)
    overall["published_total_wan"] = PUBLISHED_TOTAL_WAN
    overall["plan_vs_published_pct"] = _ratio(overall["total_investment_wan"], PUBLISHED_TOTAL_WAN)
    # Invented sample projects (示例数据): the dashboard marks the programme as sample data.
    illustrative = sum(1 for r in rows if r["illustrative"])
    return {
        "as_of": today,
        "year": year,
        "total": overall,
        "programs": program_list,
        "illustrative_projects": illustrative,
    }


# ---------------------------------------------------------------------------------------------
# Rankings and escalations (served by guatu.ranking, loaded lazily)
# ---------------------------------------------------------------------------------------------


class RankingUnavailable(RuntimeError):
    """The ranking service (`guatu.ranking.queries`) is not installed in this build."""


def ranking_service() -> ModuleType:
    """`guatu.ranking.queries`, imported on first use so that the API runs without it."""
    try:
        return importlib.import_module("guatu.ranking.queries")
    except ImportError as err:
        raise RankingUnavailable(str(err)) from err


__all__ = [
    "PUBLISHED_TOTAL_WAN",
    "Page",
    "RankingUnavailable",
    "acknowledge_notification",
    "list_bureaus",
    "list_notifications",
    "list_programs",
    "list_projects",
    "programme_overview",
    "project_bureau",
    "ranking_service",
]
