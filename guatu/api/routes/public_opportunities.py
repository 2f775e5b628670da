"""机会清单 on the public side, no token: the published lists and an enterprise's expression of
interest (合作意向), both rate-limited per client address (as the nearest trusted proxy reports
it; 429 with `Retry-After`).

- `GET /public/api/opportunities` — `guatu.opportunities.service.public_opportunities`: what an
  enterprise needs to answer, nothing internal;
- `POST /public/api/opportunities/{id}/interest` — company name, 统一社会信用代码 (checked by
  its GB 32100-2015 check digit), contact; answers the receipt only (the interest's number and
  the bureau's answer deadline). The same enterprise again gets its first receipt back. Refusals
  answer 4xx in Chinese first: 404 no such opportunity, 409 closed, 422 bad input.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.encoders import jsonable_encoder

from guatu.api.auth import RateLimiter, request_client
from guatu.api.deps import Context
from guatu.api.errors import ApiError, db_call, responses, retry_later, temporal_call
from guatu.opportunities import service as opportunities
from guatu.opportunities.models import InterestReceipt, InterestSubmission

router = APIRouter(prefix="/public/api", tags=["public"])

MAX_AGE = 60
READ_RATE, READ_BURST = 5.0, 30  # per client address
# An enterprise answers once per opportunity: a few submissions a minute is plenty.
WRITE_RATE, WRITE_BURST = 0.1, 5
STATUS = {"opportunity_not_found": 404, "opportunity_closed": 409}

OpportunityIdPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9._-]{1,120}$", description="e.g. JQJA.venue.20270115")
]


def _limit(request: Request, ctx: Any, kind: str) -> None:
    state = request.app.state
    if not hasattr(state, "opportunity_limiters"):
        state.opportunity_limiters = {
            "read": RateLimiter(rate=READ_RATE, burst=READ_BURST),
            "write": RateLimiter(rate=WRITE_RATE, burst=WRITE_BURST),
        }
    client = request_client(request, ctx.options.trusted_networks)
    wait = state.opportunity_limiters[kind].take(f"opportunities:{client}")
    if wait is not None:
        raise retry_later(
            wait,
            "rate_limited",
            "提交过于频繁，请 {seconds} 秒后再试",
            "too many requests; retry in {seconds} s",
        )


@router.get(
    "/opportunities",
    response_model=list[opportunities.PublicOpportunity],
    responses=responses(429),
    summary="Published opportunity lists (机会清单, public)",
)
async def public_opportunities(request: Request, response: Response, ctx: Context) -> Any:
    _limit(request, ctx, "read")
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    return await db_call(
        opportunities.public_opportunities(ctx.reads), ctx.options.db_timeout_seconds
    )


@router.post(
    "/opportunities/{opportunity_id}/interest",
    response_model=InterestReceipt,
    responses=responses(404, 409, 413, 422, 429),
    summary="Express interest in an opportunity (合作意向, public, no account)",
)
async def express_interest(
    request: Request,
    ctx: Context,
    opportunity_id: OpportunityIdPath,
    body: InterestSubmission,
) -> Any:
    _limit(request, ctx, "write")
    try:
        receipt = await temporal_call(
            opportunities.express_interest(ctx.client, ctx.pool, opportunity_id, body),
            ctx.options.update_timeout_seconds,
        )
    except opportunities.Rejected as err:
        raise ApiError(STATUS.get(err.code, 422), err.code, err.zh, err.en) from None
    return jsonable_encoder(receipt)
