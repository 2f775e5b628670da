"""Prometheus scrape endpoint (no token; nothing sensitive in it, see guatu/core/metrics.py)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from guatu.api.deps import Context
from guatu.core import metrics

router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
async def prometheus(ctx: Context) -> Response:
    body = await metrics.render(ctx.pool, ctx.options.db_timeout_seconds)
    return Response(body, media_type=metrics.CONTENT_TYPE)
