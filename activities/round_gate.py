"""The gate of automatic ranking rounds: is there anything to rank for a period yet?

A round publishes (and freezes) a period for good, so a scheduled round, and the first round
`guatu up` starts, must not publish a period before the programme was there: a stack started in
December with a plan loaded today would otherwise freeze November with no data, and later
back-filled reports could never enter it. A period **has data** when at least one of
- a project was on the chart (its 立项 recorded) before the period closed, or
- a project has a monthly report for a month of the period;
otherwise the automatic round is skipped, with the reason logged. A round run on demand
(`trigger_round`, the CLI and the API) is not gated.
"""

from __future__ import annotations

import asyncpg
from temporalio import activity

from guatu.core import constants as c
from guatu.core.clock import local_start
from guatu.ranking.messages import PeriodDataInput, PeriodDataResult
from guatu.ranking.periods import parse_period


async def period_has_data(pool: asyncpg.Pool, period_key: str) -> PeriodDataResult:
    period = parse_period(period_key)
    close = local_start(period.close)
    async with pool.acquire() as conn:
        on_chart = await conn.fetchval(
            "SELECT count(DISTINCT project) FROM stage_history WHERE recorded_at < $1", close
        )
        reported = await conn.fetchval(
            "SELECT count(DISTINCT project) FROM progress_reports WHERE month = ANY($1::text[])",
            period.months,
        )
    if on_chart or reported:
        return PeriodDataResult(
            has_data=True,
            reason=f"{on_chart} project(s) on the chart before {period.close.isoformat()}, "
            f"{reported} with reports for {period_key}",
        )
    return PeriodDataResult(
        has_data=False,
        reason=f"no project was on the chart before {period.close.isoformat()} (when {period_key} "
        f"closed) and none has a report for {period_key}",
    )


class RoundGateActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @activity.defn(name=c.ACTIVITY_ROUND_HAS_DATA)
    async def period_has_data(self, data: PeriodDataInput) -> PeriodDataResult:
        return await period_has_data(self.pool, data.period)
