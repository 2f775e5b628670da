"""The programme simulation drives real workflows on an accelerated clock, deterministically."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg
import httpx
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu import constants as c
from guatu.models import ProjectState
from guatu.programme import load_policy, load_sample_plans
from guatu.simulation import (
    Behaviour,
    ProgrammeSimulation,
    SimulationConfig,
    assign_behaviours,
    light_counts,
)
from tests.helpers import running_worker


def test_behaviours_are_seeded() -> None:
    bureaus = [f"b{i:02d}" for i in range(16)]
    config = SimulationConfig(start_year=2026)
    first = assign_behaviours(bureaus, config)
    assert first == assign_behaviours(list(reversed(bureaus)), config)
    counts = {b: sum(1 for v in first.values() if v is b) for b in Behaviour}
    assert counts == {Behaviour.DILIGENT: 10, Behaviour.LATE: 4, Behaviour.STALLED: 2}
    other = assign_behaviours(bureaus, SimulationConfig(start_year=2026, seed=1))
    assert other != first


async def test_three_simulated_months_through_real_workflows(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool, http: httpx.AsyncClient, settings: Settings
) -> None:
    year = date.today().year
    # Projects that start in January of year one, across bureaus of every behaviour.
    plans = [p for p in load_sample_plans(year) if p.start.month == 1 and p.start.year == year][:30]
    prefix = f"S{uuid.uuid4().hex[:4].upper()}-"
    config = SimulationConfig(start_year=year, months=3, year_seconds=90, code_prefix=prefix)
    closed: list[str] = []

    async def month_closed(month: str) -> None:
        closed.append(month)

    async with running_worker(dev_env.client, pool, http, settings) as task_queue:
        sim = ProgrammeSimulation(dev_env.client, plans, load_policy(), config,
                                  task_queue=task_queue, on_month_closed=month_closed)
        report = await sim.run()
        print(f"simulated 3 months of {len(plans)} projects in {report.real_seconds} s; "
              f"reports={report.reports_sent} steps={report.steps_sent} "
              f"refused={report.refused} max_lag={report.max_lag_business_days} d")
        assert closed == [f"{year}-01", f"{year}-02", f"{year}-03"]
        assert report.refused == 0
        assert report.reports_sent > 0 and report.steps_sent > 0
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT p.bureau, r.on_time FROM progress_reports r JOIN projects p"
                " ON p.code = r.project WHERE r.project LIKE $1", f"{prefix}%")
        by_behaviour: dict[Behaviour, set[bool]] = {}
        for row in rows:
            by_behaviour.setdefault(sim.behaviours[row["bureau"]], set()).add(row["on_time"])
        # Diligent bureaus report by the 18th: on time; late ones after the 25th: late.
        assert by_behaviour.get(Behaviour.DILIGENT) == {True}
        if Behaviour.LATE in by_behaviour:
            assert by_behaviour[Behaviour.LATE] == {False}
        lights = await light_counts(pool, prefix)
        assert sum(lights.values()) == len(plans)
        # Settling hands the programme back to real time.
        await sim.settle()
        state = await dev_env.client.get_workflow_handle(
            f"project-{sim.plans[0].code}").query(c.QUERY_STATE, result_type=ProjectState)
        assert state.clock.scale == 1.0
        for plan in sim.plans:
            await dev_env.client.get_workflow_handle(f"project-{plan.code}").terminate()
