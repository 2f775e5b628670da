"""Temporal-facing helpers of 激励奖惩: the one way a bureau's ladder is started or restarted,
exemptions, correction plans and the live standing.

The API, the CLI, the ranking round's feed activity and tests call these. Nothing here decides:
the BureauLadder workflow does (through `guatu.ladder.book.LadderBook`).
"""

from __future__ import annotations

from typing import Any

import asyncpg
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from guatu.core import constants as c
from guatu.ladder.models import (
    CorrectionPlanInput,
    CorrectionPlanResult,
    ExemptionInput,
    ExemptionResult,
    LadderInput,
    LadderStanding,
)
from guatu.ladder.store import stored_state
from guatu.lifecycle.models import ProgrammeClock
from guatu.lifecycle.service import RefusalAudit, Rejected, execute_refusable_update
from guatu.ranking.models import ExemptionRules
from guatu.ranking.rulesets import DEFAULT_RULESET, load_ruleset


async def ensure_ladder(
    client: Client,
    pool: asyncpg.Pool | None,
    bureau: str,
    *,
    task_queue: str,
    clock: ProgrammeClock | None = None,
    name_zh: str = "",
    exemption_rules: ExemptionRules | None = None,
) -> WorkflowHandle[Any, Any]:
    """The bureau's ladder: the running one, or one started now — from its state in PostgreSQL
    when it ran before (`guatu.ladder.store.stored_state`), else new.

    The one path every door takes (a round feeding the ladders, an exemption before the first
    round). A new ladder keeps `clock` (the programme clock its order deadlines run on; real
    time if None), its name (`name_zh`, else the bureau's in PostgreSQL) and the exemption rules
    (`exemption_rules`, else the default rule set's). A restored ladder keeps its own clock.
    """
    state = None
    if pool is not None:
        async with pool.acquire() as conn:
            state = await stored_state(conn, bureau)
            if not name_zh:
                name_zh = (
                    await conn.fetchval("SELECT name_zh FROM bureaus WHERE code = $1", bureau) or ""
                )
    return await client.start_workflow(
        c.LADDER_WORKFLOW,
        LadderInput(
            bureau=bureau,
            name_zh=name_zh,
            exemption_rules=exemption_rules or load_ruleset(DEFAULT_RULESET).exemption,
            clock=clock or ProgrammeClock(),
            state=state,
        ),
        id=c.bureau_ladder_workflow_id(bureau),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )


async def grant_exemption(
    client: Client,
    bureau: str,
    data: ExemptionInput,
    *,
    pool: asyncpg.Pool | None = None,
    task_queue: str = c.TASK_QUEUE,
    channel: str = "api",
    clock: ProgrammeClock | None = None,
) -> ExemptionResult:
    """Exempt a bureau from one period's black list (force majeure). A refusal raises `Rejected`
    and, given a pool, is written to the audit log; an acceptance is audited by the ladder.
    `clock`: the programme clock of a ladder this starts (as for `ensure_ladder`)."""
    handle = await ensure_ladder(client, pool, bureau, task_queue=task_queue, clock=clock)
    return await execute_refusable_update(
        handle,
        c.UPDATE_EXEMPTION,
        data,
        ExemptionResult,
        update_id=f"{c.UPDATE_EXEMPTION}:{data.idempotency_key}",
        pool=pool,
        audit=RefusalAudit(
            f"exemption:{data.period}", data.idempotency_key, data.actor, bureau, channel
        ),
    )


async def submit_correction_plan(
    client: Client,
    bureau: str,
    data: CorrectionPlanInput,
    *,
    pool: asyncpg.Pool | None = None,
    channel: str = "api",
) -> CorrectionPlanResult:
    return await execute_refusable_update(
        client.get_workflow_handle(c.bureau_ladder_workflow_id(bureau)),
        c.UPDATE_CORRECTION_PLAN,
        data,
        CorrectionPlanResult,
        update_id=f"{c.UPDATE_CORRECTION_PLAN}:{data.idempotency_key}",
        pool=pool,
        audit=RefusalAudit(
            f"correction_plan:{data.order_id}", data.idempotency_key, data.actor, bureau, channel
        ),
    )


async def ladder_standing(client: Client, bureau: str) -> LadderStanding:
    """The live standing from the workflow (the API reads `queries.bureau_standing` instead)."""
    handle = client.get_workflow_handle(c.bureau_ladder_workflow_id(bureau))
    standing: LadderStanding = await handle.query(c.QUERY_STANDING, result_type=LadderStanding)
    return standing


__all__ = [
    "Rejected",
    "ensure_ladder",
    "grant_exemption",
    "ladder_standing",
    "submit_correction_plan",
]
