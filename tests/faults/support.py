"""Shared pieces of the fault-injection tests.

- `WorkerProcess`: the production worker (`worker.build_worker`) in a child process that can be
  `kill -9`ed and started again.
- `Bureau`: a bureau system driving compressed lifecycles through the service layer
  (`guatu.lifecycle.service.send_update`), retrying transient failures with the same idempotency key,
  exactly as a bureau system behind the API would.
- `ReadModelWatch`: what the bureau sees of its projects in the PostgreSQL read model.
- The scripted lifecycle, its hand-computed expected final state, and the checks every fault
  test shares (final state, outbox versus receiver, workflow-task failures in histories).

The scripted lifecycle makes the final state independent of timing: the bureau reports every
milestone step only after the lifecycle has marked that milestone missed, so every milestone is
missed exactly once whatever the crashes delay; reminders fall before the start (silent); the
progress rule is switched off and the grace period is long, so nothing escalates. Whatever the
faults do to timing, the expected final state below is the only correct one.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from pydantic import BaseModel
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from guatu.core import constants as c
from guatu.core.clock import local_date, month_key
from guatu.lifecycle.models import (
    EvaluationRecordInput,
    IssueRaised,
    ProgrammeClock,
    ProgressReportInput,
    ProjectKind,
    ProjectPlan,
    StageTransitionInput,
    Step,
    TimerPolicy,
    UpdateResult,
)
from guatu.lifecycle.service import send_update, start_project
from tests.helpers import make_plan
from workflows.project_lifecycle import ProjectLifecycle

ROOT = Path(__file__).resolve().parents[2]

# Four business days pass in one real second.
SCALE = 86_400 * 4
ENGINEERING_DAYS = [2, 4, 6, 8, 10, 12]  # land use, planning, construction permit, 开工, 竣工, 验收
SERVICE_DAYS = [2, 4, 6]  # 实施, 完成, 评估
# Reminders fall before the start (silent), nothing escalates, the progress rule never colours:
# the only deadline events that speak are the six (or three) missed milestones.
POLICY = TimerPolicy(
    milestone_reminder_days=100,
    milestone_grace_days=100_000,
    progress_yellow_points=1000,
    progress_red_points=1000,
)

ENGINEERING_ORDER = [
    Step.PRELIMINARY,
    Step.LAND_USE,
    Step.PLANNING_PERMIT,
    Step.CONSTRUCTION_PERMIT,
    Step.CONSTRUCTION_STARTED,
    Step.UNDER_CONSTRUCTION,
    Step.COMPLETED,
    Step.ACCEPTED,
    Step.CLOSED,
]
SERVICE_ORDER = [Step.IMPLEMENTING, Step.DONE, Step.EVALUATED, Step.CLOSED]

# Workflow-task failures a crash may legitimately cause: the server refusing a completion
# because new events arrived, or a worker that lost its cache. Anything else fails a test.
BENIGN_TASK_FAILURES = {
    WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
    WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_UPDATE,
    WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_STICKY_TASK_QUEUE,
}
NDE_MARKERS = ("Nondeterminism", "NondeterminismError", "TMPRL1100")

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def business_today() -> date:
    """Today in Wenjiang: where a compressed programme clock anchored now begins."""
    return local_date(datetime.now(UTC))


def run_prefix(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:6].upper()}"


# ---------------------------------------------------------------------------------------------
# A worker in a child process
# ---------------------------------------------------------------------------------------------


class WorkerProcess:
    """`python -m tests.faults.worker_proc`, killable with SIGKILL and restartable."""

    def __init__(
        self,
        target: str,
        dsn: str,
        task_queue: str,
        workdir: Path,
        *,
        max_cached: int = 1000,
        sticky_seconds: float = 2.0,
    ) -> None:
        self.target = target
        self.dsn = dsn
        self.task_queue = task_queue
        self.workdir = workdir
        self.max_cached = max_cached
        self.sticky_seconds = sticky_seconds
        self.log_path = workdir / "worker.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "worker already running"
        self.starts += 1
        self.ready_file = self.workdir / f"ready-{self.starts}"
        with open(self.log_path, "ab") as log:
            log.write(f"--- start {self.starts} at {time.time():.3f}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.faults.worker_proc",
                    "--target",
                    self.target,
                    "--dsn",
                    self.dsn,
                    "--task-queue",
                    self.task_queue,
                    "--ready-file",
                    str(self.ready_file),
                    "--max-cached",
                    str(self.max_cached),
                    "--sticky-seconds",
                    str(self.sticky_seconds),
                ],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    async def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready_file.exists():
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"worker exited with {self.proc.returncode}: {self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"worker not ready within {timeout} s: {self.log_tail()}")
            await asyncio.sleep(0.05)

    def kill(self) -> None:
        """kill -9: no graceful shutdown, no activity completion, no cache eviction."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            self.kills += 1

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def log_text(self) -> str:
        return (
            self.log_path.read_text(encoding="utf-8", errors="replace")
            if self.log_path.exists()
            else ""
        )

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def nondeterminism_lines(self) -> list[str]:
        return [
            line
            for line in self.log_text().splitlines()
            if any(marker in line for marker in NDE_MARKERS)
        ]


# ---------------------------------------------------------------------------------------------
# The bureau and what it sees
# ---------------------------------------------------------------------------------------------


class ReadModelWatch:
    """Polls the read model for a set of projects (one query for all, as a dashboard would)."""

    def __init__(self, pool: asyncpg.Pool, codes: Iterable[str], every: float = 0.2) -> None:
        self.pool = pool
        self.codes = list(codes)
        self.every = every
        self.rows: dict[str, asyncpg.Record] = {}
        self.errors = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ReadModelWatch:
        self._task = asyncio.create_task(self._loop())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            try:
                async with self.pool.acquire() as conn:
                    rows = await conn.fetch(
                        "SELECT code, milestones, stage, status, version FROM projects"
                        " WHERE code = ANY($1::text[])",
                        self.codes,
                    )
                self.rows = {r["code"]: r for r in rows}
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                self.errors += 1
            await asyncio.sleep(self.every)

    def missed(self, code: str, step: Step) -> bool:
        row = self.rows.get(code)
        if row is None:
            return False
        return any(m["step"] == step.value and m["missed"] for m in row["milestones"])

    async def wait_missed(self, code: str, step: Step) -> None:
        while not self.missed(code, step):
            await asyncio.sleep(0.1)


TRANSIENT_STATUS = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.CANCELLED,
    RPCStatusCode.UNKNOWN,
    RPCStatusCode.INTERNAL,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.ABORTED,
}


@dataclass
class Bureau:
    """A bureau system: sends each input until it gets an answer, always with the same key."""

    client: Client
    bureau: str
    # Given, every accepted input is written through to the read model by this door, as the
    # API does (send_update); the run's own projection covers a write that never happens.
    pool: asyncpg.Pool | None = None
    call_timeout: float = 15.0
    retries: Counter[str] = field(default_factory=Counter)
    results: dict[str, UpdateResult] = field(default_factory=dict)

    async def _retrying(
        self, what: str, call: Callable[[], Awaitable[T]], give_up_after: float = 150.0
    ) -> T:
        deadline = time.monotonic() + give_up_after
        while True:
            try:
                return await asyncio.wait_for(call(), self.call_timeout)
            except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as err:
                self.retries[type(err).__name__] += 1
            except RPCError as err:
                # While a workflow task is being retried (e.g. its worker was killed) the
                # server refuses updates with FAILED_PRECONDITION / WorkflowNotReady: retry.
                not_ready = (
                    err.status == RPCStatusCode.FAILED_PRECONDITION
                    and "Workflow Task in failed state" in str(err)
                )
                if err.status not in TRANSIENT_STATUS and not not_ready:
                    raise
                self.retries[f"RPCError.{err.status.name}"] += 1
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: no answer within {give_up_after:.0f} s")
            await asyncio.sleep(0.5)

    async def update(self, code: str, update: str, data: BaseModel) -> UpdateResult:
        key = str(getattr(data, "idempotency_key"))  # noqa: B009 - every input has one
        result = await self._retrying(
            f"{update} {key}", lambda: send_update(self.client, code, update, data, pool=self.pool)
        )
        self.results[key] = result
        return result

    async def start(self, plan: ProjectPlan, task_queue: str, clock: ProgrammeClock) -> None:
        await self._retrying(
            f"start {plan.code}",
            lambda: start_project(
                self.client, plan, POLICY, task_queue=task_queue, clock=clock, index=False
            ),
        )

    async def evaluate(self, plan: ProjectPlan) -> UpdateResult:
        """A third-party evaluation recorded: a service project's 评估 stage may then close."""
        return await self.update(
            plan.code,
            c.UPDATE_RECORD_EVALUATION,
            EvaluationRecordInput(
                evaluation_id=f"project-{plan.code}-v1",
                score=80,
                idempotency_key=f"{plan.code}:evaluation",
            ),
        )

    async def step(self, plan: ProjectPlan, step: Step) -> UpdateResult:
        return await self.update(
            plan.code,
            ProjectLifecycle.transition_stage,
            StageTransitionInput(
                bureau=self.bureau, idempotency_key=f"{plan.code}:step:{step.value}", step=step
            ),
        )

    async def report(self, plan: ProjectPlan, *, correction: bool = False) -> UpdateResult:
        month = month_key(plan.start)
        if correction:
            data = ProgressReportInput(
                bureau=self.bureau,
                idempotency_key=f"{plan.code}:report:{month}:fix",
                month=month,
                investment_wan=12.0,
                physical_progress_pct=6.0,
                correction=True,
                issues_resolved=["I-1"],
            )
        else:
            data = ProgressReportInput(
                bureau=self.bureau,
                idempotency_key=f"{plan.code}:report:{month}",
                month=month,
                investment_wan=10.0,
                physical_progress_pct=5.0,
                issues_raised=[IssueRaised(id="I-1", title="征地拆迁滞后")],
            )
        return await self.update(plan.code, ProjectLifecycle.submit_report, data)


# ---------------------------------------------------------------------------------------------
# The scripted lifecycle and its expected end
# ---------------------------------------------------------------------------------------------


def scripted_plans(prefix: str, count: int, bureau: str) -> list[ProjectPlan]:
    """Half engineering, half service projects, all starting today in Wenjiang."""
    start = business_today()
    plans = []
    for i in range(count):
        kind = ProjectKind.ENGINEERING if i % 2 == 0 else ProjectKind.SERVICE
        days = ENGINEERING_DAYS if kind is ProjectKind.ENGINEERING else SERVICE_DAYS
        plans.append(
            make_plan(
                kind,
                start=start,
                bureau=bureau,
                milestone_days=days,
                months=12,
                code=f"{prefix}-{i:03d}",
            )
        )
    return plans


async def scripted_lifecycle(
    bureau: Bureau, watch: ReadModelWatch, plan: ProjectPlan, task_queue: str, clock: ProgrammeClock
) -> None:
    """立项 → report → each milestone step once it is marked missed → correction → … → 关闭."""
    await bureau.start(plan, task_queue, clock)
    await bureau.report(plan)
    order = ENGINEERING_ORDER if plan.kind is ProjectKind.ENGINEERING else SERVICE_ORDER
    milestones_done = 0
    for step in order:
        if plan.milestone(step) is not None:
            await watch.wait_missed(plan.code, step)
        if step is Step.CLOSED and plan.kind is ProjectKind.SERVICE:
            await bureau.evaluate(plan)
        await bureau.step(plan, step)
        if plan.milestone(step) is not None:
            milestones_done += 1
            if milestones_done == 2:
                await bureau.report(plan, correction=True)


@dataclass(frozen=True)
class Expected:
    """The only correct end of a scripted lifecycle, written out by hand."""

    steps: frozenset[Step]
    missed: frozenset[Step]
    audit_rows: int  # accepted inputs: 2 reports + every step (+ a service's evaluation)
    stage_rows: int  # 立项 + every step


# Engineering: 9 steps (前期, 3 permits, 开工, 在建, 竣工, 验收, 关闭), 6 of them with a milestone.
EXPECTED_ENGINEERING = Expected(
    steps=frozenset(ENGINEERING_ORDER),
    missed=frozenset(
        {
            Step.LAND_USE,
            Step.PLANNING_PERMIT,
            Step.CONSTRUCTION_PERMIT,
            Step.CONSTRUCTION_STARTED,
            Step.COMPLETED,
            Step.ACCEPTED,
        }
    ),
    audit_rows=2 + 9,
    stage_rows=1 + 9,
)
# Service: 4 steps (实施, 完成, 评估, 关闭), 3 with a milestone; the third-party evaluation
# recorded before closing is one more accepted input.
EXPECTED_SERVICE = Expected(
    steps=frozenset(SERVICE_ORDER),
    missed=frozenset({Step.IMPLEMENTING, Step.DONE, Step.EVALUATED}),
    audit_rows=2 + 4 + 1,
    stage_rows=1 + 4,
)


def expected_for(plan: ProjectPlan) -> Expected:
    return EXPECTED_ENGINEERING if plan.kind is ProjectKind.ENGINEERING else EXPECTED_SERVICE


def missed_notice_keys(plan: ProjectPlan) -> set[str]:
    return {
        f"{plan.code}:milestone_missed:{m.step.value}:{m.planned.isoformat()}"
        for m in plan.milestones
    }


@dataclass
class Outcome:
    """What the checks counted, for the test to print and assert."""

    completed: int = 0
    final_state_mismatches: list[str] = field(default_factory=list)
    decisions: int = 0  # outbox rows (one per decision a bureau must hear about)
    delivered_keys: int = 0  # unique Idempotency-Keys received
    undelivered: list[str] = field(default_factory=list)
    raw_posts: int = 0
    raw_duplicate_posts: int = 0
    task_failures: Counter[str] = field(default_factory=Counter)
    bad_task_failures: int = 0
    runs: int = 0


async def check_final_states(
    client: Client, pool: asyncpg.Pool, plans: list[ProjectPlan], outcome: Outcome
) -> None:
    """Compare every project with the expected end: workflow state and read model both."""
    for plan in plans:
        exp = expected_for(plan)
        month = month_key(plan.start)
        handle = client.get_workflow_handle(c.project_workflow_id(plan.code))
        state = await handle.query(ProjectLifecycle.state)
        problems: list[str] = []
        if (state.stage.value, state.status.value, state.light.value) != (
            "closed",
            "closed",
            "green",
        ):
            problems.append(f"end {state.stage}/{state.status}/{state.light}")
        if set(state.steps_done) != exp.steps:
            problems.append(f"steps {sorted(state.steps_done)}")
        missed = {s for s, w in state.milestone_watch.items() if w.missed}
        escalated = {s for s, w in state.milestone_watch.items() if w.escalated}
        if missed != exp.missed or escalated:
            problems.append(f"missed {sorted(missed)} escalated {sorted(escalated)}")
        report = state.reports.get(month)
        if (
            list(state.reports) != [month]
            or report is None
            or (report.investment_wan, report.physical_progress_pct, report.corrected)
            != (12.0, 6.0, 1)
        ):
            problems.append(f"reports {state.reports}")
        if state.open_issues:
            problems.append(f"open issues {state.open_issues}")
        if len(state.seen_keys) != exp.audit_rows:
            problems.append(f"accepted inputs {len(state.seen_keys)}")
        async with pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT stage, status, light, version FROM projects WHERE code = $1", plan.code
            )
            audit = await conn.fetch(
                "SELECT idempotency_key FROM audit_log WHERE project = $1 AND accepted", plan.code
            )
            stages = await conn.fetchval(
                "SELECT count(*) FROM stage_history WHERE project = $1", plan.code
            )
            reports = await conn.fetch(
                "SELECT month, corrected FROM progress_reports WHERE project = $1", plan.code
            )
            missed_rows = await conn.fetch(
                "SELECT key FROM notifications WHERE project = $1 AND kind = 'milestone_missed'",
                plan.code,
            )
        if row is None or (row["stage"], row["status"], row["light"], row["version"]) != (
            "closed",
            "closed",
            "green",
            state.version,
        ):
            problems.append(f"read model {dict(row) if row else None} vs v{state.version}")
        keys = [r["idempotency_key"] for r in audit]
        if len(keys) != exp.audit_rows or len(set(keys)) != len(keys):
            problems.append(f"audit rows {len(keys)} ({len(set(keys))} distinct)")
        if stages != exp.stage_rows:
            problems.append(f"stage rows {stages}")
        if {(r["month"], r["corrected"]) for r in reports} != {(month, 0), (month, 1)} or len(
            reports
        ) != 2:
            problems.append(f"report rows {[tuple(r) for r in reports]}")
        if {r["key"] for r in missed_rows} != missed_notice_keys(plan):
            problems.append(f"missed notices {sorted(r['key'] for r in missed_rows)}")
        if problems:
            outcome.final_state_mismatches.append(f"{plan.code}: {'; '.join(problems)}")
        else:
            outcome.completed += 1


async def check_notices(
    pool: asyncpg.Pool, posts: list[tuple[str, dict[str, Any]]], prefix: str, outcome: Outcome
) -> None:
    """Every decision in the outbox reached the receiver; count raw POST duplicates apart."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT key, status FROM notifications WHERE project LIKE $1", f"{prefix}-%"
        )
    mine = [k for k, body in posts if str(body.get("project", "")).startswith(f"{prefix}-")]
    counts = Counter(mine)
    outcome.decisions = len(rows)
    outcome.delivered_keys = len(counts)
    outcome.raw_posts = len(mine)
    outcome.raw_duplicate_posts = sum(n - 1 for n in counts.values())
    outcome.undelivered = sorted(
        r["key"] for r in rows if r["key"] not in counts or r["status"] != "delivered"
    )
    unknown = set(counts) - {r["key"] for r in rows}
    assert not unknown, f"deliveries of notices not in the outbox: {sorted(unknown)[:5]}"


async def check_task_failures(client: Client, prefix: str, outcome: Outcome) -> None:
    """Scan the history of every run of every project of this test for workflow-task failures."""
    query = (
        f"WorkflowType = '{c.PROJECT_WORKFLOW}' AND "
        f"WorkflowId STARTS_WITH '{c.project_workflow_id(prefix)}-'"
    )
    async for execution in client.list_workflows(query):
        outcome.runs += 1
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        history = await handle.fetch_history()
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                cause = event.workflow_task_failed_event_attributes.cause
                outcome.task_failures[WorkflowTaskFailedCause.Name(cause)] += 1
                if cause not in BENIGN_TASK_FAILURES:
                    outcome.bad_task_failures += 1


async def diagnose(client: Client, codes: Iterable[str], limit: int = 5) -> str:
    """Why runs are still open: pending workflow task, pending activities, last events."""
    lines: list[str] = []
    for code in codes:
        handle = client.get_workflow_handle(c.project_workflow_id(code))
        try:
            desc = await handle.describe()
        except RPCError as err:
            lines.append(f"{code}: describe failed: {err}")
            continue
        if desc.status is None or desc.status.name != "RUNNING":
            continue
        raw = desc.raw_description
        wft = raw.pending_workflow_task if raw.HasField("pending_workflow_task") else None
        acts = [
            f"{a.activity_type.name}#{a.attempt}:{a.last_failure.message[:80]}"
            for a in raw.pending_activities
        ]
        history = await handle.fetch_history()
        tail = [
            EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in history.events[-6:]
        ]
        failures = [
            e.workflow_task_failed_event_attributes.failure.message[:200]
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
        ][-2:]
        attempt = f"attempt {wft.attempt}" if wft else None
        lines.append(
            f"{code}: wft={attempt} activities={acts} task_failures={failures} tail={tail}"
        )
        if len(lines) >= limit:
            break
    return "\n".join(lines)
