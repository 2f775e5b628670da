"""What the routes do, kept out of them: scoping, idempotent updates, starting projects.

One home per door behaviour: `project_bureau` and `visible` (a bureau token sees its own, the
rest answers 404), `once` (an Idempotency-Key claimed, a refusal answered 422 in Chinese and
English), `Door.write` (`once` for a feature's service, answered as JSON), `run_update` and
`update_project` (a project workflow's update), `start` (a project's lifecycle).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel
from temporalio.workflow import UpdateMethodMultiParam

from guatu.api.deps import ApiContext
from guatu.api.errors import ApiError, db_call, not_found, temporal_call
from guatu.core import metrics
from guatu.core.tokens import Principal, Role
from guatu.lifecycle import queries
from guatu.lifecycle.models import ProjectPlan, ProjectStatus, UpdateResult
from guatu.lifecycle.service import (
    Rejected,
    StartOutcome,
    UnknownReferences,
    check_references,
    project_status,
    send_update,
    start_once,
)

T = TypeVar("T")
E = TypeVar("E", bound=Exception)


async def status(ctx: ApiContext, code: str) -> ProjectStatus:
    """The live status of a project from its workflow (404 if there is no such workflow)."""
    return await temporal_call(
        project_status(ctx.client, code, ctx.pool), ctx.options.temporal_timeout_seconds
    )


async def project_bureau(ctx: ApiContext, principal: Principal, code: str) -> str:
    """The project's bureau, after checking that `principal` may touch the project.

    The read model answers first; a project started moments ago and not yet projected is asked
    for directly. A bureau token gets the same 404 for another bureau's project as for a project
    that does not exist, so it cannot even learn which codes exist.
    """
    bureau = await db_call(queries.project_bureau(ctx.pool, code), ctx.options.db_timeout_seconds)
    if bureau is None:
        bureau = (await status(ctx, code)).bureau
    if principal.role is Role.BUREAU and bureau != principal.bureau:
        raise not_found()
    return bureau


async def visible_status(ctx: ApiContext, principal: Principal, code: str) -> ProjectStatus:
    """The live status of project `code` for `principal`: a bureau token reads only its own
    projects (`project_bureau`, 404 otherwise); other readers read every project."""
    if principal.role is Role.BUREAU:
        await project_bureau(ctx, principal, code)
    return await status(ctx, code)


def own_bureau(principal: Principal, asked: str | None = None) -> str | None:
    """The bureau a list is scoped to: a bureau token's own, whatever it asks for; for the other
    roles the bureau `asked` for (None: every bureau's)."""
    return principal.bureau if principal.role is Role.BUREAU else asked


def visible(row: dict[str, Any] | None, principal: Principal, missing: ApiError) -> dict[str, Any]:
    """`row`, if there is one and `principal` may read it; else `missing` (a 404).

    A bureau token reads only rows of its own bureau (`row["bureau"]`): another bureau's answers
    exactly like one that does not exist. Routes with more owners (an observer's own, an
    evaluator's programs) check them after this.
    """
    if row is None or (principal.role is Role.BUREAU and row["bureau"] != principal.bureau):
        raise missing
    return row


async def known_bureau(ctx: ApiContext, bureau: str, missing: ApiError) -> None:
    """Raise `missing` (a 404, worded by the route) unless `bureau` is a known bureau's code."""
    rows = await db_call(queries.list_bureaus(ctx.pool), ctx.options.db_timeout_seconds)
    if bureau not in {b["code"] for b in rows}:
        raise missing


async def stored(
    ctx: ApiContext, call: Awaitable[T], refused: type[E], answer: Callable[[E], ApiError]
) -> T:
    """`call` on a feature's store (scenes, channels) within the database deadline; its refusal
    (`refused`) answers as `answer` maps it, 4xx in Chinese and English."""
    try:
        return await db_call(call, ctx.options.db_timeout_seconds)
    except refused as err:
        raise answer(err) from None


def request_hash(action: str, body: BaseModel) -> str:
    canonical = json.dumps(
        {"action": action, "body": body.model_dump(mode="json")},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


async def _claim_key(
    pool: asyncpg.Pool, project: str, key: str, action: str, digest: str, token_id: str
) -> None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "INSERT INTO api_idempotency (project, key, action, request_hash, token_id)"
            " VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (project, key) DO UPDATE SET project = api_idempotency.project"
            " RETURNING action, request_hash",
            project,
            key,
            action,
            digest,
            token_id,
        )
    assert row is not None
    if row["request_hash"] != digest:
        raise ApiError(
            409,
            "idempotency_key_reused",
            "该 Idempotency-Key 已用于另一个不同的请求；新请求请使用新的键",
            "this Idempotency-Key was already used for a different request; use a new key",
            details={"first_action": row["action"]},
        )


async def _release_key(pool: asyncpg.Pool, project: str, key: str, digest: str) -> None:
    async with pool.acquire() as conn:
        await conn.execute(
            "DELETE FROM api_idempotency WHERE project = $1 AND key = $2 AND request_hash = $3",
            project,
            key,
            digest,
        )


async def once(
    ctx: ApiContext,
    principal: Principal,
    *,
    scope: str,
    key: str,
    action: str,
    body: BaseModel,
    call: Callable[[], Awaitable[T]],
    rejected: type[Exception] = Rejected,
) -> T:
    """Run `call` for an HTTP request once per (scope, Idempotency-Key).

    The same key with the same body goes through again (the workflow folds it into the first
    update); the same key with another body, or for another action, answers 409. A refusal
    (`rejected`, carrying `code`, `zh`, `en`) answers 422 and releases the key, so that the
    corrected request may reuse it.
    """
    timeout = ctx.options.db_timeout_seconds
    digest = request_hash(action, body)
    await db_call(_claim_key(ctx.pool, scope, key, action, digest, principal.token_id), timeout)
    try:
        return await temporal_call(call(), ctx.options.update_timeout_seconds)
    except rejected as err:
        await db_call(_release_key(ctx.pool, scope, key, digest), timeout)
        code, zh, en = (getattr(err, name) for name in ("code", "zh", "en"))
        raise ApiError(422, code, zh, en) from None


@dataclass(frozen=True)
class Door:
    """A feature's HTTP writes: each runs once per Idempotency-Key (`once`), and the feature's
    refusal (`rejected`, carrying `code`, `zh`, `en`) answers 422."""

    rejected: type[Exception]

    async def write(
        self,
        ctx: ApiContext,
        principal: Principal,
        *,
        scope: str,
        key: str,
        action: str,
        body: BaseModel,
        call: Callable[[], Awaitable[Any]],
    ) -> Any:
        """The body of a write route: `call` run by `once`, its result as JSON data."""
        result = await once(
            ctx,
            principal,
            scope=scope,
            key=key,
            action=action,
            body=body,
            call=call,
            rejected=self.rejected,
        )
        return jsonable_encoder(result)


async def run_update(
    ctx: ApiContext,
    principal: Principal,
    *,
    code: str,
    bureau: str,
    update: UpdateMethodMultiParam[..., Any],
    action: str,
    key: str,
    body: BaseModel,
    data: BaseModel,
) -> UpdateResult:
    """Execute one workflow update of a project for an HTTP request (see `once`).

    A key the workflow has seen is answered `duplicate: true` with the project's current stage
    and light, and changes nothing. A refusal by the workflow's validator is audited by
    `send_update` with the token's actor. More than `updates_per_project` updates of one
    project at once answer 429 (`too_many_updates`) before anything is written.
    """
    try:
        with ctx.updates.hold(code, ctx.options.updates_per_project):  # 429 before any write
            result = await once(
                ctx,
                principal,
                scope=code,
                key=key,
                action=action,
                body=body,
                call=lambda: send_update(
                    ctx.client,
                    code,
                    update,
                    data,
                    pool=ctx.pool,
                    actor=principal.actor,
                    bureau=bureau,
                    channel="api",
                ),
            )
    except ApiError as err:
        metrics.input_refused(action, err.status, err.code)
        raise
    metrics.input_accepted(action, result.duplicate)
    return result


async def update_project(
    ctx: ApiContext,
    principal: Principal,
    *,
    code: str,
    update: UpdateMethodMultiParam[..., Any],
    action: str,
    key: str,
    body: BaseModel,
    data: Callable[[str], BaseModel],
) -> UpdateResult:
    """The body of a project-update route: 404 unless `principal` may touch project `code`
    (`project_bureau`), then `run_update` with `data(bureau)`, the update's input."""
    bureau = await project_bureau(ctx, principal, code)
    return await run_update(
        ctx,
        principal,
        code=code,
        bureau=bureau,
        update=update,
        action=action,
        key=key,
        body=body,
        data=data(bureau),
    )


# ---------------------------------------------------------------------------------------------
# Starting projects
# ---------------------------------------------------------------------------------------------


class StartConflict(ApiError):
    pass


async def known_references(ctx: ApiContext, plans: list[ProjectPlan], *, listed: bool) -> None:
    """422 if a plan names an unknown bureau or program (`guatu.lifecycle.service.check_references`);
    `details[].loc` points into the body: `["body", index, field]` for a list of plans."""
    try:
        await db_call(check_references(ctx.pool, plans), ctx.options.db_timeout_seconds)
    except UnknownReferences as err:
        details = [
            {
                "loc": ["body", *([p.index] if listed else []), p.field],
                "project": p.project,
                "value": p.value,
            }
            for p in err.problems
        ]
        raise ApiError(422, err.code, err.zh, err.en, details=details) from None


async def start(ctx: ApiContext, principal: Principal, plan: ProjectPlan) -> bool:
    """Start a project's lifecycle; True if started now, False if it already runs this plan.

    The decision is `guatu.lifecycle.service.start_once`, the CLI's too: a project running with
    another plan (`project_exists`) or one that has ended (`project_finished`) answers 409 with
    its message; a plan is changed with the plan-change endpoint.
    """
    decision = await temporal_call(
        start_once(
            ctx.client, plan, ctx.policy, task_queue=ctx.task_queue, started_by=principal.actor
        ),
        ctx.options.temporal_timeout_seconds,
    )
    if decision.conflict:
        raise StartConflict(409, decision.outcome.value, decision.zh, decision.en)
    return decision.outcome is StartOutcome.STARTED


__all__ = [
    "Door",
    "known_references",
    "once",
    "own_bureau",
    "project_bureau",
    "request_hash",
    "run_update",
    "start",
    "status",
    "stored",
    "update_project",
    "visible",
    "visible_status",
]
