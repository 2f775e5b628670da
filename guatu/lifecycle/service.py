"""Starting projects and sending them input: the one service layer the CLI, API and tests use.

One file: starting, Updates and status share the refusal, audit and write-through paths of every
door; split, the doors' paths could drift apart.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

import asyncpg
import structlog
from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from guatu.core import constants as c
from guatu.core.records import AuditRow, write_audit
from guatu.core.refusal import InputRejected
from guatu.lifecycle import queries
from guatu.lifecycle.models import (
    ProgrammeClock,
    ProjectionBatch,
    ProjectPlan,
    ProjectState,
    ProjectStatus,
    StartProjectInput,
    TimerPolicy,
    UpdateOutcome,
    UpdateResult,
)
from guatu.lifecycle.projection import write_batch

log = structlog.get_logger("guatu.lifecycle.service")
# What a failed write-through may raise: the Update stands, the run's own projection (or the
# sweeper) writes its rows later.
READ_MODEL_DOWN = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


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
    are checked cell by cell against the same codes by `guatu.plan_file.rows`.)
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


class StartOutcome(StrEnum):
    """What starting a project came to: the one decision of the API and the CLI."""

    STARTED = "started"
    ALREADY_RUNNING = "already_running"  # running this very plan: nothing to do
    PROJECT_EXISTS = "project_exists"  # running another plan: change it with a plan change
    PROJECT_FINISHED = "project_finished"  # ended: never started a second time


@dataclass(frozen=True)
class StartDecision:
    code: str
    outcome: StartOutcome
    zh: str
    en: str

    @property
    def conflict(self) -> bool:
        return self.outcome in (StartOutcome.PROJECT_EXISTS, StartOutcome.PROJECT_FINISHED)


def _decision(code: str, outcome: StartOutcome, state: str = "") -> StartDecision:
    ended = f"（{state}）" if state else ""
    ended_en = f" ({state})" if state else ""
    zh, en = {
        StartOutcome.STARTED: (f"项目 {code} 已启动", f"project {code} started"),
        StartOutcome.ALREADY_RUNNING: (
            f"项目 {code} 已按同一计划在运行，未重复启动",
            f"project {code} already runs this plan; not started again",
        ),
        StartOutcome.PROJECT_EXISTS: (
            f"项目 {code} 已按另一份计划启动；调整计划请用计划变更",
            f"project {code} already runs another plan; use a plan change to change it",
        ),
        StartOutcome.PROJECT_FINISHED: (
            f"项目 {code} 的流程已结束{ended}，不能再次启动",
            f"project {code} has ended{ended_en} and cannot start again",
        ),
    }[outcome]
    return StartDecision(code, outcome, zh, en)


async def start_once(
    client: Client,
    plan: ProjectPlan,
    policy: TimerPolicy,
    *,
    task_queue: str = c.TASK_QUEUE,
    clock: ProgrammeClock | None = None,
    started_by: str = "system",
    index: bool = True,
) -> StartDecision:
    """Start `plan`'s lifecycle, or say why not: the one start decision of the API and the CLI.

    One call for a new project (the start itself, conflict policy USE_EXISTING); for a running
    one, the server hands back the run and its first plan is compared (a query): the same plan is
    `already_running`, another is `project_exists`. An ended project is `project_finished`
    (REJECT_DUPLICATE): a plan is changed with a plan change, an ended project never restarts.
    """
    try:
        handle = await client.start_workflow(
            c.PROJECT_WORKFLOW,
            start_input(plan, policy, clock, started_by, index),
            id=c.project_workflow_id(plan.code),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=search_attributes(plan) if index else None,
        )
    except WorkflowAlreadyStartedError:
        return _decision(plan.code, StartOutcome.PROJECT_FINISHED)
    # The start's answer says whether this call started the run (USE_EXISTING hands back a
    # running one); the SDK keeps it on the handle.
    response = getattr(handle, "_start_workflow_response", None)
    if response is not None and response.started:
        return _decision(plan.code, StartOutcome.STARTED)
    state = await handle.query(c.QUERY_STATE, result_type=ProjectState)
    original = state.baselines[0] if state.baselines else state.plan
    same = original.model_dump(mode="json") == plan.model_dump(mode="json")
    return _decision(
        plan.code, StartOutcome.ALREADY_RUNNING if same else StartOutcome.PROJECT_EXISTS
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


@dataclass(frozen=True)
class RefusalAudit:
    """Where a refused input goes in the audit log (`audit_rejection`'s fields but the refusal
    and the body): the action, the idempotency key, who, for which bureau and project, by which
    door."""

    action: str
    key: str
    actor: str
    bureau: str = ""
    channel: str = "api"
    project: str | None = None


async def refuse(
    pool: asyncpg.Pool, refusal: Rejected | InputRejected, audit: RefusalAudit, body: dict[str, Any]
) -> Rejected:
    """Audit a refusal and hand it back as `Rejected` for the door to raise."""
    rejected = (
        refusal if isinstance(refusal, Rejected) else Rejected(refusal.code, refusal.zh, refusal.en)
    )
    await audit_rejection(
        pool,
        audit.project,
        audit.action,
        audit.key,
        audit.actor,
        audit.bureau,
        rejected,
        audit.channel,
        body,
    )
    return rejected


T = TypeVar("T")


async def execute_refusable_update(
    handle: WorkflowHandle[Any, Any],
    update: str,
    data: BaseModel,
    result_type: type[T],
    *,
    update_id: str | None,
    pool: asyncpg.Pool | None,
    audit: RefusalAudit | Callable[[], Awaitable[RefusalAudit]],
    gone: Callable[[], Awaitable[Rejected]] | None = None,
    body: dict[str, Any] | None = None,
) -> T:
    """The one path of a door's Update on a durable request (appeal, observation, interest,
    ladder): execute it; a validator's refusal (`rejection_of`), or, given `gone`, a workflow
    that no longer runs (NOT_FOUND: `gone()` says why), is written to the audit log (given a
    pool; `audit` may be looked up only then; the body is `body`, else the Update's input) and
    raised as `Rejected`. Any other failure propagates as it is. `update_id` None: a fresh
    update each call (the book answers a repeat itself)."""
    try:
        result: T = await handle.execute_update(update, data, id=update_id, result_type=result_type)
        return result
    except WorkflowUpdateFailedError as err:
        rejected = rejection_of(err)
        if rejected is None:
            raise
    except RPCError as err:
        if gone is None or err.status != RPCStatusCode.NOT_FOUND:
            raise
        rejected = await gone()
    if pool is None:
        raise rejected from None
    where = audit if isinstance(audit, RefusalAudit) else await audit()
    body = data.model_dump(mode="json") if body is None else body
    raise await refuse(pool, rejected, where, body) from None


async def start_request(
    client: Client,
    workflow: str,
    data: BaseModel,
    *,
    workflow_id: str,
    task_queue: str,
    view_type: type[T],
    query: str,
) -> T | None:
    """Start a durable request's workflow under its business key (`workflow_id`: one run per
    key, ever) and answer its first view (`query`); None if that key was started before (the
    door then finds out by whom: a retry of the same filing, or another)."""
    try:
        handle = await client.start_workflow(
            workflow,
            data,
            id=workflow_id,
            task_queue=task_queue,
            result_type=view_type,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        return None
    view: T = await handle.query(query, result_type=view_type)
    return view


def update_name(update: str | UpdateMethodMultiParam[..., Any]) -> str:
    """The name a lifecycle Update is registered under (its audit action)."""
    if isinstance(update, str):
        return update
    name = update._defn.name
    if name is None:  # a dynamic update handler: lifecycles have none
        raise TypeError(f"{update!r} is not a named workflow update")
    return name


async def send_update(
    client: Client,
    project_code: str,
    update: UpdateMethodMultiParam[..., Any] | str,
    data: BaseModel,
    *,
    pool: asyncpg.Pool | None = None,
    actor: str = "",
    bureau: str = "",
    channel: str = "api",
) -> UpdateResult:
    """Execute an update on a project. A refusal raises `Rejected` and, given a pool, is audited.

    Given a pool, the rows the Update returned are written to the read model at once (the one
    write-through of every door: API, CLI, simulation, bench): a report is on the dashboard when
    this returns, at the cost of a bare Update on the server. Without a pool, or with PostgreSQL
    down, the run's own next projection (or the sweeper) writes them; the Update stands either
    way, so a failed write is logged and the bureau still gets its answer.

    Every call is its own update (a fresh update ID): the workflow's key check answers a repeated
    idempotency key with `duplicate: true` and the project's current stage and light. Reusing the
    key as the update ID would let the server hand back the first answer verbatim instead
    (`duplicate: false`, a stale light). Two racing calls with one key are still applied once:
    the handlers run one at a time and the second finds the key seen.
    """
    handle = client.get_workflow_handle(c.project_workflow_id(project_code))
    key = getattr(data, "idempotency_key", None) or str(uuid.uuid4())
    name = update_name(update)
    update_id = f"{name}:{key}:{uuid.uuid4().hex}"
    sent = time.monotonic()
    try:
        outcome: UpdateOutcome
        if isinstance(update, str):  # scripts replaying recorded calls by name
            outcome = await handle.execute_update(
                update, data, id=update_id, result_type=UpdateOutcome
            )
        else:  # typed: `ProjectLifecycle.submit_report` carries its name and result type
            outcome = UpdateOutcome.model_validate(
                await handle.execute_update(update, data, id=update_id)
            )
    except WorkflowUpdateFailedError as err:
        rejected = rejection_of(err)
        if rejected is None:
            raise
        if pool is not None:
            where = RefusalAudit(name, key, actor, bureau, channel, project_code)
            await refuse(pool, rejected, where, data.model_dump(mode="json"))
        raise rejected from None
    if pool is not None and outcome.projection is not None:
        await write_through(pool, outcome.projection, sent)
    return outcome.answer()


async def write_through(
    pool: asyncpg.Pool, batch: ProjectionBatch, since: float | None = None
) -> bool:
    """Write an Update's rows; False (logged) if PostgreSQL did not take them."""
    try:
        await write_batch(pool, batch, since=since)
    except READ_MODEL_DOWN as err:
        log.warning(
            "read model write-through failed; the run's projection will write it",
            project=batch.snapshot.get("code"),
            version=batch.snapshot.get("version"),
            error=repr(err),
        )
        return False
    return True


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
        refused = AuditRow(
            key=None,
            at=datetime.now(UTC),
            actor=actor or bureau or "unknown",
            bureau=bureau,
            project=project,
            action=action,
            idempotency_key=key,
            accepted=False,
            before=body,
            reason=f"{rejected.code}: {rejected.zh} / {rejected.en}",
            channel=channel,
        )
        await write_audit(conn, [refused], duplicates="raise")


async def project_status(
    client: Client, project_code: str, pool: asyncpg.Pool | None = None
) -> ProjectStatus:
    """The live status of a project; given a pool, open issues get their titles from the read
    model (a bounded lifecycle keeps only their ids)."""
    handle = client.get_workflow_handle(c.project_workflow_id(project_code))
    status: ProjectStatus = await handle.query(c.QUERY_STATUS, result_type=ProjectStatus)
    untitled = [i.id for i in status.open_issues if not i.title]
    if pool is not None and untitled:
        titles = await queries.issue_titles(pool, project_code, untitled)
        status.open_issues = [
            i.model_copy(update={"title": titles.get(i.id, "")}) if not i.title else i
            for i in status.open_issues
        ]
    return status


async def gather_limited(jobs: Iterable[Callable[[], Awaitable[Any]]], limit: int) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def run(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    return await asyncio.gather(*(run(j) for j in jobs))


__all__ = [
    "RefusalAudit",
    "Rejected",
    "UnknownReference",
    "UnknownReferences",
    "check_references",
    "unknown_references",
    "audit_rejection",
    "execute_refusable_update",
    "refuse",
    "rejection_of",
    "gather_limited",
    "project_status",
    "send_update",
    "start_request",
    "update_name",
    "write_through",
    "StartDecision",
    "StartOutcome",
    "start_once",
    "start_programme",
    "start_project",
]
