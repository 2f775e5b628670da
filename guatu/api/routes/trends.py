"""Leaders' trend series (趋势) for the dashboard's charts: `guatu.ranking.trends` serves them."""

from __future__ import annotations

from collections.abc import Awaitable
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder

from guatu.api.deps import BUREAU_PATTERN, PROGRAM_PATTERN, Context, LeaderOnly
from guatu.api.errors import db_call, responses
from guatu.api.routes.leader import RulesetQuery, _known_ruleset
from guatu.ranking import trends

router = APIRouter(prefix="/api/v1/trends", tags=["leader"])


class RankLevel(StrEnum):
    BUREAU = "bureau"
    PROGRAM = "program"


YearQuery = Annotated[
    int | None, Query(ge=2000, le=2100, description="Default: the programme's business year")
]
ProgramQuery = Annotated[str | None, Query(pattern=PROGRAM_PATTERN, description="one program")]
BureauQuery = Annotated[str | None, Query(pattern=BUREAU_PATTERN, description="one bureau")]


async def _series(ctx: Context, query: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """A trend series as JSON data, read with three times the usual database deadline (a year
    of months at once)."""
    encoded: dict[str, Any] = jsonable_encoder(
        await db_call(query, ctx.options.db_timeout_seconds * 3)
    )
    return encoded


@router.get(
    "/investment",
    responses=responses(403, 422),
    summary="This year's cumulative investment against the 序时 plan (year plan × "
    "时间进度) at each month's close: the programme, a program or a bureau",
)
async def investment(
    ctx: Context,
    _: LeaderOnly,
    year: YearQuery = None,
    program: ProgramQuery = None,
    bureau: BureauQuery = None,
) -> Any:
    return await _series(ctx, trends.investment(ctx.reads, year, program=program, bureau=bureau))


@router.get(
    "/ranks",
    responses=responses(403, 422),
    summary="Each bureau's or program's rank in the year's monthly rounds (bump chart)",
)
async def ranks(
    ctx: Context,
    _: LeaderOnly,
    year: YearQuery = None,
    level: RankLevel = RankLevel.BUREAU,
    ruleset: RulesetQuery = None,
) -> Any:
    _known_ruleset(ruleset)
    return await _series(ctx, trends.ranks(ctx.reads, year, level=level.value, ruleset_id=ruleset))


@router.get(
    "/lights",
    responses=responses(403, 422),
    summary="Projects green, yellow and red at each month's end (from the light history)",
)
async def lights(
    ctx: Context,
    _: LeaderOnly,
    year: YearQuery = None,
    program: ProgramQuery = None,
    bureau: BureauQuery = None,
) -> dict[str, Any]:
    return await _series(ctx, trends.lights(ctx.reads, year, program=program, bureau=bureau))
