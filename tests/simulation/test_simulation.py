"""The programme simulation drives real workflows on an accelerated clock, deterministically."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import date, datetime

import asyncpg
import httpx
import structlog
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.core import constants as c
from guatu.core.clock import CST
from guatu.lifecycle.models import RunControlInput
from guatu.lifecycle.programme import load_policy, load_sample_plans
from guatu.lifecycle.service import project_status, send_update
from guatu.runtime.simulation import (
    Behaviour,
    ProgrammeSimulation,
    SimulationConfig,
    assign_behaviours,
    light_counts,
)
from guatu.runtime.up import supervise
from tests.helpers import running_worker
from workflows.project_lifecycle import ProjectLifecycle


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
        sim = ProgrammeSimulation(
            dev_env.client,
            plans,
            load_policy(),
            config,
            task_queue=task_queue,
            on_month_closed=month_closed,
        )
        report = await sim.run()
        print(
            f"simulated 3 months of {len(plans)} projects in {report.real_seconds} s; "
            f"reports={report.reports_sent} steps={report.steps_sent} "
            f"refused={report.refused} max_lag={report.max_lag_business_days} d"
        )
        assert closed == [f"{year}-01", f"{year}-02", f"{year}-03"]
        assert report.refused == 0
        assert report.reports_sent > 0 and report.steps_sent > 0
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT p.bureau, r.on_time FROM progress_reports r JOIN projects p"
                " ON p.code = r.project WHERE r.project LIKE $1",
                f"{prefix}%",
            )
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
        state = await dev_env.client.get_workflow_handle(f"project-{sim.plans[0].code}").query(
            ProjectLifecycle.state
        )
        assert state.clock.scale == 1.0
        for plan in sim.plans:
            await dev_env.client.get_workflow_handle(f"project-{plan.code}").terminate()


async def test_a_year_that_reaches_today_settles_in_real_time(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool, http: httpx.AsyncClient, settings: Settings
) -> None:
    """`guatu up --simulate` on its first year: the simulation stops at today, every project's
    clock settles to real time (scale 1, business today = today), and the months closed by
    today are the ones closed (their rounds), on whatever day the test runs."""
    today = datetime.now(CST).date()
    year = today.year
    plans = [p for p in load_sample_plans(year) if p.start.year == year and p.start.month == 1][:6]
    prefix = f"R{uuid.uuid4().hex[:4].upper()}-"
    # A year in 20 s: at most 20 s of real time from 1 January to today.
    config = SimulationConfig(start_year=year, months=12, year_seconds=20, code_prefix=prefix)
    closed: list[str] = []

    async def month_closed(month: str) -> None:
        closed.append(month)

    async with running_worker(dev_env.client, pool, http, settings) as task_queue:
        sim = ProgrammeSimulation(
            dev_env.client,
            plans,
            load_policy(),
            config,
            task_queue=task_queue,
            on_month_closed=month_closed,
        )
        try:
            report = await sim.run()
            assert report.reached_today
            # Every month of this year before today's month has closed (none on 1–31 January).
            assert closed == [f"{year}-{m:02d}" for m in range(1, today.month)]
            for plan in sim.plans:
                state = await dev_env.client.get_workflow_handle(
                    c.project_workflow_id(plan.code)
                ).query(ProjectLifecycle.state)
                if state.status.value in ("closed", "cancelled"):
                    continue
                assert (state.clock.scale, state.clock.anchor_business) == (1.0, None)
                status = await project_status(dev_env.client, plan.code)
                assert status.business_today == datetime.now(CST).date()
        finally:
            for plan in sim.plans:
                with contextlib.suppress(Exception):
                    await dev_env.client.get_workflow_handle(
                        c.project_workflow_id(plan.code)
                    ).terminate()


async def test_settle_passes_over_projects_that_ran_to_their_end(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool, http: httpx.AsyncClient, settings: Settings
) -> None:
    """The end of `--simulate` died on a project whose workflow had completed ("workflow
    execution already completed"): it is passed over, the others settle to real time."""
    year = datetime.now(CST).year
    plans = [p for p in load_sample_plans(year) if p.start.year == year][:3]
    prefix = f"E{uuid.uuid4().hex[:4].upper()}-"
    config = SimulationConfig(start_year=year, months=0, year_seconds=600, code_prefix=prefix)
    async with running_worker(dev_env.client, pool, http, settings) as task_queue:
        sim = ProgrammeSimulation(
            dev_env.client, plans, load_policy(), config, task_queue=task_queue
        )
        try:
            await sim.run()  # no month: the projects start on the accelerated clock
            ended = sim.plans[0]
            await send_update(
                dev_env.client,
                ended.code,
                ProjectLifecycle.cancel,
                RunControlInput(idempotency_key=f"{ended.code}-cancel", reason="模拟撤销 test"),
            )
            await dev_env.client.get_workflow_handle(c.project_workflow_id(ended.code)).result()
            sim.report.reached_today = True
            assert await sim.settle() == 2  # 3 projects, 1 ended
            for plan in sim.plans[1:]:
                state = await dev_env.client.get_workflow_handle(
                    c.project_workflow_id(plan.code)
                ).query(ProjectLifecycle.state)
                assert (state.clock.scale, state.clock.anchor_real) == (1.0, None)
                status = await project_status(dev_env.client, plan.code)
                assert status.business_today == datetime.now(CST).date()
        finally:
            for plan in sim.plans:
                with contextlib.suppress(Exception):
                    await dev_env.client.get_workflow_handle(
                        c.project_workflow_id(plan.code)
                    ).terminate()


async def test_a_failing_background_task_stops_guatu_up() -> None:
    """A background task that fails is logged and sets the stop (never "Task exception was
    never retrieved"); a cancelled one is not a failure."""
    stop = asyncio.Event()
    failures: list[str] = []

    async def broken() -> None:
        raise RuntimeError("workflow execution already completed")

    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(broken(), name="simulated year")
        supervise(task, stop, failures)
        with contextlib.suppress(RuntimeError):
            await task
        await asyncio.sleep(0)  # done callbacks run on the next loop turn
    assert stop.is_set() and failures == ["simulated year"]
    failed = [e for e in logs if e["event"] == "background task failed: stopping guatu up"]
    assert failed and failed[0]["log_level"] == "error"
    assert "already completed" in failed[0]["error"]

    calm = asyncio.Event()
    quiet = asyncio.create_task(asyncio.sleep(60))
    supervise(quiet, calm, failures)
    quiet.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await quiet
    await asyncio.sleep(0)
    assert not calm.is_set() and failures == ["simulated year"]
