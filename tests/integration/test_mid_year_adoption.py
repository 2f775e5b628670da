"""A mid-year adoption end to end (issue 8, first "Done when"): the real ProjectLifecycle,
RankingRound and BureauLadder workflows on the dev server, a database of the test's own, and a
worker — through lights, the round, a revision and the ladder.

The programme clock makes "today" a parameter: every project, round and ladder runs on
`ProgrammeClock(scale=1.0, anchor_business=<load day, 10:00 Beijing time>)`, so business time
is the load day whatever the real date is (a run lasts seconds; nothing is due within them).
The whole scenario runs end to end for each load day (about 15–25 s each on this 2-core machine,
not a cheaper stand-in):

- 2026-11-20 (the main case: plan loaded in month 11, months 1–10 back-filled);
- 2026-12-01 (the 1st of a month: back-fill January–November, the November check ran at 00:00);
- 2026-12-31 (31 December: back-fill January–November, December not closed yet);
- 2028-02-29 (29 February: back-fill January 2028 only);
- 2025-10-11 (a 调休 Saturday, a working day: back-fill January–September).

The month ranked is R, the last month closed before the load day (month k of year Y).

The plans (program P06; start 1 January Y; milestones 前期 Y-01-20, 用地 Y-04-15, 规划许可
Y-08-15, 开工 Y+1-03-01; per-year amounts, so each year's plan spans all twelve months and
时间进度 at the close of month m is m/12):

| project | bureau   | total   | year plan Y | monthly plan | reported each month |
|---------|----------|---------|-------------|--------------|---------------------|
| D1      | diligent | 2,400 万 | 1,200 (to Y+2) | 100       | 100 (on plan)        |
| D2      | diligent | 1,200 万 | 1,200 (Y only) | 100       | 100 (on plan)        |
| H1      | half     | 6,000 万 | 3,000 (to Y+2) | 250       | 125 (half)           |
| S1      | silent   | 2,400 万 | 1,200 (to Y+2) | 100       | nothing              |

Diligent and half-plan bureaus reach every milestone planned before the load day on its planned
day (back-dated `transition_stage`); the silent one sends nothing. Every figure below is worked out
by hand from config/lifecycle.json, config/rules/README.md and config/rules/default.json (version
2: investment and target on the `year_plan` basis).

Lights (序时 check of month m on the year_plan basis: 本年累计 ÷ 年度计划 against m/12, each
rounded to one decimal; yellow ≥ 10 points behind, red > 30):
- D1, D2: 100m ÷ 1,200 = m/12 against m/12 → 0 points → green every month, no red month.
- H1: 125m ÷ 3,000 = m/24 against m/12 → gap = round(100m/12, 1) − round(100m/24, 1):
  m=1: 8.3 − 4.2 = 4.1 (green); m=7: 58.3 − 29.2 = 29.1 (yellow); m=8: 66.7 − 33.3 = 33.4,
  m=9: 75.0 − 37.5 = 37.5, m=10: 83.3 − 41.7 = 41.6, m=11: 91.7 − 45.8 = 45.9 (red).
  Reported figures count at once, the back-fill window does not shield them: red months 08..k.
- S1: nothing reported, every deadline fell before loading: 待补报 until the back-fill window
  closes (the first report due day, the 25th, after the load day) → green, no red month.

The round of R (default v2; bureau = investment-weighted mean of its projects):
- D1 = D2 = 60 × (100k ÷ 100k = 1.0) + 25 × all due milestones met + 15 × R's report on time
  (back-filled inside the window, so on time) − 0 = 100.00; diligent bureau 100.00, target 100 %.
- H1 = 60 × (125k ÷ 250k = 0.5) = 30.00 + 25 + 15 − 5 × (R red: k ≥ 8) = 65.00 (k ≥ 8) or 70.00.
- S1 = 0 + 0 (every milestone due is missed: 前期 at least) + 0 (R's report missing) − 0 = 0.00.
- Ranks: diligent 1, half 2, silent 3. Red list: top 3 that met the target → [diligent];
  black list: bottom 3 that missed it → [half, silent].
- Ladders: diligent 通报表扬; half 通报 (rung 0 → 1) and, when H1 is red two months running at R
  (k ≥ 9: 08..k), a 督办单 for H1 due 30 days after the load day; silent 通报, no 督办单 (no red
  month).

The late correction: after R is published, the half-plan bureau books the amount it left out
of January..R into R's report (a correction: 125 + 125k), so H1's 本年累计 is 250k = its
plan-to-date. The lifecycle re-checks R: k/12 against k/12 → green; red months 08..k−1.
- A plain re-run reads the frozen snapshot: same snapshot and results hashes, revision 1.
- `revise_round` freezes again: H1 = 60 × 1.0 + 25 + 15 − 0 = 100.00, half 100.00 ties with
  diligent 100.00; investment ratio 1.0000 both; the next key, the weight (total investment),
  puts half (6,000) above diligent (2,400 + 1,200 = 3,600). Revision 2: half 1, diligent 2,
  silent 3; red list [half, diligent], black list [silent].
- The half bureau's ladder decides R again: its 通报 (and the 督办单 for H1, when there was one)
  is withdrawn once, a 通报表扬 is made; the diligent and silent decisions stand untouched.
The diligent bureau ends with no red month, no 督办单 and no black list.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.core import constants as c
from guatu.core.clock import CST, local_date
from guatu.ladder import queries as ladder_queries
from guatu.lifecycle.models import (
    CurveShape,
    MilestonePlan,
    ProgrammeClock,
    ProgressReportInput,
    ProjectKind,
    ProjectPlan,
    StageTransitionInput,
    Step,
    UpdateResult,
)
from guatu.lifecycle.programme import load_policy
from guatu.lifecycle.service import project_status, send_update, start_input, start_project
from guatu.ranking import queries, service
from tests.helpers import eventually, running_worker
from tests.ranking.conftest import end_ladders, fetch
from workflows.project_lifecycle import ProjectLifecycle

MILESTONES = [
    (Step.PRELIMINARY, 1, 20),
    (Step.LAND_USE, 4, 15),
    (Step.PLANNING_PERMIT, 8, 15),
    (Step.CONSTRUCTION_STARTED, 15, 1),
]  # month 15: 1 March of Y+1 (not due)
REASON = "区统计局联网直报核实：1月至当月漏报投资，补记入当月月报"


@dataclass(frozen=True)
class Case:
    """One load day and what the hand computation above gives for it."""

    load: date
    period: str  # R, the month ranked
    k: int  # R's month number
    h1_gap: float  # H1's 序时 gap at R before the correction, points
    h1_red: list[str]  # H1's red months before the correction
    h1_red_after: list[str]  # … and after it (R is green again)
    half_score: float  # the half-plan bureau's score in revision 1
    order: bool  # H1 red two months running at R → 督办单
    backfill_until: date  # the first report due day (25th) after the load day
    reached: int  # milestones planned before the load day (reached by D and H)


CASES = [
    # k=10: gap 83.3 − 41.7 = 41.6 → red; red 08, 09, 10 (streak 3 → 督办单); H = 30+25+15−5.
    Case(
        date(2026, 11, 20),
        "2026-10",
        10,
        41.6,
        ["2026-08", "2026-09", "2026-10"],
        ["2026-08", "2026-09"],
        65.0,
        True,
        date(2026, 11, 25),
        3,
    ),
    # k=11: gap 91.7 − 45.8 = 45.9 → red; red 08..11 (streak 4 → 督办单); window to 25 Dec.
    Case(
        date(2026, 12, 1),
        "2026-11",
        11,
        45.9,
        ["2026-08", "2026-09", "2026-10", "2026-11"],
        ["2026-08", "2026-09", "2026-10"],
        65.0,
        True,
        date(2026, 12, 25),
        3,
    ),
    # The same months; 25 December is before the load day, so the window runs to 25 January.
    Case(
        date(2026, 12, 31),
        "2026-11",
        11,
        45.9,
        ["2026-08", "2026-09", "2026-10", "2026-11"],
        ["2026-08", "2026-09", "2026-10"],
        65.0,
        True,
        date(2027, 1, 25),
        3,
    ),
    # k=1: gap 8.3 − 4.2 = 4.1 → green, no red month, no 督办单; H = 30+25+15 = 70; only 前期
    # (20 January) is planned before 29 February.
    Case(date(2028, 2, 29), "2028-01", 1, 4.1, [], [], 70.0, False, date(2028, 3, 25), 1),
    # k=9: gap 75.0 − 37.5 = 37.5 → red; red 08, 09 (streak 2 → 督办单); after: 08.
    Case(
        date(2025, 10, 11),
        "2025-09",
        9,
        37.5,
        ["2025-08", "2025-09"],
        ["2025-08"],
        65.0,
        True,
        date(2025, 10, 25),
        3,
    ),
]


def planned(year: int, month: int, day: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, day)


def plan(code: str, bureau: str, year: int, total: float, yearly: dict[int, float]) -> ProjectPlan:
    return ProjectPlan(
        code=code,
        name_zh=f"年中录入项目 {code}",
        program="P06",
        bureau=bureau,
        kind=ProjectKind.ENGINEERING,
        total_investment_wan=total,
        yearly_investment_wan=yearly,
        start=date(year, 1, 1),
        finish=date(year + 1 + (len(yearly) - 1), 1, 1),
        curve=CurveShape.LINEAR,
        milestones=[MilestonePlan(step=s, planned=planned(year, m, d)) for s, m, d in MILESTONES],
    )


async def add_bureaus(pool: asyncpg.Pool, codes: dict[str, str]) -> None:
    names = {"diligent": "按计划局", "half": "半计划局", "silent": "未报送局"}
    async with pool.acquire() as conn:
        for role, code in codes.items():
            await conn.execute(
                "INSERT INTO bureaus (code, name_zh, name_en, webhook_url)"
                " VALUES ($1, $2, $3, NULL)",
                code,
                names[role],
                f"{role} bureau",
            )


async def back_fill(
    client: Client, pool: asyncpg.Pool, p: ProjectPlan, monthly: float, case: Case
) -> None:
    """Months 1..k reported (back-dated), then every milestone planned before the load day
    reached on its planned day, through the real Updates."""
    year = p.start.year
    for m in range(1, case.k + 1):
        await send_update(
            client,
            p.code,
            ProjectLifecycle.submit_report,
            ProgressReportInput(
                bureau=p.bureau,
                idempotency_key=f"{p.code}-r{m}",
                month=f"{year}-{m:02d}",
                investment_wan=monthly,
                physical_progress_pct=3.0 * m,
            ),
            pool=pool,
        )
    for i, ms in enumerate(p.milestones):
        if ms.planned < case.load:
            await send_update(
                client,
                p.code,
                ProjectLifecycle.transition_stage,
                StageTransitionInput(
                    bureau=p.bureau, idempotency_key=f"{p.code}-t{i}", step=ms.step, on=ms.planned
                ),
                pool=pool,
            )


async def projected(client: Client, pool: asyncpg.Pool, codes: list[str]) -> bool:
    """The read model holds every project's latest state (its version caught up)."""
    for code in codes:
        status = await project_status(client, code)
        rows = await fetch(pool, "SELECT version FROM projects WHERE code = $1", code)
        if not rows or rows[0]["version"] != status.version:
            return False
    return True


async def read_projects(pool: asyncpg.Pool) -> dict[str, dict[str, Any]]:
    rows = await fetch(
        pool,
        "SELECT code, light, red_months, explanations, milestones, business_today FROM projects",
    )
    return {r["code"]: dict(r) for r in rows}


def results(milestones: list[dict[str, Any]]) -> dict[str, str]:
    return {m["step"]: m["result"] for m in milestones}


async def decisions(pool: asyncpg.Pool, bureaus: list[str]) -> set[tuple[str, str, str | None]]:
    rows = await fetch(
        pool,
        "SELECT bureau, kind, project FROM ladder_decisions WHERE bureau = ANY($1::text[])",
        bureaus,
    )
    return {(r["bureau"], r["kind"], r["project"]) for r in rows}


@pytest.mark.parametrize("case", CASES, ids=[x.load.isoformat() for x in CASES])
async def test_mid_year_adoption_end_to_end(
    case: Case,
    dev_env: WorkflowEnvironment,
    fresh_pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    settings: Settings,
) -> None:
    started = time.monotonic()
    client = dev_env.client
    pool = fresh_pool
    k, period = case.k, case.period
    year = int(period[:4])
    loaded_at = datetime(case.load.year, case.load.month, case.load.day, 10, tzinfo=CST)
    clock = ProgrammeClock(scale=1.0, anchor_business=loaded_at)
    tag = uuid.uuid4().hex[:6]
    d, h, s = (f"a{tag}_{x}" for x in ("dil", "half", "sil"))
    await add_bureaus(pool, {"diligent": d, "half": h, "silent": s})
    px = f"A{tag.upper()}"
    d1 = plan(f"{px}-D1", d, year, 2400.0, {year: 1200.0, year + 1: 1200.0})
    d2 = plan(f"{px}-D2", d, year, 1200.0, {year: 1200.0})
    h1 = plan(f"{px}-H1", h, year, 6000.0, {year: 3000.0, year + 1: 3000.0})
    s1 = plan(f"{px}-S1", s, year, 2400.0, {year: 1200.0, year + 1: 1200.0})
    plans = [d1, d2, h1, s1]
    codes = [p.code for p in plans]
    policy = load_policy()
    assert (policy.progress_basis, policy.backfill_report_dues, policy.report_due_day) == (
        "year_plan",
        1,
        25,
    )
    due = {m.step.value for m in d1.milestones if m.planned < case.load}
    assert len(due) == case.reached
    met = {m.step.value: ("met" if m.step.value in due else "pending") for m in d1.milestones}
    waiting = {
        m.step.value: ("awaiting_backfill" if m.step.value in due else "pending")
        for m in d1.milestones
    }

    async with running_worker(client, pool, http, settings) as tq:
        try:
            for p in plans:
                await start_project(client, p, policy, task_queue=tq, clock=clock)
            # Business today is the load day for every project, whatever the real date.
            for code in codes:
                assert (await project_status(client, code)).business_today == case.load
            await asyncio.gather(
                back_fill(client, pool, d1, 100.0, case),
                back_fill(client, pool, d2, 100.0, case),
                back_fill(client, pool, h1, 125.0, case),
            )
            await eventually(lambda: projected(client, pool, codes), timeout=60)

            # -- lights after the back-fill ------------------------------------------------
            rows = await read_projects(pool)
            for p in (d1, d2):
                row = rows[p.code]
                assert (row["light"], row["red_months"], results(row["milestones"])) == (
                    "green",
                    [],
                    met,
                ), p.code
                assert row["business_today"] == case.load
            row = rows[h1.code]
            assert row["red_months"] == case.h1_red
            assert row["light"] == ("red" if case.h1_red else "green")
            assert results(row["milestones"]) == met
            gap = next(e for e in row["explanations"] if e["rule"] == "progress.yinchuan")
            assert (gap["inputs"]["month"], gap["inputs"]["gap_points"]) == (period, case.h1_gap)
            row = rows[s1.code]
            assert (row["light"], row["red_months"]) == ("green", [])
            assert results(row["milestones"]) == waiting
            pending = [e for e in row["explanations"] if e["rule"] == "backfill.pending"]
            assert pending and all(
                e["inputs"]["backfill_until"] == case.backfill_until.isoformat() for e in pending
            )
            # The live status query says the same as the read model.
            for p in plans:
                live = await project_status(client, p.code)
                assert (live.light.value, results(live.milestones)) == (
                    rows[p.code]["light"],
                    results(rows[p.code]["milestones"]),
                ), p.code

            # -- the round of R -----------------------------------------------------------
            first = await (
                await service.trigger_round(client, period, task_queue=tq, clock=clock)
            ).result()
            assert (first.revision, first.ruleset_version) == (1, 2)
            assert (first.red_list, first.black_list) == ([d], [h, s])
            ranking = await queries.get_ranking(pool, "bureau", period)
            assert [(r["code"], r["rank"], r["score"], r["list"]) for r in ranking["rows"]] == [
                (d, 1, 100.0, "red"),
                (h, 2, case.half_score, "black"),
                (s, 3, 0.0, "black"),
            ]
            projects = await queries.get_ranking(pool, "project", period)
            # D1 and D2 tie on 100.00 and ratio 1.0000: the weight puts D1 (2,400) first.
            assert [(r["code"], r["score"]) for r in projects["rows"]] == [
                (d1.code, 100.0),
                (d2.code, 100.0),
                (h1.code, case.half_score),
                (s1.code, 0.0),
            ]
            h1_lines = {
                x["key"]: x
                for x in next(r for r in projects["rows"] if r["code"] == h1.code)["breakdown"]
            }
            # 125k of the 250k plan-to-date (3,000 × k/12): 0.5 → 30.00 of 60.
            assert (
                h1_lines["investment_ratio"]["inputs"]["actual_wan"],
                h1_lines["investment_ratio"]["inputs"]["planned_wan"],
                h1_lines["investment_ratio"]["points"],
            ) == (125.0 * k, 250.0 * k, 30.0)
            assert h1_lines["red_months"]["points"] == (-5.0 if period in case.h1_red else 0.0)

            expected: set[tuple[str, str, str | None]] = {
                (d, "commendation", None),
                (h, "notice", None),
                (s, "notice", None),
            }
            if case.order:
                expected.add((h, "project_supervision", h1.code))
            assert await decisions(pool, [d, h, s]) == expected
            orders = await fetch(
                pool,
                "SELECT bureau, project, due, status FROM ladder_orders"
                " WHERE bureau = ANY($1::text[])",
                [d, h, s],
            )
            # The 督办单's deadline runs on the programme clock: load day + 30 days.
            assert [(r["bureau"], r["project"], r["due"], r["status"]) for r in orders] == (
                [(h, h1.code, case.load + timedelta(days=30), "open")] if case.order else []
            )

            # -- the late correction -------------------------------------------------------
            fixed: UpdateResult = await send_update(
                client,
                h1.code,
                ProjectLifecycle.submit_report,
                ProgressReportInput(
                    bureau=h,
                    idempotency_key=f"{h1.code}-fix",
                    month=period,
                    investment_wan=125.0 + 125.0 * k,
                    physical_progress_pct=3.0 * k,
                    correction=True,
                    narrative=REASON,
                ),
                pool=pool,
            )
            # 本年累计 125(k−1) + 125 + 125k = 250k = 3,000 × k/12: on plan at R → green.
            assert fixed.light.value == "green"

            async def corrected() -> bool:
                got = await fetch(
                    pool, "SELECT red_months, light FROM projects WHERE code = $1", h1.code
                )
                return (got[0]["red_months"], got[0]["light"]) == (case.h1_red_after, "green")

            await eventually(corrected, timeout=30)
            await eventually(lambda: projected(client, pool, [h1.code]), timeout=30)

            # A plain re-run: the frozen inputs stand, byte for byte.
            again = await (
                await service.trigger_round(client, period, task_queue=tq, clock=clock)
            ).result()
            assert (again.revision, again.reproduced) == (1, True)
            assert (again.snapshot_sha256, again.results_sha256) == (
                first.snapshot_sha256,
                first.results_sha256,
            )
            assert await decisions(pool, [d, h, s]) == expected

            # -- revision 2 ----------------------------------------------------------------
            handle = await service.revise_round(
                client, period, reason=REASON, actor="王科长", task_queue=tq, pool=pool, clock=clock
            )
            assert handle.id == c.ranking_round_workflow_id(period, "default", 2)
            second = await handle.result()
            assert (second.revision, second.reproduced) == (2, False)
            assert second.snapshot_sha256 != first.snapshot_sha256
            assert (second.red_list, second.black_list) == ([h, d], [s])
            ranking = await queries.get_ranking(pool, "bureau", period)
            assert [(r["code"], r["rank"], r["score"], r["list"]) for r in ranking["rows"]] == [
                (h, 1, 100.0, "red"),
                (d, 2, 100.0, "red"),
                (s, 3, 0.0, "black"),
            ]
            tie = next(x for x in ranking["rows"][1]["breakdown"] if x["key"] == "tie_break")
            assert tie["inputs"]["decided_by"] == "weight"  # ratio 1.0000 both; 6,000 > 3,600
            rev = ranking["revision"]
            assert (rev["number"], rev["reason"], rev["actor"]) == (2, REASON, "王科长")
            changes = rev["changes"]["levels"]["bureau"]
            assert {
                (x["code"], x["before"]["rank"], x["after"]["rank"]) for x in changes["rows"]
            } == {(h, 2, 1), (d, 1, 2)}
            assert changes["red_list"] == {"before": [d], "after": [h, d]}
            assert changes["black_list"] == {"before": [h, s], "after": [s]}
            told = {
                (x["bureau"], x["change"], x["kind"], x["project"])
                for x in rev["changes"]["decisions"]
            }
            want: set[tuple[str, str, str, str | None]] = {
                (h, "withdrawn", "notice", None),
                (h, "made", "commendation", None),
            }
            if case.order:
                want.add((h, "withdrawn", "project_supervision", h1.code))
            assert told == want
            projects = await queries.get_ranking(pool, "project", period)
            assert [(r["code"], r["score"]) for r in projects["rows"]] == [
                (h1.code, 100.0),
                (d1.code, 100.0),
                (d2.code, 100.0),
                (s1.code, 0.0),
            ]

            # A plain re-run now verifies revision 2; nothing is withdrawn a second time.
            third = await (
                await service.trigger_round(client, period, task_queue=tq, clock=clock)
            ).result()
            assert (third.revision, third.reproduced, third.results_sha256) == (
                2,
                True,
                second.results_sha256,
            )
            withdrawn = await fetch(
                pool,
                "SELECT bureau, inputs->>'withdraws_kind' AS what"
                " FROM ladder_decisions WHERE kind = 'withdrawn'",
            )
            assert sorted((r["bureau"], r["what"]) for r in withdrawn) == sorted(
                [(h, "notice")] + ([(h, "project_supervision")] if case.order else [])
            )
            orders = await fetch(
                pool,
                "SELECT bureau, status FROM ladder_orders WHERE bureau = ANY($1::text[])",
                [d, h, s],
            )
            assert [(r["bureau"], r["status"]) for r in orders] == (
                [(h, "withdrawn")] if case.order else []
            )
            standing = {b: await ladder_queries.bureau_standing(pool, b) for b in (d, h, s)}
            # Rung after R: diligent 0 (red list), half 0 (its 通报 withdrawn), silent 1 (通报).
            assert [
                (b, [(t["level"], t["red_streak"]) for t in standing[b]["tracks"]])
                for b in (d, h, s)
            ] == [(d, [(0, 1)]), (h, [(0, 1)]), (s, [(1, 0)])]

            # The diligent bureau: no red month, no 督办单, never on a black list.
            rows = await read_projects(pool)
            assert [rows[p.code]["red_months"] for p in (d1, d2)] == [[], []]
            assert d not in first.black_list and d not in second.black_list
            assert not [o for o in orders if o["bureau"] == d]
        finally:
            await end_ladders(client, [d, h, s])
            for code in codes:
                with contextlib.suppress(Exception):
                    await client.get_workflow_handle(c.project_workflow_id(code)).terminate()
    print(f"\nmid-year adoption loaded {case.load}: {time.monotonic() - started:.1f} s")


async def test_a_back_fill_in_the_first_workflow_task(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool, http: httpx.AsyncClient, settings: Settings
) -> None:
    """A report that reaches a project in its first workflow task (sent right after the plan
    was loaded, or queued while the worker was down) is handled before the workflow's `run`
    begins. It must already see the project loaded: the programme clock anchored, the back-fill
    window open. (It did not: January, back-filled on 20 November, was recorded at the real
    time and counted late.) Update-with-start puts it in the first task every time."""
    client = dev_env.client
    bureau = f"a{uuid.uuid4().hex[:8]}_first"
    await add_bureaus(pool, {"diligent": bureau})
    p = plan(
        f"A{uuid.uuid4().hex[:6].upper()}-F1", bureau, 2026, 2400.0, {2026: 1200.0, 2027: 1200.0}
    )
    loaded_at = datetime(2026, 11, 20, 10, tzinfo=CST)
    clock = ProgrammeClock(scale=1.0, anchor_business=loaded_at)
    async with running_worker(client, pool, http, settings) as tq:
        handle = client.get_workflow_handle(c.project_workflow_id(p.code))
        try:
            result: UpdateResult = await client.execute_update_with_start_workflow(
                ProjectLifecycle.submit_report,
                ProgressReportInput(
                    bureau=bureau,
                    idempotency_key=f"{p.code}-r1",
                    month="2026-01",
                    investment_wan=100.0,
                    physical_progress_pct=3.0,
                ),
                start_workflow_operation=WithStartWorkflowOperation(
                    c.PROJECT_WORKFLOW,
                    start_input(p, load_policy(), clock),
                    id=handle.id,
                    task_queue=tq,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                ),
                id=f"{c.UPDATE_REPORT}:{p.code}-r1",
                result_type=UpdateResult,
            )
            assert result.accepted and not result.duplicate
            state = await handle.query(ProjectLifecycle.state)
        finally:
            with contextlib.suppress(Exception):
                await handle.terminate()
    january = state.reports["2026-01"]
    # Due 25 January, before the load day, sent inside the window (to 25 November): on time;
    # received on the programme clock (20 November, Beijing time), not on the real date.
    assert state.backfill_until == date(2026, 11, 25)
    assert january.on_time is True
    assert local_date(january.received_at) == date(2026, 11, 20)
    # The approval (立项) opens the stage history, before anything the bureau sent.
    assert [x.stage.value for x in state.stage_history] == ["approved"]
    assert state.started_at == loaded_at
