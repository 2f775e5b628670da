"""Project reads: the filtered list (read model) and the live detail (workflow query)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from guatu.api import service
from guatu.api.deps import (
    BUREAU_PATTERN,
    PROGRAM_PATTERN,
    Context,
    PageQuery,
    ProjectCodePath,
    ProjectReader,
)
from guatu.api.errors import db_call, responses
from guatu.api.schemas import ProjectPage
from guatu.lifecycle import queries
from guatu.lifecycle.models import Light, ProjectStatus, RunStatus, Stage

router = APIRouter(prefix="/api/v1", tags=["projects"])


@router.get(
    "/projects",
    response_model=ProjectPage,
    responses=responses(403, 422),
    summary="Projects, filtered by program / bureau / stage / light / status, paged",
)
async def list_projects(
    ctx: Context,
    principal: ProjectReader,
    paging: PageQuery,
    program: Annotated[str | None, Query(pattern=PROGRAM_PATTERN)] = None,
    bureau: Annotated[
        str | None,
        Query(pattern=BUREAU_PATTERN, description="Ignored for bureau tokens: they see their own"),
    ] = None,
    stage: Stage | None = None,
    light: Light | None = None,
    status: RunStatus | None = None,
) -> ProjectPage:
    page = await db_call(
        queries.list_projects(
            ctx.pool,
            program=program,
            bureau=service.own_bureau(principal, bureau),
            stage=stage.value if stage else None,
            light=light.value if light else None,
            status=status.value if status else None,
            page=paging.page,
            page_size=paging.page_size,
        ),
        ctx.options.db_timeout_seconds,
    )
    return ProjectPage.model_validate(page.as_dict())


@router.get(
    "/projects/{code}",
    response_model=ProjectStatus,
    responses=responses(403, 404),
    summary="Project detail (项目详情), live from the project's workflow",
)
async def project_detail(
    ctx: Context, principal: ProjectReader, code: ProjectCodePath
) -> ProjectStatus:
    return await service.visible_status(ctx, principal, code)
