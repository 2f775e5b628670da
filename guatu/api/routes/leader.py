"""Leaders: programme overview, rankings (竞进比拼) and open escalations (通报 / 约谈 / 督办).

One file: the routes of one role, like every module of `guatu.api.routes`; each is a thin call into
the domain packages.

Rankings and escalations are served by `guatu.ranking.queries` (from PostgreSQL), loaded on
first use: without it these routes answer 503 `ranking_unavailable` and the rest of the API runs.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Path, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from temporalio.client import WorkflowFailureError

from guatu.api import service
from guatu.api.deps import (
    BUREAU_PATTERN,
    PROGRAM_PATTERN,
    BureauOrLeader,
    Context,
    LeaderOnly,
    PageQuery,
    require,
)
from guatu.api.errors import ApiError, db_call, not_found, responses, temporal_call, unavailable
from guatu.api.schemas import Period, ProgrammeMonth
from guatu.core.tokens import Principal, Role
from guatu.ladder import queries as ladder_queries
from guatu.lifecycle import queries

router = APIRouter(prefix="/api/v1", tags=["leader"])
log = structlog.get_logger("guatu.api")


class Level(StrEnum):
    BUREAU = "bureau"
    PROGRAM = "program"
    PROJECT = "project"


@router.get(
    "/overview",
    responses=responses(403, 422),
    summary="Programme overview: planned vs actual investment, lights, start and "
    "completion rates, per program and in total",
)
async def overview(
    ctx: Context, _: LeaderOnly, year: Annotated[int | None, Query(ge=2000, le=2100)] = None
) -> dict[str, Any]:
    result = await db_call(
        queries.programme_overview(ctx.reads, year), ctx.options.db_timeout_seconds
    )
    encoded: dict[str, Any] = jsonable_encoder(result)
    return encoded


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
        return json.dumps(
            content, ensure_ascii=False, separators=(",", ":"), default=jsonable_encoder
        ).encode("utf-8")


async def _fetch(ctx: Context, fn: Any, *args: Any, **optional: Any) -> Any:
    """Call a ranking function, passing the optional keyword arguments it accepts."""
    params = inspect.signature(fn).parameters
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    kwargs = {k: v for k, v in optional.items() if v is not None and (accepts_any or k in params)}
    result = fn(ctx.reads, *args, **kwargs)
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


RulesetQuery = Annotated[
    str | None,
    Query(pattern=r"^[A-Za-z0-9_-]{1,40}$", description="Rule set id (default: the default one)"),
]


@router.get(
    "/rankings",
    responses=responses(403, 404, 422),
    summary="Ranking of a level for a period (latest if no period), with score "
    "breakdown, movement, red and black lists",
)
async def rankings(
    ctx: Context,
    _: LeaderOnly,
    paging: PageQuery,
    level: Level = Level.BUREAU,
    period: Annotated[
        Period | None, Query(description="2026-11, 2026-Q4 or 2026; latest if empty")
    ] = None,
    ruleset: RulesetQuery = None,
    kind: PeriodKind | None = None,
    bureau: Annotated[
        str | None, Query(pattern=BUREAU_PATTERN, description="rows of one bureau")
    ] = None,
    program: Annotated[
        str | None, Query(pattern=PROGRAM_PATTERN, description="rows of one program")
    ] = None,
    member_lines: Annotated[
        int,
        Query(
            ge=0,
            le=100_000,
            description="per-project lines shown in a bureau's or program's breakdown",
        ),
    ] = 20,
) -> Any:
    _known_ruleset(ruleset)
    result = await _fetch(
        ctx,
        _service().get_ranking,
        level.value,
        period,
        ruleset_id=ruleset,
        kind=kind.value if kind else None,
        limit=paging.limit,
        offset=paging.offset,
        bureau=bureau,
        program=program,
        member_lines=member_lines,
    )
    if not result or result.get("found") is False:
        raise ApiError(
            404,
            "ranking_not_found",
            "该期排名尚未生成",
            "no ranking for that period",
            details={"level": level.value, "period": period},
        )
    return PlainJSON(result)


@router.get(
    "/rankings/periods",
    responses=responses(403, 422),
    summary="Periods ranked at a level, newest first",
)
async def ranking_periods(
    ctx: Context, _: LeaderOnly, level: Level = Level.BUREAU, ruleset: RulesetQuery = None
) -> Any:
    return await _call(ctx, _service().list_periods, level.value, ruleset_id=ruleset)


@router.get(
    "/rankings/history",
    responses=responses(403, 422),
    summary="One bureau's, program's or project's rank and score over past periods",
)
async def ranking_history(
    ctx: Context,
    _: LeaderOnly,
    code: Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,40}$")],
    level: Level = Level.BUREAU,
    ruleset: RulesetQuery = None,
    kind: PeriodKind = PeriodKind.MONTH,
) -> Any:
    return await _call(
        ctx, _service().unit_history, level.value, code, ruleset_id=ruleset, kind=kind.value
    )


@router.get(
    "/escalations",
    responses=responses(403, 422),
    summary="Open escalations (督办 / 督办单) with their deadlines, earliest first",
)
async def escalations(
    ctx: Context, _: LeaderOnly, bureau: Annotated[str | None, Query(pattern=BUREAU_PATTERN)] = None
) -> Any:
    return await _call(ctx, _service().open_escalations, bureau=bureau)


@router.get(
    "/bureaus/{bureau}/standing",
    responses=responses(403, 404, 422),
    summary="A bureau's ladder (通报 / 约谈 / 督办 levels), open orders, exemptions "
    "and recent ranks; a bureau token reads its own only",
)
async def standing(
    ctx: Context, principal: BureauOrLeader, bureau: Annotated[str, Path(pattern=BUREAU_PATTERN)]
) -> Any:
    missing = not_found("bureau_not_found", "部门", "bureau")
    if principal.role is Role.BUREAU and principal.bureau != bureau:
        raise missing
    await service.known_bureau(ctx, bureau, missing)
    return await _call(ctx, ladder_queries.bureau_standing, bureau)


# ---------------------------------------------------------------------------------------------
# Rounds as operations: run, re-run, refreeze (revisions), what-if
# ---------------------------------------------------------------------------------------------

LeaderOrAdmin = Annotated[Principal, Depends(require(Role.LEADER, Role.ADMIN))]
WHATIF_MAX_PERIODS = 60


def _unknown_ruleset(ruleset: str) -> ApiError:
    """An unknown rule set is the caller's mistake (422), not a missing page (404)."""
    from guatu.ranking.rulesets import available_rulesets

    return ApiError(
        422,
        "unknown_ruleset",
        f"没有规则集「{ruleset}」",
        f"no rule set {ruleset!r}",
        details={"known": available_rulesets()},
    )


def _known_ruleset(ruleset: str | None) -> None:
    """422 unless `ruleset` (if given) is a current rule set (no `@version`)."""
    from guatu.ranking.rulesets import available_rulesets

    if ruleset is not None and ruleset not in available_rulesets():
        raise _unknown_ruleset(ruleset)


class RunRequest(BaseModel):
    """Run a round now. Without `period`: the last closed period of `kind` (Asia/Shanghai)."""

    model_config = ConfigDict(extra="forbid")
    period: Period | None = Field(default=None, description="2026-11, 2026-Q4 or 2026")
    kind: PeriodKind = PeriodKind.MONTH
    ruleset: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,39}$")] = "default"
    refreeze: bool = Field(
        default=False, description="Freeze the inputs again and publish the period's next revision"
    )
    reason: Annotated[str, StringConstraints(max_length=2000)] = Field(
        default="", description="Why (required with refreeze)"
    )
    wait_seconds: float = Field(
        default=20.0, ge=0, le=120, description="How long to wait for the result before 202"
    )

    @model_validator(mode="after")
    def _consistent(self) -> RunRequest:
        if self.refreeze and len(self.reason.strip()) < 4:
            raise ValueError(
                "refreeze needs a reason (at least 4 characters) / 重新冻结须写明更正原因"
            )
        if self.period is not None:
            from guatu.ranking.periods import parse_period

            if (
                parse_period(self.period).kind.value != self.kind.value
                and "kind" in self.model_fields_set
            ):
                raise ValueError(
                    f"period {self.period} is not a {self.kind.value} / 期间与类型不符"
                )
        return self


@router.post(
    "/rankings/runs",
    status_code=202,
    responses=responses(403, 409, 422),
    summary="Run a ranking round now (re-verify a published one), or refreeze its "
    "inputs and publish its next revision; leader or admin",
)
async def run_round(ctx: Context, principal: LeaderOrAdmin, body: RunRequest) -> Any:
    from guatu.core.clock import local_date
    from guatu.ranking import service as ranking_service
    from guatu.ranking.periods import last_closed

    period = body.period or last_closed(body.kind.value, local_date(datetime.now(UTC))).key
    try:
        if body.refreeze:
            handle = await temporal_call(
                ranking_service.revise_round(
                    ctx.client,
                    period,
                    reason=body.reason,
                    actor=principal.actor,
                    ruleset=body.ruleset,
                    task_queue=ctx.task_queue,
                    pool=ctx.pool,
                ),
                ctx.options.temporal_timeout_seconds,
            )
        else:
            handle = await temporal_call(
                ranking_service.trigger_round(
                    ctx.client, period, body.ruleset, task_queue=ctx.task_queue
                ),
                ctx.options.temporal_timeout_seconds,
            )
    except ranking_service.Rejected as err:
        raise ApiError(422, err.code, err.zh, err.en) from None
    log.info(
        "ranking run requested",
        period=period,
        ruleset=body.ruleset,
        refreeze=body.refreeze,
        actor=principal.actor,
        workflow_id=handle.id,
    )
    answer: dict[str, Any] = {
        "workflow_id": handle.id,
        "period": period,
        "ruleset": body.ruleset,
        "refreeze": body.refreeze,
    }
    try:
        result = await asyncio.wait_for(asyncio.shield(handle.result()), body.wait_seconds)
    except TimeoutError:
        return JSONResponse({**answer, "status": "running"}, status_code=202)
    except WorkflowFailureError as err:
        cause = err.cause
        raise ApiError(
            409,
            "round_failed",
            "排名轮次执行失败",
            f"the round failed: {getattr(cause, 'message', None) or cause}",
            details={"workflow_id": handle.id},
        ) from None
    return JSONResponse(
        {**answer, "status": "completed", "result": result.model_dump(mode="json")}, status_code=200
    )


@router.get(
    "/rankings/revisions",
    responses=responses(403, 404, 422),
    summary="Every revision of a period's round with its hashes, reason and changes",
)
async def ranking_revisions(
    ctx: Context, _: LeaderOnly, period: Annotated[Period, Query()], ruleset: RulesetQuery = None
) -> Any:
    _known_ruleset(ruleset)
    result = await _fetch(ctx, _service().round_revisions, period, ruleset_id=ruleset)
    if not result.get("found"):
        raise ApiError(
            404,
            "ranking_not_found",
            "该期排名尚未生成",
            "no ranking for that period",
            details={"period": period},
        )
    return PlainJSON(result)


@router.get(
    "/rankings/whatif",
    responses=responses(403, 422),
    summary="What-if: the frozen periods re-ranked under another rule set, side by side "
    "with the rule set the published rounds used",
)
async def ranking_whatif(
    ctx: Context,
    _: LeaderOnly,
    ruleset: Annotated[
        str,
        Query(
            pattern=r"^[A-Za-z0-9_-]{1,40}(@[0-9]{1,6})?$",
            description="sanya, default, or an earlier version: default@1",
        ),
    ],
    first: Annotated[ProgrammeMonth, Query(alias="from")],
    last: Annotated[ProgrammeMonth, Query(alias="to")],
) -> Any:
    from guatu.ranking.periods import periods_between
    from guatu.ranking.rulesets import known_ruleset
    from guatu.whatif import replay as whatif

    if not known_ruleset(ruleset):  # an earlier version (default@1) is known here
        raise _unknown_ruleset(ruleset)
    periods = periods_between("month", first, last)
    if not periods:
        raise ApiError(422, "bad_range", "起始月份晚于截止月份", "`from` is after `to`")
    if len(periods) > WHATIF_MAX_PERIODS:
        raise ApiError(
            422,
            "range_too_long",
            f"最多 {WHATIF_MAX_PERIODS} 个月",
            f"at most {WHATIF_MAX_PERIODS} months at a time",
        )
    result = await db_call(
        whatif.what_if(ctx.reads, periods, ruleset), ctx.options.db_timeout_seconds * 6
    )
    return PlainJSON(result)
