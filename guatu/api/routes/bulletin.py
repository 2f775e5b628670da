"""Leaders: the monthly 通报 of a published ranking round as a Word document.

`GET /api/v1/rankings/bulletin?period=2026-11[&revision=N][&ruleset=ID]` answers the .docx that
`guatu ranking bulletin` writes (both read `guatu.ranking.bulletin`): generated from the round's
stored results, so the same revision downloads the same document.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import Response

from guatu.api.deps import Context, LeaderOnly
from guatu.api.errors import ApiError, db_call, responses
from guatu.api.routes.leader import RulesetQuery, _known_ruleset
from guatu.api.schemas import Period

router = APIRouter(prefix="/api/v1", tags=["leader"])

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def attachment(filename: str, fallback: str) -> str:
    """Content-Disposition with a UTF-8 file name (RFC 5987 / 6266) and an ASCII fallback."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


@router.get(
    "/rankings/bulletin",
    response_class=Response,
    responses={
        **responses(403, 404, 422),
        200: {
            "content": {DOCX_TYPE: {}},
            "description": "The 通报 (关于…重点项目竞进比拼情况的通报) as a Word document",
        },
    },
    summary="The monthly 通报 of a published round as a Word document: ranking tables "
    "with movement, 红榜 / 黑榜, commendations, 约谈 and 督办 with deadlines, "
    "the investment chart",
)
async def ranking_bulletin(
    ctx: Context,
    _: LeaderOnly,
    period: Annotated[Period, Query(description="2026-11, 2026-Q4 or 2026")],
    revision: Annotated[
        int | None,
        Query(ge=1, le=10_000, description="A revision of the round (default: the latest)"),
    ] = None,
    ruleset: RulesetQuery = None,
) -> Response:
    from guatu.ranking import bulletin

    _known_ruleset(ruleset)
    data = await db_call(
        bulletin.load(ctx.reads, period, revision=revision, ruleset_id=ruleset),
        ctx.options.db_timeout_seconds * 3,
    )
    if data is None:
        raise ApiError(
            404,
            "ranking_not_found",
            "该期排名尚未生成（或没有该版本）",
            "no published round for that period (or no such revision)",
            details={"period": period, "revision": revision},
        )
    body = await bulletin.render(data)
    rev = f"-r{data.revision}" if data.revision > 1 else ""
    return Response(
        body,
        media_type=DOCX_TYPE,
        headers={
            "Content-Disposition": attachment(data.filename, f"bulletin-{data.period}{rev}.docx"),
            "Cache-Control": "no-store",
            "X-Guatu-Revision": str(data.revision),
        },
    )


__all__ = ["DOCX_TYPE", "attachment", "router"]
