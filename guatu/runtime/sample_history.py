"""A living first start: the sample programme (示例数据) with a seeded history up to today.

On a fresh data directory `guatu up` starts the illustrative sample at today's date and then, in
the background, gives it the year it would have had: the seeded bureaus of the simulation
(`guatu.runtime.simulation.Bureaus`: diligent, late, stalled) back-fill every project's steps and
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
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import structlog
from temporalio.client import Client

from guatu.core import constants as c
from guatu.core.clock import CST, add_months, business_now, day_in_month, local_date, month_key
from guatu.lifecycle.models import ProgrammeClock, ProgressReportInput, ProjectPlan, Stage, Step
from guatu.lifecycle.service import gather_limited
from guatu.runtime.simulation import PROFILES, Bureaus, SimulationConfig

log = structlog.get_logger("guatu.runtime.sample_history")

MARKER_FILE = "sample_history.json"
# Temporal refuses more than 10 updates in flight on one workflow.
UPDATES_IN_FLIGHT = 6


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


async def seed_history(
    client: Client,
    pool: asyncpg.Pool,
    plans: list[ProjectPlan],
    *,
    clock: ProgrammeClock,
    task_queue: str = c.TASK_QUEUE,
    marker: Path | None = None,
    config: SimulationConfig | None = None,
    concurrency: int = 24,
    projection_timeout: float = 180.0,
) -> HistoryReport:
    """Back-fill this year's history of `plans` (already started on `clock`) and run the rounds
    of its closed months. With `marker`, a second call returns what the first one did."""
    if marker is not None and (done := read_marker(marker)) is not None:
        log.info(
            "sample history already seeded",
            today=done.today.isoformat(),
            rounds=done.rounds,
            marker=str(marker),
        )
        return done
    from guatu.ranking.service import trigger_round

    started = time.monotonic()
    today = local_date(business_now(clock, datetime.now(CST)))
    config = config or SimulationConfig(start_year=today.year)
    months = year_months(today)
    report = HistoryReport(today=today, months=months)
    live = [p for p in plans if p.start <= today]
    report.projects = len(live)
    bureaus = Bureaus(client, live, config, pool)
    log.info(
        "seeding the sample history",
        projects=len(live),
        months=f"{months[0]}..{months[-1]}",
        behaviours={b: v.value for b, v in sorted(bureaus.behaviours.items())},
    )

    await adopt(pool, bureaus, [p.code for p in live])

    async def back_fill(plan: ProjectPlan) -> None:
        """Steps month by month (each dated when it was reached), the months' reports in
        bursts: the lifecycle takes several in one workflow task."""
        mirror = bureaus.mirrors[plan.code]
        profile = PROFILES[mirror.behaviour]
        pending: list[ProgressReportInput] = []

        async def flush() -> None:
            await gather_limited(
                [partial(bureaus.send_report, mirror, d) for d in pending], UPDATES_IN_FLIGHT
            )
            pending.clear()

        for index, month in enumerate(months):
            if month < month_key(plan.start):
                continue
            report_day = day_in_month(month, profile.report_day)
            if bureaus.active(mirror, index):
                await bureaus.steps(
                    mirror, min(report_day, today), backdate=True, before_delivery=flush
                )
            if report_day <= today and (data := bureaus.report_for(mirror, month, index)):
                pending.append(data)
        await flush()

    await gather_limited([partial(back_fill, p) for p in live], concurrency)
    report.reports_sent, report.steps_sent = bureaus.reports_sent, bureaus.steps_sent
    report.refused = bureaus.refused
    sent_seconds = round(time.monotonic() - started, 1)
    log.info(
        "sample history sent",
        reports=report.reports_sent,
        steps=report.steps_sent,
        refused=report.refused,
        seconds=sent_seconds,
    )

    await projected(pool, bureaus, projection_timeout)
    for period in round_periods(live, today):
        handle = await trigger_round(client, period, task_queue=task_queue, clock=clock)
        result = await handle.result()
        report.rounds.append(period)
        log.info(
            "sample round published",
            period=period,
            revision=result.revision,
            red_list=result.red_list,
            black_list=result.black_list,
        )
    report.seconds = round(time.monotonic() - started, 1)
    if bureaus.timed_out:
        # Not marked done: the next start resumes and sends what did not get through.
        log.warning(
            "sample history incomplete: some inputs timed out; the next start resumes",
            timed_out=bureaus.timed_out,
        )
    elif marker is not None:
        write_marker(marker, report)
    log.info(
        "sample history seeded",
        seconds=report.seconds,
        sending_seconds=sent_seconds,
        projects=report.projects,
        reports=report.reports_sent,
        steps=report.steps_sent,
        rounds=report.rounds,
    )
    return report


async def adopt(pool: asyncpg.Pool, bureaus: Bureaus, codes: list[str]) -> None:
    """What an interrupted seeding already sent, from the read model: it is not sent again.
    (The read model may lag a little behind; a step or report sent twice is answered as a
    duplicate by its idempotency key and changes nothing.)"""
    async with pool.acquire() as conn:
        stages = await conn.fetch(
            "SELECT code, stage FROM projects WHERE code = ANY($1::text[])", codes
        )
        steps = await conn.fetch(
            "SELECT project, step, min(on_date) AS on_date FROM stage_history"
            " WHERE project = ANY($1::text[]) AND step IS NOT NULL GROUP BY project, step",
            codes,
        )
        reports = await conn.fetch(
            "SELECT project, month, investment_wan FROM progress_reports"
            " WHERE project = ANY($1::text[]) AND corrected = 0",
            codes,
        )
    reached: dict[str, dict[Step, date]] = {}
    for r in steps:
        reached.setdefault(r["project"], {})[Step(r["step"])] = r["on_date"]
    amounts: dict[str, dict[str, float]] = {}
    for r in reports:
        amounts.setdefault(r["project"], {})[r["month"]] = float(r["investment_wan"])
    for r in stages:
        if r["code"] in reached or r["code"] in amounts:
            bureaus.adopt(
                r["code"], Stage(r["stage"]), reached.get(r["code"], {}), amounts.get(r["code"], {})
            )


async def projected(pool: asyncpg.Pool, bureaus: Bureaus, timeout: float) -> None:
    """Wait until the read model holds every step and report sent: a round freezes its inputs
    from the read model, and projections follow the Updates (a report and the project's
    re-checked months are written in one transaction)."""
    deadline = time.monotonic() + timeout
    codes = list(bureaus.mirrors)
    while True:
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT code,"
                " (SELECT array_agg(DISTINCT month) FROM progress_reports r"
                "   WHERE r.project = p.code) AS months,"
                " (SELECT array_agg(DISTINCT step) FROM stage_history h"
                "   WHERE h.project = p.code AND step IS NOT NULL) AS steps"
                " FROM projects p WHERE code = ANY($1::text[])",
                codes,
            )
        held = {r["code"]: (set(r["months"] or ()), set(r["steps"] or ())) for r in rows}
        behind = [
            code
            for code, m in bureaus.mirrors.items()
            if code not in held
            or not set(m.reported) <= held[code][0]
            or not {s.value for s in m.done} <= held[code][1]
        ]
        if not behind:
            return
        if time.monotonic() > deadline:
            log.warning(
                "the read model is still behind; ranking what it holds", projects=len(behind)
            )
            return
        await asyncio.sleep(0.5)
