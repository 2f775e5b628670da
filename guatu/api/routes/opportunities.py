"""机会清单 opportunity lists, the internal side: a manager publishes and closes; the responsible
bureau answers interests and records outcomes (签约 / 未成); a leader lists all.

A bureau sees only its own opportunities and interests: another bureau's answers 404, exactly
like one that does not exist. Writes need an `Idempotency-Key`; refusals answer 422 with the
rule's code and message (中文 / English) and are audited; nothing is started or changed. The
public side (no token) is `guatu.api.routes.public_opportunities`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.encoders import jsonable_encoder
from pydantic import Field, StringConstraints

from guatu.api import service
from guatu.api.deps import (
    BureauOnly,
    Context,
    IdempotencyKeyHeader,
    ManagerOnly,
    PageQuery,
    ProjectReader,
)
from guatu.api.errors import WRITE_ERRORS, db_call, not_found, responses
from guatu.api.schemas import Body
from guatu.core.tokens import Principal
from guatu.opportunities import service as opportunities
from guatu.opportunities.models import (
    CloseInput,
    InterestStatus,
    ListingStatus,
    OpportunityKind,
    Outcome,
    OutcomeInput,
    PublishInput,
    RespondInput,
    SubjectKind,
)

router = APIRouter(prefix="/api/v1", tags=["opportunities"])

OpportunityIdPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9._-]{1,120}$", description="e.g. JQJA.venue.20270115")
]
InterestIdPath = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9._-]{1,200}$",
        description="<opportunity>.<统一社会信用代码>",
    ),
]


class PublishBody(Body):
    """An opportunity (机会) on a project or a 示范场景 scene; its bureau answers the interests."""

    subject_kind: SubjectKind = Field(description="project (项目) or scene (示范场景)")
    subject: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{1,39}$")] = Field(
        description="The project's or scene's code"
    )
    kind: OpportunityKind = Field(
        description="investment (投资合作), operation (运营合作), procurement (采购需求) or "
        "venue (场地资源)"
    )
    title_zh: Annotated[str, StringConstraints(min_length=2, max_length=100)]
    description: Annotated[str, StringConstraints(max_length=4000)] = ""
    amount_wan: float | None = Field(
        default=None, ge=0, le=100_000_000, description="万元; null: 面议 (to be agreed)"
    )
    conditions: Annotated[str, StringConstraints(max_length=4000)] = ""
    closes_on: date = Field(description="The last day interests are taken (Wenjiang time)")


class CloseBody(Body):
    """Close an opportunity before its closing date, with the reason."""

    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class ResponseBody(Body):
    """The responsible bureau's answer to the enterprise (答复)."""

    reply: Annotated[str, StringConstraints(min_length=1, max_length=20_000)]


class OutcomeBody(Body):
    """The outcome: signed (签约) or not_concluded (未成, with the reason)."""

    outcome: Outcome
    note: Annotated[str, StringConstraints(max_length=20_000)] = ""
    amount_wan: float | None = Field(default=None, ge=0, le=100_000_000, description="万元")


_door = service.Door(opportunities.Rejected)


async def _opportunity(ctx: Context, principal: Principal, oid: str) -> dict[str, Any]:
    row = await db_call(
        opportunities.get_opportunity(ctx.pool, oid), ctx.options.db_timeout_seconds
    )
    return service.visible(
        row, principal, not_found("opportunity_not_found", "机会", "opportunity")
    )


async def _interest(ctx: Context, principal: Principal, iid: str) -> dict[str, Any]:
    row = await db_call(opportunities.get_interest(ctx.pool, iid), ctx.options.db_timeout_seconds)
    return service.visible(row, principal, not_found("interest_not_found", "合作意向", "interest"))


@router.post(
    "/opportunities",
    responses=responses(403, 409, 413, 422),
    summary="Publish an opportunity (机会清单) on a project or a scene (managers)",
)
async def publish_opportunity(
    ctx: Context, principal: ManagerOnly, key: IdempotencyKeyHeader, body: PublishBody
) -> Any:
    data = PublishInput(**body.model_dump(), actor=principal.actor, idempotency_key=key)
    return await _door.write(
        ctx,
        principal,
        scope="opportunity:publish",
        key=key,
        action="publish",
        body=body,
        call=lambda: opportunities.publish(
            ctx.client, ctx.pool, data, task_queue=ctx.task_queue, channel="api"
        ),
    )


@router.get(
    "/opportunities",
    responses=responses(403, 422),
    summary="Opportunities: a bureau's own, or all (managers, leaders), newest first",
)
async def list_opportunities(
    ctx: Context,
    principal: ProjectReader,
    paging: PageQuery,
    status: ListingStatus | None = None,
) -> Any:
    page = await db_call(
        opportunities.list_opportunities(
            ctx.pool,
            bureau=service.own_bureau(principal),
            status=status.value if status else None,
            limit=paging.limit,
            offset=paging.offset,
        ),
        ctx.options.db_timeout_seconds,
    )
    return paging.answer(page)


@router.get(
    "/opportunities/{opportunity_id}",
    responses=responses(403, 404),
    summary="One opportunity",
)
async def get_opportunity(
    ctx: Context, principal: ProjectReader, opportunity_id: OpportunityIdPath
) -> Any:
    return jsonable_encoder(await _opportunity(ctx, principal, opportunity_id))


@router.post(
    "/opportunities/{opportunity_id}/close",
    responses=WRITE_ERRORS,
    summary="Close an opportunity before its closing date (managers)",
)
async def close_opportunity(
    ctx: Context,
    principal: ManagerOnly,
    opportunity_id: OpportunityIdPath,
    key: IdempotencyKeyHeader,
    body: CloseBody,
) -> Any:
    await _opportunity(ctx, principal, opportunity_id)
    data = CloseInput(
        reason=body.reason, actor=principal.actor, role=principal.role.value, idempotency_key=key
    )
    return await _door.write(
        ctx,
        principal,
        scope=f"opportunity:{opportunity_id}",
        key=key,
        action="close",
        body=body,
        call=lambda: opportunities.close(ctx.client, ctx.pool, opportunity_id, data),
    )


@router.get(
    "/interests",
    responses=responses(403, 422),
    summary="Expressions of interest (合作意向): a bureau's own, or all; nearest deadline first",
)
async def list_interests(
    ctx: Context,
    principal: ProjectReader,
    paging: PageQuery,
    status: InterestStatus | None = None,
    opportunity: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9._-]{1,120}$")] = None,
) -> Any:
    page = await db_call(
        opportunities.list_interests(
            ctx.pool,
            bureau=service.own_bureau(principal),
            opportunity=opportunity,
            status=status.value if status else None,
            limit=paging.limit,
            offset=paging.offset,
        ),
        ctx.options.db_timeout_seconds,
    )
    return paging.answer(page)


@router.get(
    "/interests/{interest_id}",
    responses=responses(403, 404),
    summary="One expression of interest with its deadlines, answer and outcome",
)
async def get_interest(ctx: Context, principal: ProjectReader, interest_id: InterestIdPath) -> Any:
    return jsonable_encoder(await _interest(ctx, principal, interest_id))


@router.post(
    "/interests/{interest_id}/response",
    responses=WRITE_ERRORS,
    summary="Answer an expression of interest (the responsible bureau)",
)
async def respond(
    ctx: Context,
    principal: BureauOnly,
    interest_id: InterestIdPath,
    key: IdempotencyKeyHeader,
    body: ResponseBody,
) -> Any:
    await _interest(ctx, principal, interest_id)
    data = RespondInput(
        reply=body.reply,
        actor=principal.actor,
        role=principal.role.value,
        bureau=principal.bureau or "",
        idempotency_key=key,
    )
    return await _door.write(
        ctx,
        principal,
        scope=f"interest:{interest_id}",
        key=key,
        action="respond",
        body=body,
        call=lambda: opportunities.respond(ctx.client, ctx.pool, interest_id, data),
    )


@router.post(
    "/interests/{interest_id}/outcome",
    responses=WRITE_ERRORS,
    summary="Record the outcome of an interest: 签约 (signed) or 未成 (not concluded)",
)
async def record_outcome(
    ctx: Context,
    principal: BureauOnly,
    interest_id: InterestIdPath,
    key: IdempotencyKeyHeader,
    body: OutcomeBody,
) -> Any:
    await _interest(ctx, principal, interest_id)
    data = OutcomeInput(
        outcome=body.outcome,
        note=body.note,
        amount_wan=body.amount_wan,
        actor=principal.actor,
        role=principal.role.value,
        bureau=principal.bureau or "",
        idempotency_key=key,
    )
    return await _door.write(
        ctx,
        principal,
        scope=f"interest:{interest_id}",
        key=key,
        action="outcome",
        body=body,
        call=lambda: opportunities.record_outcome(ctx.client, ctx.pool, interest_id, data),
    )
