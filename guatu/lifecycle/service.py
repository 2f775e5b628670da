"""Starting projects and sending them input: the one service layer the CLI, API and tests use."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from pydantic import BaseModel
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError

from guatu.core import constants as c
from guatu.lifecycle.models import (
    ProgrammeClock,
    ProjectPlan,
    ProjectStatus,
    StartProjectInput,
    TimerPolicy,
    UpdateResult,
)


class Rejected(Exception):
    """The workflow's validator refused the input; `code`, `zh` and `en` say why."""

    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.code, self.zh, self.en = code, zh, en


@dataclass(frozen=True)
class UnknownReference:
    """A plan naming a bureau or program the programme does not have."""

    index: int
    project: str
    field: str  # "bureau" or "program"
    value: str

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "project": self.project,
            "field": self.field,
            "value": self.value,
        }


class UnknownReferences(Rejected):
    """Plans refused because of `problems`; nothing was started."""

    SHOWN = 5

    def __init__(self, problems: Sequence[UnknownReference]) -> None:
        self.problems = list(problems)
        fields = {p.field for p in self.problems}
        code = f"unknown_{fields.pop()}" if len(fields) == 1 else "unknown_reference"
        names = {"bureau": ("责任单位", "bureau"), "program": ("工程", "program")}
        shown = self.problems[: self.SHOWN]
        zh = "；".join(f"项目 {p.project} 的{names[p.field][0]}「{p.value}」不存在" for p in shown)
        en = "; ".join(f"project {p.project}: no {names[p.field][1]} {p.value!r}" for p in shown)
        more = len(self.problems) - len(shown)
        if more:
            zh, en = f"{zh}；另有 {more} 处", f"{en}; and {more} more"
        super().__init__(
            code,
            f"{zh}。未启动任何项目（责任单位和工程须为已登记的代码）",
            f"{en}. Nothing was started (bureau and program must be known codes)",
        )


async def unknown_references(
    pool: asyncpg.Pool, plans: Sequence[ProjectPlan]
) -> list[UnknownReference]:
    """Every bureau or program named by `plans` that the read model's reference data lacks.

    The one check of every door that starts projects from JSON (API start and import, CLI):
    a project of an unknown bureau would run with no one able to report on it. (Spreadsheets
    are checked cell by cell against the same codes by `guatu.plan_file.sheet`.)
    """
    async with pool.acquire() as conn:
        bureaus = {r["code"] for r in await conn.fetch("SELECT code FROM bureaus")}
        programs = {r["code"] for r in await conn.fetch("SELECT code FROM programs")}
    problems = []
    for index, plan in enumerate(plans):
        if plan.bureau not in bureaus:
            problems.append(UnknownReference(index, plan.code, "bureau", plan.bureau))
        if plan.program not in programs:
            problems.append(UnknownReference(index, plan.code, "program", plan.program))
    return problems


async def check_references(pool: asyncpg.Pool, plans: Sequence[ProjectPlan]) -> None:
    """Raise `UnknownReferences` if any plan names an unknown bureau or program."""
    problems = await unknown_references(pool, plans)
    if problems:
        raise UnknownReferences(problems)


def search_attributes(plan: ProjectPlan) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(c.SA_PROGRAM, plan.program),
            SearchAttributePair(c.SA_BUREAU, plan.bureau),
            SearchAttributePair(c.SA_STAGE, "approved"),
            SearchAttributePair(c.SA_LIGHT, "green"),
        ]
    )


def start_input(
    plan: ProjectPlan,
    policy: TimerPolicy,
    clock: ProgrammeClock | None = None,
    started_by: str = "system",
    index: bool = True,
) -> StartProjectInput:
    return StartProjectInput(
        plan=plan,
        policy=policy,
        clock=clock or ProgrammeClock(),
        started_by=started_by,
        search_attributes=index,
    )


async def start_project(
    client: Client,
    plan: ProjectPlan,
    policy: TimerPolicy,
    *,
    task_queue: str = c.TASK_QUEUE,
    clock: ProgrammeClock | None = None,
    started_by: str = "system",
    index: bool = True,
) -> None:
    """Start the lifecycle of `plan`. Starting a project that is already running is a no-op."""
    await client.start_workflow(
        c.PROJECT_WORKFLOW,
        start_input(plan, policy, clock, started_by, index),
        id=c.project_workflow_id(plan.code),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        # A project that ran to its end is never started a second time by a re-import.
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=search_attributes(plan) if index else None,
    )


async def start_programme(
    client: Client,
    plans: Iterable[ProjectPlan],
    policy: TimerPolicy,
    *,
    task_queue: str = c.TASK_QUEUE,
    clock: ProgrammeClock | None = None,
    concurrency: int = 32,
    index: bool = True,
    progress: Callable[[ProjectPlan], None] | None = None,
) -> int:
    """Start every project, at most `concurrency` starts in flight. Returns how many were sent."""
    gate = asyncio.Semaphore(concurrency)
    started = 0

    async def one(plan: ProjectPlan) -> None:
        nonlocal started
        async with gate:
            try:
                await start_project(
                    client, plan, policy, task_queue=task_queue, clock=clock, index=index
                )
                started += 1
            except WorkflowAlreadyStartedError:
                pass  # ran to its end (closed, cancelled): REJECT_DUPLICATE keeps it so
            except RPCError as err:
                # Already ran to completion (REJECT_DUPLICATE): nothing to do for a re-import.
                if "already" not in str(err).lower():
                    raise
        if progress:
            progress(plan)

    await asyncio.gather(*(one(p) for p in plans))
    return started


def rejection_of(err: WorkflowUpdateFailedError) -> Rejected | None:
    """The validator's refusal inside a failed update, or None if it failed otherwise."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.type == "InputRejected":
        details: dict[str, Any] = cause.details[0] if cause.details else {}
        return Rejected(
            details.get("code", "rejected"),
            details.get("zh", cause.message),
            details.get("en", cause.message),
        )
    return None


async def send_update(
    client: Client,
    project_code: str,
    update: str,
    data: BaseModel,
    *,
    pool: asyncpg.Pool | None = None,
    actor: str = "",
    bureau: str = "",
    channel: str = "api",
) -> UpdateResult:
    """Execute an update on a project. A refusal raises `Rejected` and, given a pool, is audited.

    Every call is its own update (a fresh update ID): the workflow's key check answers a repeated
    idempotency key with `duplicate: true` and the project's current stage and light. Reusing the
    key as the update ID would let the server hand back the first answer verbatim instead
    (`duplicate: false`, a stale light). Two racing calls with one key are still applied once:
    the handlers run one at a time and the second finds the key seen.
    """
    handle = client.get_workflow_handle(c.project_workflow_id(project_code))
    key = getattr(data, "idempotency_key", None) or str(uuid.uuid4())
    try:
        result: UpdateResult = await handle.execute_update(
            update, data, id=f"{update}:{key}:{uuid.uuid4().hex}", result_type=UpdateResult
        )
        return result
    except WorkflowUpdateFailedError as err:
        rejected = rejection_of(err)
        if rejected is None:
            raise
        if pool is not None:
            await audit_rejection(
                pool,
                project_code,
                update,
                key,
                actor,
                bureau,
                rejected,
                channel,
                data.model_dump(mode="json"),
            )
        raise rejected from None


async def audit_rejection(
    pool: asyncpg.Pool,
    project: str | None,
    action: str,
    key: str,
    actor: str,
    bureau: str,
    rejected: Rejected,
    channel: str,
    body: dict[str, Any],
) -> None:
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO audit_log (key, at, actor, bureau, project, action, idempotency_key,"
            " accepted, before, after, reason, channel)"
            " VALUES (NULL, $1, $2, $3, $4, $5, $6, false, $7, '{}', $8, $9)",
            datetime.now(UTC),
            actor or bureau or "unknown",
            bureau,
            project,
            action,
            key,
            body,
            f"{rejected.code}: {rejected.zh} / {rejected.en}",
            channel,
        )


async def project_status(client: Client, project_code: str) -> ProjectStatus:
    handle = client.get_workflow_handle(c.project_workflow_id(project_code))
    status: ProjectStatus = await handle.query(c.QUERY_STATUS, result_type=ProjectStatus)
    return status


async def gather_limited(jobs: Iterable[Callable[[], Awaitable[Any]]], limit: int) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def run(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    return await asyncio.gather(*(run(j) for j in jobs))


__all__ = [
    "Rejected",
    "UnknownReference",
    "UnknownReferences",
    "check_references",
    "unknown_references",
    "audit_rejection",
    "rejection_of",
    "gather_limited",
    "project_status",
    "send_update",
    "start_programme",
    "start_project",
]
