"""BureauLadder: one long-running workflow per bureau holding its reward/penalty standing.

Messages
- Update `record_period` (from RankingRound, idempotent per rule set + period): applies one
  period's outcome with the pure `guatu.ranking.rules.ladder_step` — black list 1st → 通报,
  2nd consecutive → 约谈, 3rd → 督办 with a correction plan due in N days; off the black list →
  one rung down; red list → 通报表扬, 2 running → recommended for award; a project red 2 months
  running → 督办单 with a correction deadline.
- Update `grant_exemption`: an authorised leader exempts the bureau from one period's black
  list for force majeure, with a reason; validated and audited.
- Update `submit_correction_plan`: the bureau answers a 督办 or 督办单 before its deadline.
- Query `standing`: the ladder levels, open orders and exemptions.
- `record_period` of revision N > 1 of a round (a refreeze) decides the track's last period
  again from the standing before it: decisions the revision still supports stand untouched,
  new ones are made, and those it no longer supports are withdrawn once (撤销, audited, their
  orders withdrawn or reopened), each as a 更正通报. A revision of an earlier period than the
  track's last is refused: the periods decided since stand on what was published then.

Correction-plan deadlines are durable timers: the run keeps one timer armed for the earliest
open order and escalates (督办升级) an order whose plan is overdue, once. Every decision is
written to PostgreSQL with its explanation and rule version, and becomes notices (bureau and
leaders' office) delivered through the outbox, exactly once per decision key. State is carried
whole across continue-as-new.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date, datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from guatu.core import constants as c
    from guatu.core.clock import business_now, local_date, local_start, real_delay
    from guatu.core.delivery import PERSIST_RETRY, deliver
    from guatu.core.validator_guard import guarded
    from guatu.lifecycle.models import AuditEntry, Notice
    from guatu.lifecycle.rules.validation import InputRejected
    from guatu.ranking.models import (
        ACTION_ZH,
        ActionKind,
        CorrectionPlanInput,
        CorrectionPlanResult,
        DecisionRef,
        Exemption,
        ExemptionInput,
        ExemptionResult,
        LadderAction,
        LadderBatch,
        LadderDecision,
        LadderInput,
        LadderStanding,
        LadderState,
        OrderStatus,
        PeriodRecord,
        RecordPeriodInput,
        RecordPeriodResult,
        SupervisionOrder,
        TrackState,
    )
    from guatu.ranking.notices import decision_notices
    from guatu.ranking.periods import PeriodError, parse_period
    from guatu.ranking.rules import ladder_step, orders_to_forget, standing_of, track_key
    from guatu.workdays import default_calendar

    default_calendar()  # built here, outside the sandbox: a run only reads the cached calendar

# Before continuing as new, overdue correction plans are escalated while deliveries drain
# (histories before it: the run waited for its deliveries first).
PATCH_ESCALATE_WHILE_DRAINING = "ladder-escalate-while-draining"
SEEN_KEPT = 150
CLOSED_ORDERS_KEPT = 50
# A superseding revision of a period (made and withdrawn decisions) — new histories only.
PATCH_REVISIONS = "ladder-round-revisions"
# Withdrawn orders are forgotten at continue-as-new with the closed ones (histories before it
# carried every withdrawn order over).
PATCH_FORGET_WITHDRAWN = "ladder-forget-withdrawn-orders"
# A correction plan due in working days (`LadderRules.correction_plan_unit` /
# `project_correction_unit` = "working") is counted on the working-day calendar, with the
# explanation in the decision; calendar days stay plain date arithmetic, as before.
PATCH_WORKING_DAYS = "ladder-working-days-2026-12"


def _record_key(ruleset_id: str, period: str, revision: int) -> str:
    key = f"record:{ruleset_id}:{period}"
    return key if revision <= 1 else f"{key}:r{revision}"


def _reject(code: str, zh: str, en: str) -> ApplicationError:
    return InputRejected(code, zh, en).as_application_error()


@workflow.defn(name=c.LADDER_WORKFLOW)
class BureauLadder:
    @workflow.init
    def __init__(self, input: LadderInput) -> None:
        self.s: LadderState = input.state or LadderState(
            bureau=input.bureau,
            name_zh=input.name_zh,
            exemption_rules=input.exemption_rules,
            clock=input.clock,
            continue_as_new_events=input.continue_as_new_events,
        )
        if input.state is None:
            # Anchored here, not in `run`: the round that starts a ladder sends its first
            # `record_period` at once, and that update can be handled before `run` begins; its
            # decisions and order deadlines must already be on the programme clock.
            clock = self.s.clock
            if clock.anchor_real is None and (clock.scale != 1.0 or clock.anchor_business):
                now = workflow.now()
                clock.anchor_real = now
                clock.anchor_business = clock.anchor_business or now
        self._lock = asyncio.Lock()
        self._wake = False
        self._dirty = False
        self._batch = self._new_batch()
        self._deliveries: dict[str, asyncio.Task[None]] = {}
        self._persisted = 0

    # -----------------------------------------------------------------------------------------
    # Main loop: deadlines of open orders, persistence, continue-as-new
    # -----------------------------------------------------------------------------------------

    @workflow.run
    async def run(self, input: LadderInput) -> None:
        s = self.s
        if input.state is None:
            s.started_at = self._bnow()
            self._changed()
        for notice in list(s.pending_notices):
            self._deliver(notice)
        while True:
            self._wake = False
            self._escalate_overdue()
            await self._flush()
            if self._continue_as_new_due():
                await self._continue_as_new()
            due = self._next_due()
            timeout = real_delay(s.clock, workflow.now(), due) if due else None
            if timeout is not None and timeout <= timedelta(0):
                continue
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._wake, timeout=timeout, timeout_summary="correction plan deadline"
                )

    def _bnow(self) -> datetime:
        return business_now(self.s.clock, workflow.now())

    def _today(self) -> date:
        return local_date(self._bnow())

    def _changed(self) -> None:
        self.s.version += 1
        self.s.updated_at = self._bnow()
        self._dirty = True
        self._wake = True

    def _new_batch(self) -> LadderBatch:
        return LadderBatch(bureau=self.s.bureau, version=0, state={})

    def _continue_as_new_due(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > self.s.continue_as_new_events
        )

    async def _continue_as_new(self) -> None:
        while True:
            await workflow.wait_condition(workflow.all_handlers_finished)
            await self._flush()
            await self._drain_deliveries()
            # An update may have arrived while we were waiting: finish it in this run.
            if workflow.all_handlers_finished() and not self._dirty:
                break
        s = self.s
        kept = list(s.orders.values())
        if not workflow.patched(PATCH_FORGET_WITHDRAWN):
            kept = [o for o in kept if o.status is OrderStatus.CLOSED]
        for order_id in orders_to_forget(kept, CLOSED_ORDERS_KEPT):
            del s.orders[order_id]
        s.runs += 1
        workflow.logger.info("ladder continuing as new", extra={"bureau": s.bureau, "runs": s.runs})
        workflow.continue_as_new(LadderInput(bureau=s.bureau, state=s))

    async def _drain_deliveries(self) -> None:
        """Deliveries in flight finish in this run (they are bounded, see guatu.core.delivery), and
        correction plans falling overdue meanwhile are escalated on time. The wait's timer only
        wakes the run for a deadline; activities in flight are never abandoned. A run whose
        history keeps growing moves on, and its undelivered notices are carried over."""

        def drained() -> bool:
            return (
                not self._deliveries
                or workflow.info().get_current_history_length() > 4 * self.s.continue_as_new_events
            )

        if not workflow.patched(PATCH_ESCALATE_WHILE_DRAINING):
            await workflow.wait_condition(drained)
            return
        while not drained():
            due = self._next_due()
            timeout = real_delay(self.s.clock, workflow.now(), due) if due else None
            if timeout is None or timeout > timedelta(0):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        drained, timeout=timeout, timeout_summary="correction plan deadline"
                    )
            self._escalate_overdue()
            if self._dirty:
                return  # written (and its notices started) by the caller's next pass

    def _next_due(self) -> datetime | None:
        dues = [
            local_start(o.due + timedelta(days=1))
            for o in self.s.orders.values()
            if o.status is OrderStatus.OPEN
        ]
        return min(dues, default=None)

    def _escalate_overdue(self) -> None:
        bnow = self._bnow()
        for order in sorted(self.s.orders.values(), key=lambda o: o.id):
            if (
                order.status is not OrderStatus.OPEN
                or local_start(order.due + timedelta(days=1)) > bnow
            ):
                continue
            order.status = OrderStatus.ESCALATED
            order.escalated_at = bnow
            what = (
                f"项目「{order.project_name}」（{order.project}）督办单"
                if order.project
                else "督办事项"
            )
            decision = LadderDecision(
                key=f"ladder:{self.s.bureau}:order:{order.id}:escalated",
                bureau=self.s.bureau,
                period=order.period,
                ruleset_id=order.ruleset_id,
                ruleset_version=order.ruleset_version,
                track=order.track,
                kind=ActionKind.ESCALATION,
                level_before=self._level(order.track),
                level_after=self._level(order.track),
                project=order.project,
                order_id=order.id,
                deadline=order.due,
                lines_zh=[
                    f"{what}（{order.period}）要求于 {order.due.isoformat()} 前报送整改方案，逾期未报",
                    "升级由区领导督办，并抄送区幸福办",
                ],
                lines_en=[
                    f"correction plan of order {order.id} was due on {order.due.isoformat()} "
                    "and is overdue",
                    "escalated to a district leader",
                ],
                inputs={"order": order.model_dump(mode="json")},
                decided_at=bnow,
            )
            self._record_decision(decision, notify_office=True)
            self._batch.orders.append(order)
            self._changed()

    def _level(self, track: str) -> int:
        t = self.s.tracks.get(track)
        return t.level if t else 0

    # -----------------------------------------------------------------------------------------
    # Persistence and notices
    # -----------------------------------------------------------------------------------------

    def _record_decision(self, decision: LadderDecision, notify_office: bool) -> None:
        self.s.decisions += 1
        self._batch.decisions.append(decision)
        self._batch.notices.extend(
            decision_notices(
                decision, self.s.name_zh or self.s.bureau, decision.decided_at, notify_office
            )
        )

    async def _flush(self) -> None:
        async with self._lock:
            if not self._dirty:
                return
            batch = self._batch
            self._batch = self._new_batch()
            self._dirty = False
            batch.version = self.s.version
            batch.state = self.s.model_dump(mode="json", exclude={"pending_notices"})
            await workflow.execute_activity(
                c.ACTIVITY_LADDER_PERSIST,
                batch,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=PERSIST_RETRY,
            )
            self._persisted = max(self._persisted, batch.version)
            for notice in batch.notices:
                self.s.pending_notices.append(notice)
                self._deliver(notice)

    async def _persist(self) -> None:
        """Write what this handler changed; return only once it is in PostgreSQL (the main
        loop may have taken the batch already and still be writing it)."""
        target = self.s.version
        await self._flush()
        await workflow.wait_condition(lambda: self._persisted >= target)

    def _deliver(self, notice: Notice) -> None:
        if notice.key in self._deliveries:
            return

        async def send() -> None:
            # Bounded: a notice that finally fails stays in the outbox as failed (redeliverable)
            # and is not carried into the next run.
            await deliver(notice)
            self.s.pending_notices = [n for n in self.s.pending_notices if n.key != notice.key]
            del self._deliveries[notice.key]

        self._deliveries[notice.key] = asyncio.create_task(send())

    def _audit(
        self,
        key: str,
        actor: str,
        action: str,
        idempotency_key: str,
        before: dict[str, object],
        after: dict[str, object],
        reason: str,
    ) -> None:
        self._batch.audit.append(
            AuditEntry(
                key=f"ladder:{self.s.bureau}:{key}",
                at=self._bnow(),
                actor=actor,
                bureau=self.s.bureau,
                action=action,
                idempotency_key=idempotency_key,
                accepted=True,
                before=before,
                after=after,
                reason=reason,
            )
        )

    def _remember(self, key: str, result: dict[str, object]) -> None:
        seen = self.s.seen
        seen[key] = result
        if len(seen) > SEEN_KEPT:
            for old in list(seen)[: len(seen) - SEEN_KEPT]:
                del seen[old]

    # -----------------------------------------------------------------------------------------
    # record_period
    # -----------------------------------------------------------------------------------------

    @workflow.update(name=c.UPDATE_RECORD_PERIOD)
    async def record_period(self, data: RecordPeriodInput) -> RecordPeriodResult:
        o = data.outcome
        key = _record_key(o.ruleset_id, o.period, data.revision)
        if key in self.s.seen:
            return RecordPeriodResult.model_validate(self.s.seen[key]).model_copy(
                update={"duplicate": True}
            )
        if self._supersedes(data):
            result = self._apply_revision(data, key)
        else:
            result = self._apply_record(data, key)
        await self._persist()
        return result

    def _supersedes(self, data: RecordPeriodInput) -> bool:
        """Whether `data` is a revision of the period this track recorded last."""
        o = data.outcome
        tk = track_key(o.ruleset_id, o.kind)
        track = self.s.tracks.get(tk)
        return (
            data.revision > 1
            and track is not None
            and track.last_period == o.period
            and tk in self.s.last_records
            and self.s.last_records[tk].period == o.period
        )

    @record_period.validator
    @guarded
    def _validate_record(self, data: RecordPeriodInput) -> None:
        o = data.outcome
        if _record_key(o.ruleset_id, o.period, data.revision) in self.s.seen:
            return
        if o.bureau == self.s.bureau and self._supersedes(data):
            return
        if o.bureau != self.s.bureau:
            raise _reject(
                "wrong_bureau",
                f"排名结果属于 {o.bureau}，不是 {self.s.bureau}",
                f"outcome is for {o.bureau}, this ladder is {self.s.bureau}",
            )
        try:
            period = parse_period(o.period)
        except PeriodError as err:
            raise _reject("bad_period", str(err).split(" / ")[0], str(err)) from None
        if period.kind.value != o.kind:
            raise _reject(
                "bad_period", f"期间 {o.period} 不是{o.kind}", f"{o.period} is not a {o.kind}"
            )
        track = self.s.tracks.get(track_key(o.ruleset_id, o.kind))
        if (
            data.revision > 1
            and track
            and track.last_period
            and parse_period(track.last_period).start >= period.start
        ):
            raise _reject(
                "revision_not_last_period",
                f"{o.period} 第 {data.revision} 版不能改变督办台账：本台账最近记录的是 "
                f"{track.last_period}，此后的决定以当时发布的结果为准",
                f"revision {data.revision} of {o.period} cannot change this ladder: its last "
                f"recorded period is {track.last_period} (or it predates revisions)",
            )
        if track and track.last_period and parse_period(track.last_period).start >= period.start:
            raise _reject(
                "period_out_of_order",
                f"{o.period} 不晚于已记录的 {track.last_period}，不能倒序记录",
                f"{o.period} is not after {track.last_period}, already recorded on this ladder",
            )

    def _apply_record(self, data: RecordPeriodInput, key: str) -> RecordPeriodResult:
        s = self.s
        o = data.outcome
        tk = track_key(o.ruleset_id, o.kind)
        track = s.tracks.get(tk) or TrackState(ruleset_id=o.ruleset_id, kind=o.kind)
        open_projects = {
            order.project
            for order in s.orders.values()
            if order.track == tk
            and order.kind is ActionKind.PROJECT_SUPERVISION
            and not order.status.finished
            and order.project
        }
        exemption = s.exemptions.get(o.period)
        step = ladder_step(
            track,
            o,
            data.ladder,
            open_projects,
            exempted_by_ladder=exemption.reason if exemption else None,
        )
        s.tracks[tk] = step.track
        if data.exemption is not None:
            s.exemption_rules = data.exemption
        if s.name_zh == "" and o.name_zh:
            s.name_zh = o.name_zh
        statuses = {order.id: order.status for order in s.orders.values()}
        decisions = [self._decide(action, data, tk) for action in step.actions]
        # What a revision of this period needs: the track before it and what it decided.
        s.last_records[tk] = PeriodRecord(
            period=o.period,
            revision=data.revision,
            before=track.model_copy(deep=True),
            open_projects=sorted(open_projects),
            decisions=[self._ref(d, statuses) for d in decisions],
        )
        history = step.track.history[-1]
        result = RecordPeriodResult(
            bureau=s.bureau,
            period=o.period,
            ruleset_id=o.ruleset_id,
            track=tk,
            level_before=history.level_before,
            level_after=history.level_after,
            exempted=history.exempted,
            decisions=decisions,
            revision=data.revision,
        )
        self._remember(key, result.model_dump(mode="json"))
        self._changed()
        return result

    @staticmethod
    def _ref(d: LadderDecision, statuses: dict[str, OrderStatus]) -> DecisionRef:
        return DecisionRef(
            key=d.key,
            kind=d.kind,
            project=d.project,
            order_id=d.order_id,
            order_status_before=statuses.get(d.order_id or "")
            if d.kind is ActionKind.ORDER_CLOSED
            else None,
        )

    def _apply_revision(self, data: RecordPeriodInput, key: str) -> RecordPeriodResult:
        """Decide the track's last period again under revision N of its round: keep what the
        revision still supports, make what is new, withdraw what it no longer supports."""
        workflow.patched(PATCH_REVISIONS)
        s = self.s
        o = data.outcome
        tk = track_key(o.ruleset_id, o.kind)
        record = s.last_records[tk]
        exemption = s.exemptions.get(o.period)
        step = ladder_step(
            record.before,
            o,
            data.ladder,
            set(record.open_projects),
            exempted_by_ladder=exemption.reason if exemption else None,
        )
        s.tracks[tk] = step.track
        old = {(d.kind, d.project): d for d in record.decisions}
        new = {(a.kind, a.project): a for a in step.actions}
        withdrawn = [self._withdraw(ref, data, tk) for k, ref in old.items() if k not in new]
        statuses = {order.id: order.status for order in s.orders.values()}
        made = [self._decide(a, data, tk) for k, a in new.items() if k not in old]
        s.last_records[tk] = record.model_copy(
            update={
                "revision": data.revision,
                "decisions": [ref for k, ref in old.items() if k in new]
                + [self._ref(d, statuses) for d in made],
            }
        )
        history = step.track.history[-1]
        result = RecordPeriodResult(
            bureau=s.bureau,
            period=o.period,
            ruleset_id=o.ruleset_id,
            track=tk,
            level_before=history.level_before,
            level_after=history.level_after,
            exempted=history.exempted,
            decisions=made,
            revision=data.revision,
            withdrawn=[d.key for d in withdrawn],
        )
        self._remember(key, result.model_dump(mode="json"))
        self._changed()
        return result

    def _withdraw(self, ref: DecisionRef, data: RecordPeriodInput, tk: str) -> LadderDecision:
        """Withdraw one decision a revision no longer supports: its order is withdrawn (a 督办
        or 督办单 it issued) or reopened (one it closed); audited, and told as a 更正通报."""
        s = self.s
        o = data.outcome
        bnow = self._bnow()
        label = parse_period(o.period).label_zh
        what = ACTION_ZH[ref.kind] + (f"（项目 {ref.project}）" if ref.project else "")
        lines_zh = [f"撤销{label}「{what}」决定（原决定编号 {ref.key}）"]
        lines_en = [f"decision {ref.key} ({ref.kind.value}) of {o.period} is withdrawn"]
        order = s.orders.get(ref.order_id or "")
        if order is not None:
            before = order.status
            if ref.kind in (ActionKind.SUPERVISION, ActionKind.PROJECT_SUPERVISION):
                order.status = OrderStatus.WITHDRAWN
                order.closed_at = bnow
                lines_zh.append(f"督办事项 {order.id} 随之撤销，无需报送整改方案")
                lines_en.append(f"order {order.id} is withdrawn: no correction plan is due")
            elif ref.kind is ActionKind.ORDER_CLOSED and ref.order_status_before is not None:
                order.status = ref.order_status_before
                order.closed_at = None
                lines_zh.append(f"督办单 {order.id} 恢复，继续整改（期限 {order.due.isoformat()}）")
                lines_en.append(f"order {order.id} is open again (due {order.due.isoformat()})")
            if order.status is not before:
                self._batch.orders.append(order)
        decision = LadderDecision(
            key=f"{ref.key}:withdrawn",
            bureau=s.bureau,
            period=o.period,
            ruleset_id=o.ruleset_id,
            ruleset_version=o.ruleset_version,
            track=tk,
            kind=ActionKind.WITHDRAWN,
            level_before=self._level(tk),
            level_after=self._level(tk),
            project=ref.project,
            order_id=ref.order_id,
            lines_zh=lines_zh,
            lines_en=lines_en,
            inputs={
                "revision": data.revision,
                "reason": data.reason,
                "actor": data.actor,
                "withdraws": ref.key,
                "withdraws_kind": ref.kind.value,
            },
            decided_at=bnow,
        )
        self._record_decision(decision, data.notify_office)
        self._audit(
            f"withdraw:{ref.key}",
            data.actor or "ranking",
            f"ladder_withdraw:{o.period}",
            _record_key(o.ruleset_id, o.period, data.revision),
            {"decision": ref.key, "kind": ref.kind.value},
            {"withdrawn": True, "revision": data.revision},
            data.reason,
        )
        return decision

    def _decide(self, action: LadderAction, data: RecordPeriodInput, tk: str) -> LadderDecision:
        s = self.s
        o = data.outcome
        bnow = self._bnow()
        # A revision's decisions have keys (and orders IDs) of their own: one decision, one key.
        head = f"{o.period}:r{data.revision}" if data.revision > 1 else o.period
        key = f"ladder:{s.bureau}:{o.ruleset_id}:{head}:{action.kind.value}"
        if action.project:
            key += f":{action.project}"
        lines_zh, lines_en = list(action.lines_zh), list(action.lines_en)
        deadline: date | None = None
        order_id: str | None = None
        if action.kind in (ActionKind.SUPERVISION, ActionKind.PROJECT_SUPERVISION):
            days = action.due_days or 0
            unit = (
                data.ladder.project_correction_unit
                if action.kind is ActionKind.PROJECT_SUPERVISION
                else data.ladder.correction_plan_unit
            )
            if unit == "working" and workflow.patched(PATCH_WORKING_DAYS):
                cal = default_calendar()
                deadline = cal.add(self._today(), days, "working")
                why_zh, _, why_en = cal.explain(self._today(), days, "working").partition(" / ")
                lines_zh.append(f"期限计算：{why_zh}")
                lines_en.append(f"deadline: {why_en}")
            else:
                deadline = self._today() + timedelta(days=days)
            suffix = f"project:{action.project}" if action.project else "supervision"
            order_id = f"{s.bureau}:{o.ruleset_id}:{head}:{suffix}"
            order = SupervisionOrder(
                id=order_id,
                bureau=s.bureau,
                kind=action.kind,
                project=action.project,
                project_name=action.project_name,
                period=o.period,
                ruleset_id=o.ruleset_id,
                ruleset_version=o.ruleset_version,
                track=tk,
                issued_at=bnow,
                due=deadline,
                decision_key=key,
            )
            s.orders[order_id] = order
            self._batch.orders.append(order)
            lines_zh.append(f"整改方案报送期限：{deadline.isoformat()}（督办编号 {order_id}）")
            lines_en.append(f"correction plan due {deadline.isoformat()} (order {order_id})")
        elif action.kind is ActionKind.ORDER_CLOSED:
            for order in s.orders.values():
                if (
                    order.track == tk
                    and order.project == action.project
                    and not order.status.finished
                ):
                    order.status = OrderStatus.CLOSED
                    order.closed_at = bnow
                    order_id = order.id
                    self._batch.orders.append(order)
        decision = LadderDecision(
            key=key,
            bureau=s.bureau,
            period=o.period,
            ruleset_id=o.ruleset_id,
            ruleset_version=o.ruleset_version,
            track=tk,
            kind=action.kind,
            level_before=action.level_before,
            level_after=action.level_after,
            project=action.project,
            order_id=order_id,
            deadline=deadline,
            lines_zh=lines_zh,
            lines_en=lines_en,
            inputs={
                "outcome": o.model_dump(mode="json"),
                "ladder": data.ladder.model_dump(mode="json"),
                **(
                    {"revision": data.revision, "reason": data.reason, "actor": data.actor}
                    if data.revision > 1
                    else {}
                ),
            },
            decided_at=bnow,
        )
        self._record_decision(decision, data.notify_office)
        return decision

    # -----------------------------------------------------------------------------------------
    # grant_exemption
    # -----------------------------------------------------------------------------------------

    @workflow.update(name=c.UPDATE_EXEMPTION)
    async def grant_exemption(self, data: ExemptionInput) -> ExemptionResult:
        s = self.s
        key = f"exemption:{data.idempotency_key}"
        if key in s.seen:
            return ExemptionResult.model_validate(s.seen[key]).model_copy(
                update={"duplicate": True}
            )
        bnow = self._bnow()
        exemption = Exemption(
            bureau=s.bureau,
            period=data.period,
            reason=data.reason.strip(),
            actor=data.actor,
            role=data.role,
            granted_at=bnow,
            key=data.idempotency_key,
        )
        s.exemptions[data.period] = exemption
        self._batch.exemptions.append(exemption)
        decision = LadderDecision(
            key=f"ladder:{s.bureau}:exemption:{data.period}",
            bureau=s.bureau,
            period=data.period,
            ruleset_id="*",
            ruleset_version=0,
            track="*",
            kind=ActionKind.EXEMPTION_GRANTED,
            level_before=0,
            level_after=0,
            lines_zh=[
                f"{parse_period(data.period).label_zh}因不可抗力免于列入黑榜",
                f"理由：{exemption.reason}",
                f"批准人：{data.actor}（{data.role}）",
            ],
            lines_en=[
                f"exempted from the {data.period} black list for force majeure",
                f"reason: {exemption.reason}",
                f"granted by {data.actor} ({data.role})",
            ],
            inputs={"exemption": exemption.model_dump(mode="json")},
            decided_at=bnow,
        )
        self._record_decision(decision, notify_office=True)
        self._audit(
            f"exemption:{data.period}",
            data.actor,
            f"exemption:{data.period}",
            data.idempotency_key,
            {"exempted": False},
            {"exempted": True, "period": data.period, "role": data.role},
            exemption.reason,
        )
        result = ExemptionResult(bureau=s.bureau, period=data.period, decision_key=decision.key)
        self._remember(key, result.model_dump(mode="json"))
        self._changed()
        await self._persist()
        return result

    @grant_exemption.validator
    @guarded
    def _validate_exemption(self, data: ExemptionInput) -> None:
        s = self.s
        if f"exemption:{data.idempotency_key}" in s.seen:
            return
        rules = s.exemption_rules
        if data.role not in rules.roles:
            raise _reject(
                "not_authorised",
                f"角色「{data.role}」无权批准豁免，须由 {'、'.join(rules.roles)} 批准",
                f"role {data.role!r} may not grant exemptions; allowed: {', '.join(rules.roles)}",
            )
        if not data.actor.strip():
            raise _reject(
                "actor_required", "请填写批准人", "the approving leader (actor) is required"
            )
        if len(data.reason.strip()) < rules.min_reason_chars:
            raise _reject(
                "reason_required",
                f"请写明不可抗力理由（至少 {rules.min_reason_chars} 个字）",
                f"state the force-majeure reason (at least {rules.min_reason_chars} characters)",
            )
        if data.period in s.exemptions:
            raise _reject(
                "already_exempted", f"{data.period} 已豁免", f"{data.period} is already exempted"
            )
        period = parse_period(data.period)
        for track in s.tracks.values():
            if (
                track.kind == period.kind.value
                and track.last_period
                and parse_period(track.last_period).start >= period.start
            ):
                raise _reject(
                    "period_already_ranked",
                    f"{data.period} 的排名已记入督办台账（{track.ruleset_id}），豁免须在排名前批准",
                    f"{data.period} was already recorded on this ladder ({track.ruleset_id}); "
                    "exemptions must be granted before the round",
                )

    # -----------------------------------------------------------------------------------------
    # submit_correction_plan
    # -----------------------------------------------------------------------------------------

    @workflow.update(name=c.UPDATE_CORRECTION_PLAN)
    async def submit_correction_plan(self, data: CorrectionPlanInput) -> CorrectionPlanResult:
        s = self.s
        key = f"plan:{data.idempotency_key}"
        if key in s.seen:
            return CorrectionPlanResult.model_validate(s.seen[key]).model_copy(
                update={"duplicate": True}
            )
        order = s.orders[data.order_id]
        bnow = self._bnow()
        before = order.status
        on_time = self._today() <= order.due
        order.plan = data.plan.strip()
        order.plan_actor = data.actor
        order.submitted_at = bnow
        order.plan_on_time = on_time
        if order.kind is ActionKind.PROJECT_SUPERVISION:
            order.status = OrderStatus.PLAN_SUBMITTED
        else:
            order.status = OrderStatus.CLOSED
            order.closed_at = bnow
        self._batch.orders.append(order)
        what = (
            f"项目「{order.project_name}」（{order.project}）督办单"
            if order.project
            else "督办事项"
        )
        decision = LadderDecision(
            key=f"ladder:{s.bureau}:order:{order.id}:plan",
            bureau=s.bureau,
            period=order.period,
            ruleset_id=order.ruleset_id,
            ruleset_version=order.ruleset_version,
            track=order.track,
            kind=ActionKind.PLAN_SUBMITTED,
            level_before=self._level(order.track),
            level_after=self._level(order.track),
            project=order.project,
            order_id=order.id,
            deadline=order.due,
            lines_zh=[
                f"{what}（{order.period}）整改方案已于 {self._today().isoformat()} 报送"
                + ("（按期）" if on_time else f"（逾期，期限 {order.due.isoformat()}）"),
                f"整改方案：{order.plan[:500]}",
            ],
            lines_en=[
                f"correction plan for order {order.id} received "
                + ("on time" if on_time else f"late (due {order.due.isoformat()})")
            ],
            inputs={"order": order.model_dump(mode="json")},
            decided_at=bnow,
        )
        self._record_decision(decision, notify_office=True)
        self._audit(
            f"plan:{order.id}",
            data.actor or s.bureau,
            f"correction_plan:{order.id}",
            data.idempotency_key,
            {"status": before.value},
            {"status": order.status.value, "on_time": on_time},
            "",
        )
        result = CorrectionPlanResult(order_id=order.id, status=order.status, on_time=on_time)
        self._remember(key, result.model_dump(mode="json"))
        self._changed()
        await self._persist()
        return result

    @submit_correction_plan.validator
    @guarded
    def _validate_plan(self, data: CorrectionPlanInput) -> None:
        s = self.s
        if f"plan:{data.idempotency_key}" in s.seen:
            return
        order = s.orders.get(data.order_id)
        if order is None:
            raise _reject(
                "unknown_order",
                f"没有督办事项 {data.order_id}",
                f"no supervision order {data.order_id} for {s.bureau}",
            )
        if order.status is OrderStatus.WITHDRAWN:
            raise _reject(
                "order_withdrawn",
                f"督办事项 {data.order_id} 已随排名更正撤销，无需报送整改方案",
                f"order {data.order_id} was withdrawn by a revision of its round: "
                "no correction plan is due",
            )
        if order.status not in (OrderStatus.OPEN, OrderStatus.ESCALATED):
            raise _reject(
                "plan_already_submitted",
                f"督办事项 {data.order_id} 已报送整改方案",
                f"order {data.order_id} already has its correction plan",
            )
        if len(data.plan.strip()) < 10:
            raise _reject(
                "plan_too_short",
                "整改方案内容过短（至少 10 个字）",
                "the correction plan is too short (at least 10 characters)",
            )

    # -----------------------------------------------------------------------------------------
    # Query
    # -----------------------------------------------------------------------------------------

    @workflow.query(name=c.QUERY_STANDING)
    def standing(self) -> LadderStanding:
        return standing_of(self.s)


__all__ = ["BureauLadder"]
