"""激励奖惩 ladders: leaders grant force-majeure exemptions; bureaus answer supervision orders.

Served by `guatu.ladder.service` (BureauLadder workflows).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.exceptions import RequestValidationError
from pydantic import Field, StringConstraints, ValidationError

from guatu.api import service
from guatu.api.deps import BUREAU_PATTERN, BureauOnly, Context, IdempotencyKeyHeader, LeaderOnly
from guatu.api.errors import WRITE_ERRORS, ApiError, not_found
from guatu.api.schemas import Body, Period
from guatu.ladder import service as ladder_service
from guatu.ladder.models import CorrectionPlanInput, ExemptionInput

router = APIRouter(prefix="/api/v1", tags=["ladder"])

# The rule sets name who may exempt (config/rules/*.json, `exemption.roles`); a leader token
# acts as the district leader.
LEADER_LADDER_ROLE = "district_leader"


class ExemptionBody(Body):
    """Exempt a bureau from one period's black list (不可抗力 force majeure), before its round."""

    period: Period = Field(description="e.g. 2026-11, 2026-Q4, 2026")
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class CorrectionPlanBody(Body):
    """The bureau's correction plan (整改方案) answering a 督办 / 督办单 before its deadline."""

    plan: Annotated[str, StringConstraints(min_length=1, max_length=10000)]


_door = service.Door(ladder_service.Rejected)


def _build(model: Any, **values: Any) -> Any:
    try:
        return model(**values)
    except ValidationError as err:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in err.errors()]
        ) from None


@router.post(
    "/bureaus/{bureau}/exemptions",
    responses=WRITE_ERRORS,
    summary="Grant a bureau a force-majeure exemption (豁免) from a period's black list",
)
async def grant_exemption(
    ctx: Context,
    principal: LeaderOnly,
    bureau: Annotated[str, Path(pattern=BUREAU_PATTERN)],
    key: IdempotencyKeyHeader,
    body: ExemptionBody,
) -> Any:
    await service.known_bureau(
        ctx, bureau, ApiError(404, "bureau_not_found", "部门不存在", "no such bureau")
    )
    data = _build(
        ExemptionInput,
        period=body.period,
        reason=body.reason,
        actor=principal.actor,
        role=LEADER_LADDER_ROLE,
        idempotency_key=key,
    )
    return await _door.write(
        ctx,
        principal,
        scope=f"ladder:{bureau}",
        key=key,
        action="exemption",
        body=body,
        call=lambda: ladder_service.grant_exemption(
            ctx.client, bureau, data, pool=ctx.pool, task_queue=ctx.task_queue, channel="api"
        ),
    )


@router.post(
    "/supervision-orders/{order_id}/correction-plan",
    responses=WRITE_ERRORS,
    summary="Submit the correction plan (整改方案) of one of the bureau's supervision orders",
)
async def submit_correction_plan(
    ctx: Context,
    principal: BureauOnly,
    order_id: Annotated[str, Path(pattern=r"^[^\x00-\x1f\x7f/]{1,300}$")],
    key: IdempotencyKeyHeader,
    body: CorrectionPlanBody,
) -> Any:
    bureau = principal.bureau
    assert bureau is not None
    data = _build(
        CorrectionPlanInput,
        order_id=order_id,
        plan=body.plan,
        actor=principal.actor,
        idempotency_key=key,
    )
    try:
        return await _door.write(
            ctx,
            principal,
            scope=f"ladder:{bureau}",
            key=key,
            action=f"plan:{order_id}",
            body=body,
            call=lambda: ladder_service.submit_correction_plan(
                ctx.client, bureau, data, pool=ctx.pool, channel="api"
            ),
        )
    except ApiError as err:
        # No ladder yet, or another bureau's order: the bureau has no such order.
        if err.status == 404 or err.code == "unknown_order":
            raise not_found("order_not_found", "督办事项", "supervision order") from None
        raise
