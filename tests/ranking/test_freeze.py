"""Freezing set-wise in SQL (`read_snapshot`) gives the very snapshot the per-plan reading
(`read_snapshot_by_plan`: every plan validated, every input built in Python) gives: the
hand-computed fixture, and plans that take the other branches of the 序时 curve (per-year
amounts, an S-curve, a plan outside the period, a delivery on the 1st of a month, a step
reached after close)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from guatu.ranking.snapshot import read_snapshot, read_snapshot_by_plan, snapshot_text
from tests.ranking import fixture
from tests.ranking.conftest import prefix

AT = datetime(2031, 4, 1, 1, 0, tzinfo=UTC)


async def _project(
    conn: asyncpg.Connection,
    code: str,
    bureau: str,
    plan: dict[str, Any],
    reports: list[tuple[str, int, float, bool]],
    steps: dict[str, date],
    red: list[str],
) -> None:
    await conn.execute(
        "INSERT INTO projects (code, name_zh, program, bureau, kind, stage, status, light,"
        " total_investment_wan, planned_investment_to_date_wan, actual_investment_wan,"
        " physical_progress_pct, red_months, plan, business_today, version)"
        " VALUES ($1,'项目','P01',$2,'engineering','preliminary','active','green',$3,0,0,0,"
        " $4,$5,$6,1)",
        code,
        bureau,
        plan["total_investment_wan"],
        red,
        {**plan, "code": code, "bureau": bureau},
        date(2031, 4, 1),
    )
    await conn.executemany(
        "INSERT INTO progress_reports (project, month, corrected, investment_wan,"
        " cumulative_investment_wan, physical_progress_pct, received_at, on_time, actor)"
        " VALUES ($1,$2,$3,$4,0,10,$5,$6,'test')",
        [(code, m, corr, amount, AT, on_time) for m, corr, amount, on_time in reports],
    )
    await conn.executemany(
        "INSERT INTO stage_history (key, project, step, stage, on_date, planned,"
        " recorded_at, actor, bureau) VALUES ($1,$2,$3,'preliminary',$4,NULL,$5,'t',$6)",
        [(f"{code}:{s}", code, s, d, AT, bureau) for s, d in steps.items()],
    )


async def test_set_wise_freeze_matches_the_per_plan_reading(fresh_pool: asyncpg.Pool) -> None:
    px = prefix()
    await fixture.add_bureaus(fresh_pool, px, None)
    await fixture.insert(fresh_pool, px)
    base = fixture.plan_json(fixture.projects(px)[0])
    bureau = f"{px}_a"
    async with fresh_pool.acquire() as conn:
        # Per-year amounts over three years, delivered ('completed') on 1 March 2031: reports
        # are expected through February only.
        await _project(
            conn,
            f"{px.upper()}-Y1",
            bureau,
            {
                **base,
                "start": "2030-06-15",
                "finish": "2032-09-30",
                "total_investment_wan": 9000.0,
                "yearly_investment_wan": {"2030": 2000.0, "2031": 5000.0, "2032": 2000.0},
            },
            [("2030-12", 0, 700.0, True), ("2031-01", 0, 300.0, False), ("2031-03", 0, 5.0, True)],
            {"completed": date(2031, 3, 1), "land_use": date(2030, 7, 1)},
            ["2030-11", "2031-01", "2031-04"],
        )
        # An S-curve, a step reached after close, a correction that lowers the amount.
        await _project(
            conn,
            f"{px.upper()}-S1",
            bureau,
            {**base, "start": "2031-01-20", "finish": "2031-12-31", "curve": "s_curve"},
            [("2031-02", 0, 80.0, True), ("2031-02", 1, 60.5, True), ("2031-03", 0, 1.25, False)],
            {"planning_permit": date(2031, 4, 2), "land_use": date(2031, 3, 31)},
            [],
        )
        # Starts on the day the period closes: out of scope.
        await _project(
            conn, f"{px.upper()}-L1", bureau, {**base, "start": "2031-04-01"}, [], {}, []
        )
        for period in ("2031-03", "2031-02", "2031-Q1", "2031-04"):
            by_plan = await read_snapshot_by_plan(conn, period, AT)
            set_wise = await read_snapshot(conn, period, AT)
            assert snapshot_text(set_wise) == snapshot_text(by_plan), period
        march = await read_snapshot(conn, "2031-03", AT)
    codes = [p.code for p in march.projects]
    assert f"{px.upper()}-L1" not in codes and f"{px.upper()}-X9" not in codes
    y1 = next(p for p in march.projects if p.code.endswith("Y1"))
    assert [r.month for r in y1.reports][-1] == "2031-02"  # delivered on 1 March
    assert y1.year_plan_wan == 5000.0
    # Hand-computed: 2031's plan spans January–December, 3 of 12 months elapsed at March's close.
    assert y1.year_plan_to_date_wan == 1250.0
    expected = fixture.snapshot(px)
    got = {p.code: p for p in march.projects}
    for p in expected.projects:
        assert got[p.code] == p, p.code
