"""市民观察 citizen observations: an observer files and rates; the responsible bureau replies;
区幸福办 (a leader token) resolves escalated ones; the published figures are open to every role.

An observer sees only its own observations, a bureau only those it must answer; another's answers
404, exactly like a missing one. Writes need an `Idempotency-Key`; refusals answer 422 with the
rule's code and message (中文 / English) and are audited; nothing is started or changed.
Photos travel as base64 text in the JSON body (JPEG or PNG, checked by their magic bytes).
"""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.encoders import jsonable_encoder
from pydantic import Field, StringConstraints

from guatu.api import service
from guatu.api.deps import Context, IdempotencyKeyHeader, PageQuery, require
from guatu.api.errors import WRITE_ERRORS, ApiError, db_call, not_found, responses, temporal_call
from guatu.api.schemas import Body
from guatu.core.tokens import Principal, Role
from guatu.society import figures
from guatu.society import service as society
from guatu.society.models import (
    Category,
    ObservationFiling,
    ObservationStatus,
    RateInput,
    ReplyInput,
    ResolveInput,
    Satisfaction,
    TargetKind,
)

router = APIRouter(prefix="/api/v1", tags=["observations"])

OBSERVATIONS_PATH = "/api/v1/observations"
# Up to 3 photos of 1 MiB, base64 (4/3) and the text: the default 256 KiB would refuse them.
BODY_LIMITS = {OBSERVATIONS_PATH: 6 * 1024 * 1024}

ObserverOnly = Annotated[Principal, Depends(require(Role.OBSERVER))]
BureauOnly = Annotated[Principal, Depends(require(Role.BUREAU))]
LeaderOnly = Annotated[Principal, Depends(require(Role.LEADER))]
Reader = Annotated[Principal, Depends(require(Role.OBSERVER, Role.BUREAU, Role.LEADER))]
AnyReader = Annotated[
    Principal,
    Depends(require(Role.OBSERVER, Role.BUREAU, Role.LEADER, Role.MANAGER, Role.EVALUATOR)),
]
ObservationIdPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_-]{1,120}$", description="e.g. P10-003-20261009-abc123-1")
]
Text = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]


class ObservationBody(Body):
    """An observation (市民观察) on a project or a demonstration scene."""

    target_kind: TargetKind = TargetKind.PROJECT
    target: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,39}$")]
    category: Category = Field(
        description="进度 progress / 质量 quality / 安全 safety / 扰民 nuisance / 服务 service"
    )
    rating: int = Field(ge=1, le=5, description="1 (poor) – 5 (good)")
    text: Text
    wants_reply: bool = Field(default=True, description="Ask the responsible bureau to answer")
    photos: list[Annotated[str, StringConstraints(max_length=2_000_000)]] = Field(
        default_factory=list, max_length=10, description="JPEG or PNG files, base64"
    )


class ReplyBody(Body):
    text: Text


class RatingBody(Body):
    satisfaction: Satisfaction = Field(description="satisfied 满意 / unsatisfied 不满意")
    comment: Annotated[str, StringConstraints(max_length=20_000)] = ""


class ResolutionBody(Body):
    text: Text


def _not_found() -> ApiError:
    return not_found("observation_not_found", "市民观察", "observation")


_door = service.Door(society.Rejected)


def _decode(photos: list[str]) -> list[bytes]:
    out = []
    for i, text in enumerate(photos, start=1):
        try:
            out.append(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError):
            raise ApiError(
                422,
                "photo_not_base64",
                f"第 {i} 张照片不是有效的 base64 编码",
                f"photo {i} is not valid base64",
            ) from None
    return out


async def _visible(ctx: Context, principal: Principal, oid: str) -> dict[str, Any]:
    row = await temporal_call(
        society.find_observation(ctx.client, ctx.pool, oid), ctx.options.temporal_timeout_seconds
    )
    row = service.visible(row, principal, _not_found())
    if principal.role is Role.OBSERVER and row["observer"] != principal.token_id:
        raise _not_found()
    return row


@router.post(
    "/observations",
    responses=responses(403, 409, 413, 422),
    summary="File a citizen observation (市民观察) on a project or scene",
)
async def file_observation(
    ctx: Context, principal: ObserverOnly, key: IdempotencyKeyHeader, body: ObservationBody
) -> Any:
    filing = ObservationFiling(
        target_kind=body.target_kind,
        target=body.target,
        category=body.category,
        rating=body.rating,
        text=body.text,
        wants_reply=body.wants_reply,
        photos=_decode(body.photos),
        observer=principal.token_id,
        idempotency_key=key,
    )
    return await _door.write(
        ctx,
        principal,
        scope=f"observation:{principal.token_id}",
        key=key,
        action="observation",
        body=body,
        call=lambda: society.submit_observation(
            ctx.client, ctx.pool, filing, task_queue=ctx.task_queue, channel="api"
        ),
    )


@router.get(
    "/observations",
    responses=responses(403, 422),
    summary="Observations: an observer's own, a bureau's to answer, or all for a leader",
)
async def list_observations(
    ctx: Context,
    principal: Reader,
    paging: PageQuery,
    status: ObservationStatus | None = None,
    target: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,39}$")] = None,
) -> Any:
    page = await db_call(
        society.list_observations(
            ctx.pool,
            bureau=service.own_bureau(principal),
            observer=principal.token_id if principal.role is Role.OBSERVER else None,
            target=target,
            status=status.value if status else None,
            limit=paging.limit,
            offset=paging.offset,
        ),
        ctx.options.db_timeout_seconds,
    )
    return paging.answer(page)


@router.get(
    "/observations/{observation_id}",
    responses=responses(403, 404),
    summary="One observation with its deadlines, reply, rating and escalation",
)
async def get_observation(
    ctx: Context, principal: Reader, observation_id: ObservationIdPath
) -> Any:
    return jsonable_encoder(await _visible(ctx, principal, observation_id))


@router.get(
    "/observations/{observation_id}/photos/{seq}",
    responses=responses(403, 404),
    summary="A photo of an observation (JPEG or PNG)",
    response_class=Response,
)
async def get_photo(
    ctx: Context,
    principal: Reader,
    observation_id: ObservationIdPath,
    seq: Annotated[int, Path(ge=1, le=10)],
) -> Response:
    await _visible(ctx, principal, observation_id)
    photo = await db_call(
        society.get_photo(ctx.pool, observation_id, seq), ctx.options.db_timeout_seconds
    )
    if photo is None:
        raise ApiError(404, "photo_not_found", "没有这张照片", "no such photo")
    return Response(content=photo[1], media_type=photo[0])


@router.post(
    "/observations/{observation_id}/reply",
    responses=WRITE_ERRORS,
    summary="Reply to an observation (the responsible bureau)",
)
async def reply(
    ctx: Context,
    principal: BureauOnly,
    observation_id: ObservationIdPath,
    key: IdempotencyKeyHeader,
    body: ReplyBody,
) -> Any:
    await _visible(ctx, principal, observation_id)
    assert principal.bureau is not None
    data = ReplyInput(
        text=body.text,
        bureau=principal.bureau,
        actor=principal.actor,
        role=principal.role.value,
        idempotency_key=key,
    )
    return await _door.write(
        ctx,
        principal,
        scope=f"observation:{observation_id}",
        key=key,
        action="observation_reply",
        body=body,
        call=lambda: society.reply_observation(ctx.client, ctx.pool, observation_id, data),
    )


@router.post(
    "/observations/{observation_id}/rating",
    responses=WRITE_ERRORS,
    summary="Rate the reply: 满意 / 不满意 (the observer who filed it; 不满意 goes to 区幸福办)",
)
async def rate(
    ctx: Context,
    principal: ObserverOnly,
    observation_id: ObservationIdPath,
    key: IdempotencyKeyHeader,
    body: RatingBody,
) -> Any:
    await _visible(ctx, principal, observation_id)
    data = RateInput(
        satisfaction=body.satisfaction,
        comment=body.comment,
        observer=principal.token_id,
        role=principal.role.value,
        idempotency_key=key,
    )
    return await _door.write(
        ctx,
        principal,
        scope=f"observation:{observation_id}",
        key=key,
        action="observation_rating",
        body=body,
        call=lambda: society.rate_observation(ctx.client, ctx.pool, observation_id, data),
    )


@router.post(
    "/observations/{observation_id}/resolution",
    responses=WRITE_ERRORS,
    summary="Close an escalated observation (区幸福办, a leader token)",
)
async def resolve(
    ctx: Context,
    principal: LeaderOnly,
    observation_id: ObservationIdPath,
    key: IdempotencyKeyHeader,
    body: ResolutionBody,
) -> Any:
    await _visible(ctx, principal, observation_id)
    data = ResolveInput(
        text=body.text, actor=principal.actor, role=principal.role.value, idempotency_key=key
    )
    return await _door.write(
        ctx,
        principal,
        scope=f"observation:{observation_id}",
        key=key,
        action="observation_resolution",
        body=body,
        call=lambda: society.resolve_observation(ctx.client, ctx.pool, observation_id, data),
    )


@router.get(
    "/society/figures",
    responses=responses(403, 422),
    summary="Published figures: satisfaction and response timeliness per project, scene, bureau",
)
async def published_figures(
    ctx: Context,
    _: AnyReader,
    since: Annotated[date | None, Query(description="Filed on or after (local date)")] = None,
    until: Annotated[date | None, Query(description="Filed before (local date)")] = None,
) -> Any:
    return jsonable_encoder(
        await db_call(
            figures.published_figures(ctx.reads, since=since, until=until),
            ctx.options.db_timeout_seconds,
        )
    )
