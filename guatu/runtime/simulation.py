"""Programme simulation: a seeded scenario of bureau behaviour through the real workflows.

One file: the seeded bureaus (`Bureaus`) and the simulation that drives them share one profile table
and one clock.

Every project of the sample programme runs as a real ProjectLifecycle on an accelerated
programme clock (`ProgrammeClock.scale`), so a simulated year passes in about two minutes of real
time with every timer, validator, projection and notice doing exactly what it does in
production. `Bureaus` plays the bureaus: diligent ones report by the 18th and reach milestones on
time, late ones report after the 25th and reach milestones weeks late, stalled ones move for a few
months, then their milestones stop and their reports say that hardly any money is spent. At each
month close the simulation can trigger the ranking round for that month. A simulated year that
reaches today stops there and hands the programme back to real time (`ProgrammeSimulation.settle`).

The same `Bureaus` back-fill the history of the live sample on a first `make run`
(guatu/runtime/sample_history.py): one home for what a diligent, late or stalled bureau sends.

Why an accelerated clock on the dev server rather than the time-skipping server: the
time-skipping server skips time for one awaited workflow at a time and hangs with three or more;
driving it explicitly for 243 workflows measured 188 s for 60 timers each on one core, while the
accelerated clock needs no special server and shows the run live on the dashboard.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any

import asyncpg
import structlog
from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from guatu.core import constants as c
from guatu.core.clock import (
    CST,
    add_months,
    business_now,
    day_in_month,
    local_date,
    local_start,
    month_end,
    month_key,
    parse_month,
)
from guatu.lifecycle.models import (
    ClockChangeInput,
    ProgrammeClock,
    ProgressReportInput,
    ProjectKind,
    ProjectPlan,
    Stage,
    StageTransitionInput,
    Step,
    TimerPolicy,
)
from guatu.lifecycle.rules.progress import planned_to_date_wan
from guatu.lifecycle.rules.stages import DELIVERED, legal_next_steps, stage_after
from guatu.lifecycle.service import (
    Rejected,
    gather_limited,
    send_update,
    start_programme,
    update_name,
)
from workflows.project_lifecycle import ProjectLifecycle

log = structlog.get_logger("guatu.runtime.simulation")

YEAR = timedelta(days=365)


class Behaviour(StrEnum):
    DILIGENT = "diligent"  # reports by the 18th, milestones on time, invests to plan
    LATE = "late"  # reports after the 25th, milestones 40 days late, invests 80 %
    STALLED = "stalled"  # moves for three months, then reports that almost nothing is spent


@dataclass(frozen=True)
class Profile:
    report_day: int
    step_delay_days: int
    invest_low: float
    invest_high: float
    active_months: int | None = None
    # After its active months: the share of the month's plan still reported (None: no report).
    idle_invest: tuple[float, float] | None = None


PROFILES: dict[Behaviour, Profile] = {
    Behaviour.DILIGENT: Profile(
        report_day=18, step_delay_days=0, invest_low=0.95, invest_high=1.15
    ),
    Behaviour.LATE: Profile(report_day=27, step_delay_days=40, invest_low=0.7, invest_high=0.9),
    # A stalled bureau keeps filing its report (a missing one would read 待补报 while a
    # back-filled history is in its window) but the money and the milestones have stopped.
    Behaviour.STALLED: Profile(
        report_day=18,
        step_delay_days=10,
        invest_low=0.3,
        invest_high=0.5,
        active_months=3,
        idle_invest=(0.0, 0.1),
    ),
}

SEND_ATTEMPTS = 3

ACTIVE_NARRATIVE = "模拟月报 simulated report"
IDLE_NARRATIVE = (
    "停工待料，本月投资基本停滞（模拟月报） / work stalled this month (simulated report)"
)


@dataclass(frozen=True)
class SimulationConfig:
    start_year: int
    months: int = 12
    year_seconds: float = 120.0
    seed: int = 20210329
    lead_seconds: float = 4.0
    code_prefix: str = ""
    shares: tuple[float, float] = (0.6, 0.25)  # diligent, late; the rest stall
    concurrency: int = 48
    # A simulation that reaches today stops acting this many real seconds before its clock
    # would overtake real time, so that the settle lands on or before today.
    settle_margin_seconds: float = 2.0

    @property
    def scale(self) -> float:
        return YEAR.total_seconds() / self.year_seconds


@dataclass
class SimulationReport:
    projects: int
    months: int
    real_seconds: float
    behaviours: dict[str, str]
    reports_sent: int = 0
    steps_sent: int = 0
    refused: int = 0
    max_lag_business_days: float = 0.0
    lights: dict[str, int] = field(default_factory=dict)
    rounds: list[str] = field(default_factory=list)
    reached_today: bool = False
    timed_out: int = 0


def assign_behaviours(bureaus: list[str], config: SimulationConfig) -> dict[str, Behaviour]:
    """Seeded: the same seed gives every bureau the same behaviour on every machine."""
    rng = random.Random(config.seed)
    order = sorted(bureaus)
    rng.shuffle(order)
    diligent = round(len(order) * config.shares[0])
    late = round(len(order) * config.shares[1])
    return {
        code: Behaviour.DILIGENT
        if i < diligent
        else Behaviour.LATE
        if i < diligent + late
        else Behaviour.STALLED
        for i, code in enumerate(order)
    }


def _step_due(plan: ProjectPlan, step: Step) -> date | None:
    """When a bureau following the plan reports `step` (steps without a milestone are derived)."""
    if (m := plan.milestone(step)) is not None:
        return m.planned
    planned = sorted(m.planned for m in plan.milestones)
    if step in (Step.PRELIMINARY, Step.IMPLEMENTING):
        return plan.start
    if step is Step.UNDER_CONSTRUCTION:
        started = plan.milestone(Step.CONSTRUCTION_STARTED)
        return started.planned + timedelta(days=30) if started else None
    if step is Step.CLOSED:
        return planned[-1] + timedelta(days=10) if planned else plan.finish
    return None


@dataclass
class _Mirror:
    """The driver's view of one project, to choose the next legal step."""

    plan: ProjectPlan
    behaviour: Behaviour
    stage: Stage = Stage.APPROVED
    done: set[Step] = field(default_factory=set)
    invested: float = 0.0
    last_on: date | None = None  # the latest step's date (a back-dated step may not precede it)
    reported: dict[str, float] = field(default_factory=dict)  # month → amount sent


class Bureaus:
    """The seeded bureaus of a programme and what each sends through the real Updates.

    `turn` is one bureau's move for one project: the steps its profile has reached by `today`,
    then its report for the month. Live (the simulation), steps are dated the day they are
    sent; back-filled (the sample history), each carries the day it was reached and the
    months' reports go out together. Amounts are drawn per project and month from the seed, so
    a resumed back-fill sends the same figures.
    """

    def __init__(
        self,
        client: Client,
        plans: list[ProjectPlan],
        config: SimulationConfig,
        pool: asyncpg.Pool | None = None,
    ) -> None:
        self.client = client
        self.pool = pool  # the read model the inputs are written through to (send_update)
        self.seed = config.seed
        self.behaviours = assign_behaviours(sorted({p.bureau for p in plans}), config)
        self.mirrors = {p.code: _Mirror(p, self.behaviours[p.bureau]) for p in plans}
        self.reports_sent = 0
        self.steps_sent = 0
        self.refused = 0
        self.timed_out = 0

    def adopt(
        self, code: str, stage: Stage, steps: dict[Step, date], reports: dict[str, float]
    ) -> None:
        """Go on from what the project already holds (a back-fill that was interrupted):
        its stage, the steps reached (and when), the amount reported for each month."""
        mirror = self.mirrors[code]
        mirror.stage = stage
        mirror.done = set(steps)
        mirror.last_on = max(steps.values(), default=None)
        mirror.reported = dict(reports)

    def active(self, mirror: _Mirror, index: int) -> bool:
        """Whether the bureau still moves in the `index`-th month of its behaviour."""
        months = PROFILES[mirror.behaviour].active_months
        return months is None or index < months

    async def turn(self, mirror: _Mirror, month: str, index: int, today: date) -> None:
        """The bureau's move on `today` for `month`, the `index`-th month of its behaviour:
        the steps it has reached by then, then its report for the month."""
        if self.active(mirror, index):
            await self.steps(mirror, today)
        if (data := self.report_for(mirror, month, index)) is not None:
            await self.send_report(mirror, data)

    async def steps(
        self,
        mirror: _Mirror,
        today: date,
        *,
        backdate: bool = False,
        before_delivery: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """The steps the bureau's profile has reached by `today`, in order; `backdate`: each
        dated the day it was reached (else the day it is sent). `before_delivery` runs before
        a step that delivers the project (no report is taken after it)."""
        plan = mirror.plan
        delay = timedelta(days=PROFILES[mirror.behaviour].step_delay_days)
        while True:
            allowed = legal_next_steps(plan.kind, mirror.stage, mirror.done)
            due = [
                (d + delay, s)
                for s in allowed
                if (d := _step_due(plan, s)) is not None and d + delay <= today
            ]
            if not due:
                return
            reached, step = min(due)
            if step is Step.CLOSED and plan.kind is ProjectKind.SERVICE:
                # A service project closes its 评估 stage only once a third-party evaluation is
                # in (guatu.society.evaluations); the simulated bureaus model no agencies.
                return
            if before_delivery is not None and (
                step is Step.CLOSED or stage_after(step) in DELIVERED
            ):
                await before_delivery()
            on = max(reached, mirror.last_on or reached) if backdate else None
            result = await self._send(
                plan.code,
                ProjectLifecycle.transition_stage,
                StageTransitionInput(
                    bureau=plan.bureau,
                    idempotency_key=f"sim-{plan.code}-{step.value}",
                    step=step,
                    on=on,
                ),
            )
            if result is None:
                return
            mirror.stage = result
            mirror.done.add(step)
            mirror.last_on = on or today
            self.steps_sent += 1

    def report_for(self, mirror: _Mirror, month: str, index: int) -> ProgressReportInput | None:
        """The bureau's report for `month` (None: none is due, or it was sent before). Months
        are drawn in order: the cumulative physical progress follows the amounts."""
        plan = mirror.plan
        if mirror.stage in DELIVERED or month < month_key(plan.start):
            return None
        if month in mirror.reported:
            mirror.invested += mirror.reported[month]
            return None
        profile = PROFILES[mirror.behaviour]
        active = self.active(mirror, index)
        share = (profile.invest_low, profile.invest_high) if active else profile.idle_invest
        if share is None:
            return None
        rng = random.Random(f"{self.seed}:{plan.code}:{month}")
        first_day = parse_month(month)
        planned = planned_to_date_wan(plan, add_months(first_day, 1)) - planned_to_date_wan(
            plan, first_day
        )
        amount = round(planned * rng.uniform(*share), 2)
        mirror.invested += amount
        progress = (
            round(min(100.0, 100 * mirror.invested / plan.total_investment_wan), 1)
            if plan.total_investment_wan
            else 0.0
        )
        return ProgressReportInput(
            bureau=plan.bureau,
            idempotency_key=f"sim-{plan.code}-{month}",
            month=month,
            investment_wan=amount,
            physical_progress_pct=progress,
            narrative=ACTIVE_NARRATIVE if active else IDLE_NARRATIVE,
        )

    async def send_report(self, mirror: _Mirror, data: ProgressReportInput) -> None:
        if await self._send(mirror.plan.code, ProjectLifecycle.submit_report, data) is not None:
            mirror.reported[data.month] = data.investment_wan
            self.reports_sent += 1

    async def _send(self, code: str, update: Any, data: Any) -> Stage | None:
        """Send one input; a refusal is counted. An update the server gave up waiting for (a
        busy machine) is sent again under its idempotency key, at most `SEND_ATTEMPTS` times,
        then counted in `timed_out`: a bureau that could not get through is not a crash."""
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                result = await send_update(self.client, code, update, data, pool=self.pool)
            except Rejected as refused:
                self.refused += 1
                log.warning(
                    "simulated input refused", project=code, code=refused.code, reason=refused.en
                )
                return None
            except WorkflowUpdateRPCTimeoutOrCancelledError:
                # The SDK raises this for a cancelled call too: a stop must not become a retry.
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise asyncio.CancelledError from None
                log.warning(
                    "simulated input timed out",
                    project=code,
                    update=update_name(update),
                    attempt=attempt,
                )
                continue
            return result.stage
        self.timed_out += 1
        return None


class ProgrammeSimulation:
    def __init__(
        self,
        client: Client,
        plans: list[ProjectPlan],
        policy: TimerPolicy,
        config: SimulationConfig,
        task_queue: str = c.TASK_QUEUE,
        on_month_closed: Callable[[str], Awaitable[Any]] | None = None,
        pool: asyncpg.Pool | None = None,
    ) -> None:
        self.client = client
        self.config = config
        self.policy = policy
        self.task_queue = task_queue
        self.on_month_closed = on_month_closed
        self.plans = [p.model_copy(update={"code": f"{config.code_prefix}{p.code}"}) for p in plans]
        self.bureaus = Bureaus(client, self.plans, config, pool)
        self.behaviours = self.bureaus.behaviours
        self.mirrors = self.bureaus.mirrors
        origin = local_start(date(config.start_year, 1, 1))
        self.clock = ProgrammeClock(scale=config.scale, anchor_business=origin)
        self.report = SimulationReport(
            projects=len(self.plans),
            months=config.months,
            real_seconds=0.0,
            behaviours={b: v.value for b, v in self.behaviours.items()},
        )

    def business_now(self) -> datetime:
        return business_now(self.clock, datetime.now(CST))

    async def _until(self, moment: datetime) -> None:
        remaining = (moment - self.business_now()).total_seconds() / self.config.scale
        if remaining > 0:
            await asyncio.sleep(remaining)
        lag = (self.business_now() - moment).total_seconds() / 86_400
        self.report.max_lag_business_days = max(self.report.max_lag_business_days, round(lag, 2))

    def horizon(self) -> datetime | None:
        """The business moment at which the simulation stops acting because it reached today:
        where the accelerated clock would overtake real time, less the settle margin. None when
        business time starts ahead of real time (a simulated year still to come)."""
        clock = self.clock
        assert clock.anchor_real is not None and clock.anchor_business is not None
        behind = clock.anchor_real - clock.anchor_business
        if behind <= timedelta(0) or clock.scale <= 1.0:
            return None
        meets = clock.anchor_real + behind / (clock.scale - 1.0)
        return meets - timedelta(seconds=self.config.settle_margin_seconds * clock.scale)

    async def run(self) -> SimulationReport:
        """Simulate `config.months` months, or up to today if that comes first; a run that
        reaches today settles (real time again) and closes the months that closed meanwhile."""
        started = time.monotonic()
        self.clock.anchor_real = datetime.now(CST) + timedelta(seconds=self.config.lead_seconds)
        await start_programme(
            self.client,
            self.plans,
            self.policy,
            task_queue=self.task_queue,
            clock=self.clock,
            concurrency=self.config.concurrency,
        )
        log.info(
            "simulation started",
            projects=len(self.plans),
            scale=round(self.config.scale),
            behaviours=dict(Counter(v.value for v in self.behaviours.values())),
        )
        horizon = self.horizon()
        first = date(self.config.start_year, 1, 1)
        turns = sorted(PROFILES.items(), key=lambda item: item[1].report_day)
        months = [month_key(add_months(first, index)) for index in range(self.config.months)]
        for index, key in enumerate(months):
            moments: list[tuple[datetime, Behaviour | None]] = [
                (local_start(day_in_month(key, p.report_day)), b) for b, p in turns
            ]
            moments.append((local_start(month_end(key).replace(day=2)), None))
            for moment, behaviour in moments:
                if horizon is not None and moment >= horizon:
                    self.report.reached_today = True
                    break
                await self._until(moment)
                if behaviour is not None:
                    await self._act(behaviour, key, index)
                else:
                    await self._close(key, started)
            if self.report.reached_today:
                break
        if self.report.reached_today:
            await self.settle()
            today = local_date(datetime.now(CST))
            for key in months:
                if key not in self.report.rounds and month_end(key) <= today:
                    await self._close(key, started)
        self.report.reports_sent = self.bureaus.reports_sent
        self.report.steps_sent = self.bureaus.steps_sent
        self.report.refused = self.bureaus.refused
        self.report.timed_out = self.bureaus.timed_out
        self.report.real_seconds = round(time.monotonic() - started, 1)
        return self.report

    async def _close(self, month: str, started: float) -> None:
        if self.on_month_closed is not None:
            await self.on_month_closed(month)
            self.report.rounds.append(month)
        log.info(
            "simulated month closed", month=month, real_seconds=round(time.monotonic() - started, 1)
        )

    async def settle(self) -> int:
        """After the simulated months, let the programme go on in real time: from today when
        the simulation reached it, else from where it is. A project that ran to its end (closed
        or cancelled) has no clock left and is passed over. Returns the projects settled."""
        change = ClockChangeInput(
            clock=ProgrammeClock(scale=1.0), real_time=self.report.reached_today
        )

        async def one(code: str) -> bool:
            try:
                await self.client.get_workflow_handle(c.project_workflow_id(code)).signal(
                    c.SIGNAL_CLOCK, change
                )
            except RPCError as err:
                if err.status == RPCStatusCode.NOT_FOUND:  # "workflow execution already completed"
                    return False
                raise
            return True

        settled = await gather_limited(
            [partial(one, p.code) for p in self.plans], self.config.concurrency
        )
        count = sum(1 for s in settled if s)
        log.info(
            "simulation clock settled",
            projects=count,
            ended=len(settled) - count,
            real_time=change.real_time,
        )
        return count

    async def _act(self, behaviour: Behaviour, month: str, index: int) -> None:
        today = local_date(self.business_now())
        jobs: list[Callable[[], Awaitable[None]]] = [
            partial(self.bureaus.turn, mirror, month, index, today)
            for mirror in self.mirrors.values()
            if mirror.behaviour is behaviour and mirror.plan.start <= today
        ]
        await gather_limited(jobs, self.config.concurrency)


async def light_counts(pool: asyncpg.Pool, prefix: str = "") -> dict[str, int]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT light, count(*) AS n FROM projects WHERE code LIKE $1 GROUP BY light",
            f"{prefix}%",
        )
    return {r["light"]: int(r["n"]) for r in rows}
