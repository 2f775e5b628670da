"""ProjectLifecycle: one durable workflow per key project, from 立项 to closing.

Messages
- Updates (validated; a rejection never reaches history):
  `transition_stage` (bureau), `submit_report` (bureau, 月报), `change_plan`, `suspend`,
  `resume`, `cancel` (managers). Each carries an idempotency key: a key seen before returns the
  first result and changes nothing, also after continue-as-new.
- Signal `set_clock`: simulations only, changes the programme clock scale.
- Queries: `status` (the full project status a leader reads), `state` (everything, for tools).

Deadlines are durable timers: the run keeps one timer armed for the earliest pending deadline
event (see `guatu.lifecycle.rules.deadlines`) raced against incoming updates; under
`report-write-through-2026-12` the timer is re-armed only when that deadline (or the clock)
moves, not on every Update. Every decision a bureau must hear about becomes a notice delivered by
an activity with bounded retries (`guatu.core.delivery`), so a bureau that is down never blocks
the run.

Read model: under `report-write-through-2026-12` an Update returns its rows with its result
(`UpdateOutcome.projection`) and the door that sent it writes them at once
(`guatu.lifecycle.service.send_update`), so a report costs the server what a bare Update costs.
The run projects what it owns — its start, deadline-driven changes, notices — by an activity
with the work its timers trigger anyway, and writes the Updates' rows again with it (idempotent),
in case a door died in between; the `projection` query hands a sweeper the same rows at any time
(`guatu.runtime.sweeper`). Runs recorded before the patch project every change by an activity.

The decisions themselves (what a due event, a report or a transition changes) live in
`guatu.lifecycle.book.LifecycleBook`; this module only makes them durable.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from guatu.core import constants as c
    from guatu.core.clock import real_delay
    from guatu.core.validator_guard import refuse_on
    from guatu.lifecycle.book import LifecycleBook
    from guatu.lifecycle.models import (
        ClockChangeInput,
        EvaluationRecordInput,
        Notice,
        PlanChangeInput,
        ProgressReportInput,
        ProjectionBatch,
        ProjectState,
        ProjectStatus,
        RunControlInput,
        RunStatus,
        StageTransitionInput,
        StartProjectInput,
        UpdateOutcome,
    )
    from guatu.lifecycle.rules.deadlines import DueEvent
    from workflows.durable import Deliveries, continue_as_new_due, settle, wait_until

# Workflow changes guarded for running projects (see tests/replay): remove a patch only once no
# run recorded before it can still be open.
PATCH_LOCAL_PROJECTION = "projection-local-activity-2026-11"
PATCH_REGULAR_PROJECTION = "projection-regular-activity-2026-11b"
# Late data revises past months, the 序时 basis and the back-fill window (issue 8): runs started
# (or continued as new) after it decide on these rules; runs recorded before keep theirs.
PATCH_LATE_DATA = "late-data-revisions-2026-12"
# Updates hand their rows to the door (write-through), the run projects only with its own work,
# and the deadline timer is re-armed only when the next deadline moves (issue 10).
PATCH_WRITE_THROUGH = "report-write-through-2026-12"
# The state keeps what decisions need; narratives, notes, past explanations, issue titles and
# resolved issues live in PostgreSQL (bench/lifecycle_payload: ≤ 256 KiB after five years).
PATCH_BOUNDED_STATE = "lifecycle-bounded-state-2026-12"
# A run continues as new at each programme-year boundary, so that no run lives longer than a
# year: a patch whose pre-patch runs have all continued past it can be retired (tests/replay).
PATCH_YEARLY_CONTINUE = "lifecycle-yearly-continue-2026-12"
# A service project cannot close its 评估 stage without a third-party evaluation (issue 9): runs
# started (or continued as new) after it are gated; runs recorded before keep closing freely.
PATCH_EVALUATION_GATE = "evaluation-before-close-2026-12"
LOCAL_PROJECTION_RETRY = RetryPolicy(
    maximum_attempts=3, initial_interval=timedelta(milliseconds=200)
)
PROJECTION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
DELIVERY_DRAIN_BEFORE_CAN = timedelta(minutes=1)
_UNARMED = object()  # no timer decided yet (distinct from None: no deadline ahead)


def _log(message: str, extra: dict[str, Any]) -> None:
    workflow.logger.info(message, extra=extra)


@workflow.defn(name=c.PROJECT_WORKFLOW)
class ProjectLifecycle:
    @workflow.init
    def __init__(self, input: StartProjectInput) -> None:
        state = input.state or ProjectState(plan=input.plan, policy=input.policy, clock=input.clock)
        self.book = LifecycleBook(state, workflow.now, _log)
        if input.state is None:
            # Begun here, not in `run`: an update that reaches the project in its first workflow
            # task (reported right after the plan was loaded, or while the worker was down) is
            # handled before `run` starts, and must find the clock anchored and the back-fill
            # window open.
            self.book.start(input.started_by, 1 if workflow.patched(PATCH_LATE_DATA) else 0)
            if workflow.patched(PATCH_EVALUATION_GATE):
                self.book.s.evaluation_gate = True
        self._search_attributes = input.search_attributes
        self._deliveries = Deliveries(lambda: self.book.s)
        self._indexed: tuple[str, str] | None = None
        # Decided once per run (patched() is memoised): a run recorded before keeps its ways.
        self.book.write_through = workflow.patched(PATCH_WRITE_THROUGH)
        self.book.bounded = workflow.patched(PATCH_BOUNDED_STATE)
        self._yearly = workflow.patched(PATCH_YEARLY_CONTINUE)
        self._run_year = self.book.today().year
        self._timer: asyncio.Task[None] | None = None
        self._timer_key: object = _UNARMED

    @workflow.run
    async def run(self, input: StartProjectInput) -> ProjectStatus:
        book = self.book
        if (
            input.state is not None
            and not book.s.rules_revision
            and workflow.patched(PATCH_LATE_DATA)
        ):
            book.upgrade()
        if input.state is not None and book.bounded:
            book.compact()  # a state carried over from a run that kept everything
        if (
            input.state is not None
            and not book.s.evaluation_gate
            and workflow.patched(PATCH_EVALUATION_GATE)
        ):
            book.s.evaluation_gate = True
        for notice in list(book.s.pending_notices):
            self._deliver(notice)
        while book.s.status not in (RunStatus.CANCELLED, RunStatus.CLOSED):
            book.wake = False
            book.process_due()
            await self._flush()
            if book.write_through:
                self._index()  # an Update's new stage or light, without a projection
            if self._continue_as_new_due():
                await self._continue_as_new()
            event = book.next_due()
            if book.write_through:
                if self._arm(event):
                    await workflow.wait_condition(lambda: book.wake or self._timer_fired())
                continue
            await wait_until(
                book.s.clock,
                event.at if event else None,
                lambda: book.wake,
                f"{event.kind.value} {event.step or event.month}" if event else None,
            )
        if self._timer is not None:
            self._timer.cancel()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._flush(force=True)
        # Notices of the last decisions still reach their bureau before the run ends.
        await workflow.wait_condition(lambda: not self._deliveries)
        return book.status()

    def _arm(self, event: DueEvent | None) -> bool:
        """Keep one timer for `event`, re-armed only when the deadline or the clock moved.
        False: the event is already due (loop again without waiting)."""
        clock = self.book.s.clock
        key = (event.at, clock.scale, clock.anchor_real, clock.anchor_business) if event else None
        if self._timer is not None and self._timer.done():
            self._timer, self._timer_key = None, _UNARMED
        if key == self._timer_key:
            return True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_key = key
        if event is None:
            return True
        timeout = real_delay(clock, workflow.now(), event.at)
        if timeout <= timedelta(0):
            self._timer_key = _UNARMED
            return False
        self._timer = asyncio.create_task(
            workflow.sleep(timeout, summary=f"{event.kind.value} {event.step or event.month}")
        )
        return True

    def _timer_fired(self) -> bool:
        return self._timer is not None and self._timer.done()

    def _continue_as_new_due(self) -> bool:
        return continue_as_new_due(self.book.s.policy.continue_as_new_events) or (
            self._yearly and self.book.today().year > self._run_year
        )

    async def _continue_as_new(self) -> None:
        # Deliveries in flight finish in this run; a bureau that is down does not hold the run
        # back for long: its notices are carried over.
        await settle(
            lambda: self._flush(force=True),
            lambda: self._deliveries.drain(DELIVERY_DRAIN_BEFORE_CAN),
            self.book.has_pending,
        )
        s = self.book.s
        s.runs += 1
        workflow.logger.info("continuing as new", extra={"project": s.plan.code, "runs": s.runs})
        workflow.continue_as_new(
            StartProjectInput(
                plan=s.plan,
                policy=s.policy,
                clock=s.clock,
                state=s,
                search_attributes=self._search_attributes,
            )
        )

    # -- read model, notices and search attributes -------------------------------------------

    async def _flush(self, force: bool = False) -> None:
        batch = self.book.take_batch(force)
        if batch is None:
            return
        # Regular activity for new runs: a local activity runs inside a workflow task, so when
        # that task never completes (worker killed, server restarted) its writes stay in
        # PostgreSQL while the retried task decides again at another time: doubled stage rows,
        # states and outbox notices history never had (tests/faults).
        if self.book.write_through or workflow.patched(PATCH_REGULAR_PROJECTION):
            await workflow.execute_activity(
                c.ACTIVITY_PROJECT,
                batch,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=PROJECTION_RETRY,
            )
        elif workflow.patched(PATCH_LOCAL_PROJECTION):
            await self._project_locally(batch)
        else:
            await workflow.execute_activity(
                c.ACTIVITY_PROJECT,
                batch,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=PROJECTION_RETRY,
            )
        for notice in batch.notices:
            self.book.s.pending_notices.append(notice)
            self._deliver(notice)
        self._index()

    async def _project_locally(self, batch: ProjectionBatch) -> None:
        """Runs recorded under PATCH_LOCAL_PROJECTION only: a local activity, falling back to
        a regular one when PostgreSQL does not answer."""
        try:
            await workflow.execute_local_activity(
                c.ACTIVITY_PROJECT,
                batch,
                start_to_close_timeout=timedelta(seconds=5),
                retry_policy=LOCAL_PROJECTION_RETRY,
            )
        except (ActivityError, ApplicationError):
            workflow.logger.warning(
                "projection falls back to a regular activity",
                extra={"project": self.book.s.plan.code},
            )
            await workflow.execute_activity(
                c.ACTIVITY_PROJECT,
                batch,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=PROJECTION_RETRY,
            )

    def _deliver(self, notice: Notice) -> None:
        self._deliveries.send(notice)

    def _index(self) -> None:
        if not self._search_attributes:
            return
        s = self.book.s
        current = (s.stage.value, s.light.value)
        if current == self._indexed:
            return
        self._indexed = current
        workflow.upsert_search_attributes(
            [
                c.SA_PROGRAM.value_set(s.plan.program),
                c.SA_BUREAU.value_set(s.plan.bureau),
                c.SA_STAGE.value_set(s.stage.value),
                c.SA_LIGHT.value_set(s.light.value),
            ]
        )

    # -- updates: validators refuse before history, handlers apply ----------------------------

    @workflow.update(name=c.UPDATE_TRANSITION)
    def transition_stage(self, data: StageTransitionInput) -> UpdateOutcome:
        return self.book.through(lambda: self.book.transition(data))

    @transition_stage.validator
    def _validate_transition(self, data: StageTransitionInput) -> None:
        refuse_on(self.book.check_transition, data)

    @workflow.update(name=c.UPDATE_REPORT)
    def submit_report(self, data: ProgressReportInput) -> UpdateOutcome:
        return self.book.through(lambda: self.book.report(data))

    @submit_report.validator
    def _validate_report(self, data: ProgressReportInput) -> None:
        refuse_on(self.book.check_report, data)

    @workflow.update(name=c.UPDATE_PLAN)
    def change_plan(self, data: PlanChangeInput) -> UpdateOutcome:
        return self.book.through(lambda: self.book.plan_change(data))

    @change_plan.validator
    def _validate_plan(self, data: PlanChangeInput) -> None:
        refuse_on(self.book.check_plan_change, data)

    @workflow.update(name=c.UPDATE_SUSPEND)
    def suspend(self, data: RunControlInput) -> UpdateOutcome:
        return self.book.through(lambda: self.book.control("suspend", data))

    @suspend.validator
    def _validate_suspend(self, data: RunControlInput) -> None:
        refuse_on(lambda d: self.book.check_control("suspend", d), data)

    @workflow.update(name=c.UPDATE_RESUME)
    def resume(self, data: RunControlInput) -> UpdateOutcome:
        return self.book.through(lambda: self.book.control("resume", data))

    @resume.validator
    def _validate_resume(self, data: RunControlInput) -> None:
        refuse_on(lambda d: self.book.check_control("resume", d), data)

    @workflow.update(name=c.UPDATE_CANCEL)
    def cancel(self, data: RunControlInput) -> UpdateOutcome:
        return self.book.through(lambda: self.book.control("cancel", data))

    @cancel.validator
    def _validate_cancel(self, data: RunControlInput) -> None:
        refuse_on(lambda d: self.book.check_control("cancel", d), data)

    @workflow.update(name=c.UPDATE_RECORD_EVALUATION)
    def record_evaluation(self, data: EvaluationRecordInput) -> UpdateOutcome:
        return self.book.through(lambda: self.book.record_evaluation(data))

    @record_evaluation.validator
    def _validate_evaluation(self, data: EvaluationRecordInput) -> None:
        refuse_on(self.book.check_evaluation, data)

    # -- clock (simulation) and queries -------------------------------------------------------

    @workflow.signal(name=c.SIGNAL_CLOCK)
    def set_clock(self, data: ClockChangeInput) -> None:
        self.book.set_clock(data)

    @workflow.query(name=c.QUERY_STATUS)
    def status(self) -> ProjectStatus:
        return self.book.status()

    @workflow.query(name=c.QUERY_STATE)
    def state(self) -> ProjectState:
        return self.book.s

    @workflow.query
    def projection(self) -> ProjectionBatch:
        """The current snapshot and the Updates' rows this run has not projected itself yet:
        a sweeper writes them when the read model's version is behind (no history event)."""
        return self.book.pending_projection()
