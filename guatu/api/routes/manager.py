"""Project managers: start, bulk import, plan change, suspend / resume / cancel."""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from temporalio.workflow import UpdateMethodMultiParam

from guatu.api import service
from guatu.api.deps import Context, IdempotencyKeyHeader, ManagerOnly, ProjectCodePath
from guatu.api.errors import WRITE_ERRORS, ApiError, db_call, responses
from guatu.api.schemas import (
    ImportItem,
    ImportResult,
    PlanBody,
    PlanChangeBody,
    RunControlBody,
    StartResult,
)
from guatu.core import constants as c
from guatu.core.tokens import Principal
from guatu.lifecycle import queries
from guatu.lifecycle.models import PlanChangeInput, RunControlInput, UpdateResult
from guatu.lifecycle.service import update_name
from guatu.scenes import store as scene_store
from workflows.project_lifecycle import ProjectLifecycle

router = APIRouter(prefix="/api/v1", tags=["manager"])


@router.post(
    "/projects",
    response_model=StartResult,
    status_code=201,
    responses=responses(403, 409, 413, 422),
    summary="Start a project (立项): its lifecycle workflow begins",
    description="Idempotent: the same plan again answers 200 with `created: false`; another plan "
    "under a running project's code, or a project that has ended, answers 409. "
    "A bureau or program that is not a known code answers 422 (`unknown_bureau`, "
    "`unknown_program`).",
)
async def start_project(
    ctx: Context, principal: ManagerOnly, body: PlanBody, response: Response
) -> StartResult:
    plan = body.to_plan()
    await service.known_references(ctx, [plan], listed=False)
    created = await service.start(ctx, principal, plan)
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/projects/{body.code}"
    return StartResult(
        project=body.code, workflow_id=c.project_workflow_id(body.code), created=created
    )


JSON_TYPES = ("application/json",)
CSV_TYPES = ("text/csv", "application/csv")
XLSX_TYPES = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",)

_PLAN_LIST = TypeAdapter(list[PlanBody])
_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "array", "items": {"$ref": "#/components/schemas/PlanBody"}}
            },
            "text/csv": {
                "schema": {"type": "string"},
                "example": "项目编号 / code,项目名称 / name_zh,…",
            },
            XLSX_TYPES[0]: {"schema": {"type": "string", "format": "binary"}},
        },
    },
}


async def _plans_from_json(raw: bytes) -> list[PlanBody]:
    try:
        return _PLAN_LIST.validate_json(raw or b"null")
    except ValidationError as err:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in err.errors()]
        ) from None


async def _plans_from_file(
    ctx: Context, raw: bytes, suffix: str, scene_of: dict[str, str]
) -> list[PlanBody]:
    """A CSV or XLSX plan file (layout of `guatu.plan_file.columns`); every bad cell is listed.
    Each row's 示范场景 (`scene` column) goes into `scene_of` (project code → scene code)."""
    try:
        from guatu.plan_file.read import read_plan_file
        from guatu.plan_file.results import PlanFileError
    except ImportError:
        raise ApiError(
            415,
            "unsupported_media_type",
            "本服务未提供表格导入，请提交 JSON",
            "spreadsheet import is not available here; send JSON",
        ) from None
    timeout = ctx.options.db_timeout_seconds
    bureaus = {
        b["code"]: b["name_zh"] for b in await db_call(queries.list_bureaus(ctx.pool), timeout)
    }
    programs = {
        p["code"]: p["name_zh"] for p in await db_call(queries.list_programs(ctx.pool), timeout)
    }
    scenes = [s.code for s in await db_call(scene_store.list_scenes(ctx.pool), timeout)]

    def parse() -> Any:
        with tempfile.TemporaryDirectory(prefix="guatu-import-") as folder:
            path = Path(folder) / f"plan{suffix}"
            path.write_bytes(raw)
            return read_plan_file(path, programs=programs, bureaus=bureaus, scenes=scenes)

    try:
        result = await asyncio.to_thread(parse)
    except PlanFileError as err:
        raise ApiError(422, "invalid_plan_file", err.zh, err.en) from None
    if result.errors:
        raise ApiError(
            422,
            "invalid_plan_file",
            f"计划表有 {len(result.errors)} 处错误（{len(result.bad_rows)} 行），未导入任何项目",
            f"the plan file has {len(result.errors)} errors in {len(result.bad_rows)} "
            "rows; nothing was imported",
            details=[e.to_json() for e in result.errors],
        )
    scene_of.update(result.scenes)
    return [PlanBody.model_validate(p.model_dump(mode="json")) for p in result.plans]


@router.post(
    "/projects/import",
    response_model=ImportResult,
    responses=responses(403, 413, 415, 422),
    openapi_extra=_IMPORT_BODY,
    summary="Bulk import: start every plan of a JSON array, CSV or XLSX file (idempotent)",
    description="Every plan is validated first (unknown bureaus and programs included); any "
    "invalid plan answers 422 listing every error "
    '(JSON: `details[].loc` = ["body", index, field]; CSV / XLSX: `details[]` with '
    "`row` and `column`) and nothing starts. With `dry_run=true` nothing starts either. "
    "Each item then reports `created`, `existing` (same plan already running) or "
    "`conflict` (409 reasons). Re-running the same import changes nothing.",
)
async def import_plans(
    ctx: Context,
    principal: ManagerOnly,
    request: Request,
    dry_run: Annotated[bool, Query(description="Only validate")] = False,
) -> ImportResult:
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    raw = await request.body()
    scene_of: dict[str, str] = {}
    if media in JSON_TYPES:
        plans = await _plans_from_json(raw)
    elif media in CSV_TYPES:
        plans = await _plans_from_file(ctx, raw, ".csv", scene_of)
    elif media in XLSX_TYPES:
        plans = await _plans_from_file(ctx, raw, ".xlsx", scene_of)
    else:
        raise ApiError(
            415,
            "unsupported_media_type",
            "请以 JSON、CSV 或 XLSX 提交计划",
            "send the plans as JSON, CSV or XLSX",
            details={"content_type": media[:100]},
        )
    cap = ctx.options.max_import_plans
    if not plans:
        raise ApiError(422, "no_plans", "没有可导入的项目", "there is no plan to import")
    if len(plans) > cap:
        raise ApiError(
            422,
            "too_many_plans",
            f"一次最多导入 {cap} 个项目",
            f"at most {cap} plans per import",
            details={"max_import_plans": cap},
        )
    repeated = sorted(code for code, n in Counter(p.code for p in plans).items() if n > 1)
    if repeated:
        raise ApiError(
            422,
            "duplicate_codes",
            f"项目编号重复：{', '.join(repeated)}",
            f"project codes appear twice: {', '.join(repeated)}",
            details={"codes": repeated},
        )
    await service.known_references(ctx, [p.to_plan() for p in plans], listed=True)
    if dry_run:
        return ImportResult(total=len(plans), created=0, existing=0, conflicts=0, dry_run=True)
    gate = asyncio.Semaphore(ctx.options.import_concurrency)

    async def one(index: int, body: PlanBody) -> ImportItem:
        async with gate:
            try:
                created = await service.start(ctx, principal, body.to_plan())
            except service.StartConflict as err:
                return ImportItem(
                    index=index,
                    project=body.code,
                    outcome="conflict",
                    code=err.code,
                    zh=err.zh,
                    en=err.en,
                )
        return ImportItem(
            index=index, project=body.code, outcome="created" if created else "existing"
        )

    items = list(await asyncio.gather(*(one(i, p) for i, p in enumerate(plans))))
    await _join_scenes(ctx, principal, items, scene_of)
    outcomes = Counter(item.outcome for item in items)
    return ImportResult(
        total=len(items),
        created=outcomes["created"],
        existing=outcomes["existing"],
        conflicts=outcomes["conflict"],
        items=items,
    )


async def _join_scenes(
    ctx: Context, principal: Principal, items: list[ImportItem], scene_of: dict[str, str]
) -> None:
    """The plan file's 示范场景 column: started (or already running) projects join their scene."""
    members: dict[str, list[str]] = {}
    for item in items:
        if item.outcome != "conflict" and item.project in scene_of:
            members.setdefault(scene_of[item.project], []).append(item.project)
    for scene, projects in sorted(members.items()):
        await db_call(
            scene_store.add_members(
                ctx.pool, scene, projects, actor=principal.actor, door="import",
                check_projects=False,
            ),
            ctx.options.db_timeout_seconds,
        )  # fmt: skip


@router.post(
    "/projects/{code}/plan-change",
    response_model=UpdateResult,
    responses=WRITE_ERRORS,
    summary="Change the plan (调整计划); deadlines re-armed",
)
async def plan_change(
    ctx: Context,
    principal: ManagerOnly,
    code: ProjectCodePath,
    key: IdempotencyKeyHeader,
    body: PlanChangeBody,
) -> UpdateResult:
    return await service.update_project(
        ctx,
        principal,
        code=code,
        update=ProjectLifecycle.change_plan,
        action="plan_change",
        key=key,
        body=body,
        data=lambda _: PlanChangeInput(
            idempotency_key=key, actor=principal.actor, **body.model_dump()
        ),
    )


async def _control(
    ctx: Context,
    principal: ManagerOnly,
    code: str,
    key: str,
    body: RunControlBody,
    update: UpdateMethodMultiParam[..., Any],
) -> UpdateResult:
    return await service.update_project(
        ctx,
        principal,
        code=code,
        update=update,
        action=update_name(update),
        key=key,
        body=body,
        data=lambda _: RunControlInput(
            idempotency_key=key, actor=principal.actor, reason=body.reason
        ),
    )


@router.post(
    "/projects/{code}/suspend",
    response_model=UpdateResult,
    responses=WRITE_ERRORS,
    summary="Suspend (暂停) an active project; a reason is required",
)
async def suspend(
    ctx: Context,
    principal: ManagerOnly,
    code: ProjectCodePath,
    key: IdempotencyKeyHeader,
    body: RunControlBody,
) -> UpdateResult:
    return await _control(ctx, principal, code, key, body, ProjectLifecycle.suspend)


@router.post(
    "/projects/{code}/resume",
    response_model=UpdateResult,
    responses=WRITE_ERRORS,
    summary="Resume (恢复) a suspended project",
)
async def resume(
    ctx: Context,
    principal: ManagerOnly,
    code: ProjectCodePath,
    key: IdempotencyKeyHeader,
    body: RunControlBody,
) -> UpdateResult:
    return await _control(ctx, principal, code, key, body, ProjectLifecycle.resume)


@router.post(
    "/projects/{code}/cancel",
    response_model=UpdateResult,
    responses=WRITE_ERRORS,
    summary="Cancel (撤销) a project; a reason is required; its workflow ends",
)
async def cancel(
    ctx: Context,
    principal: ManagerOnly,
    code: ProjectCodePath,
    key: IdempotencyKeyHeader,
    body: RunControlBody,
) -> UpdateResult:
    return await _control(ctx, principal, code, key, body, ProjectLifecycle.cancel)
