"""序时进度: the planned cumulative investment curve and how far a project is behind it.

Span convention (config/rules/README.md): a plan runs from the start of its `start` day to the
start of its `finish` day, so the finish day itself is NOT inside the span — the whole plan is due
when the finish day begins (`planned_fraction(plan, plan.finish) == 1`).

Two bases: `total` measures cumulative investment against the whole-span curve in points of the
total; `year_plan` (the practice) measures this year's completion rate (本年累计完成 ÷ 年度计划)
against the elapsed share of the year's plan span counted in whole months (时间进度, e.g. 11/12
at the close of November for a plan spanning the whole year).
"""

from __future__ import annotations

from datetime import date, timedelta

from guatu.core.clock import month_key, months_between, parse_month
from guatu.lifecycle.models import CurveShape, ProjectPlan, ReportRecord


def _span_fraction(start: date, finish: date, day: date) -> float:
    if day <= start:
        return 0.0
    if day >= finish:
        return 1.0
    return (day - start).days / max((finish - start).days, 1)


def planned_fraction(plan: ProjectPlan, day: date) -> float:
    """Share (0..1) of total investment planned to be complete by the start of `day`.

    With per-year amounts the curve is linear inside each year's active span and steps through
    the yearly plan, which is how 年度计划 are split into months; an S-curve uses the whole span.
    """
    if plan.total_investment_wan <= 0:
        return _span_fraction(plan.start, plan.finish, day)
    if plan.curve is CurveShape.S_CURVE or not plan.yearly_investment_wan:
        t = _span_fraction(plan.start, plan.finish, day)
        if plan.curve is CurveShape.S_CURVE:
            return t * t * (3 - 2 * t)
        return t
    done = 0.0
    for year in sorted(plan.yearly_investment_wan):
        amount = plan.yearly_investment_wan[year]
        span_start = max(plan.start, date(year, 1, 1))
        span_end = min(plan.finish, date(year + 1, 1, 1))
        if span_end <= span_start:
            # The year lies outside the project's dates: count it whole once it has passed.
            done += amount if day >= date(year + 1, 1, 1) else 0.0
            continue
        done += amount * _span_fraction(span_start, span_end, day)
    return min(done / plan.total_investment_wan, 1.0)


def planned_to_date_wan(plan: ProjectPlan, day: date) -> float:
    return plan.total_investment_wan * planned_fraction(plan, day)


def actual_investment_wan(
    reports: dict[str, ReportRecord], through_month: str | None = None
) -> float:
    return sum(
        r.investment_wan
        for key, r in reports.items()
        if through_month is None or key <= through_month
    )


def latest_physical_progress(
    reports: dict[str, ReportRecord], through_month: str | None = None
) -> float:
    keys = [k for k in reports if through_month is None or k <= through_month]
    return reports[max(keys)].physical_progress_pct if keys else 0.0


# -- the year's plan (年度投资计划) ---------------------------------------------------------------


def year_plan_wan(plan: ProjectPlan, year: int) -> float:
    """The year's plan: `yearly_investment_wan[year]` when per-year amounts are given, else the
    share of the total the curve (linear or S) puts inside that calendar year."""
    if plan.yearly_investment_wan:
        return float(plan.yearly_investment_wan.get(year, 0.0))
    return planned_to_date_wan(plan, date(year + 1, 1, 1)) - planned_to_date_wan(
        plan, date(year, 1, 1)
    )


def year_span_months(plan: ProjectPlan, year: int) -> list[str]:
    """The months of `year` holding at least one day of the plan's span [start, finish).

    A year with a plan amount but no day of the span (a plan outside its dates) is spread over
    all twelve months.
    """
    last_day = max(plan.finish - timedelta(days=1), plan.start)
    first = max(plan.start, date(year, 1, 1))
    last = min(last_day, date(year, 12, 31))
    if last < first:
        return months_between(date(year, 1, 1), date(year, 12, 1))
    return months_between(first, last)


def year_elapsed_share(plan: ProjectPlan, month: str) -> float:
    """时间进度 at the close of `month`: span months of its year up to it ÷ span months."""
    span = year_span_months(plan, parse_month(month).year)
    return sum(1 for m in span if m <= month) / len(span)


def year_actual_wan(reports: dict[str, ReportRecord], month: str) -> float:
    """本年累计完成: reported investment of `month`'s year through `month`."""
    first = month_key(parse_month(month).replace(month=1))
    return sum(r.investment_wan for key, r in reports.items() if first <= key <= month)


def year_plan_to_date_wan(plan: ProjectPlan, month: str) -> float:
    """The year's plan-to-date at the close of `month`: year plan × 时间进度."""
    return year_plan_wan(plan, parse_month(month).year) * year_elapsed_share(plan, month)


def months_through(plan: ProjectPlan, month: str, basis: str) -> list[str]:
    """The months whose reports a check of `month` reads on a basis: from the project's first
    month (total) or from the later of it and January of the month's year (year_plan)."""
    first = parse_month(month_key(plan.start))
    if basis == "year_plan":
        first = max(first, parse_month(month).replace(month=1))
    last = parse_month(month)
    return months_between(first, last) if first <= last else []
