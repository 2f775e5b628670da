"""申诉 appeals: a bureau files and lists its own; a leader lists all and decides.

A bureau never sees another bureau's appeal: it answers 404, exactly like one that does not
exist. Filing and deciding need an `Idempotency-Key`; refusals answer 422 with the rule's code
and message (中文 / English) and are audited; nothing is started or changed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.encoders import jsonable_encoder
from pydantic import Field, StringConstraints

from guatu.api import service
from guatu.api.deps import (
    BureauOnly,
    BureauOrLeader,
    Context,
    IdempotencyKeyHeader,
    LeaderOnly,
    PageQuery,
)
from guatu.api.errors import WRITE_ERRORS, db_call, not_found, responses, temporal_call
from guatu.api.schemas import Body, Period
from guatu.appeals import service as appeals
from guatu.appeals.models import AppealFiling, AppealItem, AppealStatus, DecideInput, Decision
from guatu.core.tokens import Principal

router = APIRouter(prefix="/api/v1", tags=["appeals"])

AppealIdPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9._-]{1,300}$", description="e.g. default-2026-11-swj-score-r1")
]


class AppealBody(Body):
    """A bureau's appeal (申诉) against a published round: its score, list place or a 督办单."""

    period: Period = Field(description="The round appealed: 2026-11, 2026-Q4 or 2026")
    ruleset: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,39}$")] = "default"
    item: AppealItem = Field(description="score (得分), list (红黑榜名次) or order (督办单)")
    project: Annotated[str, StringConstraints(pattern=r"^([A-Z0-9][A-Z0-9-]{1,39})?$")] = Field(
        default="", description="item=score: one of your projects (empty: your bureau's score)"
    )
    order_id: Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f/]{0,300}$")] = Field(
        default="", description="item=order: the supervision order's id"
    )
    reason: Annotated[str, StringConstraints(min_length=1, max_length=20_000)] = Field(
        description="Why the result is wrong (length limits: the rule set's `appeal` section)"
    )
    evidence: Annotated[str, StringConstraints(max_length=200_000)] = Field(
        default="", description="The evidence, as text (document numbers, dates, figures)"
    )


class DecisionBody(Body):
    """A leader's decision: accept (a superseding revision of the round follows) or reject."""

    decision: Decision
    reason: Annotated[str, StringConstraints(min_length=1, max_length=20_000)]


_door = service.Door(appeals.Rejected)


async def _visible(ctx: Context, principal: Principal, appeal_id: str) -> dict[str, Any]:
    row = await temporal_call(
        appeals.find_appeal(ctx.client, ctx.pool, appeal_id), ctx.options.temporal_timeout_seconds
    )
    return service.visible(row, principal, not_found("appeal_not_found", "申诉", "appeal"))


@router.post(
    "/appeals",
    responses=responses(403, 409, 413, 422),
    summary="File an appeal (申诉) against a published ranking round",
)
async def file_appeal(
    ctx: Context, principal: BureauOnly, key: IdempotencyKeyHeader, body: AppealBody
) -> Any:
    bureau = principal.bureau
    assert bureau is not None
    filing = AppealFiling(
        bureau=bureau,
        period=body.period,
        ruleset_id=body.ruleset,
        item=body.item,
        project=body.project,
        order_id=body.order_id,
        reason=body.reason,
        evidence=body.evidence,
        actor=principal.actor,
        idempotency_key=key,
    )
    return await _door.write(
        ctx,
        principal,
        scope=f"appeal:{bureau}",
        key=key,
        action="appeal",
        body=body,
        call=lambda: appeals.file_appeal(
            ctx.client, ctx.pool, filing, task_queue=ctx.task_queue, channel="api"
        ),
    )


@router.get(
    "/appeals",
    responses=responses(403, 422),
    summary="Appeals: a bureau's own, or every bureau's for a leader (newest first)",
)
async def list_appeals(
    ctx: Context,
    principal: BureauOrLeader,
    paging: PageQuery,
    status: AppealStatus | None = None,
    period: Annotated[Period | None, Query()] = None,
) -> Any:
    page = await db_call(
        appeals.list_appeals(
            ctx.pool,
            bureau=service.own_bureau(principal),
            status=status.value if status else None,
            period=period,
            limit=paging.limit,
            offset=paging.offset,
        ),
        ctx.options.db_timeout_seconds,
    )
    return paging.answer(page)


@router.get(
    "/appeals/{appeal_id}",
    responses=responses(403, 404),
    summary="One appeal with its deadlines and decision",
)
async def get_appeal(ctx: Context, principal: BureauOrLeader, appeal_id: AppealIdPath) -> Any:
    return jsonable_encoder(await _visible(ctx, principal, appeal_id))


@router.post(
    "/appeals/{appeal_id}/decision",
    responses=WRITE_ERRORS,
    summary="Decide an appeal (leaders): accept or reject, with a reason",
)
async def decide_appeal(
    ctx: Context,
    principal: LeaderOnly,
    appeal_id: AppealIdPath,
    key: IdempotencyKeyHeader,
    body: DecisionBody,
) -> Any:
    await _visible(ctx, principal, appeal_id)
    data = DecideInput(
        decision=body.decision,
        reason=body.reason,
        actor=principal.actor,
        role=principal.role.value,
        idempotency_key=key,
    )
    return await _door.write(
        ctx,
        principal,
        scope=f"appeal:{appeal_id}",
        key=key,
        action="decision",
        body=body,
        call=lambda: appeals.decide_appeal(ctx.client, ctx.pool, appeal_id, data, channel="api"),
    )
