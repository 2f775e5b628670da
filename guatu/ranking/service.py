"""Temporal-facing helpers of 竞进比拼: schedules, on-demand rounds and their revisions.

The API and the CLI call these; tests too. Nothing here computes a ranking: rounds run in the
RankingRound workflow. The ladders' (exemptions, correction plans): `guatu.ladder.service`.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import asyncpg
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleHandle,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from config.settings import Settings
from guatu.core import constants as c
from guatu.lifecycle.models import ProgrammeClock
from guatu.lifecycle.service import Rejected
from guatu.ranking.messages import RankingRoundInput, RoundResult
from guatu.ranking.periods import PeriodError, parse_period
from guatu.ranking.rulesets import (
    DEFAULT_RULESET,
    UnknownRuleSet,
    available_rulesets,
    load_ruleset,
)

TIME_ZONE = "Asia/Shanghai"

# When each round runs: after the monthly report deadline (the 25th), on the 1st of the next
# month; quarterly and annual roll-ups an hour apart so that the month's round comes first.
SCHEDULES: dict[str, str] = {
    "month": "0 9 1 * *",
    "quarter": "0 10 1 1,4,7,10 *",
    "year": "0 11 1 1 *",
}


def schedule_for(kind: str, ruleset_id: str, task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            c.RANKING_WORKFLOW,  # type: ignore[arg-type]
            RankingRoundInput(period=None, kind=kind, ruleset_id=ruleset_id),  # type: ignore[arg-type]
            id=f"ranking-scheduled-{kind}-{ruleset_id}",
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(cron_expressions=[SCHEDULES[kind]], time_zone_name=TIME_ZONE),
        # Overlap allowed: a run only starts the period's round and returns, and the round's
        # business-key ID already keeps a period from running twice at once; a round that is
        # slow never makes the schedule skip the next period.
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.ALLOW_ALL, catchup_window=timedelta(days=7)
        ),
    )


async def ensure_schedules(
    client: Client, settings: Settings, ruleset_id: str = DEFAULT_RULESET
) -> list[ScheduleHandle]:
    """Create the monthly, quarterly and annual ranking schedules, or bring them up to date.

    Idempotent: run at every start. An existing schedule keeps its ID, history and state (a
    schedule an operator paused stays paused, with its note); its spec, action and policy are
    replaced by the current ones (a changed task queue or time takes effect).
    """
    load_ruleset(ruleset_id)  # fail at start, not at 09:00 on the 1st
    handles: list[ScheduleHandle] = []
    for kind in SCHEDULES:
        schedule_id = c.ranking_schedule_id(kind, ruleset_id)
        desired = schedule_for(kind, ruleset_id, settings.task_queue)
        try:
            handle = await client.create_schedule(schedule_id, desired)
        except ScheduleAlreadyRunningError:
            handle = client.get_schedule_handle(schedule_id)

            def update(current: ScheduleUpdateInput, desired: Schedule = desired) -> ScheduleUpdate:
                return ScheduleUpdate(
                    schedule=dataclasses.replace(
                        current.description.schedule,
                        action=desired.action,
                        spec=desired.spec,
                        policy=desired.policy,
                    )
                )

            await handle.update(update)
        handles.append(handle)
    return handles


def _checked(period: str, ruleset: str) -> None:
    """Refuse a bad period or an unknown rule set before anything starts."""
    try:
        parse_period(period)
    except PeriodError as err:
        zh, _, en = str(err).partition(" / ")
        raise Rejected("bad_period", zh, en or zh) from None
    try:
        load_ruleset(ruleset)
    except UnknownRuleSet:
        raise Rejected(
            "unknown_ruleset",
            f"没有规则集「{ruleset}」，可用：{'、'.join(available_rulesets())}",
            f"no rule set {ruleset!r}; known: {', '.join(available_rulesets())}",
        ) from None


async def trigger_round(
    client: Client,
    period: str,
    ruleset: str = DEFAULT_RULESET,
    *,
    task_queue: str = c.TASK_QUEUE,
    clock: ProgrammeClock | None = None,
) -> WorkflowHandle[Any, RoundResult]:
    """Start the round of `period` now (or attach to it if it is running).

    A round that already completed is run again: it reuses the frozen snapshot, must reproduce
    its published results (its latest revision) byte for byte, and sends nothing twice
    (ladders and notices dedup). A bad period or rule set raises `Rejected`. `clock` is the
    programme clock a ladder started by this round keeps (its order deadlines); real time if
    not given.
    """
    _checked(period, ruleset)
    workflow_id = c.ranking_round_workflow_id(period, ruleset)
    try:
        return await client.start_workflow(
            c.RANKING_WORKFLOW,
            RankingRoundInput(period=period, ruleset_id=ruleset, clock=clock or ProgrammeClock()),
            id=workflow_id,
            task_queue=task_queue,
            result_type=RoundResult,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        return client.get_workflow_handle(workflow_id, result_type=RoundResult)


MIN_REASON_CHARS = 4


async def revise_round(
    client: Client,
    period: str,
    *,
    reason: str,
    actor: str,
    ruleset: str = DEFAULT_RULESET,
    task_queue: str = c.TASK_QUEUE,
    pool: asyncpg.Pool | None = None,
    clock: ProgrammeClock | None = None,
) -> WorkflowHandle[Any, RoundResult]:
    """Freeze the period's inputs again and publish the next revision (2, 3, …) of its round,
    with `reason` and `actor` recorded; earlier revisions stay with their hashes.

    The revision runs as `ranking_round_workflow_id(period, ruleset, N)`, N the next number
    after the latest published revision. With `pool`, PostgreSQL says which that is: a run of
    that ID still going is attached to (two leaders correcting the same round at once get one
    revision), one that ended without publishing it here is run again. Without a pool, N
    starts at 2 and moves past every ID whose run completed. The number the round publishes
    is `RoundResult.revision` (PostgreSQL decides it). `clock` as for `trigger_round`.
    """
    _checked(period, ruleset)
    reason = reason.strip()
    if len(reason) < MIN_REASON_CHARS:
        raise Rejected(
            "reason_required",
            f"重新冻结须写明更正原因（至少 {MIN_REASON_CHARS} 个字）",
            f"a refreeze needs a reason (at least {MIN_REASON_CHARS} characters)",
        )
    if not actor.strip():
        raise Rejected("actor_required", "请填写操作人", "the actor is required")
    data = RankingRoundInput(
        period=period,
        ruleset_id=ruleset,
        refreeze=True,
        reason=reason,
        actor=actor.strip(),
        clock=clock or ProgrammeClock(),
    )
    if pool is not None:
        async with pool.acquire() as conn:
            latest = await conn.fetchval(
                "SELECT revision FROM ranking_rounds WHERE period = $1 AND ruleset_id = $2",
                period,
                ruleset,
            )
        return await client.start_workflow(
            c.RANKING_WORKFLOW,
            data,
            id=c.ranking_round_workflow_id(period, ruleset, (latest or 1) + 1),
            task_queue=task_queue,
            result_type=RoundResult,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        )
    revision = 2
    while True:
        workflow_id = c.ranking_round_workflow_id(period, ruleset, revision)
        try:
            description = await client.get_workflow_handle(workflow_id).describe()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            description = None
        if description is not None and description.status == WorkflowExecutionStatus.COMPLETED:
            revision += 1
            continue
        try:
            return await client.start_workflow(
                c.RANKING_WORKFLOW,
                data,
                id=workflow_id,
                task_queue=task_queue,
                result_type=RoundResult,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            )
        except WorkflowAlreadyStartedError:
            # Completed between the look and the start: the next number.
            revision += 1


__all__ = [
    "SCHEDULES",
    "Rejected",
    "ensure_schedules",
    "revise_round",
    "trigger_round",
]
