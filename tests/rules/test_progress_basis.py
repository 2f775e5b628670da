"""序时 on the year's plan beside the total basis, the finish-day convention and no "-0".

Every expected figure is worked out by hand in the comments. Each case is anchored on one of the
"today" dates the suite must pass on (the 1st of a month, 31 December, 29 February, a 调休
Saturday): the check read is the one that ran last before that day (on the 1st of its month).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from guatu.lifecycle.models import (
    CurveShape,
    Light,
    MilestonePlan,
    ProjectKind,
    ProjectPlan,
    ReportRecord,
    Step,
    TimerPolicy,
)
from guatu.lifecycle.rules.lights import points, progress_check
from guatu.lifecycle.rules.progress import (
    planned_fraction,
    year_elapsed_share,
    year_plan_wan,
    year_span_months,
)
from guatu.ranking.models import Basis, Component, ComponentKey
from guatu.ranking.periods import parse_period
from guatu.ranking.scoring import _investment_ratio, investment
from guatu.ranking.snapshot import project_input

POLICY = TimerPolicy()


def multi_year_plan(year: int) -> ProjectPlan:
    """A three-year project, `year` in the middle: 2,000 + 6,000 + 2,150 = 10,150 万元."""
    return ProjectPlan(
        code="YP-1",
        name_zh="三年项目",
        program="P06",
        bureau="fgj",
        kind=ProjectKind.ENGINEERING,
        total_investment_wan=10150.0,
        yearly_investment_wan={year - 1: 2000.0, year: 6000.0, year + 1: 2150.0},
        start=date(year - 1, 1, 1),
        finish=date(year + 2, 1, 1),
        milestones=[MilestonePlan(step=Step.PRELIMINARY, planned=date(year - 1, 3, 1))],
        curve=CurveShape.LINEAR,
    )


def record(month: str, wan: float) -> ReportRecord:
    return ReportRecord(
        month=month,
        investment_wan=wan,
        cumulative_investment_wan=0.0,
        physical_progress_pct=10.0,
        received_at=datetime(2020, 1, 1, tzinfo=UTC),
        on_time=True,
    )


def half_plan_reports(year: int, k: int) -> dict[str, ReportRecord]:
    """Last year's plan done in full (2,000 in December), then half of this year's plan-to-date:
    the year plan is 6,000, i.e. 500 a month on 时间进度, and the bureau did 250 a month."""
    reports = {f"{year - 1}-12": record(f"{year - 1}-12", 2000.0)}
    reports.update({f"{year}-{m:02d}": record(f"{year}-{m:02d}", 250.0) for m in range(1, k + 1)})
    return reports


# today, the month checked last, and the hand figures on both bases:
#   year_plan: completion = 250k ÷ 6,000, 时间进度 = k ÷ 12, gap = rounded 时间进度 − rounded completion
#   total: planned = (2,000 + 6,000 × days elapsed in the year ÷ days in the year) ÷ 10,150,
#          actual = (2,000 + 250k) ÷ 10,150, gap = rounded planned − rounded actual
CASES = [
    # 2026-12-01: November checked (k = 11). 2,750 ÷ 6,000 = 45.83 → 45.8 %; 11/12 = 91.67 →
    # 91.7 %; 91.7 − 45.8 = 45.9 points behind → red (> 30): the figure.
    # Total: 6,000 × 334/365 = 5,490.41; 7,490.41 ÷ 10,150 = 73.80 → 73.8 %; 4,750 ÷ 10,150 =
    # 46.80 → 46.8 %; 73.8 − 46.8 = 27.0 → yellow (10 ≤ 27 ≤ 30).
    (
        date(2026, 12, 1),
        "2026-11",
        11,
        (91.7, 45.8, 45.9, Light.RED),
        (73.8, 46.8, 27.0, Light.YELLOW),
    ),
    # 2026-12-31: the last check is still November's (it ran on 1 December): the same figures.
    (
        date(2026, 12, 31),
        "2026-11",
        11,
        (91.7, 45.8, 45.9, Light.RED),
        (73.8, 46.8, 27.0, Light.YELLOW),
    ),
    # 2028-02-29: January 2028 checked (k = 1). 250 ÷ 6,000 = 4.17 → 4.2 %; 1/12 = 8.33 → 8.3 %;
    # 8.3 − 4.2 = 4.1 → green. Total (2028 has 366 days): 6,000 × 31/366 = 508.20; 2,508.20 ÷
    # 10,150 = 24.71 → 24.7 %; 2,250 ÷ 10,150 = 22.17 → 22.2 %; 24.7 − 22.2 = 2.5 → green.
    (date(2028, 2, 29), "2028-01", 1, (8.3, 4.2, 4.1, Light.GREEN), (24.7, 22.2, 2.5, Light.GREEN)),
    # 2025-10-11 (调休 Saturday): September checked (k = 9). 2,250 ÷ 6,000 = 37.5 %; 9/12 = 75 %;
    # 75.0 − 37.5 = 37.5 → red. Total: 6,000 × 273/365 = 4,487.67; 6,487.67 ÷ 10,150 = 63.92 →
    # 63.9 %; 4,250 ÷ 10,150 = 41.87 → 41.9 %; 63.9 − 41.9 = 22.0 → yellow.
    (
        date(2025, 10, 11),
        "2025-09",
        9,
        (75.0, 37.5, 37.5, Light.RED),
        (63.9, 41.9, 22.0, Light.YELLOW),
    ),
]


@pytest.mark.parametrize(
    ("today", "month", "k", "year_plan", "total"), CASES, ids=[c[0].isoformat() for c in CASES]
)
def test_year_plan_basis_beside_total_basis(
    today: date,
    month: str,
    k: int,
    year_plan: tuple[float, float, float, Light],
    total: tuple[float, float, float, Light],
) -> None:
    assert month < today.isoformat()[:7]  # the check read is one that has run by `today`
    plan = multi_year_plan(int(month[:4]))
    reports = half_plan_reports(int(month[:4]), k)
    for basis, (planned, actual, gap, light) in (("year_plan", year_plan), ("total", total)):
        why = progress_check(plan, reports, month, POLICY, basis)
        assert why.inputs["basis"] == basis
        assert (why.inputs["planned_pct"], why.inputs["actual_pct"]) == (planned, actual), basis
        assert why.inputs["gap_points"] == pytest.approx(gap, abs=1e-9), basis
        assert why.light is light, (basis, why.text_en)
        assert f"落后序时进度 {gap:g} 个百分点" in why.text_zh
    assert (
        "占年度计划 6000 万元" in progress_check(plan, reports, month, POLICY, "year_plan").text_zh
    )


def test_year_plan_of_a_plan_without_yearly_amounts_is_the_curve_share() -> None:
    # 2026-07-01 → 2027-07-01, 3,650 万 linear over 365 days: 2026 holds 184 days (July–December)
    # → 3,650 × 184/365 = 1,840 万; its span months are July–December (6), so at the close of
    # September 时间进度 = 3/6 = 50 %.
    plan = ProjectPlan(
        code="YP-2",
        name_zh="跨年项目",
        program="P06",
        bureau="fgj",
        kind=ProjectKind.SERVICE,
        total_investment_wan=3650.0,
        start=date(2026, 7, 1),
        finish=date(2027, 7, 1),
        milestones=[MilestonePlan(step=Step.IMPLEMENTING, planned=date(2026, 8, 1))],
    )
    assert year_plan_wan(plan, 2026) == pytest.approx(1840.0)
    assert year_span_months(plan, 2026) == [f"2026-{m:02d}" for m in range(7, 13)]
    assert year_elapsed_share(plan, "2026-09") == 0.5
    # 2027: the finish day 1 July is not in the span → January–June, 6 months.
    assert year_span_months(plan, 2027) == [f"2027-{m:02d}" for m in range(1, 7)]


@pytest.mark.parametrize("finish", [date(2026, 12, 1), date(2025, 10, 11), date(2028, 2, 29)])
def test_the_finish_day_is_not_inside_the_span(finish: date) -> None:
    # The plan is due in full as its finish day begins; the day before, one day's share is left.
    start = date(finish.year - 1, finish.month, 1)
    plan = ProjectPlan(
        code="FD-1",
        name_zh="完成日",
        program="P06",
        bureau="fgj",
        kind=ProjectKind.SERVICE,
        total_investment_wan=1000.0,
        start=start,
        finish=finish,
        milestones=[],
    )
    days = (finish - start).days
    assert planned_fraction(plan, finish) == 1.0
    assert planned_fraction(plan, date.fromordinal(finish.toordinal() - 1)) == (days - 1) / days


def test_explanations_never_print_negative_zero() -> None:
    # On plan exactly: 6 months of a 12-month, 1,200 万 plan → 50 % planned, 600 万 = 50 % done.
    plan = ProjectPlan(
        code="Z-1",
        name_zh="持平",
        program="P06",
        bureau="fgj",
        kind=ProjectKind.SERVICE,
        total_investment_wan=1200.0,
        yearly_investment_wan={2026: 1200.0},
        start=date(2026, 1, 1),
        finish=date(2027, 1, 1),
        milestones=[],
    )
    reports = {f"2026-{m:02d}": record(f"2026-{m:02d}", 100.0) for m in range(1, 7)}
    for basis in ("year_plan", "total"):
        why = progress_check(plan, reports, "2026-06", POLICY, basis)
        if basis == "year_plan":  # 6/12 = 50.0 % against 600 ÷ 1,200 = 50.0 %
            assert why.inputs["gap_points"] == 0.0
            assert "与序时进度持平" in why.text_zh and "on plan" in why.text_en
        text = why.text_zh + why.text_en + why.formula
        assert "-0 " not in text and "−0 " not in text and "-0%" not in text, text
    # Rounding a tiny negative difference gives −0.0; printed figures are normalised.
    assert f"{points(-0.04):g}" == "0" and f"{round(-0.04, 1):g}" == "-0"


@pytest.mark.parametrize(
    ("today", "month", "k"),
    [(c[0], c[1], c[2]) for c in CASES],
    ids=[c[0].isoformat() for c in CASES],
)
def test_ranking_year_plan_basis_reads_the_same_year_plan(today: date, month: str, k: int) -> None:
    """The snapshot carries the year's plan and its plan-to-date on 时间进度; the ranking's
    investment component on `year_plan` scores 60 × (本年完成 ÷ 年度序时计划)."""
    year = int(month[:4])
    plan = multi_year_plan(year)
    row = {
        "code": plan.code,
        "name_zh": plan.name_zh,
        "program": "P06",
        "bureau": "fgj",
        "kind": "engineering",
        "stage": "preliminary",
        "status": "active",
        "plan": plan.model_dump(mode="json"),
        "red_months": "[]",
    }
    monthly = {m: (r.investment_wan, True) for m, r in half_plan_reports(year, k).items()}
    p = project_input(row, monthly, {}, parse_period(month))
    assert p is not None
    # Year plan 6,000; 时间进度 k/12 → plan-to-date 500k; done 250k this year.
    assert (p.year_plan_wan, p.year_plan_to_date_wan, p.actual_ytd_wan) == (
        6000.0,
        round(500.0 * k, 2),
        250.0 * k,
    )
    assert investment(p, Basis.YEAR_PLAN) == (250.0 * k, 500.0 * k)
    line = _investment_ratio(
        p, Component(key=ComponentKey.INVESTMENT_RATIO, points=60, basis=Basis.YEAR_PLAN)
    )
    # ratio 250k ÷ 500k = 0.5 → 60 × 0.5 = 30.00 on every anchor.
    assert line["points"] == 30.0
    assert f"时间进度 {100 * k / 12:.2f}%" in line["text_zh"]
