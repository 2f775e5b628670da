"""The decisions of one project's lifecycle, without Temporal: 项目全周期的业务判断.

One file: the pure decision class of one workflow (`ProjectLifecycle`); its pure rules already live
in `rules/`, and splitting the book would scatter one state machine.

`ProjectLifecycle` (workflows/project_lifecycle.py) owns the durable parts — the timer, the
activities, the handlers, continue-as-new — and hands every decision to a `LifecycleBook`:
which deadline events are due and what they change, what an accepted report or transition does to
the state, the light, the audit trail and the next projection batch.

Why this lives outside the workflow module: the sandbox re-imports a workflow's module for every
run it starts, unmarshalling all of its code. Kept here (passed through, imported once per worker)
the logic costs nothing per open project; the workflow module stays a thin shell. The book only
reads time through the `now` it is given (`workflow.now` in a run), so it stays deterministic.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from guatu.core.clock import add_months, business_now, day_in_month, local_date, month_key
from guatu.lifecycle import notices
from guatu.lifecycle.casebook import remember
from guatu.lifecycle.models import (
    AuditEntry,
    ClockChangeInput,
    EvaluationRecordInput,
    IssueChange,
    Light,
    LightChange,
    MilestonePlan,
    MilestoneWatch,
    Notice,
    OpenIssue,
    PlanChangeInput,
    ProgrammeClock,
    ProgressReportInput,
    ProjectionBatch,
    ProjectKind,
    ProjectState,
    ProjectStatus,
    ReportRecord,
    ReportWatch,
    RunControlInput,
    RunStatus,
    Stage,
    StageChange,
    StageTransitionInput,
    Step,
    UpdateOutcome,
    UpdateResult,
)
from guatu.lifecycle.rules import deadlines, lights, validation
from guatu.lifecycle.rules.deadlines import DueEvent, DueKind
from guatu.lifecycle.rules.progress import (
    actual_investment_wan,
    latest_physical_progress,
    planned_fraction,
)
from guatu.lifecycle.rules.stages import STAGE_ZH, STEP_ZH, stage_after

SEEN_KEYS_KEPT = 500  # bounded: the keys travel in the continue-as-new input
# Write-through runs: an Update's rows are written by its door; the run projects them again (a
# door may have died before writing) with its own next projection, or as soon as this many
# rows wait, so that what it holds stays small.
PENDING_ROWS_FLUSHED = 16
# Bounded runs (patch lifecycle-bounded-state-2026-12): what the state keeps at most, so that the
# continue-as-new input stays far below Temporal's 2 MiB payload limit (bench/lifecycle_payload).
OPEN_ISSUES_KEPT = 200  # open issue ids (titles and resolved issues: PostgreSQL project_issues)
BASELINES_KEPT = 3  # the first plan and the last two replaced ones
RAW_KEY_LENGTH = 40  # longer idempotency keys are kept as a digest
LIGHT_HISTORY_KEPT = 24

# Which run statuses each control action may start from, and whether it needs a reason.
CONTROL_RULES: dict[str, tuple[RunStatus, tuple[RunStatus, ...], bool]] = {
    "suspend": (RunStatus.SUSPENDED, (RunStatus.ACTIVE,), True),
    "resume": (RunStatus.ACTIVE, (RunStatus.SUSPENDED,), False),
    "cancel": (RunStatus.CANCELLED, (RunStatus.ACTIVE, RunStatus.SUSPENDED), True),
}

Log = Callable[[str, dict[str, Any]], None]


class LifecycleBook:
    """One project's state and the rules that change it (the 台账 behind the wall chart).

    Every change goes into `batch` (what the read model and the bureaus must learn) and marks the
    book `dirty`; `take_batch` hands the batch over for projection. `wake` tells the run loop
    that something changed and the next deadline must be recomputed.

    With `write_through` (runs under patch `report-write-through-2026-12`), an Update's rows do
    not go into `batch`: `through` returns them with the Update's result, for the door to write
    at once, and keeps a copy in `pending` until the run's own next projection writes them again
    (idempotent), in case the door died between the Update and its write.
    """

    def __init__(self, state: ProjectState, now: Callable[[], datetime], log: Log) -> None:
        self.s = state
        self._now = now
        self._log = log
        self.wake = False
        self.dirty = False
        self.batch = ProjectionBatch(snapshot={})
        self.write_through = False
        self.pending = ProjectionBatch(snapshot={})
        # Bounded (patch lifecycle-bounded-state-2026-12): the state keeps what decisions need;
        # narratives, notes, explanations of past lights, issue titles and resolved issues go to
        # PostgreSQL with the projection and are dropped from the state.
        self.bounded = False

    # -- time ---------------------------------------------------------------------------------

    def bnow(self) -> datetime:
        return business_now(self.s.clock, self._now())

    def today(self) -> date:
        return local_date(self.bnow())

    def changed(self) -> None:
        self.s.version += 1
        self.s.updated_at = self.bnow()
        self.dirty = True
        self.wake = True

    def start(self, started_by: str, rules_revision: int = 0) -> None:
        """Begin a new lifecycle. `rules_revision` 1 (new runs): late data revises past months,
        the policy's 序时 basis and the back-fill window apply (0: as runs recorded before)."""
        s = self.s
        now = self._now()
        if s.clock.anchor_real is None and (s.clock.scale != 1.0 or s.clock.anchor_business):
            s.clock.anchor_real = now
            s.clock.anchor_business = s.clock.anchor_business or now
        bnow = self.bnow()
        s.started_at = bnow
        s.watch_from = bnow
        s.rules_revision = rules_revision
        if rules_revision:
            s.backfill_until = deadlines.backfill_until(local_date(bnow), s.policy)
        approved = StageChange(
            step=None,
            stage=Stage.APPROVED,
            on=s.plan.start,
            recorded_at=bnow,
            actor=started_by,
            bureau=s.plan.bureau,
            note="立项 approved",
        )
        s.stage_history.append(approved)
        self.batch.stage_changes.append(approved)
        self.changed()

    def upgrade(self) -> None:
        """Bring a state carried over from a run of older rules up to rules_revision 1: its past
        months are re-checked on today's rules (no back-fill window: it was loaded long ago)."""
        if self.s.rules_revision:
            return
        self.s.rules_revision = 1
        self.revise(self.today())
        self.relight(self.today())
        self.changed()

    def compact(self) -> bool:
        """Bounded runs: drop from a state carried over from an older run what decisions do not
        need, after handing the open issues' titles to the read model. True if anything went."""
        s = self.s
        dropped = False
        version = s.version + 1
        for issue in list(s.open_issues.values()):
            if issue.title:
                self.batch.issues.append(
                    IssueChange(
                        id=issue.id,
                        title=issue.title,
                        raised_month=issue.raised_month,
                        version=version,
                    )
                )
                s.open_issues[issue.id] = issue.model_copy(update={"title": ""})
                dropped = True
        latest = max(s.reports) if s.reports else None
        for month, record in list(s.reports.items()):
            if month != latest and record.narrative:
                s.reports[month] = record.model_copy(update={"narrative": ""})
                dropped = True
        if any(c.note for c in s.stage_history[1:]):
            s.stage_history = s.stage_history[:1] + [
                c.model_copy(update={"note": ""}) for c in s.stage_history[1:]
            ]
            dropped = True
        if any(c.explanations for c in s.light_history):
            s.light_history = [c.model_copy(update={"explanations": []}) for c in s.light_history]
            dropped = True
        while len(s.baselines) > BASELINES_KEPT:
            del s.baselines[1]
            s.baselines_dropped += 1
            dropped = True
        if dropped:
            self.changed()
        return dropped

    def set_clock(self, data: ClockChangeInput) -> None:
        now = self._now()
        bnow = self.bnow()
        if data.real_time:
            # Deadlines passed over on the way to today fire at the next wake, as a catch-up;
            # a few days the simulation ran ahead are not re-lived (what fired stays fired).
            self.s.clock = ProgrammeClock(scale=1.0)
        else:
            self.s.clock = data.clock.model_copy(
                update={"anchor_real": now, "anchor_business": bnow}
            )
        self.wake = True

    # -- deadline events ----------------------------------------------------------------------

    def next_due(self) -> DueEvent | None:
        return deadlines.next_due(self.s)

    def process_due(self) -> None:
        s = self.s
        bnow = self.bnow()
        today = local_date(bnow)
        fired = False
        while (event := deadlines.next_due(s)) is not None and event.at <= bnow:
            if event.kind is DueKind.BACKFILL_CLOSE:
                self._close_backfill(today)
            else:
                self._handle(
                    event, today, silent=s.watch_from is not None and event.at < s.watch_from
                )
            fired = True
        if fired:
            self.relight(today)
            self.changed()

    def _handle(self, event: DueEvent, today: date, silent: bool) -> None:
        s = self.s
        bnow = self.bnow()
        if event.kind in (
            DueKind.MILESTONE_REMINDER,
            DueKind.MILESTONE_DUE,
            DueKind.MILESTONE_ESCALATION,
        ):
            assert event.step is not None and event.deadline is not None
            watch = s.milestone_watch.setdefault(event.step, MilestoneWatch())
            if event.kind is DueKind.MILESTONE_REMINDER:
                watch.reminded = True
                if not silent and today <= event.deadline:
                    self._notify(
                        notices.milestone_reminder(s.plan, event.step, event.deadline, bnow)
                    )
                return
            escalated = event.kind is DueKind.MILESTONE_ESCALATION
            watch.missed = True
            watch.escalated = escalated
            if not silent:
                why = lights.milestone_explanation(
                    event.step, event.deadline, today, escalated, s.policy
                )
                self._notify(
                    notices.milestone_missed(
                        s.plan, event.step, event.deadline, escalated, why, bnow
                    )
                )
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
            if s.rules_revision:
                self.revise(today, only=event.month)
            else:
                s.progress_explanation = lights.progress_check(
                    s.plan, s.reports, event.month, s.policy
                )
            assert s.progress_explanation is not None
            current = s.progress_explanation.light
            if not silent and previous is not None and current != previous:
                self._notify(notices.progress_light(s.plan, s.progress_explanation, bnow))
            elif not silent and previous is None and current.value != "green":
                self._notify(notices.progress_light(s.plan, s.progress_explanation, bnow))
            self.relight(today)
            if not s.rules_revision and s.light.value == "red" and event.month not in s.red_months:
                s.red_months.append(event.month)

    def _close_backfill(self, today: date) -> None:
        """The back-fill window is over: what is still missing now counts, back to its month."""
        self.s.backfill_closed = True
        self.revise(today)

    def revise(self, today: date, since: str | None = None, only: str | None = None) -> None:
        """Re-check past months from what is known now (rules_revision ≥ 1): each checked month
        from `since` on (or just `only`), then the red months and the current 序时 explanation.

        Late data lands here: a back-dated report or transition, a plan change, the end of the
        back-fill window. Months already published in a ranking stay as published there (its
        snapshot is frozen); the read model gets the revised months for the next round.
        """
        s = self.s
        months = sorted(set(s.progress_checked))
        if not months:
            return
        for month in months:
            if (only is not None and month != only) or (since is not None and month < since):
                continue
            check, why = lights.month_check(s, month, today)
            s.month_checks[month] = check
            if month == months[-1]:
                s.progress_explanation = why
        s.red_months = sorted(m for m, c in s.month_checks.items() if c.light is Light.RED)

    def relight(self, today: date) -> None:
        s = self.s
        light, reasons = lights.evaluate(s, today)
        s.explanations = reasons
        if light == s.light:
            return
        change = LightChange(at=self.bnow(), light=light, previous=s.light, explanations=reasons)
        s.light = light
        kept = change.model_copy(update={"explanations": []}) if self.bounded else change
        s.light_history = [*s.light_history, kept][-LIGHT_HISTORY_KEPT:]
        self.batch.light_changes.append(change)
        self._log(
            "light changed",
            {"project": s.plan.code, "light": light.value, "rules": [r.rule for r in reasons]},
        )

    def _notify(self, notice: Notice) -> None:
        self.batch.notices.append(notice)

    # -- read model ---------------------------------------------------------------------------

    def take_batch(self, force: bool = False) -> ProjectionBatch | None:
        """The changes since the last call, with a fresh snapshot; None if nothing changed.

        Write-through: the Updates' rows still `pending` ride along whenever the run projects
        anyway, when `force`d (before continue-as-new, at the end) or once
        `PENDING_ROWS_FLUSHED` of them wait."""
        rows = _rows(self.pending)
        if rows and (self.dirty or force or rows >= PENDING_ROWS_FLUSHED):
            self.batch = _merged(self.pending, self.batch)
            self.pending = ProjectionBatch(snapshot={})
            self.dirty = True
        if not self.dirty:
            return None
        batch = self.batch
        batch.snapshot = self.snapshot()
        self.batch = ProjectionBatch(snapshot={})
        self.dirty = False
        return batch

    def has_pending(self) -> bool:
        return self.dirty or bool(_rows(self.pending))

    def through(self, handle: Callable[[], UpdateResult]) -> UpdateOutcome:
        """Run one Update's handler; with `write_through`, its rows travel with the result.

        A duplicate (a door retrying after a lost answer) gets every row still pending, so that
        the retry writes what the lost answer would have."""
        if not self.write_through:
            return UpdateOutcome.model_validate(handle().model_dump())
        # Deadlines that passed before this Update are decided first, as they happened: the
        # snapshot the door writes must not show a milestone missed that the run has not yet
        # marked (its timer may not have fired yet). Their rows and notices stay with the run.
        self.process_due()
        saved, dirty = self.batch, self.dirty
        self.batch, self.dirty = ProjectionBatch(snapshot={}), False
        try:
            result = handle()
        finally:
            own, self.batch = self.batch, saved
            changed, self.dirty = self.dirty, dirty
        if own.notices:  # the run delivers notices: they stay with it
            self.batch.notices.extend(own.notices)
            own.notices = []
            self.dirty = True
        if result.duplicate:
            projection: ProjectionBatch | None = self.pending_projection()
        elif changed:
            self.pending = _merged(self.pending, own)
            own.snapshot = self.snapshot()
            projection = own
        else:
            projection = None
        return UpdateOutcome.model_validate({**result.model_dump(), "projection": projection})

    def pending_projection(self) -> ProjectionBatch:
        """The current snapshot and every Update row the run has not projected itself yet:
        what a sweeper writes when the read model's version is behind (read-only)."""
        batch = _merged(self.pending, ProjectionBatch(snapshot={}))
        batch.snapshot = self.snapshot()
        return batch

    def snapshot(self) -> dict[str, Any]:
        status = self.status()
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

    def status(self) -> ProjectStatus:
        s = self.s
        today = self.today()
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
                    "missed": result == "missed",
                    "result": result,
                }
                for m in s.plan.milestones
                for result in (lights.milestone_result(s, m, today),)
            ],
            planned_investment_to_date_wan=round(s.plan.total_investment_wan * planned_pct, 2),
            actual_investment_wan=round(actual, 2),
            total_investment_wan=s.plan.total_investment_wan,
            planned_progress_pct=round(100 * planned_pct, 1),
            actual_progress_pct=round(100 * actual / s.plan.total_investment_wan, 1)
            if s.plan.total_investment_wan
            else 0.0,
            physical_progress_pct=latest_physical_progress(s.reports),
            open_issues=list(s.open_issues.values()),
            last_report=s.reports[last_month] if last_month else None,
            business_today=today,
            version=s.version,
            runs=s.runs,
            baselines=len(s.baselines) + s.baselines_dropped,
        )

    # -- idempotency and audit ----------------------------------------------------------------

    def _result(self, message_zh: str = "", message_en: str = "") -> UpdateResult:
        return UpdateResult(
            project=self.s.plan.code,
            stage=self.s.stage,
            light=self.s.light,
            status=self.s.status,
            message_zh=message_zh,
            message_en=message_en,
        )

    def known(self, key: str) -> bool:
        """Whether an input with idempotency key `key` was accepted (kept raw or as a digest)."""
        seen = self.s.seen_keys
        return key in seen or (len(key) > RAW_KEY_LENGTH and _digest(key) in seen)

    def seen(self, key: str) -> UpdateResult | None:
        """For an idempotency key already accepted: a duplicate answer carrying the project's
        stage, light and status NOW (not the first answer verbatim); nothing changes."""
        if not self.known(key):
            return None
        current = self._result(
            "该请求已处理过（幂等键重复），未做任何更改",
            "already applied (repeated idempotency key); nothing changed",
        )
        return current.model_copy(update={"duplicate": True})

    def _accept(
        self,
        key: str,
        actor: str,
        bureau: str,
        action: str,
        before: dict[str, Any],
        result: UpdateResult,
        reason: str = "",
    ) -> UpdateResult:
        s = self.s
        if self.bounded:  # only the key counts (`seen` answers with the state now)
            kept = key if len(key) <= RAW_KEY_LENGTH else _digest(key)
            blank = result.model_copy(update={"message_zh": "", "message_en": ""})
            remember(s.seen_keys, kept, blank, SEEN_KEYS_KEPT)
        else:
            remember(s.seen_keys, key, result, SEEN_KEYS_KEPT)
        self.batch.audit.append(
            AuditEntry(
                key=f"{s.plan.code}:{key}",
                at=self.bnow(),
                actor=actor or bureau,
                bureau=bureau,
                action=action,
                idempotency_key=key,
                accepted=True,
                before=before,
                after={"stage": s.stage.value, "light": s.light.value, "status": s.status.value},
                reason=reason,
            )
        )
        self.changed()
        return result

    def _before(self) -> dict[str, Any]:
        return {
            "stage": self.s.stage.value,
            "light": self.s.light.value,
            "status": self.s.status.value,
        }

    # -- bureau input (checks raise validation.InputRejected) ----------------------------------

    def check_transition(self, data: StageTransitionInput) -> None:
        if not self.known(data.idempotency_key):
            validation.check_transition(self.s, data, self.today())
            s = self.s
            if (
                s.evaluation_gate
                and data.step is Step.CLOSED
                and s.plan.kind is ProjectKind.SERVICE
                and not s.evaluations
            ):
                raise validation.InputRejected(
                    "evaluation_required",
                    "服务类项目须有第三方评估后才能结束「评估」阶段并关闭；请第三方评估机构先提交本项目的评估",
                    "a service project cannot close its evaluation stage without a third-party "
                    "evaluation; the evaluating agency must submit one first",
                )

    def check_evaluation(self, data: EvaluationRecordInput) -> None:
        """Nothing to refuse but a closed project: the evaluation itself was checked by its door."""
        if data.idempotency_key in self.s.seen_keys:
            return
        if self.s.status in (RunStatus.CANCELLED, RunStatus.CLOSED):
            raise validation.InputRejected(
                "project_finished",
                "项目已关闭或取消，评估已存档，无需记入项目",
                "the project is closed or cancelled; the evaluation is filed, not recorded on it",
            )

    def record_evaluation(self, data: EvaluationRecordInput) -> UpdateResult:
        if seen := self.seen(data.idempotency_key):
            return seen
        s = self.s
        before = self._before()
        if data.evaluation_id not in s.evaluations:
            s.evaluations.append(data.evaluation_id)
        return self._accept(
            data.idempotency_key,
            data.actor,
            s.plan.bureau,
            "evaluation:record",
            before,
            self._result(
                f"已记录第三方评估 {data.evaluation_id}（{data.score:.2f} 分）",
                f"third-party evaluation {data.evaluation_id} recorded ({data.score:.2f})",
            ),
            data.evaluation_id,
        )

    def transition(self, data: StageTransitionInput) -> UpdateResult:
        if seen := self.seen(data.idempotency_key):
            return seen
        s = self.s
        before = self._before()
        on = data.on or self.today()
        s.steps_done[data.step] = on
        s.stage = stage_after(data.step)
        milestone = s.plan.milestone(data.step)
        change = StageChange(
            step=data.step,
            stage=s.stage,
            on=on,
            recorded_at=self.bnow(),
            actor=data.actor or data.bureau,
            bureau=data.bureau,
            note=data.note,
            planned=milestone.planned if milestone else None,
        )
        s.stage_history.append(change.model_copy(update={"note": ""}) if self.bounded else change)
        self.batch.stage_changes.append(change)
        if data.step is Step.CLOSED:
            s.status = RunStatus.CLOSED
        if s.rules_revision:
            # A step back-dated before some month's check changes that month's milestones.
            self.revise(self.today(), since=month_key(add_months(on, -1)))
        self.relight(self.today())
        return self._accept(
            data.idempotency_key,
            data.actor,
            data.bureau,
            f"transition:{data.step.value}",
            before,
            self._result(
                f"已记录「{STEP_ZH[data.step]}」，当前阶段：{STAGE_ZH[s.stage]}",
                f"recorded '{data.step.value}'; stage is now '{s.stage.value}'",
            ),
        )

    def check_report(self, data: ProgressReportInput) -> None:
        if self.known(data.idempotency_key):
            return
        validation.check_report(self.s, data, self.today())
        if self.bounded:
            after = (set(self.s.open_issues) | {i.id for i in data.issues_raised}) - set(
                data.issues_resolved
            )
            if len(after) > OPEN_ISSUES_KEPT:
                raise validation.InputRejected(
                    "too_many_open_issues",
                    f"未销号问题将达 {len(after)} 个，超过上限 {OPEN_ISSUES_KEPT} 个；"
                    "请先销号已解决的问题，再报新问题",
                    f"{len(after)} open issues would exceed the limit of {OPEN_ISSUES_KEPT}; "
                    "resolve the ones that are solved before raising new ones",
                )

    def report(self, data: ProgressReportInput) -> UpdateResult:
        if seen := self.seen(data.idempotency_key):
            return seen
        s = self.s
        before = self._before()
        bnow = self.bnow()
        previous = s.reports.get(data.month)
        due = day_in_month(data.month, s.policy.report_due_day)
        # Back-filled inside the window for a month due before loading: it could not have come
        # earlier, so it counts as on time.
        backfilled = (
            lights.backfill_open(s, self.today())
            and s.started_at is not None
            and due < local_date(s.started_at)
        )
        record = ReportRecord(
            month=data.month,
            investment_wan=data.investment_wan,
            cumulative_investment_wan=0.0,
            physical_progress_pct=data.physical_progress_pct,
            narrative=data.narrative,
            received_at=bnow,
            on_time=previous.on_time if previous else (local_date(bnow) <= due or backfilled),
            corrected=previous.corrected + 1 if previous else 0,
            actor=data.actor or data.bureau,
        )
        s.reports[data.month] = record
        record.cumulative_investment_wan = round(actual_investment_wan(s.reports, data.month), 2)
        version = s.version + 1  # the version this report makes (`_accept`)
        for issue in data.issues_raised:
            s.open_issues[issue.id] = OpenIssue(
                id=issue.id, title="" if self.bounded else issue.title, raised_month=data.month
            )
            if self.bounded:
                self.batch.issues.append(
                    IssueChange(
                        id=issue.id, title=issue.title, raised_month=data.month, version=version
                    )
                )
        for issue_id in data.issues_resolved:
            resolved = s.open_issues.pop(issue_id, None)
            if self.bounded and resolved is not None:
                self.batch.issues.append(
                    IssueChange(
                        id=issue_id,
                        raised_month=resolved.raised_month,
                        resolved_month=data.month,
                        version=version,
                    )
                )
        self.batch.reports.append(record)
        if self.bounded:  # the latest narrative stays for the live status; the rest: PostgreSQL
            latest = max(s.reports)
            for month, kept in list(s.reports.items()):
                if month != latest and kept.narrative:
                    s.reports[month] = kept.model_copy(update={"narrative": ""})
        if s.rules_revision:
            self.revise(self.today(), since=data.month)
        elif s.progress_checked:
            # A report that arrives after the month's check re-evaluates it: back on the curve
            # turns the light green again without waiting a month.
            latest = max(s.progress_checked)
            s.progress_explanation = lights.progress_check(s.plan, s.reports, latest, s.policy)
        self.relight(self.today())
        action = "report_correction" if previous else "report"
        return self._accept(
            data.idempotency_key,
            data.actor,
            data.bureau,
            f"{action}:{data.month}",
            before,
            self._result(
                f"{data.month} 月报已接收" + ("（更正）" if previous else ""),
                f"report for {data.month} accepted" + (" (correction)" if previous else ""),
            ),
        )

    # -- manager input ------------------------------------------------------------------------

    def check_plan_change(self, data: PlanChangeInput) -> None:
        if not self.known(data.idempotency_key):
            validation.check_plan_change(self.s, data)

    def plan_change(self, data: PlanChangeInput) -> UpdateResult:
        if seen := self.seen(data.idempotency_key):
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
        if self.bounded and len(s.baselines) > BASELINES_KEPT:
            del s.baselines[1]  # the first (the approved plan) and the latest ones stay
            s.baselines_dropped += 1
        if s.rules_revision:
            self.revise(self.today())
        elif s.progress_checked:
            s.progress_explanation = lights.progress_check(
                s.plan, s.reports, max(s.progress_checked), s.policy
            )
        self.relight(self.today())
        return self._accept(
            data.idempotency_key,
            data.actor,
            s.plan.bureau,
            "plan_change",
            before,
            self._result(
                "计划已调整，节点期限已按新计划重新设定", "plan changed; deadlines re-armed"
            ),
            reason=data.reason,
        )

    def check_control(self, action: str, data: RunControlInput) -> None:
        """suspend / resume / cancel: allowed only from some run statuses, some need a reason."""
        if self.known(data.idempotency_key):
            return
        _, allowed_from, need_reason = CONTROL_RULES[action]
        if self.s.status not in allowed_from:
            raise validation.InputRejected(
                f"project_{self.s.status.value}",
                f"项目当前{validation.STATUS_ZH[self.s.status]}，不能执行该操作",
                f"the project is {self.s.status.value}; this action is not possible",
            )
        if need_reason and not data.reason.strip():
            raise validation.InputRejected("reason_required", "请填写原因", "a reason is required")

    def control(self, action: str, data: RunControlInput) -> UpdateResult:
        if seen := self.seen(data.idempotency_key):
            return seen
        s = self.s
        status = CONTROL_RULES[action][0]
        before = self._before()
        s.status = status
        s.status_reason = data.reason
        if action == "resume":
            # Deadlines that fell due while suspended count, but are not announced one by one.
            s.watch_from = self.bnow()
        return self._accept(
            data.idempotency_key,
            data.actor,
            s.plan.bureau,
            action,
            before,
            self._result(
                f"项目状态：{validation.STATUS_ZH[status]}", f"project is now {status.value}"
            ),
            reason=data.reason,
        )


def _rows(batch: ProjectionBatch) -> int:
    return (
        len(batch.stage_changes)
        + len(batch.reports)
        + len(batch.light_changes)
        + len(batch.audit)
        + len(batch.notices)
    )


def _merged(first: ProjectionBatch, then: ProjectionBatch) -> ProjectionBatch:
    """One batch with the rows of `first` then those of `then` (the snapshot of `then`)."""
    return ProjectionBatch(
        snapshot=then.snapshot,
        stage_changes=[*first.stage_changes, *then.stage_changes],
        reports=[*first.reports, *then.reports],
        light_changes=[*first.light_changes, *then.light_changes],
        audit=[*first.audit, *then.audit],
        notices=[*first.notices, *then.notices],
    )


def _digest(key: str) -> str:
    return "#" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
