"""The hand-computed fixture of the trend series (tests/api/test_trends.py and
tests/browser/test_charts.py): read-model rows of 2031, and two monthly rounds.

Every project's business today is 2031-03-15 (the programme's 数据截至): March is the current
month, February the last closed one. Plans without per-year amounts and with no milestones:

| project | bureau | program | plan | total | year plan 2031 | status |
|---|---|---|---|---:|---:|---|
| A1 | a | P01 | 2031-01-01 → 2032-01-01 | 1200 | 1200 (100 a month) | active |
| A2 | a | P02 | 2031-07-01 → 2033-01-01, yearly 2031: 600, 2032: 1800 | 2400 | 600 (Jul–Dec, 100 a month) | active |
| B1 | b | P02 | 2031-01-01 → 2032-01-01 | 2400 | 2400 (200 a month) | active |
| C1 | c | P01 | 2031-01-01 → 2032-01-01 | 1200 | 1200 (100 a month) | active |
| X9 | a | P01 | 2031-01-01 → 2032-01-01 | 9000 | — | cancelled |

Reports (万元, all on time): A1 Jan 80 then corrected to 100, Feb 0, Mar 150; B1 Jan 100, Feb 500;
X9 Jan 700 (cancelled: out of the investment series); A2 and C1 none.

Light history (business time, Asia/Shanghai) and the 立项 (first stage) records:

| project | on the chart | changes | light now |
|---|---|---|---|
| A1 | 01-05 | 01-20 green→yellow, 02-10 yellow→red, 03-02 red→green | green |
| A2 | 01-05 | none | green |
| B1 | 02-10 | 02-28 23:30 green→yellow, 03-01 00:30 yellow→red | red |
| C1 | 01-05 | 03-05 green→yellow and yellow→red at the same instant (a catch-up) | red |
| X9 | 01-05 | none | green |

B1's two changes straddle the end of February in Asia/Shanghai (15:30 and 16:30 UTC on 28
February): February ends yellow, not red. C1's two changes share one instant: February ends
green (the chain's first `previous`), March red (its light now), whatever the keys' order.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from guatu.core.clock import CST

AS_OF = date(2031, 3, 15)
YEAR = 2031


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(YEAR, month, day, hour, minute, tzinfo=CST)


def codes(prefix: str) -> dict[str, str]:
    return {k: f"{prefix.upper()}-{k}" for k in ("A1", "A2", "B1", "C1", "X9")}


def bureaus(prefix: str) -> dict[str, str]:
    return {x: f"{prefix}_{x}" for x in "abc"}


def _plan(
    code: str,
    bureau: str,
    program: str,
    total: float,
    start: date,
    finish: date,
    yearly: dict[int, float] | None = None,
) -> dict[str, Any]:
    return {
        "code": code,
        "name_zh": f"趋势项目{code[-2:]}",
        "name_en": f"trend project {code[-2:]}",
        "program": program,
        "bureau": bureau,
        "kind": "engineering",
        "total_investment_wan": total,
        "yearly_investment_wan": {str(y): v for y, v in (yearly or {}).items()},
        "start": start.isoformat(),
        "finish": finish.isoformat(),
        "milestones": [],
        "curve": "linear",
        "illustrative": True,
    }


async def insert(pool: asyncpg.Pool, prefix: str) -> tuple[dict[str, str], dict[str, str]]:
    """Write the fixture into the read model as the lifecycles would have."""
    c, b = codes(prefix), bureaus(prefix)
    y0, y1 = date(2031, 1, 1), date(2032, 1, 1)
    rows = [  # key, bureau, program, total, plan, status, light now
        ("A1", "a", "P01", 1200, _plan(c["A1"], b["a"], "P01", 1200, y0, y1), "active", "green"),
        (
            "A2",
            "a",
            "P02",
            2400,
            _plan(
                c["A2"],
                b["a"],
                "P02",
                2400,
                date(2031, 7, 1),
                date(2033, 1, 1),
                {2031: 600, 2032: 1800},
            ),
            "active",
            "green",
        ),
        ("B1", "b", "P02", 2400, _plan(c["B1"], b["b"], "P02", 2400, y0, y1), "active", "red"),
        ("C1", "c", "P01", 1200, _plan(c["C1"], b["c"], "P01", 1200, y0, y1), "active", "red"),
        ("X9", "a", "P01", 9000, _plan(c["X9"], b["a"], "P01", 9000, y0, y1), "cancelled", "green"),
    ]
    reports = [  # project, month, corrected, 万元
        ("A1", "2031-01", 0, 80.0),
        ("A1", "2031-01", 1, 100.0),
        ("A1", "2031-02", 0, 0.0),
        ("A1", "2031-03", 0, 150.0),
        ("B1", "2031-01", 0, 100.0),
        ("B1", "2031-02", 0, 500.0),
        ("X9", "2031-01", 0, 700.0),
    ]
    on_chart = {"A1": at(1, 5), "A2": at(1, 5), "B1": at(2, 10), "C1": at(1, 5), "X9": at(1, 5)}
    changes = [  # project, at, light, previous
        ("A1", at(1, 20), "yellow", "green"),
        ("A1", at(2, 10), "red", "yellow"),
        ("A1", at(3, 2), "green", "red"),
        ("B1", at(2, 28, 23, 30), "yellow", "green"),
        ("B1", at(3, 1, 0, 30), "red", "yellow"),
        ("C1", at(3, 5), "yellow", "green"),
        ("C1", at(3, 5), "red", "yellow"),
    ]
    async with pool.acquire() as conn, conn.transaction():
        await conn.executemany(
            "INSERT INTO bureaus (code, name_zh, name_en, webhook_url) VALUES ($1,$2,$3,NULL)",
            [(b[x], f"趋势{x.upper()}局", f"Trend bureau {x.upper()}") for x in "abc"],
        )
        for key, bureau, program, total, plan, status, light in rows:
            await conn.execute(
                "INSERT INTO projects (code, name_zh, program, bureau, kind, stage, status, light,"
                " total_investment_wan, planned_investment_to_date_wan, actual_investment_wan,"
                " physical_progress_pct, plan, business_today, version)"
                " VALUES ($1,$2,$3,$4,'engineering','preliminary',$5,$6,$7,0,0,0,$8,$9,1)",
                c[key],
                plan["name_zh"],
                program,
                b[bureau],
                status,
                light,
                float(total),
                plan,
                AS_OF,
            )
        await conn.executemany(
            "INSERT INTO progress_reports (project, month, corrected, investment_wan,"
            " cumulative_investment_wan, physical_progress_pct, received_at, on_time, actor)"
            " VALUES ($1,$2,$3,$4,0,10,$5,true,'test')",
            [
                (c[k], m, corr, wan, at(int(m[-2:]), 20) + timedelta(days=25))
                for k, m, corr, wan in reports
            ],
        )
        await conn.executemany(
            "INSERT INTO stage_history (key, project, step, stage, on_date, planned, recorded_at,"
            " actor, bureau) VALUES ($1,$2,NULL,'approved',$3,NULL,$4,'test',$5)",
            [
                (f"{c[k]}:approved", c[k], when.date(), when, b[rows_b])
                for k, when in on_chart.items()
                for rows_b in [next(r[1] for r in rows if r[0] == k)]
            ],
        )
        await conn.executemany(
            "INSERT INTO light_history (key, project, at, light, previous, explanations)"
            " VALUES ($1,$2,$3,$4,$5,'[]')",
            [
                (f"{c[k]}:{when.isoformat()}:{light}", c[k], when, light, previous)
                for k, when, light, previous in changes
            ],
        )
    return c, b
