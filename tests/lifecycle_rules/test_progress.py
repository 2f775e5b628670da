"""序时 curve and year-plan figures, worked by hand in the comments."""

from __future__ import annotations

from datetime import date

import pytest

from guatu.lifecycle.models import CurveShape
from guatu.lifecycle.rules.progress import (
    actual_investment_wan,
    latest_physical_progress,
    months_through,
    planned_fraction,
    planned_to_date_wan,
    year_actual_wan,
    year_elapsed_share,
    year_plan_to_date_wan,
    year_plan_wan,
    year_span_months,
)
from tests.lifecycle_rules.support import plan, report, reports

# Ten days, 1–11 January 2030: day k of the span is k/10 of it.
TEN_DAYS = {"start": date(2030, 1, 1), "finish": date(2030, 1, 11)}


def test_linear_curve_over_the_span_with_the_finish_day_outside_it() -> None:
    p = plan(**TEN_DAYS, total=1000.0)
    assert planned_fraction(p, date(2029, 12, 31)) == 0.0
    assert planned_fraction(p, date(2030, 1, 1)) == 0.0
    assert planned_fraction(p, date(2030, 1, 6)) == 0.5  # 5 of 10 days
    assert planned_fraction(p, date(2030, 1, 11)) == 1.0  # due as the finish day begins
    assert planned_fraction(p, date(2031, 1, 1)) == 1.0
    assert planned_to_date_wan(p, date(2030, 1, 6)) == 500.0


def test_s_curve_is_smoothstep_of_the_span_share() -> None:
    p = plan(**TEN_DAYS, total=1000.0, curve=CurveShape.S_CURVE)
    # t = 0.5 → 0.25 × (3 − 1) = 0.5; t = 0.2 → 0.04 × 2.6 = 0.104; t = 0.8 → 0.64 × 1.4 = 0.896.
    assert planned_fraction(p, date(2030, 1, 6)) == pytest.approx(0.5)
    assert planned_fraction(p, date(2030, 1, 3)) == pytest.approx(0.104)
    assert planned_fraction(p, date(2030, 1, 9)) == pytest.approx(0.896)


def test_a_plan_without_money_follows_the_plain_span_share() -> None:
    p = plan(**TEN_DAYS, total=0.0, curve=CurveShape.S_CURVE)
    assert planned_fraction(p, date(2030, 1, 3)) == pytest.approx(0.2)


def test_yearly_amounts_are_linear_inside_each_years_span() -> None:
    # 600 in the second half of 2030 (184 days from 1 July), 1,200 over 2031; total 1,800.
    p = plan(
        start=date(2030, 7, 1),
        finish=date(2032, 1, 1),
        total=1800.0,
        yearly={2030: 600.0, 2031: 1200.0},
    )
    # 1 October: 92 of 184 days → 300 of 1,800 = 1/6.
    assert planned_fraction(p, date(2030, 10, 1)) == pytest.approx(1 / 6)
    # New Year: 2030 whole, 2031 not begun → 600 / 1,800.
    assert planned_fraction(p, date(2031, 1, 1)) == pytest.approx(1 / 3)
    assert planned_to_date_wan(p, date(2031, 1, 1)) == pytest.approx(600.0)
    assert planned_fraction(p, date(2032, 1, 1)) == pytest.approx(1.0)


def test_a_year_outside_the_dates_counts_whole_once_it_has_passed() -> None:
    # 300 planned for 2029 although the plan starts in July 2030 (a plan outside its dates).
    p = plan(
        start=date(2030, 7, 1),
        finish=date(2031, 1, 1),
        total=900.0,
        yearly={2029: 300.0, 2030: 600.0},
    )
    assert planned_fraction(p, date(2029, 12, 31)) == 0.0
    assert planned_fraction(p, date(2030, 7, 1)) == pytest.approx(1 / 3)


def test_the_curve_never_exceeds_the_whole() -> None:
    # Yearly amounts summing to 1,800 on a total of 1,500.
    p = plan(
        start=date(2030, 1, 1),
        finish=date(2032, 1, 1),
        total=1500.0,
        yearly={2030: 600.0, 2031: 1200.0},
    )
    assert planned_fraction(p, date(2032, 1, 1)) == 1.0


def test_actual_investment_and_latest_progress_through_a_month() -> None:
    rs = {
        "2030-03": report("2030-03", 100.0, pct=10.0),
        "2030-04": report("2030-04", 50.0, pct=25.0),
        "2030-05": report("2030-05", 25.0, pct=40.0),
    }
    assert actual_investment_wan(rs, "2030-04") == 150.0
    assert actual_investment_wan(rs) == 175.0
    assert actual_investment_wan(rs, "2030-02") == 0.0
    assert latest_physical_progress(rs, "2030-04") == 25.0
    assert latest_physical_progress(rs) == 40.0
    assert latest_physical_progress(rs, "2030-02") == 0.0
    assert latest_physical_progress({}) == 0.0


def test_year_plan_is_the_yearly_amount_or_the_curves_share_of_the_year() -> None:
    p = plan(yearly={2030: 1200.0}, total=1200.0)
    assert year_plan_wan(p, 2030) == 1200.0
    assert year_plan_wan(p, 2031) == 0.0
    # No yearly amounts: 1 July 2030 → 1 July 2031 (365 days), 3,650 万元 linear; 2030 holds
    # 184 of its days → 1,840, 2031 the other 181 → 1,810.
    q = plan(start=date(2030, 7, 1), finish=date(2031, 7, 1), total=3650.0)
    assert year_plan_wan(q, 2030) == pytest.approx(1840.0)
    assert year_plan_wan(q, 2031) == pytest.approx(1810.0)


def test_year_span_months_leave_out_the_finish_day() -> None:
    p = plan(start=date(2030, 7, 15), finish=date(2031, 3, 1))
    assert year_span_months(p, 2030) == [
        "2030-07",
        "2030-08",
        "2030-09",
        "2030-10",
        "2030-11",
        "2030-12",
    ]
    # The span ends on 28 February: March is not in it.
    assert year_span_months(p, 2031) == ["2031-01", "2031-02"]
    later = plan(start=date(2030, 7, 15), finish=date(2031, 3, 2))
    assert year_span_months(later, 2031) == ["2031-01", "2031-02", "2031-03"]
    # A year without a day of the span spreads over all twelve months.
    assert len(year_span_months(p, 2029)) == 12


def test_time_progress_and_year_plan_to_date() -> None:
    # Span months of 2030: July–December (6). At the close of September: 3 of 6.
    p = plan(start=date(2030, 7, 15), finish=date(2031, 3, 1), yearly={2030: 1200.0})
    assert year_elapsed_share(p, "2030-09") == 0.5
    assert year_elapsed_share(p, "2030-12") == 1.0
    assert year_plan_to_date_wan(p, "2030-09") == 600.0
    # February 2031: both span months of 2031 elapsed; no 2031 amount → 0.
    assert year_elapsed_share(p, "2031-02") == 1.0
    assert year_plan_to_date_wan(p, "2031-02") == 0.0


def test_year_actual_counts_only_the_months_year_through_the_month() -> None:
    rs = reports(m2029_12=10.0, m2030_01=20.0, m2030_02=30.0, m2030_03=40.0)
    assert year_actual_wan(rs, "2030-02") == 50.0
    assert year_actual_wan(rs, "2029-12") == 10.0


def test_months_through_on_each_basis() -> None:
    p = plan(start=date(2029, 11, 10), finish=date(2031, 1, 1))
    assert months_through(p, "2030-02", "total") == ["2029-11", "2029-12", "2030-01", "2030-02"]
    assert months_through(p, "2030-02", "year_plan") == ["2030-01", "2030-02"]
    assert months_through(p, "2029-12", "year_plan") == ["2029-11", "2029-12"]
    assert months_through(p, "2029-10", "total") == []
