"""The small hand-computed fixture of the ranking tests, as read-model rows and as frozen inputs.

Period 2031-03 (closes 2031-04-01). Every project starts on 2031-02-10 and finishes on
2031-05-21: 100 days, of which 50 have passed at close, so on the linear 序时 curve exactly half
of each total is planned to date. Milestones: land use due 2031-02-20, planning permit due
2031-03-10 (both due by close), construction permit due 2031-04-20 (not yet due). Reports are
expected for 2031-02 and 2031-03; the period window holds 2031-03 only.

| project | bureau | program | total | Feb + Mar = actual | milestones on time | Mar report | red |
|---|---|---|---:|---:|---|---|---|
| A1 | a | P01 | 1000 | 200 + 400 = 600  | 2 of 2 | on time | — |
| A2 | a | P02 | 3000 | 300 + 600 = 900  | 0 of 2 (land use late, permit missing) | late | 03 |
| B1 | b | P01 | 2000 | 500 + 600 = 1100 | 2 of 2 | on time | — |
| C1 | c | P02 | 1000 | 250 + 250 = 500  | 1 of 2 (permit late) | on time | — |
| C2 | c | P02 | 1000 | 100 + 450 = 550  | 2 of 2 | late | — |
| D1 | d | P01 | 4000 | 400 + none = 400 | 0 of 2 (none reached) | missing | 02, 03 |

A2's March report was corrected once (first 500, then 600): the correction wins.

On the year's plan (年度计划口径, `default` v2): every plan lies wholly in 2031, so the year's
plan is the total and this year's completion is the cumulative one; the plan spans February–May
(4 months), so 时间进度 at the close of March is 2/4 and the year's plan-to-date is total ÷ 2 —
the same as the whole-span line (v1, `cumulative`). Both versions give these projects the same
ratios and scores; only the explanation's words differ.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import asyncpg

from guatu.ranking.models import MilestoneInput, ProjectInput, ReportInput, Snapshot

PERIOD = "2031-03"
START = date(2031, 2, 10)
FINISH = date(2031, 5, 21)
MILESTONES = {
    "land_use": date(2031, 2, 20),
    "planning_permit": date(2031, 3, 10),
    "construction_permit": date(2031, 4, 20),
}


@dataclass
class P:
    code: str
    bureau: str
    program: str
    total: float
    feb: float
    mar: float
    reached: dict[str, date]
    mar_on_time: bool | None  # None: no March report at all
    red: list[str] = field(default_factory=list)


def projects(prefix: str) -> list[P]:
    a, b, c, d = (f"{prefix}_{x}" for x in "abcd")
    return [
        P(
            f"{prefix.upper()}-A1",
            a,
            "P01",
            1000,
            200,
            400,
            {"land_use": date(2031, 2, 18), "planning_permit": date(2031, 3, 10)},
            True,
        ),
        P(
            f"{prefix.upper()}-A2",
            a,
            "P02",
            3000,
            300,
            600,
            {"land_use": date(2031, 2, 25)},
            False,
            ["2031-03"],
        ),
        P(
            f"{prefix.upper()}-B1",
            b,
            "P01",
            2000,
            500,
            600,
            {"land_use": date(2031, 2, 20), "planning_permit": date(2031, 3, 1)},
            True,
        ),
        P(
            f"{prefix.upper()}-C1",
            c,
            "P02",
            1000,
            250,
            250,
            {"land_use": date(2031, 2, 19), "planning_permit": date(2031, 3, 12)},
            True,
        ),
        P(
            f"{prefix.upper()}-C2",
            c,
            "P02",
            1000,
            100,
            450,
            {
                "land_use": date(2031, 2, 11),
                "planning_permit": date(2031, 3, 9),
                # reached after the period closed: does not count for 2031-03
                "construction_permit": date(2031, 4, 15),
            },
            False,
        ),
        P(f"{prefix.upper()}-D1", d, "P01", 4000, 400, 0, {}, None, ["2031-02", "2031-03"]),
    ]


def plan_json(p: P) -> dict[str, object]:
    return {
        "code": p.code,
        "name_zh": f"项目{p.code[-2:]}",
        "name_en": "",
        "program": p.program,
        "bureau": p.bureau,
        "kind": "engineering",
        "total_investment_wan": p.total,
        "yearly_investment_wan": {},
        "start": START.isoformat(),
        "finish": FINISH.isoformat(),
        "milestones": [{"step": s, "planned": d.isoformat()} for s, d in MILESTONES.items()],
        "curve": "linear",
        "illustrative": True,
    }


async def add_bureaus(pool: asyncpg.Pool, prefix: str, url: str | None) -> list[str]:
    codes = [f"{prefix}_{x}" for x in "abcd"]
    async with pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO bureaus (code, name_zh, name_en, webhook_url) VALUES ($1,$2,$3,$4)",
            [(code, f"测试{code[-1].upper()}局", f"test bureau {code[-1]}", url) for code in codes],
        )
    return codes


async def insert(pool: asyncpg.Pool, prefix: str, cancelled_extra: bool = True) -> list[P]:
    """Write the fixture into the read model as the lifecycles would have."""
    ps = projects(prefix)
    at = datetime(2031, 4, 1, tzinfo=UTC)
    async with pool.acquire() as conn, conn.transaction():
        rows = list(ps)
        if cancelled_extra:
            # Cancelled projects are out of scope, whatever their figures.
            rows.append(P(f"{prefix.upper()}-X9", ps[0].bureau, "P01", 9000, 0, 0, {}, True))
        for p in rows:
            await conn.execute(
                "INSERT INTO projects (code, name_zh, program, bureau, kind, stage, status, light,"
                " total_investment_wan, planned_investment_to_date_wan, actual_investment_wan,"
                " physical_progress_pct, red_months, plan, business_today, version)"
                " VALUES ($1,$2,$3,$4,'engineering','preliminary',$5,'green',$6,0,0,0,$7,$8,$9,1)",
                p.code,
                f"项目{p.code[-2:]}",
                p.program,
                p.bureau,
                "cancelled" if p.code.endswith("X9") else "active",
                p.total,
                p.red,
                plan_json(p),
                date(2031, 4, 1),
            )
            reports = [("2031-02", 0, p.feb, True)]
            if p.mar_on_time is not None:
                reports.append(("2031-03", 0, p.mar, p.mar_on_time))
            if p.code.endswith("A2"):
                reports = [
                    ("2031-02", 0, 300.0, True),
                    ("2031-03", 0, 500.0, False),
                    ("2031-03", 1, 600.0, False),
                ]
            await conn.executemany(
                "INSERT INTO progress_reports (project, month, corrected, investment_wan,"
                " cumulative_investment_wan, physical_progress_pct, received_at, on_time, actor)"
                " VALUES ($1,$2,$3,$4,0,10,$5,$6,'test')",
                [(p.code, m, corr, amount, at, on_time) for m, corr, amount, on_time in reports],
            )
            await conn.executemany(
                "INSERT INTO stage_history (key, project, step, stage, on_date, planned,"
                " recorded_at, actor, bureau) VALUES ($1,$2,$3,'preliminary',$4,$5,$6,'t',$7)",
                [
                    (f"{p.code}:{s}", p.code, s, d, MILESTONES.get(s), at, p.bureau)
                    for s, d in p.reached.items()
                ],
            )
    return ps


def snapshot(prefix: str) -> Snapshot:
    """The same fixture written out as frozen inputs (what `ranking_freeze` must produce)."""
    ps = projects(prefix)
    inputs = []
    for p in ps:
        actual = p.feb + (p.mar if p.mar_on_time is not None else 0)
        inputs.append(
            ProjectInput(
                code=p.code,
                name_zh=f"项目{p.code[-2:]}",
                program=p.program,
                bureau=p.bureau,
                kind="engineering",
                stage="preliminary",
                status="active",
                start=START,
                finish=FINISH,
                total_investment_wan=p.total,
                planned_to_date_wan=p.total / 2,
                planned_ytd_wan=p.total / 2,
                actual_cumulative_wan=actual,
                actual_ytd_wan=actual,
                monthly_investment_wan={
                    "2031-02": p.feb,
                    **({"2031-03": p.mar} if p.mar_on_time is not None else {}),
                },
                milestones=[
                    MilestoneInput(
                        step=s,
                        planned=d,
                        actual=p.reached.get(s)
                        if p.reached.get(s, FINISH) < date(2031, 4, 1)
                        else None,
                    )
                    for s, d in MILESTONES.items()
                ],
                reports=[
                    ReportInput(month="2031-02", received=True, on_time=True),
                    ReportInput(
                        month="2031-03",
                        received=p.mar_on_time is not None,
                        on_time=bool(p.mar_on_time),
                    ),
                ],
                red_months=p.red,
                # The whole plan falls in 2031 (year plan = total); its span months are February–May
                # (the finish day 21 May is not in the span, 20 May is): 时间进度 at the close of
                # March = 2/4, so the year's plan-to-date is total ÷ 2.
                year_plan_wan=p.total,
                year_plan_to_date_wan=p.total / 2,
            )
        )
    return Snapshot(
        period=PERIOD,
        kind="month",
        close=date(2031, 4, 1),
        months=[PERIOD],
        frozen_at=datetime(2031, 4, 1, 1, 0, tzinfo=UTC),
        bureaus={f"{prefix}_{x}": f"测试{x.upper()}局" for x in "abcd"},
        programs={"P01": "居民收入水平提升工程", "P02": "生活成本竞争力提升工程"},
        projects=sorted(inputs, key=lambda i: i.code),
    )


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
