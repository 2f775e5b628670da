"""ProjectLifecycle: one durable workflow per key project, from 立项 to closing.

Messages
- Updates (validated; a rejection never reaches history):
  `transition_stage` (bureau), `submit_report` (bureau, 月报), `change_plan`, `suspend`,
  `resume`, `cancel` (managers). Each carries an idempotency key: a key seen before returns the
  first result and changes nothing, also after continue-as-new.
- Signal `set_clock`: simulations only, changes the programme clock scale.
- Queries: `status` (the full project status a leader reads), `state` (everything, for tools).

Deadlines are durable timers: the run keeps one timer armed for the earliest pending deadline
event (see `guatu.rules.deadlines`) raced against incoming updates. Every change is written to
the PostgreSQL read model by an activity, and every decision a bureau must hear about becomes a
notice delivered by an activity with retries, so a bureau that is down never blocks the run.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date, datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from guatu import constants as c
    from guatu import notices
    from guatu.clock import business_now, day_in_month, local_date, real_delay
    from guatu.models import (
        AuditEntry,
        ClockChangeInput,
        LightChange,
        MilestonePlan,
        MilestoneWatch,
        Notice,
        OpenIssue,
        PlanChangeInput,
        ProgressReportInput,
        ProjectionBatch,
        ProjectState,
        ProjectStatus,
        ReportRecord,
        ReportWatch,
        RunControlInput,
        RunStatus,
        Stage,
        StageChange,
        StageTransitionInput,
        StartProjectInput,
        Step,
        UpdateResult,
    )
    from guatu.rules import deadlines, lights, validation
    from guatu.rules.deadlines import DueEvent, DueKind
    from guatu.rules.progress import (
        actual_investment_wan,
        latest_physical_progress,
        planned_fraction,
    )
    from guatu.rules.stages import STAGE_ZH, STEP_ZH, stage_after

# Workflow changes guarded for running projects (see tests/replay): remove a patch only once no
# run recorded before it can still be open.
PATCH_LOCAL_PROJECTION = "projection-local-activity-2026-11"
PATCH_REGULAR_PROJECTION = "projection-regular-activity-2026-11b"
LOCAL_PROJECTION_RETRY = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(milliseconds=200))
PROJECTION_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1),
                               maximum_interval=timedelta(seconds=30))
# A bureau endpoint may be down for days: keep retrying, but back off to once every 10 minutes.
DELIVERY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), backoff_coefficient=2.0,
                             maximum_interval=timedelta(minutes=10))
DELIVERY_DRAIN_BEFORE_CAN = timedelta(minutes=1)
SEEN_KEYS_KEPT = 500  # bounded: the keys travel in the continue-as-new input
LIGHT_HISTORY_KEPT = 24


def _reject(err: validation.InputRejected) -> ApplicationError:
    return ApplicationError(err.message, {"code": err.code, "zh": err.zh, "en": err.en},
                            type="InputRejected", non_retryable=True)


@workflow.defn(name=c.PROJECT_WORKFLOW)
class ProjectLifecycle:
    @workflow.init
    def __init__(self, input: StartProjectInput) -> None:
        self.s: ProjectState = input.state or ProjectState(
            plan=input.plan, policy=input.policy, clock=input.clock
        )
        self._search_attributes = input.search_attributes
        self._wake = False
        self._batch = ProjectionBatch(snapshot={})
        self._dirty = False
        self._deliveries: dict[str, asyncio.Task[None]] = {}
        self._indexed: tuple[str, str] | None = None

    # -----------------------------------------------------------------------------------------
    # Main loop
    # -----------------------------------------------------------------------------------------

    @workflow.run
    async def run(self, input: StartProjectInput) -> ProjectStatus:
        s = self.s
        if input.state is None:
            self._start(input)
        for notice in list(s.pending_notices):
            self._deliver(notice)
        while s.status not in (RunStatus.CANCELLED, RunStatus.CLOSED):
            self._wake = False
            self._process_due()
            await self._flush()
            if self._continue_as_new_due():
                await self._continue_as_new()
            event = deadlines.next_due(s)
            timeout = real_delay(s.clock, workflow.now(), event.at) if event else None
            if timeout is not None and timeout <= timedelta(0):
                continue
            try:
                await workflow.wait_condition(
                    lambda: self._wake, timeout=timeout,
                    timeout_summary=f"{event.kind.value} {event.step or event.month}" if event else None,
                )
            except TimeoutError:
                pass
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._flush()
        # Notices of the last decisions still reach their bureau before the run ends.
        await workflow.wait_condition(lambda: not self._deliveries)
        return self._status()

    def _start(self, input: StartProjectInput) -> None:
        s = self.s
        now = workflow.now()
        if s.clock.anchor_real is None and (s.clock.scale != 1.0 or s.clock.anchor_business):
            s.clock.anchor_real = now
            s.clock.anchor_business = s.clock.anchor_business or now
        bnow = self._bnow()
        s.started_at = bnow
        s.watch_from = bnow
        approved = StageChange(step=None, stage=Stage.APPROVED, on=s.plan.start,
                               recorded_at=bnow, actor=input.started_by, bureau=s.plan.bureau,
                               note="立项 approved")
        s.stage_history.append(approved)
        self._batch.stage_changes.append(approved)
        self._changed()

    def _bnow(self) -> datetime:
        return business_now(self.s.clock, workflow.now())

    def _today(self) -> date:
        return local_date(self._bnow())

    def _changed(self) -> None:
        self.s.version += 1
        self.s.updated_at = self._bnow()
        self._dirty = True
        self._wake = True

    def _continue_as_new_due(self) -> bool:
        info = workflow.info()
        return (info.is_continue_as_new_suggested()
                or info.get_current_history_length() > self.s.policy.continue_as_new_events)

    async def _continue_as_new(self) -> None:
        # Input can arrive during any of the awaits below: loop until a pass finds nothing new
        # to write, so no accepted update's projection is left behind in this run.
        while True:
            await workflow.wait_condition(workflow.all_handlers_finished)
            await self._flush()
            # Let deliveries in flight finish so their results land in this run; a bureau that
            # is down does not hold the run back for long: its notices are carried over.
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: not self._deliveries,
                                              timeout=DELIVERY_DRAIN_BEFORE_CAN)
            if not self._dirty and workflow.all_handlers_finished():
                break
        self.s.runs += 1
        workflow.logger.info("continuing as new", extra={"project": self.s.plan.code,
                                                        "runs": self.s.runs})
        workflow.continue_as_new(StartProjectInput(
            plan=self.s.plan, policy=self.s.policy, clock=self.s.clock, state=self.s,
            search_attributes=self._search_attributes,
        ))

    # -----------------------------------------------------------------------------------------
    # Deadline events
    # -----------------------------------------------------------------------------------------

    def _process_due(self) -> None:
        s = self.s
        bnow = self._bnow()
        today = local_date(bnow)
        fired = False
        while (event := deadlines.next_due(s)) is not None and event.at <= bnow:
            self._handle(event, today, silent=s.watch_from is not None and event.at < s.watch_from)
            fired = True
        if fired:
            self._relight(today)
            self._changed()

    def _handle(self, event: DueEvent, today: date, silent: bool) -> None:
        s = self.s
        bnow = self._bnow()
        if event.kind in (DueKind.MILESTONE_REMINDER, DueKind.MILESTONE_DUE,
                          DueKind.MILESTONE_ESCALATION):
            assert event.step is not None and event.deadline is not None
            watch = s.milestone_watch.setdefault(event.step, MilestoneWatch())
            if event.kind is DueKind.MILESTONE_REMINDER:
                watch.reminded = True
                if not silent and today <= event.deadline:
                    self._notify(notices.milestone_reminder(s.plan, event.step, event.deadline, bnow))
                return
            escalated = event.kind is DueKind.MILESTONE_ESCALATION
            watch.missed = True
            watch.escalated = escalated
            if not silent:
                why = lights.milestone_explanation(event.step, event.deadline, today, escalated,
                                                   s.policy)
                self._notify(notices.milestone_missed(s.plan, event.step, event.deadline,
                                                      escalated, why, bnow))
            return
        assert event.month is not None
        if event.kind is DueKind.REPORT_REMINDER:
            s.report_watch.setdefault(event.month, ReportWatch()).reminded = True
            if not silent and event.deadline and today <= event.deadline:
                self._notify(notices.report_reminder(s.plan, event.month, event.deadline, bnow))
        elif event.kind is DueKind.REPORT_DUE:
            s.report_watch.setdefault(event.month, ReportWatch()).late = True
            if not silent and event.deadline:
                self._notify(notices.report_late(s.plan, event.month, event.deadline, bnow))
        elif event.kind is DueKind.PROGRESS_CHECK:
            s.progress_checked.append(event.month)
            previous = s.progress_explanation.light if s.progress_explanation else None
            s.progress_explanation = lights.progress_check(s.plan, s.reports, event.month, s.policy)
            current = s.progress_explanation.light
            if not silent and previous is not None and current != previous:
                self._notify(notices.progress_light(s.plan, s.progress_explanation, bnow))
            elif not silent and previous is None and current.value != "green":
                self._notify(notices.progress_light(s.plan, s.progress_explanation, bnow))
            self._relight(today)
            if s.light.value == "red" and event.month not in s.red_months:
                s.red_months.append(event.month)

    def _relight(self, today: date) -> None:
        s = self.s
        light, reasons = lights.evaluate(s, today)
        s.explanations = reasons
        if light == s.light:
            return
        change = LightChange(at=self._bnow(), light=light, previous=s.light, explanations=reasons)
        s.light = light
        s.light_history = [*s.light_history, change][-LIGHT_HISTORY_KEPT:]
        self._batch.light_changes.append(change)
        workflow.logger.info("light changed", extra={"project": s.plan.code,
                                                    "light": light.value,
                                                    "rules": [r.rule for r in reasons]})

    # -----------------------------------------------------------------------------------------
    # Read model, notices and search attributes
    # -----------------------------------------------------------------------------------------

    def _notify(self, notice: Notice) -> None:
        self._batch.notices.append(notice)

    async def _flush(self) -> None:
        if not self._dirty:
            return
        batch = self._batch
        batch.snapshot = self._snapshot()
        self._batch = ProjectionBatch(snapshot={})
        self._dirty = False
        # Regular activity for new runs: a local activity runs inside a workflow task, so when
        # that task never completes (worker killed, server restarted) its writes stay in
        # PostgreSQL while the retried task decides again at another time: doubled stage rows,
        # states and outbox notices history never had (tests/faults).
        if workflow.patched(PATCH_REGULAR_PROJECTION):
            await workflow.execute_activity(
                c.ACTIVITY_PROJECT, batch, start_to_close_timeout=timedelta(seconds=30),
                retry_policy=PROJECTION_RETRY,
            )
        elif workflow.patched(PATCH_LOCAL_PROJECTION):
            await self._project(batch)
        else:
            await workflow.execute_activity(
                c.ACTIVITY_PROJECT, batch, start_to_close_timeout=timedelta(seconds=30),
                retry_policy=PROJECTION_RETRY,
            )
        for notice in batch.notices:
            self.s.pending_notices.append(notice)
            self._deliver(notice)
        self._index()

    async def _project(self, batch: ProjectionBatch) -> None:
        """Write the batch in the same workflow task when PostgreSQL answers (a local activity:
        one task per update instead of two); if it does not, fall back to a regular activity
        that retries for as long as it takes while the project keeps accepting input."""
        try:
            await workflow.execute_local_activity(
                c.ACTIVITY_PROJECT, batch, start_to_close_timeout=timedelta(seconds=5),
                retry_policy=LOCAL_PROJECTION_RETRY,
            )
        except (ActivityError, ApplicationError):
            workflow.logger.warning("projection falls back to a regular activity",
                                    extra={"project": self.s.plan.code})
            await workflow.execute_activity(
                c.ACTIVITY_PROJECT, batch, start_to_close_timeout=timedelta(seconds=30),
                retry_policy=PROJECTION_RETRY,
            )

    def _deliver(self, notice: Notice) -> None:
        if notice.key in self._deliveries:
            return

        async def deliver() -> None:
            await workflow.execute_activity(
                c.ACTIVITY_DELIVER, notice, start_to_close_timeout=timedelta(seconds=30),
                retry_policy=DELIVERY_RETRY,
            )
            self.s.pending_notices = [n for n in self.s.pending_notices if n.key != notice.key]
            del self._deliveries[notice.key]

        self._deliveries[notice.key] = asyncio.create_task(deliver())

    def _index(self) -> None:
        if not self._search_attributes:
            return
        current = (self.s.stage.value, self.s.light.value)
        if current == self._indexed:
            return
        self._indexed = current
        workflow.upsert_search_attributes([
            c.SA_PROGRAM.value_set(self.s.plan.program),
            c.SA_BUREAU.value_set(self.s.plan.bureau),
            c.SA_STAGE.value_set(self.s.stage.value),
            c.SA_LIGHT.value_set(self.s.light.value),
        ])

    def _snapshot(self) -> dict[str, Any]:
        status = self._status()
        return {
            "code": status.code,
            "name_zh": status.name_zh,
            "program": status.program,
            "bureau": status.bureau,
            "kind": status.kind.value,
            "stage": status.stage.value,
            "status": status.status.value,
            "light": status.light.value,
            "explanations": [e.model_dump(mode="json") for e in status.explanations],
            "total_investment_wan": status.total_investment_wan,
            "planned_investment_to_date_wan": status.planned_investment_to_date_wan,
            "actual_investment_wan": status.actual_investment_wan,
            "physical_progress_pct": status.physical_progress_pct,
            "milestones": status.milestones,
            "open_issues": len(status.open_issues),
            "last_report_month": status.last_report.month if status.last_report else None,
            "red_months": list(self.s.red_months),
            "plan": self.s.plan.model_dump(mode="json"),
            "business_today": status.business_today.isoformat(),
            "version": self.s.version,
            "runs": self.s.runs,
        }

    def _status(self) -> ProjectStatus:
        s = self.s
        today = self._today()
        planned_pct = planned_fraction(s.plan, today)
        actual = actual_investment_wan(s.reports)
        last_month = max(s.reports) if s.reports else None
        return ProjectStatus(
            code=s.plan.code,
            name_zh=s.plan.name_zh,
            program=s.plan.program,
            bureau=s.plan.bureau,
            kind=s.plan.kind,
            stage=s.stage,
            status=s.status,
            status_reason=s.status_reason,
            light=s.light,
            explanations=s.explanations,
            milestones=[
                {
                    "step": m.step.value,
                    "name_zh": STEP_ZH[m.step],
                    "planned": m.planned.isoformat(),
                    "actual": s.steps_done[m.step].isoformat() if m.step in s.steps_done else None,
                    "missed": bool(s.milestone_watch.get(m.step) and
                                   s.milestone_watch[m.step].missed),
                }
                for m in s.plan.milestones
            ],
            planned_investment_to_date_wan=round(s.plan.total_investment_wan * planned_pct, 2),
            actual_investment_wan=round(actual, 2),
            total_investment_wan=s.plan.total_investment_wan,
            planned_progress_pct=round(100 * planned_pct, 1),
            actual_progress_pct=round(100 * actual / s.plan.total_investment_wan, 1)
            if s.plan.total_investment_wan else 0.0,
            physical_progress_pct=latest_physical_progress(s.reports),
            open_issues=list(s.open_issues.values()),
            last_report=s.reports[last_month] if last_month else None,
            business_today=today,
            version=s.version,
            runs=s.runs,
            baselines=len(s.baselines),
        )

    # -----------------------------------------------------------------------------------------
    # Idempotency and audit
    # -----------------------------------------------------------------------------------------

    def _result(self, message_zh: str = "", message_en: str = "") -> UpdateResult:
        return UpdateResult(project=self.s.plan.code, stage=self.s.stage, light=self.s.light,
                            status=self.s.status, message_zh=message_zh, message_en=message_en)

    def _seen(self, key: str) -> UpdateResult | None:
        seen = self.s.seen_keys.get(key)
        return seen.model_copy(update={"duplicate": True}) if seen else None

    def _accept(self, key: str, actor: str, bureau: str, action: str, before: dict[str, Any],
                result: UpdateResult, reason: str = "") -> UpdateResult:
        s = self.s
        s.seen_keys[key] = result
        if len(s.seen_keys) > SEEN_KEYS_KEPT:
            for old in list(s.seen_keys)[: len(s.seen_keys) - SEEN_KEYS_KEPT]:
                del s.seen_keys[old]
        self._batch.audit.append(AuditEntry(
            key=f"{s.plan.code}:{key}", at=self._bnow(), actor=actor or bureau, bureau=bureau,
            action=action, idempotency_key=key, accepted=True, before=before,
            after={"stage": s.stage.value, "light": s.light.value, "status": s.status.value},
            reason=reason,
        ))
        self._changed()
        return result

    def _before(self) -> dict[str, Any]:
        return {"stage": self.s.stage.value, "light": self.s.light.value,
                "status": self.s.status.value}

    # -----------------------------------------------------------------------------------------
    # Bureau updates
    # -----------------------------------------------------------------------------------------

    @workflow.update(name=c.UPDATE_TRANSITION)
    def transition_stage(self, data: StageTransitionInput) -> UpdateResult:
        if seen := self._seen(data.idempotency_key):
            return seen
        s = self.s
        before = self._before()
        on = data.on or self._today()
        s.steps_done[data.step] = on
        s.stage = stage_after(data.step)
        milestone = s.plan.milestone(data.step)
        change = StageChange(step=data.step, stage=s.stage, on=on, recorded_at=self._bnow(),
                             actor=data.actor or data.bureau, bureau=data.bureau, note=data.note,
                             planned=milestone.planned if milestone else None)
        s.stage_history.append(change)
        self._batch.stage_changes.append(change)
        if data.step is Step.CLOSED:
            s.status = RunStatus.CLOSED
        self._relight(self._today())
        return self._accept(
            data.idempotency_key, data.actor, data.bureau, f"transition:{data.step.value}", before,
            self._result(f"已记录「{STEP_ZH[data.step]}」，当前阶段：{STAGE_ZH[s.stage]}",
                         f"recorded '{data.step.value}'; stage is now '{s.stage.value}'"),
        )

    @transition_stage.validator
    def _validate_transition(self, data: StageTransitionInput) -> None:
        if data.idempotency_key in self.s.seen_keys:
            return
        try:
            validation.check_transition(self.s, data, self._today())
        except validation.InputRejected as err:
            raise _reject(err) from None

    @workflow.update(name=c.UPDATE_REPORT)
    def submit_report(self, data: ProgressReportInput) -> UpdateResult:
        if seen := self._seen(data.idempotency_key):
            return seen
        s = self.s
        before = self._before()
        bnow = self._bnow()
        previous = s.reports.get(data.month)
        due = day_in_month(data.month, s.policy.report_due_day)
        record = ReportRecord(
            month=data.month,
            investment_wan=data.investment_wan,
            cumulative_investment_wan=0.0,
            physical_progress_pct=data.physical_progress_pct,
            narrative=data.narrative,
            received_at=bnow,
            on_time=previous.on_time if previous else local_date(bnow) <= due,
            corrected=previous.corrected + 1 if previous else 0,
            actor=data.actor or data.bureau,
        )
        s.reports[data.month] = record
        record.cumulative_investment_wan = round(actual_investment_wan(s.reports, data.month), 2)
        for issue in data.issues_raised:
            s.open_issues[issue.id] = OpenIssue(id=issue.id, title=issue.title,
                                                raised_month=data.month)
        for issue_id in data.issues_resolved:
            s.open_issues.pop(issue_id, None)
        self._batch.reports.append(record)
        if s.progress_checked:
            # A report that arrives after the month's check re-evaluates it: back on the curve
            # turns the light green again without waiting a month.
            latest = max(s.progress_checked)
            s.progress_explanation = lights.progress_check(s.plan, s.reports, latest, s.policy)
        self._relight(self._today())
        action = "report_correction" if previous else "report"
        return self._accept(
            data.idempotency_key, data.actor, data.bureau, f"{action}:{data.month}", before,
            self._result(f"{data.month} 月报已接收" + ("（更正）" if previous else ""),
                         f"report for {data.month} accepted" + (" (correction)" if previous else "")),
        )

    @submit_report.validator
    def _validate_report(self, data: ProgressReportInput) -> None:
        if data.idempotency_key in self.s.seen_keys:
            return
        try:
            validation.check_report(self.s, data, self._today())
        except validation.InputRejected as err:
            raise _reject(err) from None

    # -----------------------------------------------------------------------------------------
    # Manager updates
    # -----------------------------------------------------------------------------------------

    @workflow.update(name=c.UPDATE_PLAN)
    def change_plan(self, data: PlanChangeInput) -> UpdateResult:
        if seen := self._seen(data.idempotency_key):
            return seen
        s = self.s
        before = self._before()
        s.baselines.append(s.plan)
        new_dates = {m.step: m.planned for m in data.milestones}
        milestones = [
            MilestonePlan(step=m.step, planned=new_dates.pop(m.step, m.planned))
            for m in s.plan.milestones
        ] + [MilestonePlan(step=step, planned=d) for step, d in new_dates.items()]
        changes: dict[str, Any] = {"milestones": milestones}
        if data.total_investment_wan is not None:
            changes["total_investment_wan"] = data.total_investment_wan
        if data.yearly_investment_wan is not None:
            changes["yearly_investment_wan"] = data.yearly_investment_wan
        if data.finish is not None:
            changes["finish"] = data.finish
        s.plan = s.plan.model_copy(update=changes)
        # Re-arm every deadline whose date moved: its reminder, miss and escalation fire anew.
        old = {m.step: m.planned for m in s.baselines[-1].milestones}
        for m in s.plan.milestones:
            if old.get(m.step) != m.planned:
                s.milestone_watch.pop(m.step, None)
        if s.progress_checked:
            s.progress_explanation = lights.progress_check(s.plan, s.reports,
                                                           max(s.progress_checked), s.policy)
        self._relight(self._today())
        return self._accept(data.idempotency_key, data.actor, s.plan.bureau, "plan_change",
                            before, self._result("计划已调整，节点期限已按新计划重新设定",
                                                 "plan changed; deadlines re-armed"),
                            reason=data.reason)

    @change_plan.validator
    def _validate_plan(self, data: PlanChangeInput) -> None:
        if data.idempotency_key in self.s.seen_keys:
            return
        try:
            validation.check_plan_change(self.s, data)
        except validation.InputRejected as err:
            raise _reject(err) from None

    def _control(self, data: RunControlInput, action: str, status: RunStatus) -> UpdateResult:
        if seen := self._seen(data.idempotency_key):
            return seen
        s = self.s
        before = self._before()
        s.status = status
        s.status_reason = data.reason
        if action == "resume":
            # Deadlines that fell due while suspended count, but are not announced one by one.
            s.watch_from = self._bnow()
        return self._accept(data.idempotency_key, data.actor, s.plan.bureau, action, before,
                            self._result(f"项目状态：{validation.STATUS_ZH[status]}",
                                         f"project is now {status.value}"), reason=data.reason)

    def _check_control(self, data: RunControlInput, allowed_from: tuple[RunStatus, ...],
                       need_reason: bool) -> None:
        if data.idempotency_key in self.s.seen_keys:
            return
        if self.s.status not in allowed_from:
            raise _reject(validation.InputRejected(
                f"project_{self.s.status.value}",
                f"项目当前{validation.STATUS_ZH[self.s.status]}，不能执行该操作",
                f"the project is {self.s.status.value}; this action is not possible",
            ))
        if need_reason and not data.reason.strip():
            raise _reject(validation.InputRejected(
                "reason_required", "请填写原因", "a reason is required"))

    @workflow.update(name=c.UPDATE_SUSPEND)
    def suspend(self, data: RunControlInput) -> UpdateResult:
        return self._control(data, "suspend", RunStatus.SUSPENDED)

    @suspend.validator
    def _validate_suspend(self, data: RunControlInput) -> None:
        self._check_control(data, (RunStatus.ACTIVE,), need_reason=True)

    @workflow.update(name=c.UPDATE_RESUME)
    def resume(self, data: RunControlInput) -> UpdateResult:
        return self._control(data, "resume", RunStatus.ACTIVE)

    @resume.validator
    def _validate_resume(self, data: RunControlInput) -> None:
        self._check_control(data, (RunStatus.SUSPENDED,), need_reason=False)

    @workflow.update(name=c.UPDATE_CANCEL)
    def cancel(self, data: RunControlInput) -> UpdateResult:
        return self._control(data, "cancel", RunStatus.CANCELLED)

    @cancel.validator
    def _validate_cancel(self, data: RunControlInput) -> None:
        self._check_control(data, (RunStatus.ACTIVE, RunStatus.SUSPENDED), need_reason=True)

    # -----------------------------------------------------------------------------------------
    # Clock (simulation) and queries
    # -----------------------------------------------------------------------------------------

    @workflow.signal(name=c.SIGNAL_CLOCK)
    def set_clock(self, data: ClockChangeInput) -> None:
        now = workflow.now()
        bnow = self._bnow()
        self.s.clock = data.clock.model_copy(update={"anchor_real": now, "anchor_business": bnow})
        self._wake = True

    @workflow.query(name=c.QUERY_STATUS)
    def status(self) -> ProjectStatus:
        return self._status()

    @workflow.query(name=c.QUERY_STATE)
    def state(self) -> ProjectState:
        return self.s
