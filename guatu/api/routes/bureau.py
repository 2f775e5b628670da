"""Bureau systems: stage transitions, monthly reports (with issues), the notification inbox."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from temporalio.workflow import UpdateMethodMultiParam

from guatu.api import service
from guatu.api.deps import (
    BUREAU_PATTERN,
    PROJECT_PATTERN,
    BureauOnly,
    BureauOrLeader,
    Context,
    IdempotencyKeyHeader,
    PageQuery,
    ProjectCodePath,
    ProjectReader,
)
from guatu.api.errors import WRITE_ERRORS, db_call, not_found, responses
from guatu.api.schemas import NotificationPage, NotificationRow, ReportBody, TransitionBody
from guatu.core.tokens import Principal
from guatu.lifecycle import queries
from guatu.lifecycle.models import (
    OpenIssue,
    ProgressReportInput,
    StageTransitionInput,
    UpdateResult,
)
from workflows.project_lifecycle import ProjectLifecycle

router = APIRouter(prefix="/api/v1", tags=["bureau"])


async def _bureau_update(
    ctx: Context,
    principal: Principal,
    code: str,
    key: str,
    body: TransitionBody | ReportBody,
    update: UpdateMethodMultiParam[..., Any],
    action: str,
    model: type[StageTransitionInput] | type[ProgressReportInput],
) -> UpdateResult:
    """A bureau's update of its project (audited as `action`): `model` of the body, for the
    project's bureau, by the token's actor."""
    return await service.update_project(
        ctx,
        principal,
        code=code,
        update=update,
        action=action,
        key=key,
        body=body,
        data=lambda bureau: model(
            bureau=bureau, idempotency_key=key, actor=principal.actor, **body.model_dump()
        ),
    )


@router.post(
    "/projects/{code}/transitions",
    response_model=UpdateResult,
    responses=WRITE_ERRORS,
    summary="Report that the project reached a step (节点报送)",
    description="Answers synchronously: 200 with the project's new stage and light, or 422 with "
    "the rule that refused it (`code`, `zh`, `en`). Needs an `Idempotency-Key`.",
)
async def transition(
    ctx: Context,
    principal: BureauOnly,
    code: ProjectCodePath,
    key: IdempotencyKeyHeader,
    body: TransitionBody,
) -> UpdateResult:
    update = ProjectLifecycle.transition_stage
    return await _bureau_update(
        ctx, principal, code, key, body, update, "transition", StageTransitionInput
    )


@router.post(
    "/projects/{code}/reports",
    response_model=UpdateResult,
    responses=WRITE_ERRORS,
    summary="Submit a monthly progress report (月报), raising and resolving issues",
    description="Issues (问题) are raised with `issues_raised` and resolved (销号) with "
    "`issues_resolved` (their ids) in the report of a month, or in its correction "
    "(`correction: true`). Needs an `Idempotency-Key`.",
)
async def report(
    ctx: Context,
    principal: BureauOnly,
    code: ProjectCodePath,
    key: IdempotencyKeyHeader,
    body: ReportBody,
) -> UpdateResult:
    update = ProjectLifecycle.submit_report
    return await _bureau_update(
        ctx, principal, code, key, body, update, "report", ProgressReportInput
    )


@router.get(
    "/projects/{code}/issues",
    response_model=list[OpenIssue],
    responses=responses(403, 404),
    summary="Open issues of a project (live)",
)
async def issues(ctx: Context, principal: ProjectReader, code: ProjectCodePath) -> list[OpenIssue]:
    return (await service.visible_status(ctx, principal, code)).open_issues


@router.get(
    "/notifications",
    response_model=NotificationPage,
    responses=responses(403, 422),
    summary="Notification inbox (通知): a bureau's own notices, newest first",
)
async def notifications(
    ctx: Context,
    principal: BureauOrLeader,
    paging: PageQuery,
    unacknowledged: Annotated[bool, Query(description="Only notices not yet acknowledged")] = False,
    project: Annotated[str | None, Query(pattern=PROJECT_PATTERN)] = None,
    bureau: Annotated[
        str | None, Query(pattern=BUREAU_PATTERN, description="Leaders only: one bureau's notices")
    ] = None,
) -> NotificationPage:
    page = await db_call(
        queries.list_notifications(
            ctx.pool,
            bureau=service.own_bureau(principal, bureau),  # a bureau reads its own inbox
            project=project,
            unacknowledged=unacknowledged,
            page=paging.page,
            page_size=paging.page_size,
        ),
        ctx.options.db_timeout_seconds,
    )
    return NotificationPage.model_validate(page.as_dict())


@router.post(
    "/notifications/{key}/ack",
    response_model=NotificationRow,
    responses=responses(403, 404),
    summary="Acknowledge (签收) a notice; acknowledging again keeps the first time",
)
async def acknowledge(
    ctx: Context,
    principal: BureauOnly,
    key: Annotated[str, Path(pattern=r"^[^\x00-\x1f\x7f]{1,300}$")],
) -> NotificationRow:
    assert principal.bureau is not None
    row = await db_call(
        queries.acknowledge_notification(ctx.pool, principal.bureau, key),
        ctx.options.db_timeout_seconds,
    )
    if row is None:
        raise not_found("notification_not_found", "通知", "notification")
    return NotificationRow.model_validate(row)
