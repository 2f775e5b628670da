"""Who am I, and the reference data (bureaus, programs) every client needs for names."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from guatu.api.deps import AnyRole, Context
from guatu.api.errors import db_call, responses
from guatu.api.schemas import Me
from guatu.lifecycle import queries

router = APIRouter(prefix="/api/v1", tags=["reference"])


@router.get("/me", response_model=Me, responses=responses(), summary="The caller's token")
async def me(principal: AnyRole) -> Me:
    return Me(
        token_id=principal.token_id,
        role=principal.role,
        bureau=principal.bureau,
        label=principal.label,
        actor=principal.actor,
    )


@router.get("/bureaus", responses=responses(), summary="Bureaus (部门)")
async def bureaus(ctx: Context, _: AnyRole) -> list[dict[str, Any]]:
    return await db_call(queries.list_bureaus(ctx.pool), ctx.options.db_timeout_seconds)


@router.get("/programs", responses=responses(), summary="The ten programs (十大工程)")
async def programs(ctx: Context, _: AnyRole) -> list[dict[str, Any]]:
    return await db_call(queries.list_programs(ctx.pool), ctx.options.db_timeout_seconds)
