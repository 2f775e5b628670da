"""The dashboard's own leader-only endpoints: the Excel export and the ladder summary."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

import asyncpg
from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response

from guatu.api.dashboard.export import XLSX_TYPE, ExportView, build_workbook
from guatu.api.deps import BUREAU_PATTERN, PROGRAM_PATTERN, Context, LeaderOnly
from guatu.api.errors import db_call, responses, unavailable
from guatu.api.schemas import Period
from guatu.core.clock import CST
from guatu.lifecycle import queries
from guatu.lifecycle.models import Light, RunStatus, Stage
from guatu.ranking import trends

router = APIRouter(prefix="/api/v1", tags=["dashboard"])

EXPORT_PAGE = 500


async def _all_projects(pool: asyncpg.Pool, **filters: str | None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        chunk = await queries.list_projects(pool, page=page, page_size=EXPORT_PAGE, **filters)
        items.extend(chunk.items)
        if len(chunk.items) < EXPORT_PAGE or len(items) >= chunk.total:
            return items
        page += 1


async def _ranking(pool: asyncpg.Pool, level: str, period: str | None) -> dict[str, Any] | None:
    try:
        service = queries.ranking_service()
    except queries.RankingUnavailable:
        return None
    result: dict[str, Any] = await service.get_ranking(pool, level, period)
    return result


async def _escalations(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    try:
        service = queries.ranking_service()
    except queries.RankingUnavailable:
        return []
    rows: list[dict[str, Any]] = await service.open_escalations(pool)
    return rows


@router.get(
    "/export.xlsx",
    responses={
        **responses(403, 422),
        200: {
            "content": {XLSX_TYPE: {}},
            "description": "The workbook: 总览, 项目, 排名, 督办 sheets",
        },
    },
    response_class=Response,
    summary="The dashboard's current view as an Excel workbook (leaders)",
)
async def export_xlsx(
    ctx: Context,
    _: LeaderOnly,
    program: Annotated[str | None, Query(pattern=PROGRAM_PATTERN)] = None,
    bureau: Annotated[str | None, Query(pattern=BUREAU_PATTERN)] = None,
    stage: Stage | None = None,
    light: Light | None = None,
    status: RunStatus | None = None,
    period: Annotated[Period | None, Query(description="Ranking period; latest if empty")] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> Response:
    timeout = ctx.options.db_timeout_seconds
    filters = {
        "program": program,
        "bureau": bureau,
        "stage": stage.value if stage else None,
        "light": light.value if light else None,
        "status": status.value if status else None,
    }

    async def gather() -> ExportView:
        return ExportView(
            generated_at=datetime.now(CST),
            filters={k: v for k, v in filters.items() if v is not None},
            overview=await queries.programme_overview(ctx.reads, year),
            projects=await _all_projects(ctx.reads, **filters),
            bureaus={b["code"]: b for b in await queries.list_bureaus(ctx.reads)},
            programs={p["code"]: p for p in await queries.list_programs(ctx.reads)},
            rankings={
                level: await _ranking(ctx.reads, level, period) for level in ("bureau", "program")
            },
            escalations=await _escalations(ctx.reads),
            trends=await trends.for_export(ctx.reads, year),
        )

    view = await db_call(gather(), timeout * 3)
    body = build_workbook(view)
    stamp = view.generated_at.strftime("%Y%m%d-%H%M")
    ascii_name = f"guatu-{stamp}.xlsx"
    utf8_name = quote(f"挂图-{stamp}.xlsx")
    return Response(
        body,
        media_type=XLSX_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{ascii_name}"; '
            f"filename*=UTF-8''{utf8_name}",
            "Cache-Control": "no-store",
        },
    )


async def _ladders(pool: asyncpg.Pool) -> dict[str, Any]:
    try:
        from guatu.ladder.queries import ladders_overview
    except ImportError as err:
        raise unavailable("ranking", str(err)) from None
    return await ladders_overview(pool)


@router.get(
    "/dashboard/ladders",
    responses=responses(403),
    summary="Bureaus on the 通报 / 约谈 / 督办 ladder now, and the latest such decisions",
)
async def ladders(ctx: Context, _: LeaderOnly) -> dict[str, Any]:
    result = await db_call(_ladders(ctx.reads), ctx.options.db_timeout_seconds)
    encoded: dict[str, Any] = jsonable_encoder(result)
    return encoded


__all__ = ["router"]
