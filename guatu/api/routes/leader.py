"""Leaders: programme overview, rankings (竞进比拼) and open escalations (通报 / 约谈 / 督办).

Rankings and escalations are served by `guatu.ranking.queries` (from PostgreSQL), loaded on
first use: without it these routes answer 503 `ranking_unavailable` and the rest of the API runs.
"""

from __future__ import annotations

import inspect
import json
from enum import StrEnum
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Path, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from guatu import queries
from guatu.api.deps import (
    BUREAU_PATTERN,
    PROGRAM_PATTERN,
    BureauOrLeader,
    Context,
    LeaderOnly,
    PageQuery,
)
from guatu.api.errors import ApiError, db_call, responses, unavailable
from guatu.api.schemas import Period
from guatu.tokens import Role

router = APIRouter(prefix="/api/v1", tags=["leader"])
log = structlog.get_logger("guatu.api")


class Level(StrEnum):
    BUREAU = "bureau"
    PROGRAM = "program"
    PROJECT = "project"


@router.get("/overview", responses=responses(403, 422),
            summary="Programme overview: planned vs actual investment, lights, start and "
                    "completion rates, per program and in total")
async def overview(ctx: Context, _: LeaderOnly,
                   year: Annotated[int | None, Query(ge=2000, le=2100)] = None) -> dict[str, Any]:
    result = await db_call(queries.programme_overview(ctx.pool, year),
                           ctx.options.db_timeout_seconds)
    return jsonable_encoder(result)


def _service() -> Any:
    try:
        return queries.ranking_service()
    except queries.RankingUnavailable as err:
        log.warning("ranking service unavailable", error=str(err))
        raise unavailable("ranking", str(err)) from None


class PlainJSON(JSONResponse):
    """The ranking service already answers in JSON types (dates as ISO strings): encode it as it
    is, and leave the slow recursive `jsonable_encoder` to what is not (≈ 15 ms for a page of 50
    project rows with their breakdowns)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":"),
                          default=jsonable_encoder).encode("utf-8")


async def _fetch(ctx: Context, fn: Any, *args: Any, **optional: Any) -> Any:
    """Call a ranking function, passing the optional keyword arguments it accepts."""
    params = inspect.signature(fn).parameters
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    kwargs = {k: v for k, v in optional.items() if v is not None and (accepts_any or k in params)}
    result = fn(ctx.pool, *args, **kwargs)
    if inspect.isawaitable(result):
        result = await db_call(result, ctx.options.db_timeout_seconds * 3)
    return result


async def _call(ctx: Context, fn: Any, *args: Any, **optional: Any) -> PlainJSON:
    """A ranking function's answer as the response."""
    return PlainJSON(await _fetch(ctx, fn, *args, **optional))


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


RulesetQuery = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,40}$",
                                           description="Rule set id (default: the default one)")]


@router.get("/rankings", responses=responses(403, 404, 422),
            summary="Ranking of a level for a period (latest if no period), with score "
                    "breakdown, movement, red and black lists")
async def rankings(ctx: Context, _: LeaderOnly, paging: PageQuery, level: Level = Level.BUREAU,
                   period: Annotated[Period | None, Query(description="2026-11, 2026-Q4 or "
                                                                      "2026; latest if empty")] = None,
                   ruleset: RulesetQuery = None, kind: PeriodKind | None = None,
                   bureau: Annotated[str | None, Query(pattern=BUREAU_PATTERN,
                                                       description="rows of one bureau")] = None,
                   program: Annotated[str | None, Query(pattern=PROGRAM_PATTERN,
                                                        description="rows of one program")] = None,
                   member_lines: Annotated[int, Query(
                       ge=0, le=100_000, description="per-project lines shown in a bureau's or "
                                                     "program's breakdown")] = 20,
                   ) -> Any:
    result = await _fetch(ctx, _service().get_ranking, level.value, period, ruleset_id=ruleset,
                         kind=kind.value if kind else None, limit=paging.page_size,
                         offset=(paging.page - 1) * paging.page_size, bureau=bureau,
                         program=program, member_lines=member_lines)
    if not result or result.get("found") is False:
        raise ApiError(404, "ranking_not_found", "该期排名尚未生成", "no ranking for that period",
                       details={"level": level.value, "period": period})
    return PlainJSON(result)


@router.get("/rankings/periods", responses=responses(403, 422),
            summary="Periods ranked at a level, newest first")
async def ranking_periods(ctx: Context, _: LeaderOnly, level: Level = Level.BUREAU,
                          ruleset: RulesetQuery = None) -> Any:
    return await _call(ctx, _service().list_periods, level.value, ruleset_id=ruleset)


@router.get("/rankings/history", responses=responses(403, 422),
            summary="One bureau's, program's or project's rank and score over past periods")
async def ranking_history(ctx: Context, _: LeaderOnly,
                          code: Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,40}$")],
                          level: Level = Level.BUREAU, ruleset: RulesetQuery = None,
                          kind: PeriodKind = PeriodKind.MONTH) -> Any:
    return await _call(ctx, _service().unit_history, level.value, code, ruleset_id=ruleset,
                       kind=kind.value)


@router.get("/escalations", responses=responses(403, 422),
            summary="Open escalations (督办 / 督办单) with their deadlines, earliest first")
async def escalations(ctx: Context, _: LeaderOnly,
                      bureau: Annotated[str | None, Query(pattern=BUREAU_PATTERN)] = None) -> Any:
    return await _call(ctx, _service().open_escalations, bureau=bureau)


@router.get("/bureaus/{bureau}/standing", responses=responses(403, 404, 422),
            summary="A bureau's ladder (通报 / 约谈 / 督办 levels), open orders, exemptions "
                    "and recent ranks; a bureau token reads its own only")
async def standing(ctx: Context, principal: BureauOrLeader,
                   bureau: Annotated[str, Path(pattern=BUREAU_PATTERN)]) -> Any:
    if principal.role is Role.BUREAU and principal.bureau != bureau:
        raise ApiError(404, "bureau_not_found", "部门不存在或无权访问", "no such bureau (or not yours)")
    known = {b["code"] for b in await db_call(queries.list_bureaus(ctx.pool),
                                              ctx.options.db_timeout_seconds)}
    if bureau not in known:
        raise ApiError(404, "bureau_not_found", "部门不存在或无权访问", "no such bureau (or not yours)")
    return await _call(ctx, _service().bureau_standing, bureau)
