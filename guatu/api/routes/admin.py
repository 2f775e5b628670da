"""Administrators: API tokens (create, list, revoke); redelivery of failed notices."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from activities.notify import redeliver
from guatu.api.deps import AdminOnly, Context
from guatu.api.errors import ApiError, db_call, responses, temporal_call
from guatu.api.schemas import Body, TokenCreateBody, TokenCreated, TokenInfo
from guatu.core import tokens

router = APIRouter(prefix="/api/v1", tags=["admin"])


@router.post(
    "/tokens",
    response_model=TokenCreated,
    status_code=201,
    responses=responses(403, 422),
    summary="Create a token; the raw token is in this answer only",
)
async def create_token(ctx: Context, _: AdminOnly, body: TokenCreateBody) -> TokenCreated:
    try:
        raw = await db_call(
            tokens.create_token(ctx.pool, body.role.value, body.bureau, body.label, body.programs),
            ctx.options.db_timeout_seconds,
        )
    except tokens.TokenError as err:
        raise ApiError(
            422, "invalid_token_request", f"无法创建令牌：{err}", f"cannot create the token: {err}"
        ) from None
    token_id = tokens.token_id_of(raw)
    assert token_id is not None
    return TokenCreated(
        id=token_id,
        token=raw,
        role=body.role,
        bureau=body.bureau,
        label=body.label,
        programs=sorted(set(body.programs)),
    )


@router.get(
    "/tokens",
    response_model=list[TokenInfo],
    responses=responses(403),
    summary="Tokens (never their values)",
)
async def list_tokens(
    ctx: Context, _: AdminOnly, include_revoked: Annotated[bool, Query()] = False
) -> list[TokenInfo]:
    rows = await db_call(
        tokens.list_tokens(ctx.pool, include_revoked), ctx.options.db_timeout_seconds
    )
    return [TokenInfo.model_validate(r) for r in rows]


@router.delete(
    "/tokens/{token_id}",
    status_code=204,
    responses=responses(403, 404, 409),
    summary="Revoke a token; it answers 401 from now on",
    description="An admin token cannot revoke itself, and the last live admin token "
    "is never revoked (409 `cannot_revoke_own_token`, `last_admin_token`).",
)
async def revoke_token(
    ctx: Context, principal: AdminOnly, token_id: Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")]
) -> Response:
    try:
        revoked = await db_call(
            tokens.revoke_token(ctx.pool, token_id, by=principal.token_id),
            ctx.options.db_timeout_seconds,
        )
    except tokens.RevokeRefused as err:
        raise ApiError(409, err.code, err.zh, err.en) from None
    if not revoked:
        raise ApiError(404, "token_not_found", "令牌不存在或已吊销", "no live token with that id")
    return Response(status_code=204)


class RedeliverBody(Body):
    """Which failed notices to send again: all, one bureau's, or one key."""

    bureau: str | None = Field(default=None, max_length=40)
    key: str | None = Field(default=None, max_length=300)


class RedeliveredNotice(BaseModel):
    key: str
    bureau: str
    attempts: int
    last_error: str | None
    workflow_id: str


class Redelivered(BaseModel):
    redelivered: list[RedeliveredNotice]


@router.post(
    "/notices/redeliver",
    response_model=Redelivered,
    responses=responses(403, 422),
    summary="Send the notices whose delivery failed again (same key, same path)",
)
async def redeliver_notices(ctx: Context, _: AdminOnly, body: RedeliverBody) -> Redelivered:
    # Reads PostgreSQL, then starts one delivery workflow per notice: both behind a deadline.
    started = await temporal_call(
        db_call(
            redeliver(
                ctx.client, ctx.pool, bureau=body.bureau, key=body.key, task_queue=ctx.task_queue
            ),
            ctx.options.update_timeout_seconds,
        ),
        ctx.options.update_timeout_seconds,
    )
    return Redelivered(redelivered=[RedeliveredNotice.model_validate(r) for r in started])
