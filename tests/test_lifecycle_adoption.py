"""A mid-year adoption through the lights (pure LifecycleBook, hand clock), issue 8.

A plan is loaded in November; a diligent bureau back-fills January–October (and November when
its due day passed before loading) on plan with every milestone met on time, a half-plan bureau
back-fills half of each month's plan, a silent bureau sends nothing. Expected lights, red months
and milestone results are worked out by hand below, for four load days taken from the suite's
"today" anchors (1 December, 31 December, 29 February, the 调休 Saturday 11 October): the anchor's
day of the month, in November of its year (clamped to 30).

Each project: 2,400 万 over two years, 1,200 万 a year (`yearly_investment_wan`), start 1 January
of year Y, finish 1 January of Y+2; year plan spans the whole year, so 时间进度 at the close of
month k is k/12 and the monthly plan is 100 万. Milestones: 前期 Y-02-15, 用地 Y-05-15,
规划许可 Y-08-15, 开工 Y+1-03-01 (not due). Back-fill window (policy): until the first report
due day (the 25th) after the load day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from guatu.core.clock import CST
from guatu.lifecycle.book import LifecycleBook
from guatu.lifecycle.models import (
    CurveShape,
    Light,
    MilestonePlan,
    ProgrammeClock,
    ProgressReportInput,
    ProjectKind,
    ProjectPlan,
    ProjectState,
    StageTransitionInput,
    Step,
    TimerPolicy,
)


class HandClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CST).astimezone(UTC)


def plan_for(year: int, code: str) -> ProjectPlan:
    return ProjectPlan(
        code=code,
        name_zh="年中录入项目",
        program="P06",
        bureau="fgj",
        kind=ProjectKind.ENGINEERING,
        total_investment_wan=2400.0,
        yearly_investment_wan={year: 1200.0, year + 1: 1200.0},
        start=date(year, 1, 1),
        finish=date(year + 2, 1, 1),
        curve=CurveShape.LINEAR,
        milestones=[
            MilestonePlan(step=Step.PRELIMINARY, planned=date(year, 2, 15)),
            MilestonePlan(step=Step.LAND_USE, planned=date(year, 5, 15)),
            MilestonePlan(step=Step.PLANNING_PERMIT, planned=date(year, 8, 15)),
            MilestonePlan(step=Step.CONSTRUCTION_STARTED, planned=date(year + 1, 3, 1)),
        ],
    )


# (anchor, load day, last day of the back-fill window)
LOADS = [
    (date(2026, 12, 1), date(2026, 11, 1), date(2026, 11, 25)),
    (date(2026, 12, 31), date(2026, 11, 30), date(2026, 12, 25)),
    (date(2028, 2, 29), date(2028, 11, 29), date(2028, 12, 25)),
    (date(2025, 10, 11), date(2025, 11, 11), date(2025, 11, 25)),
]

# Steps reached on time (前期 early, the others on their planned day).
ON_TIME = [(Step.PRELIMINARY, (2, 10)), (Step.LAND_USE, (5, 15)), (Step.PLANNING_PERMIT, (8, 15))]


class Bureau:
    def __init__(self, name: str, monthly: float | None, load: date, policy: TimerPolicy) -> None:
        self.clock = HandClock(at(load, 9))
        self.year = load.year
        self.monthly = monthly
        self.book = LifecycleBook(
            ProjectState(
                plan=plan_for(load.year, f"ADOPT-{name.upper()}"),
                policy=policy,
                clock=ProgrammeClock(),
            ),
            self.clock,
            lambda *_: None,
        )
        self.book.start("manager", rules_revision=1)
        self.book.process_due()
        self.keys = 0

    def tick(self, moment: datetime) -> None:
        self.clock.at = moment
        self.book.process_due()

    def report(self, month: str) -> None:
        if self.monthly is None:
            return
        self.keys += 1
        data = ProgressReportInput(
            bureau="fgj",
            idempotency_key=f"r{self.keys}",
            month=month,
            investment_wan=self.monthly,
            physical_progress_pct=1.0,
        )
        self.book.check_report(data)  # the validator accepts it
        self.book.report(data)

    def reach_milestones(self) -> None:
        if self.monthly is None:
            return
        for i, (step, (month, day)) in enumerate(ON_TIME):
            data = StageTransitionInput(
                bureau="fgj", idempotency_key=f"t{i}", step=step, on=date(self.year, month, day)
            )
            self.book.check_transition(data)
            self.book.transition(data)

    @property
    def milestone_results(self) -> dict[str, str]:
        return {m["step"]: m["result"] for m in self.book.status().milestones}

    @property
    def rules(self) -> set[str]:
        return {e.rule for e in self.book.s.explanations}


def months(year: int, first: int, last: int) -> list[str]:
    return [f"{year}-{m:02d}" for m in range(first, last + 1)]


def run_year(load: date, until: date, policy: TimerPolicy) -> dict[str, Any]:
    """Load, back-fill, report on time afterwards, and look at the lights along the way."""
    y = load.year
    bureaus = {
        "diligent": Bureau("diligent", 100.0, load, policy),
        "half": Bureau("half", 50.0, load, policy),
        "silent": Bureau("silent", None, load, policy),
    }
    # Reports due (the 25th) before the load day are back-filled an hour after loading.
    backfilled_last = 11 if load.day > 25 else 10
    seen: dict[str, Any] = {}
    for b in bureaus.values():
        b.tick(at(load, 10))
        for month in months(y, 1, backfilled_last):
            b.report(month)
        b.reach_milestones()
    seen["in_window"] = {
        n: (b.book.s.light, list(b.book.s.red_months), b.milestone_results, b.rules)
        for n, b in bureaus.items()
    }
    # November's report on its due day when that is still ahead; then the window's last day,
    # the 1 December check (November), and the day after the window closed.
    for b in bureaus.values():
        if backfilled_last == 10:
            b.tick(at(date(y, 11, 25), 10))
            b.report(f"{y}-11")
        b.tick(at(until, 20))
    seen["last_window_day"] = {
        n: (b.book.s.light, list(b.book.s.red_months), b.rules) for n, b in bureaus.items()
    }
    end = max(until, date(y, 12, 1)) + timedelta(days=1)
    for b in bureaus.values():
        b.tick(at(end, 10))
    seen["after"] = {
        n: (
            b.book.s.light,
            list(b.book.s.red_months),
            b.milestone_results,
            b.book.s.backfill_closed,
        )
        for n, b in bureaus.items()
    }
    seen["books"] = {n: b.book for n, b in bureaus.items()}
    return seen


@pytest.mark.parametrize(
    ("anchor", "load", "until"), LOADS, ids=[a.isoformat() for a, _, _ in LOADS]
)
def test_mid_year_adoption_year_plan_basis(anchor: date, load: date, until: date) -> None:
    y = load.year
    seen = run_year(load, until, TimerPolicy())
    books = seen["books"]
    assert books["silent"].s.backfill_until == until  # the first 25th after the load day
    met = {
        "preliminary": "met",
        "land_use": "met",
        "planning_permit": "met",
        "construction_started": "pending",
    }

    # Inside the window, right after the back-fill.
    light, red, results, rules = seen["in_window"]["diligent"]
    # Month k: 100k ÷ 1,200 = k/12 done against k/12 elapsed → 0 points → green, never red.
    assert (light, red, results) == (Light.GREEN, [], met)
    light, red, results, rules = seen["in_window"]["half"]
    # Month k: 50k ÷ 1,200 = k/24 done against k/12 elapsed; gap = round(k/12) − round(k/24):
    # k=7: 58.3 − 29.2 = 29.1 (yellow), k=8: 66.7 − 33.3 = 33.4 (red), k=9: 75.0 − 37.5 = 37.5,
    # k=10: 83.3 − 41.7 = 41.6, k=11: 91.7 − 45.8 = 45.9 → red from August on. The data is in:
    # the back-fill window does not shield what was reported.
    assert light is Light.RED and results == met
    assert red == months(y, 8, 10)
    light, red, results, rules = seen["in_window"]["silent"]
    # Nothing reported, deadlines before loading: 待补报, not yellow/red, no red month.
    assert (light, red) == (Light.GREEN, [])
    assert "backfill.pending" in rules
    assert results == {
        "preliminary": "awaiting_backfill",
        "land_use": "awaiting_backfill",
        "planning_permit": "awaiting_backfill",
        "construction_started": "pending",
    }
    # Back-filled reports count as on time (they could not have come earlier).
    assert all(r.on_time for r in books["diligent"].s.reports.values())

    light, red, rules = seen["last_window_day"]["silent"]
    assert (light, red) == (Light.GREEN, []) and "backfill.pending" in rules

    # After the window: November checked on 1 December for every load day.
    light, red, results, closed = seen["after"]["diligent"]
    assert (light, red, results, closed) == (Light.GREEN, [], met, True)
    light, red, results, closed = seen["after"]["half"]
    assert light is Light.RED and red == months(y, 8, 11) and results == met
    light, red, results, closed = seen["after"]["silent"]
    # What is still missing now counts. 时间进度 with 0 done: k=1 8.3 (green), k=2 16.7 (yellow),
    # k=3 25.0 (yellow), k=4 33.3 (red) …; 前期 due 2-15, escalated (red) after 30 days of grace
    # from 3-18: the 1 April check (March) is red on the milestone alone → March–November red.
    assert light is Light.RED and closed
    assert red == months(y, 3, 11)
    assert results == {
        "preliminary": "missed",
        "land_use": "missed",
        "planning_permit": "missed",
        "construction_started": "pending",
    }
    assert "backfill.pending" not in {e.rule for e in books["silent"].s.explanations}
    # The read model gets the revised red months with the next projection.
    batch = books["half"].take_batch()
    assert batch is not None and batch.snapshot["red_months"] == months(y, 8, 11)


@pytest.mark.parametrize(
    ("anchor", "load", "until"),
    LOADS[:1] + LOADS[2:3],
    ids=[LOADS[0][0].isoformat(), LOADS[2][0].isoformat()],
)
def test_half_plan_is_not_red_on_the_total_basis(anchor: date, load: date, until: date) -> None:
    # Total basis: November planned = 1,200 × days to 1 Dec ÷ days in year ÷ 2,400 of the total
    # (2026: 1,200 × 334/365 = 1,098.08 → 45.8 %; 2028: 1,200 × 335/366 = 1,098.36 → 45.8 %),
    # done 550 ÷ 2,400 = 22.9 % → 22.9 points behind: yellow, and no month was ever red.
    seen = run_year(load, until, TimerPolicy(progress_basis="total"))
    light, red, _, _ = seen["after"]["half"]
    assert (light, red) == (Light.YELLOW, [])
    why = seen["books"]["half"].s.progress_explanation
    assert why.inputs["gap_points"] == pytest.approx(22.9)


def test_a_late_report_revises_a_red_month_and_a_late_step_a_missed_milestone() -> None:
    # Loaded at the plan's start (no window matters): January passes with nothing reported and
    # 前期 not reached by 2-15.
    load = date(2026, 1, 1)
    b = Bureau("late", 100.0, load, TimerPolicy())
    for day in (date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1)):
        b.tick(at(day, 1))
    # Checks so far (nothing reported): Jan 8.3 green; Feb 16.7 yellow (+ 前期 missed, yellow);
    # Mar 25.0 yellow but 前期 escalated on 3-18 → red; Apr 33.3 red.
    assert b.book.s.red_months == ["2026-03", "2026-04"]
    assert b.milestone_results["preliminary"] == "missed"
    b.tick(at(date(2026, 5, 2)))
    for month in months(2026, 1, 4):
        b.report(month)  # late, back-dated: each month now on plan
    data = StageTransitionInput(
        bureau="fgj", idempotency_key="t-late", step=Step.PRELIMINARY, on=date(2026, 2, 15)
    )  # reached on its planned day after all
    b.book.check_transition(data)
    b.book.transition(data)
    assert b.book.s.red_months == []
    assert b.milestone_results["preliminary"] == "met"
    assert b.book.s.light is Light.GREEN
