"""第三方评估 third-party evaluations: an evaluator (an accredited agency, scoped to the programs
it is engaged for) submits them and their corrections; the evaluated bureau reads and answers;
leaders and managers read them all.

Evaluations are immutable: a correction is a new version naming the version it corrects, with a
reason. A bureau sees only evaluations of its own projects and programs, an evaluator only those
of its programs; anything else answers 404, like a missing one. Refusals answer 422 (中文 /
English) and are audited. The report travels as base64 in the JSON body (PDF or .docx).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.encoders import jsonable_encoder
from pydantic import Field, StringConstraints

from guatu.api import service
from guatu.api.deps import Context, IdempotencyKeyHeader, PageQuery, require
from guatu.api.errors import WRITE_ERRORS, ApiError, db_call, not_found, responses
from guatu.api.schemas import Body
from guatu.core.tokens import Principal, Role
from guatu.society import evaluations
from guatu.society.models import EvaluationFiling, EvaluationSubject, Indicator

router = APIRouter(prefix="/api/v1", tags=["evaluations"])

EVALUATIONS_PATH = "/api/v1/evaluations"
BODY_LIMITS = {EVALUATIONS_PATH: 4 * 1024 * 1024}  # a 2 MiB report in base64, and the rest

EvaluatorOnly = Annotated[Principal, Depends(require(Role.EVALUATOR))]
BureauOnly = Annotated[Principal, Depends(require(Role.BUREAU))]
Reader = Annotated[
    Principal, Depends(require(Role.EVALUATOR, Role.BUREAU, Role.LEADER, Role.MANAGER))
]
EvaluationIdPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_-]{1,120}$", description="e.g. project-P10-003-2026-v1")
]
Code = Annotated[str, StringConstraints(pattern=r"^([A-Za-z0-9][A-Za-z0-9_-]{1,39})?$")]


class EvaluationBody(Body):
    """An evaluation of a project, or of a program for a year; or a correction of one."""

    subject: EvaluationSubject
    project: Code = Field(default="", description="subject=project: the project's code")
    program: Code = Field(default="", description="subject=program: the program's code")
    year: int = Field(ge=2000, le=2100)
    indicators: list[Indicator] = Field(min_length=1, max_length=200)
    conclusion: Annotated[str, StringConstraints(min_length=1, max_length=200_000)]
    report_name: Annotated[str, StringConstraints(max_length=200)] = ""
    report: Annotated[str, StringConstraints(max_length=3_000_000)] = Field(
        default="", description="The report document (PDF or .docx), base64"
    )
    supersedes: Annotated[str, StringConstraints(pattern=r"^([A-Za-z0-9_-]{1,120})?$")] = Field(
        default="", description="A correction: the id of the version it corrects (the latest)"
    )
    reason: Annotated[str, StringConstraints(max_length=20_000)] = Field(
        default="", description="A correction's reason (required for one)"
    )


class AnswerBody(Body):
    text: Annotated[str, StringConstraints(min_length=1, max_length=20_000)]


def _not_found() -> ApiError:
    return not_found("evaluation_not_found", "评估", "evaluation")


_door = service.Door(evaluations.Rejected)


async def _visible(ctx: Context, principal: Principal, eid: str) -> dict[str, Any]:
    row = await db_call(evaluations.get_evaluation(ctx.pool, eid), ctx.options.db_timeout_seconds)
    row = service.visible(row, principal, _not_found())
    if principal.role is Role.EVALUATOR and row["program"] not in principal.programs:
        raise _not_found()
    return row


@router.post(
    "/evaluations",
    responses=responses(403, 409, 413, 422),
    summary="Submit a third-party evaluation (第三方评估), or a correction as a new version",
)
async def submit_evaluation(
    ctx: Context, principal: EvaluatorOnly, key: IdempotencyKeyHeader, body: EvaluationBody
) -> Any:
    try:
        report = base64.b64decode(body.report, validate=True) if body.report else b""
    except (binascii.Error, ValueError):
        raise ApiError(
            422, "report_not_base64", "评估报告不是有效的 base64 编码", "the report is not base64"
        ) from None
    filing = EvaluationFiling(
        subject=body.subject,
        project=body.project,
        program=body.program,
        year=body.year,
        indicators=body.indicators,
        conclusion=body.conclusion,
        report_name=body.report_name,
        report=report,
        supersedes=body.supersedes,
        reason=body.reason,
        evaluator=principal.token_id,
        evaluator_label=principal.label,
        programs=list(principal.programs),
        idempotency_key=key,
    )
    return await _door.write(
        ctx,
        principal,
        scope=f"evaluation:{principal.token_id}",
        key=key,
        action="evaluation",
        body=body,
        call=lambda: evaluations.submit_evaluation(ctx.pool, filing, client=ctx.client),
    )


@router.get(
    "/evaluations",
    responses=responses(403, 422),
    summary="Evaluations: an evaluator's programs', a bureau's own, or all (newest first)",
)
async def list_evaluations(
    ctx: Context,
    principal: Reader,
    paging: PageQuery,
    project: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,39}$")] = None,
) -> Any:
    page = await db_call(
        evaluations.list_evaluations(
            ctx.pool,
            bureau=service.own_bureau(principal),
            programs=list(principal.programs) if principal.role is Role.EVALUATOR else None,
            project=project,
            limit=paging.limit,
            offset=paging.offset,
        ),
        ctx.options.db_timeout_seconds,
    )
    return paging.answer(page)


@router.get(
    "/evaluations/{evaluation_id}",
    responses=responses(403, 404),
    summary="One evaluation version with its indicators, the bureau's answer and any correction",
)
async def get_evaluation(ctx: Context, principal: Reader, evaluation_id: EvaluationIdPath) -> Any:
    return jsonable_encoder(await _visible(ctx, principal, evaluation_id))


@router.get(
    "/evaluations/{evaluation_id}/report",
    responses=responses(403, 404),
    summary="The evaluation's report document",
    response_class=Response,
)
async def get_report(ctx: Context, principal: Reader, evaluation_id: EvaluationIdPath) -> Response:
    await _visible(ctx, principal, evaluation_id)
    report = await db_call(
        evaluations.get_report(ctx.pool, evaluation_id), ctx.options.db_timeout_seconds
    )
    if report is None:
        raise ApiError(
            404, "report_not_found", "该评估没有报告文件", "this evaluation has no report"
        )
    return Response(content=report[2], media_type=report[1])


@router.post(
    "/evaluations/{evaluation_id}/answer",
    responses=WRITE_ERRORS,
    summary="Answer an evaluation of your bureau (once per version)",
)
async def answer_evaluation(
    ctx: Context,
    principal: BureauOnly,
    evaluation_id: EvaluationIdPath,
    key: IdempotencyKeyHeader,
    body: AnswerBody,
) -> Any:
    await _visible(ctx, principal, evaluation_id)
    assert principal.bureau is not None
    bureau = principal.bureau
    return await _door.write(
        ctx,
        principal,
        scope=f"evaluation:{evaluation_id}",
        key=key,
        action="evaluation_answer",
        body=body,
        call=lambda: evaluations.answer_evaluation(
            ctx.pool, evaluation_id, bureau=bureau, text=body.text, actor=principal.actor
        ),
    )


__all__ = ["BODY_LIMITS", "router"]
