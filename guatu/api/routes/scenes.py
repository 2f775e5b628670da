"""示范场景 demonstration scenes: every role reads them; leaders and administrators write them.

A scene's answer carries its progress (investment against the plan to date, milestones, its
members' lights) and its own light with the reasons (`guatu.scenes.rules`, documented in
config/rules/README.md). Writes are audited (`audit_log`, action `scene:*`) and all-or-nothing:
an unknown program, bureau or project answers 422 and changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Response

from guatu.api import service
from guatu.api.deps import BUREAU_PATTERN, PROGRAM_PATTERN, PROJECT_PATTERN, AnyRole, Context
from guatu.api.deps import require as require_role
from guatu.api.errors import ApiError, db_call, responses
from guatu.core.tokens import Principal, Role
from guatu.scenes import store
from guatu.scenes.models import SCENE_PATTERN, MembersBody, SceneBody, SceneDetail, SceneView

T = TypeVar("T")

router = APIRouter(prefix="/api/v1/scenes", tags=["scenes"])

SceneWriter = Annotated[Principal, Depends(require_role(Role.LEADER, Role.ADMIN))]
SceneCodePath = Annotated[
    str, Path(pattern=SCENE_PATTERN, description="Scene code, e.g. S-JQJA (capitals, digits, -)")
]
ProjectPath = Annotated[str, Path(pattern=PROJECT_PATTERN, description="Project code")]


def _refusal(err: store.SceneError) -> ApiError:
    return ApiError(err.status, err.code, err.zh, err.en)


async def _stored(ctx: Context, call: Awaitable[T]) -> T:
    return await service.stored(ctx, call, store.SceneError, _refusal)


@router.get(
    "",
    response_model=list[SceneView],
    responses=responses(),
    summary="Scenes (示范场景) with their progress and light",
)
async def list_scenes(
    ctx: Context,
    _: AnyRole,
    program: Annotated[str | None, Query(pattern=PROGRAM_PATTERN)] = None,
    bureau: Annotated[
        str | None, Query(pattern=BUREAU_PATTERN, description="Lead bureau code")
    ] = None,
) -> list[SceneView]:
    return await db_call(
        store.list_scenes(ctx.reads, program, bureau), ctx.options.db_timeout_seconds
    )


@router.get(
    "/{code}",
    response_model=SceneDetail,
    responses=responses(404),
    summary="One scene: progress, light and each member project",
)
async def get_scene(ctx: Context, _: AnyRole, code: SceneCodePath) -> SceneDetail:
    return await _stored(ctx, store.get_scene(ctx.reads, code))


@router.put(
    "/{code}",
    response_model=SceneDetail,
    responses=responses(403, 422),
    summary="Create or replace a scene and its member projects (leaders, administrators)",
    description="201 when created, 200 when replaced. Program, lead bureau and every member "
    "project must exist (422 `unknown_program`, `unknown_bureau`, `unknown_project`).",
)
async def put_scene(
    ctx: Context, who: SceneWriter, code: SceneCodePath, body: SceneBody, response: Response
) -> SceneDetail:
    detail, created = await _stored(ctx, store.put_scene(ctx.pool, code, body, actor=who.actor))
    response.status_code = 201 if created else 200
    return detail


@router.post(
    "/{code}/projects",
    response_model=SceneDetail,
    responses=responses(403, 404, 422),
    summary="Add member projects to a scene (already a member: unchanged)",
)
async def add_projects(
    ctx: Context, who: SceneWriter, code: SceneCodePath, body: MembersBody
) -> SceneDetail:
    return await _stored(ctx, store.add_members(ctx.pool, code, body.projects, actor=who.actor))


@router.delete(
    "/{code}/projects/{project}",
    response_model=SceneDetail,
    responses=responses(403, 404, 422),
    summary="Remove a member project from a scene",
)
async def remove_project(
    ctx: Context, who: SceneWriter, code: SceneCodePath, project: ProjectPath
) -> SceneDetail:
    return await _stored(ctx, store.remove_members(ctx.pool, code, [project], actor=who.actor))


@router.delete(
    "/{code}",
    status_code=204,
    responses=responses(403, 404),
    summary="Delete a scene (its projects stay; only the grouping goes)",
)
async def delete_scene(ctx: Context, who: SceneWriter, code: SceneCodePath) -> Response:
    await _stored(ctx, store.delete_scene(ctx.pool, code, actor=who.actor))
    return Response(status_code=204)
