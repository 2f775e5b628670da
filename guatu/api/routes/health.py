"""Liveness and readiness (no authentication)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from guatu.api.deps import Context
from guatu.api.errors import RETRY_AFTER_SECONDS

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the API process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check(awaitable: Any, timeout: float) -> str:
    try:
        async with asyncio.timeout(timeout):
            await awaitable
        return "ok"
    except Exception as err:
        return f"unavailable: {type(err).__name__}"


@router.get(
    "/readyz",
    summary="Readiness: PostgreSQL and Temporal answer",
    responses={503: {"description": "A dependency does not answer (see Retry-After)"}},
)
async def readyz(ctx: Context) -> JSONResponse:
    timeout = ctx.options.ready_timeout_seconds
    db, temporal = await asyncio.gather(
        _check(ctx.pool.fetchval("SELECT 1"), timeout),
        _check(ctx.client.service_client.check_health(timeout=timedelta(seconds=timeout)), timeout),
    )
    ready = db == "ok" and temporal == "ok"
    body = {"status": "ready" if ready else "unavailable", "database": db, "temporal": temporal}
    headers = {} if ready else {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return JSONResponse(body, status_code=200 if ready else 503, headers=headers)
