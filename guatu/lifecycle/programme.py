"""Reference data (programs, bureaus), lifecycle thresholds and the sample programme.

All files live in the `config` package directory. Raw JSON reads are cached; every call returns
fresh model objects, so callers may change what they get back.

The sample programme is written for `base_year` (2021, the year the plan was published).
`load_sample_plans(start_year)` moves it whole to another start year: every date and every
yearly key moves by the same number of years (29 February becomes 28 February).
"""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from typing import Any

from config.settings import CONFIG_DIR
from guatu.lifecycle.models import (
    Bureau,
    MilestonePlan,
    Program,
    ProjectKind,
    ProjectPlan,
    TimerPolicy,
)

PROGRAMS_FILE = "programs.json"
BUREAUS_FILE = "bureaus.json"
POLICY_FILE = "lifecycle.json"
SAMPLE_FILE = "sample_programme.json"


@lru_cache
def _read_json(name: str) -> Any:
    """Parsed content of one file in the config directory (cached; never mutate it)."""
    return json.loads((CONFIG_DIR / name).read_text(encoding="utf-8"))


def load_programs() -> list[Program]:
    """The ten programs (十大工程), in program order."""
    programs = [Program.model_validate(p) for p in _read_json(PROGRAMS_FILE)]
    return sorted(programs, key=lambda p: p.number)


def load_bureaus() -> list[Bureau]:
    return [Bureau.model_validate(b) for b in _read_json(BUREAUS_FILE)]


def load_policy() -> TimerPolicy:
    """Deadline thresholds of the lifecycle (config/lifecycle.json)."""
    return TimerPolicy.model_validate(_read_json(POLICY_FILE))


def sample_base_year() -> int:
    return int(_read_json(SAMPLE_FILE)["base_year"])


def shift_date(day: date, years: int) -> date:
    """The same calendar day `years` later (or earlier); 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def shift_plan(plan: ProjectPlan, years: int) -> ProjectPlan:
    """A copy of `plan` with every date and yearly key moved by `years` years."""
    if years == 0:
        return plan.model_copy(deep=True)
    return plan.model_copy(
        update={
            "start": shift_date(plan.start, years),
            "finish": shift_date(plan.finish, years),
            "yearly_investment_wan": {y + years: v for y, v in plan.yearly_investment_wan.items()},
            "milestones": [
                MilestonePlan(step=m.step, planned=shift_date(m.planned, years))
                for m in plan.milestones
            ],
        },
        deep=True,
    )


def load_sample_plans(start_year: int) -> list[ProjectPlan]:
    """The illustrative sample programme (243 projects), moved to start in `start_year`."""
    data = _read_json(SAMPLE_FILE)
    years = start_year - int(data["base_year"])
    return [shift_plan(ProjectPlan.model_validate(p), years) for p in data["projects"]]


def _bucket() -> dict[str, Any]:
    return {
        "projects": 0,
        "engineering": 0,
        "service": 0,
        "total_investment_wan": 0.0,
        "first_year_investment_wan": 0.0,
    }


def programme_summary(plans: list[ProjectPlan]) -> dict[str, Any]:
    """Totals by program: project counts by kind, total and first-year investment (万元).

    The first year is the earliest start year among the plans (the programme's first year).
    """
    first_year = min((p.start.year for p in plans), default=None)
    programs: dict[str, dict[str, Any]] = {}
    total = _bucket()
    for plan in plans:
        first = plan.yearly_investment_wan.get(first_year, 0.0) if first_year else 0.0
        for bucket in (programs.setdefault(plan.program, _bucket()), total):
            bucket["projects"] += 1
            bucket["engineering" if plan.kind is ProjectKind.ENGINEERING else "service"] += 1
            bucket["total_investment_wan"] += plan.total_investment_wan
            bucket["first_year_investment_wan"] += first
    for bucket in [*programs.values(), total]:
        bucket["total_investment_wan"] = round(bucket["total_investment_wan"], 2)
        bucket["first_year_investment_wan"] = round(bucket["first_year_investment_wan"], 2)
    return {
        "first_year": first_year,
        "programs": dict(sorted(programs.items())),
        "total": total,
    }
