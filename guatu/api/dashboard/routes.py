"""The dashboard's own leader-only endpoints: the Excel export and the ladder summary."""

from __future__ import annotations

import json
from datetime import date, datetime
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

# Ladder decisions a leader follows: 通报, 约谈, 督办 and 督办单.
LADDER_KINDS = ["notice", "summons", "supervision", "project_supervision"]
EXPORT_PAGE = 500


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


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
        from guatu.ladder.models import LadderState
        from guatu.ladder.rules import standing_of
        from guatu.ranking.actions import ACTION_ZH, ActionKind
    except ImportError as err:
        raise unavailable("ranking", str(err)) from None
    async with pool.acquire() as conn:
        standings = await conn.fetch(
            "SELECT s.bureau, b.name_zh, b.name_en, s.state FROM ladder_standing s"
            " LEFT JOIN bureaus b ON b.code = s.bureau ORDER BY s.bureau"
        )
        decisions = await conn.fetch(
            "SELECT d.key, d.bureau, b.name_zh AS bureau_name, d.period, d.ruleset_id, d.kind,"
            " d.level_before, d.level_after, d.project, d.order_id, d.deadline, d.lines_zh,"
            " d.lines_en, d.decided_at FROM ladder_decisions d"
            " LEFT JOIN bureaus b ON b.code = d.bureau WHERE d.kind = ANY($1::text[])"
            " ORDER BY d.decided_at DESC, d.key LIMIT 50",
            LADDER_KINDS,
        )
    levels: list[dict[str, Any]] = []
    for row in standings:
        standing = standing_of(LadderState.model_validate(_json(row["state"])))
        for track in standing.tracks:
            if track.level <= 0:
                continue
            levels.append(
                {
                    "bureau": row["bureau"],
                    "name_zh": row["name_zh"] or row["bureau"],
                    "name_en": row["name_en"] or row["bureau"],
                    "track": track.track,
                    "ruleset_id": track.ruleset_id,
                    "kind": track.kind,
                    "level": track.level,
                    "level_zh": track.level_zh,
                    "black_streak": track.black_streak,
                    "red_streak": track.red_streak,
                    "last_period": track.last_period,
                    "open_orders": len(standing.open_orders),
                }
            )
    levels.sort(key=lambda x: (-x["level"], -x["black_streak"], x["bureau"], x["track"]))
    return {
        "levels": levels,
        "decisions": [
            {
                "key": d["key"],
                "bureau": d["bureau"],
                "bureau_name": d["bureau_name"] or d["bureau"],
                "period": d["period"],
                "ruleset_id": d["ruleset_id"],
                "kind": d["kind"],
                "kind_zh": ACTION_ZH[ActionKind(d["kind"])],
                "level_before": d["level_before"],
                "level_after": d["level_after"],
                "project": d["project"],
                "order_id": d["order_id"],
                "deadline": d["deadline"].isoformat() if isinstance(d["deadline"], date) else None,
                "lines_zh": _json(d["lines_zh"]),
                "lines_en": _json(d["lines_en"]),
                "decided_at": d["decided_at"].isoformat(),
            }
            for d in decisions
        ],
    }


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
