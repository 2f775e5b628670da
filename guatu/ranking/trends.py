"""The leaders' trend series (趋势): the year month by month, from the read model and the
published rounds. Served by `/api/v1/trends/*` and the Excel export; amounts in 万元.

- `investment`: this year's cumulative investment against the 序时 plan at each month's close,
  for the programme, one program or one bureau.
- `ranks`: each bureau's or program's rank in the monthly rounds of the year (a bump chart).
- `lights`: how many projects were green, yellow and red at each month's end.

Every series covers the twelve months of a year (`months`); a month the programme has not
reached yet holds `None`, so a chart shows the year's whole axis and the plan's target.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import asyncpg

from guatu.core.clock import CST, add_months, local_start, month_key, parse_month
from guatu.lifecycle.models import ProjectPlan
from guatu.lifecycle.rules.progress import year_plan_to_date_wan, year_plan_wan
from guatu.ranking.periods import parse_period

LIGHTS = ("green", "yellow", "red")


def year_months(year: int) -> list[str]:
    return [f"{year:04d}-{m:02d}" for m in range(1, 13)]


async def _as_of(conn: asyncpg.Connection) -> date:
    """The programme's business today (the overview's 数据截至): the latest project's."""
    today = await conn.fetchval("SELECT max(business_today) FROM projects")
    return today or datetime.now(CST).date()


def _scope(program: str | None, bureau: str | None, first: int = 1) -> tuple[str, list[Any]]:
    clauses, args = [], []
    for column, value in (("program", program), ("bureau", bureau)):
        if value is not None:
            args.append(value)
            clauses.append(f"p.{column} = ${first + len(args) - 1}")
    return "".join(f" AND {c}" for c in clauses), args


async def _scope_name(
    conn: asyncpg.Connection, program: str | None, bureau: str | None
) -> dict[str, str]:
    """The chart's title: 全区 (the programme), a program or a bureau (both: program · bureau)."""
    zh, en = [], []
    if program is not None:
        row = await conn.fetchrow("SELECT name_zh, name_en FROM programs WHERE code = $1", program)
        zh.append(f"{program} {row['name_zh']}" if row else program)
        en.append(f"{program} {row['name_en']}" if row else program)
    if bureau is not None:
        row = await conn.fetchrow("SELECT name_zh, name_en FROM bureaus WHERE code = $1", bureau)
        zh.append(row["name_zh"] if row else bureau)
        en.append(row["name_en"] if row else bureau)
    return {"name_zh": " · ".join(zh) or "全区", "name_en": " · ".join(en) or "Programme"}


@lru_cache(maxsize=65_536)
def _project_line(plan_text: str, year: int) -> tuple[tuple[float, ...], float]:
    """One plan's year plan-to-date at each month's close, and its year plan. Kept per plan
    text: the rule costs ≈ 0.3 ms a plan, and a plan changes far less often than the page is
    refreshed (every 30 s)."""
    plan = ProjectPlan.model_validate_json(plan_text)
    return (
        tuple(year_plan_to_date_wan(plan, m) for m in year_months(year)),
        year_plan_wan(plan, year),
    )


def _plan_line(plans: list[str], year: int) -> tuple[list[float], float]:
    """Σ year plan × 时间进度 at each month's close, and Σ year plan (CPU: off the event loop)."""
    lines = [_project_line(text, year) for text in plans]
    return (
        [round(sum(line[i] for line, _ in lines), 2) for i in range(12)],
        round(sum(total for _, total in lines), 2),
    )


async def investment(
    pool: asyncpg.Pool,
    year: int | None = None,
    *,
    program: str | None = None,
    bureau: str | None = None,
) -> dict[str, Any]:
    """This year's cumulative investment against the 序时 plan, month by month.

    - Scope: the projects of the read model that are not cancelled (the ranking's scope), of
      `program` and / or `bureau` when given.
    - `plan_wan[M]` = Σ 年度计划 × 时间进度 at the close of M, the year-plan basis of the light
      check and of the `default` rules (`guatu.lifecycle.rules.progress.year_plan_to_date_wan`, see
      config/rules/README.md): for a plan spanning the whole year, year plan × M/12. December's
      value is the year's plan (`year_plan_wan`).
    - `actual_wan[M]` = Σ monthly reports of the year from January through M (the latest
      correction of each month), 本年累计完成. It runs through the later of the last closed
      month and the latest month reported, never past the month of `as_of` (the programme's
      business today); later months are None.
    """
    async with pool.acquire() as conn:
        as_of = await _as_of(conn)
        year = year or as_of.year
        plan_where, args = _scope(program, bureau)
        plans = await conn.fetch(
            f"SELECT p.plan::text AS plan FROM projects p WHERE p.status <> 'cancelled'"
            f"{plan_where}",
            *args,
        )
        where, _ = _scope(program, bureau, first=2)
        monthly = await conn.fetch(
            "SELECT r.month, sum(r.investment_wan) AS wan FROM ("
            "  SELECT DISTINCT ON (project, month) project, month, investment_wan"
            "  FROM progress_reports WHERE month LIKE $1 || '-%'"
            "  ORDER BY project, month, corrected DESC) r"
            f" JOIN projects p ON p.code = r.project WHERE p.status <> 'cancelled'{where}"
            " GROUP BY r.month",
            f"{year:04d}",
            *args,
        )
        name = await _scope_name(conn, program, bureau)
    plan_line, year_plan = await asyncio.to_thread(_plan_line, [r["plan"] for r in plans], year)
    by_month = {r["month"]: float(r["wan"]) for r in monthly}
    months = year_months(year)
    current = month_key(as_of)
    last_closed = month_key(add_months(as_of.replace(day=1), -1))
    reported = max((m for m in by_month if m <= current), default=None)
    through = max(last_closed, reported or last_closed)
    actual: list[float | None] = []
    running = 0.0
    for m in months:
        running += by_month.get(m, 0.0)
        actual.append(round(running, 2) if m <= through else None)
    return {
        "year": year,
        "as_of": as_of.isoformat(),
        "basis": "year_plan",
        "scope": {"program": program, "bureau": bureau, **name},
        "projects": len(plans),
        "year_plan_wan": year_plan,
        "months": months,
        "plan_wan": plan_line,
        "actual_wan": actual,
    }


async def ranks(
    pool: asyncpg.Pool,
    year: int | None = None,
    *,
    level: str = "bureau",
    ruleset_id: str | None = None,
) -> dict[str, Any]:
    """Each unit's rank in the year's monthly rounds, oldest period first (a bump chart).

    From the published rounds (`ranking_entries`, which hold the latest revision of each
    period: a re-frozen period shows its corrected ranks). `ranks[i]` is None for a period the
    unit was not ranked in. Units are ordered by their rank in the latest period.
    """
    from guatu.ranking.queries import list_periods

    async with pool.acquire() as conn:
        year = year or (await _as_of(conn)).year
    periods = [
        p
        for p in await list_periods(pool, level, ruleset_id=ruleset_id)
        if p["kind"] == "month" and p["period"].startswith(f"{year:04d}-")
    ]
    periods.sort(key=lambda p: p["period"])
    keys = [p["period"] for p in periods]
    rs = periods[0]["ruleset_id"] if periods else ruleset_id
    async with pool.acquire() as conn:
        rows = (
            await conn.fetch(
                "SELECT e.period, e.code, e.name_zh, e.rank, e.of_count, e.score, e.list"
                " FROM ranking_entries e WHERE e.level = $1 AND e.ruleset_id = $2"
                " AND e.period = ANY($3::text[])",
                level,
                rs,
                keys,
            )
            if keys
            else []
        )
        names = {
            r["code"]: r["name_en"]
            for r in await conn.fetch(
                f"SELECT code, name_en FROM {'bureaus' if level == 'bureau' else 'programs'}"
            )
        }
    index = {k: i for i, k in enumerate(keys)}
    units: dict[str, dict[str, Any]] = {}
    for r in rows:
        unit = units.setdefault(
            r["code"],
            {
                "code": r["code"],
                "name_zh": r["name_zh"],
                "name_en": names.get(r["code"]) or r["name_zh"],
                "ranks": [None] * len(keys),
                "scores": [None] * len(keys),
                "lists": [None] * len(keys),
            },
        )
        i = index[r["period"]]
        unit["ranks"][i], unit["scores"][i], unit["lists"][i] = r["rank"], r["score"], r["list"]
    last = len(keys) - 1

    def order(u: dict[str, Any]) -> tuple[int, str]:
        return (
            u["ranks"][last] if last >= 0 and u["ranks"][last] is not None else 10**6,
            u["code"],
        )

    return {
        "year": year,
        "level": level,
        "ruleset_id": rs,
        "periods": keys,
        "labels_zh": [parse_period(k).label_zh for k in keys],
        "revisions": [p["revision"] for p in periods],
        "units": sorted(units.values(), key=order),
    }


async def lights(
    pool: asyncpg.Pool,
    year: int | None = None,
    *,
    program: str | None = None,
    bureau: str | None = None,
) -> dict[str, Any]:
    """Projects green, yellow and red at each month's end (stacked), from the light history.

    The projection writes every change of a project's light to `light_history` (`at`: business
    time of the change, `light`, `previous`), and the light now to `projects.light` in the same
    transaction. A project's light at the end of month M (the 1st of M+1, 00:00 Asia/Shanghai)
    is the `previous` of its first change from then on; with no change since, its light now.
    Changes at the same instant (a catch-up sets yellow, then red, at once) are a chain: the
    first is the one whose `previous` is no other's `light`. A project counts from the month
    it came on the chart: its first recorded stage (立项, the start of its lifecycle) or,
    lacking one, its first light change. The month of `as_of` has not ended: it counts the
    lights as they are now; later months are None. Every project counts, cancelled ones too,
    as in the overview's light counts.
    """
    async with pool.acquire() as conn:
        as_of = await _as_of(conn)
        year = year or as_of.year
        months = year_months(year)
        current = month_key(as_of)
        shown = [m for m in months if m <= current]
        ends = [local_start(add_months(parse_month(m), 1)) for m in shown]
        where, args = _scope(program, bureau, first=2)
        rows = (
            await conn.fetch(
                "WITH scope AS ("
                "  SELECT p.code, p.light, coalesce("
                "    (SELECT min(s.recorded_at) FROM stage_history s WHERE s.project = p.code),"
                "    (SELECT min(h.at) FROM light_history h WHERE h.project = p.code),"
                "    '-infinity'::timestamptz) AS on_chart"
                f"  FROM projects p WHERE true{where})"
                " SELECT e.i, l.light, count(*) AS n"
                " FROM unnest($1::timestamptz[]) WITH ORDINALITY AS e(boundary, i)"
                " JOIN scope p ON p.on_chart < e.boundary"
                " CROSS JOIN LATERAL (SELECT coalesce("
                "   (SELECT h.previous FROM light_history h WHERE h.project = p.code"
                "    AND h.at >= e.boundary ORDER BY h.at,"
                "    EXISTS (SELECT 1 FROM light_history g WHERE g.project = h.project"
                "     AND g.at = h.at AND g.key <> h.key AND g.light = h.previous), h.key LIMIT 1),"
                "   p.light) AS light) l"
                " GROUP BY e.i, l.light",
                ends,
                *args,
            )
            if ends
            else []
        )
        name = await _scope_name(conn, program, bureau)
    counts: dict[str, list[int | None]] = {
        k: [0 if m <= current else None for m in months] for k in LIGHTS
    }
    for r in rows:
        if r["light"] in counts:
            counts[r["light"]][r["i"] - 1] = int(r["n"])
    return {
        "year": year,
        "as_of": as_of.isoformat(),
        "scope": {"program": program, "bureau": bureau, **name},
        "months": months,
        **counts,
    }


async def for_export(pool: asyncpg.Pool, year: int | None = None) -> dict[str, Any]:
    """Every series of the year for the Excel export: the programme's investment, each
    program's and each bureau's, the bump chart of both levels and the lights."""
    programme = await investment(pool, year)
    year = int(programme["year"])
    async with pool.acquire() as conn:
        programs = [
            r["program"]
            for r in await conn.fetch(
                "SELECT DISTINCT p.program, g.number FROM projects p LEFT JOIN programs g"
                " ON g.code = p.program ORDER BY g.number NULLS LAST, p.program"
            )
        ]
        bureaus = [
            r["bureau"]
            for r in await conn.fetch("SELECT DISTINCT bureau FROM projects ORDER BY bureau")
        ]
    scopes = [("program", await investment(pool, year, program=c)) for c in programs] + [
        ("bureau", await investment(pool, year, bureau=c)) for c in bureaus
    ]
    return {
        "year": year,
        "investment": programme,
        "investment_scopes": [{"level": level, **series} for level, series in scopes],
        "ranks": {level: await ranks(pool, year, level=level) for level in ("bureau", "program")},
        "lights": await lights(pool, year),
    }


__all__ = ["LIGHTS", "for_export", "investment", "lights", "ranks", "year_months"]
