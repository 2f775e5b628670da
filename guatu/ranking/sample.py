"""Synthetic frozen snapshots of the sample programme, for the what-if replay and its benchmark.

This is not the programme simulation (which drives the real workflows): it writes, straight
from the 243 sample plans, the inputs a round would have frozen had each bureau behaved in a
seeded way, so that five years of periods can be re-evaluated in memory. Deterministic: the
same plans, periods and seed give the same snapshots.

Behaviour per bureau (seeded): a pace (share of the 序时 plan actually invested each month,
with monthly noise), a chance of reporting on time and a typical milestone delay. A month is
red when the cumulative gap to the plan exceeds 30 points of the total (the lifecycle's
Yinchuan rule), so red months follow from the pace exactly as they would in production.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate

from guatu.core.clock import add_months, month_key, months_between, parse_month
from guatu.lifecycle.models import ProjectPlan
from guatu.lifecycle.rules.progress import planned_to_date_wan, year_plan_to_date_wan, year_plan_wan
from guatu.ranking.models import MilestoneInput, ProjectInput, ReportInput, Snapshot
from guatu.ranking.periods import parse_period

PROFILES = {  # pace, on-time reporting, milestone delay (days)
    "diligent": (1.05, 0.97, 0),
    "steady": (0.95, 0.9, 10),
    "late": (0.78, 0.7, 45),
    "stalled": (0.5, 0.5, 120),
}


def bureau_profiles(bureaus: Iterable[str], seed: int) -> dict[str, str]:
    rng = random.Random(seed)
    names = list(PROFILES)
    return {b: names[rng.randrange(len(names))] for b in sorted(bureaus)}


class _Series:
    """One project's simulated monthly history over the whole horizon."""

    def __init__(self, plan: ProjectPlan, months: list[str], profile: str, rng: random.Random):
        pace, on_time, delay = PROFILES[profile]
        self.plan = plan
        closes = [parse_month(m) for m in months] + [add_months(parse_month(months[-1]), 1)]
        planned = [planned_to_date_wan(plan, d) for d in closes]
        increments = [max(planned[i + 1] - planned[i], 0.0) for i in range(len(months))]
        self.months = months
        self.index = {m: i for i, m in enumerate(months)}
        self.planned_close = planned[1:]  # planned-to-date at each month's close
        self.actual = [round(x * pace * rng.uniform(0.8, 1.2), 2) for x in increments]
        self.cumulative = list(accumulate(self.actual))
        self.on_time = [rng.random() < on_time for _ in months]
        self.received = [ok or rng.random() < 0.7 for ok in self.on_time]
        self.milestones = [
            MilestoneInput(
                step=m.step.value,
                planned=m.planned,
                actual=m.planned + timedelta(days=max(0, int(rng.gauss(delay, delay / 3 + 1)))),
            )
            for m in plan.milestones
        ]
        total = plan.total_investment_wan or 1.0
        self.red = [
            m
            for i, m in enumerate(months)
            if parse_month(m) >= date(plan.start.year, plan.start.month, 1)
            and (self.planned_close[i] - self.cumulative[i]) / total * 100 > 30
        ]


def synthetic_snapshots(
    plans: Sequence[ProjectPlan],
    periods: Sequence[str],
    seed: int = 20210329,
    profiles: dict[str, str] | None = None,
    bureau_names: dict[str, str] | None = None,
    program_names: dict[str, str] | None = None,
) -> list[Snapshot]:
    parsed = [parse_period(p) for p in periods]
    first = date(min(min(p.start for p in parsed), min(p.start for p in plans)).year, 1, 1)
    last = max(p.close for p in parsed)
    horizon = months_between(first, add_months(last, -1))
    profiles = profiles or bureau_profiles({p.bureau for p in plans}, seed)
    rng = random.Random(seed)
    series = {
        p.code: _Series(p, horizon, profiles[p.bureau], rng)
        for p in sorted(plans, key=lambda p: p.code)
    }
    frozen_at = datetime(2000, 1, 1, tzinfo=UTC)
    out: list[Snapshot] = []
    for period in parsed:
        last_month = period.last_month
        li = horizon.index(last_month)
        year_start = date(int(last_month[:4]), 1, 1)
        ys = month_key(year_start)
        projects: list[ProjectInput] = []
        for code, s in series.items():
            plan = s.plan
            if plan.start >= period.close:
                continue
            start_i = s.index[month_key(plan.start)]
            before_year = s.cumulative[s.index[ys] - 1] if s.index[ys] > 0 else 0.0
            planned_year = planned_to_date_wan(plan, year_start)
            expected = range(start_i, li + 1)
            projects.append(
                ProjectInput(
                    code=code,
                    name_zh=plan.name_zh,
                    program=plan.program,
                    bureau=plan.bureau,
                    kind=plan.kind.value,
                    stage="under_construction",
                    status="active",
                    start=plan.start,
                    finish=plan.finish,
                    total_investment_wan=round(plan.total_investment_wan, 2),
                    planned_to_date_wan=round(s.planned_close[li], 2),
                    planned_ytd_wan=round(s.planned_close[li] - planned_year, 2),
                    actual_cumulative_wan=round(s.cumulative[li], 2),
                    actual_ytd_wan=round(s.cumulative[li] - before_year, 2),
                    milestones=[
                        m
                        if m.actual is not None and m.actual < period.close
                        else m.model_copy(update={"actual": None})
                        for m in s.milestones
                    ],
                    reports=[
                        ReportInput(month=horizon[i], received=s.received[i], on_time=s.on_time[i])
                        for i in expected
                    ],
                    red_months=[m for m in s.red if m <= last_month],
                    year_plan_wan=round(year_plan_wan(plan, year_start.year), 2),
                    year_plan_to_date_wan=round(year_plan_to_date_wan(plan, last_month), 2),
                )
            )
        out.append(
            Snapshot(
                period=period.key,
                kind=period.kind.value,
                close=period.close,
                months=period.months,
                frozen_at=frozen_at,
                source=f"synthetic seed {seed}",
                bureaus={
                    b: (bureau_names or {}).get(b, b) for b in sorted({p.bureau for p in projects})
                },
                programs={
                    g: (program_names or {}).get(g, g)
                    for g in sorted({p.program for p in projects})
                },
                projects=projects,
            )
        )
    return out
