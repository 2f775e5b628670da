"""序时进度: the planned cumulative investment curve and how far a project is behind it."""

from __future__ import annotations

from datetime import date

from guatu.models import CurveShape, ProjectPlan, ReportRecord


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


def actual_investment_wan(reports: dict[str, ReportRecord], through_month: str | None = None) -> float:
    return sum(
        r.investment_wan
        for key, r in reports.items()
        if through_month is None or key <= through_month
    )


def latest_physical_progress(reports: dict[str, ReportRecord], through_month: str | None = None) -> float:
    keys = [k for k in reports if through_month is None or k <= through_month]
    return reports[max(keys)].physical_progress_pct if keys else 0.0
