"""A living first start: the sample programme (示例数据) with a seeded history up to today.

On a fresh data directory `guatu up` starts the illustrative sample at today's date and then, in
the background, gives it the year it would have had: the seeded bureaus of the simulation
(`guatu.simulation.Bureaus`: diligent, late, stalled) back-fill every project's steps and
monthly reports of this year through the real Updates, then the ranking round of every month of
this year that has closed is run explicitly, in order, so that the boards, the red and black
lists, the ladders' 督办 and the trend lines have something to show.

What the back-fill looks like to the lifecycle: the projects were loaded today, so everything
is inside the back-fill window (待补报 until the first report due day after today). Steps carry
the day each was reached (a late bureau's 40 days after plan), reports of months due before
today count as on time, and figures count at once: a stalled bureau, which keeps reporting
that almost nothing is spent, is red on the 序时 check straight away; its unreached milestones
read 待补报 until the window closes, then missed.

Scope: the months of the current (business) year, from each project's start; reports of earlier
years are not back-filled. Rounds: every month of this year from the programme's first month
to the last closed one (monthly rounds only; quarterly and annual ones follow their schedules).

Done once: a marker file in the data directory records the seeded history, so a second start
does nothing here. An interrupted seeding (Ctrl-C) resumes at the next start from what every
project holds (nothing is sent twice; a round already published is verified, not re-decided).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import structlog
from temporalio.client import Client

from guatu import constants as c
from guatu.clock import CST, add_months, business_now, day_in_month, local_date, month_key
from guatu.models import ProgrammeClock, ProjectPlan, ProjectState
from guatu.projects import gather_limited
from guatu.simulation import PROFILES, Bureaus, SimulationConfig

log = structlog.get_logger("guatu.sample_history")

MARKER_FILE = "sample_history.json"


@dataclass
class HistoryReport:
    today: date
    projects: int = 0
    months: list[str] = field(default_factory=list)
    rounds: list[str] = field(default_factory=list)
    reports_sent: int = 0
    steps_sent: int = 0
    refused: int = 0
    seconds: float = 0.0
    seeded_before: bool = False

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "today": self.today.isoformat()}


def year_months(today: date) -> list[str]:
    """The months of today's year up to today's month."""
    return [month_key(add_months(date(today.year, 1, 1), i)) for i in range(today.month)]


def round_periods(plans: list[ProjectPlan], today: date) -> list[str]:
    """The months of today's year that have closed, from the programme's first month on."""
    first = min((month_key(p.start) for p in plans), default=None)
    if first is None:
        return []
    return [m for m in year_months(today)[:-1] if m >= first]


def read_marker(path: Path) -> HistoryReport | None:
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    data["today"] = date.fromisoformat(data["today"])
    data["seeded_before"] = True
    return HistoryReport(**data)


def write_marker(path: Path, report: HistoryReport) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(report.as_json(), indent=2), encoding="utf-8")
    os.replace(temporary, path)


async def seed_history(client: Client, pool: asyncpg.Pool, plans: list[ProjectPlan], *,
                       clock: ProgrammeClock, task_queue: str = c.TASK_QUEUE,
                       marker: Path | None = None, config: SimulationConfig | None = None,
                       concurrency: int = 24,
                       projection_timeout: float = 180.0) -> HistoryReport:
    """Back-fill this year's history of `plans` (already started on `clock`) and run the rounds
    of its closed months. With `marker`, a second call returns what the first one did."""
    if marker is not None and (done := read_marker(marker)) is not None:
        log.info("sample history already seeded", today=done.today.isoformat(),
                 rounds=done.rounds, marker=str(marker))
        return done
    from guatu.ranking.service import trigger_round

    started = time.monotonic()
    today = local_date(business_now(clock, datetime.now(CST)))
    config = config or SimulationConfig(start_year=today.year)
    months = year_months(today)
    report = HistoryReport(today=today, months=months)
    live = [p for p in plans if p.start <= today]
    report.projects = len(live)
    bureaus = Bureaus(client, live, config)
    log.info("seeding the sample history", projects=len(live), months=f"{months[0]}..{months[-1]}",
             behaviours={b: v.value for b, v in sorted(bureaus.behaviours.items())})

    async def state_of(code: str) -> ProjectState:
        handle = client.get_workflow_handle(c.project_workflow_id(code))
        return await handle.query(c.QUERY_STATE, result_type=ProjectState)

    async def back_fill(plan: ProjectPlan) -> None:
        bureaus.adopt(plan.code, await state_of(plan.code))
        mirror = bureaus.mirrors[plan.code]
        profile = PROFILES[mirror.behaviour]
        for index, month in enumerate(months):
            if month < month_key(plan.start):
                continue
            report_day = day_in_month(month, profile.report_day)
            await bureaus.turn(mirror, month, index, min(report_day, today), backdate=True,
                               report=report_day <= today)

    await gather_limited([lambda p=p: back_fill(p) for p in live], concurrency)
    report.reports_sent, report.steps_sent = bureaus.reports_sent, bureaus.steps_sent
    report.refused = bureaus.refused
    sent_seconds = round(time.monotonic() - started, 1)
    log.info("sample history sent", reports=report.reports_sent, steps=report.steps_sent,
             refused=report.refused, seconds=sent_seconds)

    await projected(client, pool, [p.code for p in live], projection_timeout, concurrency)
    for period in round_periods(live, today):
        handle = await trigger_round(client, period, task_queue=task_queue, clock=clock)
        result = await handle.result()
        report.rounds.append(period)
        log.info("sample round published", period=period, revision=result.revision,
                 red_list=result.red_list, black_list=result.black_list)
    report.seconds = round(time.monotonic() - started, 1)
    if marker is not None:
        write_marker(marker, report)
    log.info("sample history seeded", seconds=report.seconds, sending_seconds=sent_seconds,
             projects=report.projects, reports=report.reports_sent, steps=report.steps_sent,
             rounds=report.rounds)
    return report


async def projected(client: Client, pool: asyncpg.Pool, codes: list[str], timeout: float,
                    concurrency: int) -> None:
    """Wait until the read model holds every project's latest state: a round freezes its
    inputs from the read model, and projections follow the Updates asynchronously."""
    deadline = time.monotonic() + timeout
    waiting = list(codes)
    while waiting:
        async def version(code: str) -> int:
            handle = client.get_workflow_handle(c.project_workflow_id(code))
            return (await handle.query(c.QUERY_STATE, result_type=ProjectState)).version

        live = dict(zip(waiting, await gather_limited(
            [lambda code=code: version(code) for code in waiting], concurrency), strict=True))
        async with pool.acquire() as conn:
            stored = {r["code"]: r["version"] for r in await conn.fetch(
                "SELECT code, version FROM projects WHERE code = ANY($1::text[])", waiting)}
        waiting = [code for code in waiting if stored.get(code) != live[code]]
        if not waiting:
            return
        if time.monotonic() > deadline:
            log.warning("the read model is still behind; ranking what it holds",
                        projects=len(waiting))
            return
        await asyncio.sleep(0.5)
