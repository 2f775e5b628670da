"""The decisions of one bureau's ladder, without Temporal: 激励奖惩的业务判断.

One file: the pure decision class of one workflow (`BureauLadder`) on its ledger (`ledger.py`);
splitting it further would scatter one state machine.

`BureauLadder` (workflows/bureau_ladder.py) owns the durable parts — the deadline timer, the
persist and delivery activities, the handlers, continue-as-new — and hands every decision to a
`LadderBook`: what a period's outcome (or a revision of it) does to the tracks and orders, which
correction plans are overdue and escalated, what an exemption or a correction plan changes, and
what the next write to PostgreSQL carries (decisions, orders, exemptions, audit, notices).

Like `guatu.lifecycle.book.LifecycleBook`, it lives outside the workflow module so the sandbox
imports it once per worker, and it only reads time through the `now` it is given
(`workflow.now` in a run), so it stays deterministic.
"""

from __future__ import annotations

from datetime import date, timedelta

from guatu.core.clock import past_due_at
from guatu.ladder import checks, decisions
from guatu.ladder.ledger import CLOSED_ORDERS_KEPT, SEEN_KEPT, LadderLedger
from guatu.ladder.models import (
    CorrectionPlanInput,
    CorrectionPlanResult,
    DecisionRef,
    ExemptionInput,
    ExemptionResult,
    LadderAction,
    LadderDecision,
    PeriodRecord,
    RecordPeriodInput,
    RecordPeriodResult,
    SupervisionOrder,
    TrackState,
)
from guatu.ladder.rules import ladder_step, track_key
from guatu.ranking.actions import ACTION_ZH, ActionKind, OrderStatus
from guatu.ranking.models import Exemption
from guatu.ranking.periods import parse_period
from guatu.workdays import default_calendar


class LadderBook(LadderLedger):
    """One bureau's ladder (督办台账) and the rules that change it: each method applies one
    decision to the state and records it in the next batch (see `LadderLedger`)."""

    def escalate_overdue(self) -> None:
        """Escalate (督办升级), once, every open order whose correction plan is overdue."""
        bnow = self.bnow()
        for order in sorted(self.s.orders.values(), key=lambda o: o.id):
            if order.status is not OrderStatus.OPEN or past_due_at(order.due) > bnow:
                continue
            order.status = OrderStatus.ESCALATED
            order.escalated_at = bnow
            decision = decisions.escalation(self.s.bureau, order, self.level(order.track), bnow)
            self._record_decision(decision, notify_office=True)
            self.batch.orders.append(order)
            self.changed()

    # -- record_period ------------------------------------------------------------------------

    def seen_record(self, data: RecordPeriodInput) -> RecordPeriodResult | None:
        o = data.outcome
        stored = self.s.seen.get(checks.record_key(o.ruleset_id, o.period, data.revision))
        if stored is None:
            return None
        return RecordPeriodResult.model_validate(stored).model_copy(update={"duplicate": True})

    def supersedes(self, data: RecordPeriodInput) -> bool:
        return checks.supersedes(self.s, data)

    def check_record(self, data: RecordPeriodInput) -> None:
        o = data.outcome
        seen = checks.record_key(o.ruleset_id, o.period, data.revision) in self.s.seen
        checks.check_record(self.s, data, seen)

    def record(self, data: RecordPeriodInput) -> RecordPeriodResult:
        """Apply one period's outcome; a revision of the track's last period decides it again."""
        if self.supersedes(data):
            return self._apply_revision(data)
        return self._apply_record(data)

    def _apply_record(self, data: RecordPeriodInput) -> RecordPeriodResult:
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
        self._tracks.add(tk)
        self._keep_input(data)
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
            decisions=[_ref(d, statuses) for d in decisions],
        )
        return self._recorded(data, tk, decisions, [])

    def _apply_revision(self, data: RecordPeriodInput) -> RecordPeriodResult:
        """Decide the track's last period again under revision N of its round: keep what the
        revision still supports, make what is new, withdraw what it no longer supports."""
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
        self._tracks.add(tk)
        self._keep_input(data)
        old = {(d.kind, d.project): d for d in record.decisions}
        new = {(a.kind, a.project): a for a in step.actions}
        withdrawn = [self._withdraw(ref, data, tk) for k, ref in old.items() if k not in new]
        statuses = {order.id: order.status for order in s.orders.values()}
        made = [self._decide(a, data, tk) for k, a in new.items() if k not in old]
        s.last_records[tk] = record.model_copy(
            update={
                "revision": data.revision,
                "decisions": [ref for k, ref in old.items() if k in new]
                + [_ref(d, statuses) for d in made],
            }
        )
        return self._recorded(data, tk, made, [d.key for d in withdrawn])

    def _recorded(
        self,
        data: RecordPeriodInput,
        tk: str,
        decisions: list[LadderDecision],
        withdrawn: list[str],
    ) -> RecordPeriodResult:
        o = data.outcome
        history = self.s.tracks[tk].history[-1]
        result = RecordPeriodResult(
            bureau=self.s.bureau,
            period=o.period,
            ruleset_id=o.ruleset_id,
            track=tk,
            level_before=history.level_before,
            level_after=history.level_after,
            exempted=history.exempted,
            decisions=decisions,
            revision=data.revision,
            withdrawn=withdrawn,
            decision_keys=[d.key for d in decisions],
        )
        key = checks.record_key(o.ruleset_id, o.period, data.revision)
        self._remember(key, result.model_dump(mode="json"))
        self.changed()
        return result

    def _withdraw(self, ref: DecisionRef, data: RecordPeriodInput, tk: str) -> LadderDecision:
        """Withdraw one decision a revision no longer supports: its order is withdrawn (a 督办
        or 督办单 it issued) or reopened (one it closed); audited, and told as a 更正通报."""
        s = self.s
        o = data.outcome
        bnow = self.bnow()
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
                self.batch.orders.append(order)
        decision = decisions.withdrawal(
            s.bureau, ref, data, tk, self.level(tk), (lines_zh, lines_en), bnow
        )
        self._record_decision(decision, data.notify_office)
        self._audit(
            f"withdraw:{ref.key}",
            data.actor or "ranking",
            f"ladder_withdraw:{o.period}",
            checks.record_key(o.ruleset_id, o.period, data.revision),
            {"decision": ref.key, "kind": ref.kind.value},
            {"withdrawn": True, "revision": data.revision},
            data.reason,
        )
        return decision

    def _decide(self, action: LadderAction, data: RecordPeriodInput, tk: str) -> LadderDecision:
        s = self.s
        o = data.outcome
        bnow = self.bnow()
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
            # Working days (工作日) only when the rules say so. No patch: the branch is reachable
            # only through a `LadderRules` unit that code before it refused (extra="forbid"),
            # so no recorded history can take it; calendar units run exactly as before.
            if unit == "working":
                cal = default_calendar()
                deadline = cal.add(self.today(), days, "working")
                why_zh, _, why_en = cal.explain(self.today(), days, "working").partition(" / ")
                lines_zh.append(f"期限计算：{why_zh}")
                lines_en.append(f"deadline: {why_en}")
            else:
                deadline = self.today() + timedelta(days=days)
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
            self.batch.orders.append(order)
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
                    self.batch.orders.append(order)
        decision = decisions.of_period(
            s.bureau,
            key,
            action,
            data,
            tk,
            order_id,
            deadline,
            (lines_zh, lines_en),
            bnow,
            input_key=self._input_key(data) if s.bounded else None,
        )
        self._record_decision(decision, data.notify_office)
        return decision

    # -- grant_exemption ----------------------------------------------------------------------

    def seen_exemption(self, data: ExemptionInput) -> ExemptionResult | None:
        stored = self.s.seen.get(f"exemption:{data.idempotency_key}")
        if stored is None:
            return None
        return ExemptionResult.model_validate(stored).model_copy(update={"duplicate": True})

    def check_exemption(self, data: ExemptionInput) -> None:
        checks.check_exemption(self.s, data, f"exemption:{data.idempotency_key}" in self.s.seen)

    def grant_exemption(self, data: ExemptionInput) -> ExemptionResult:
        """A leader exempts the bureau from one period's black list (不可抗力), audited."""
        s = self.s
        bnow = self.bnow()
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
        self.batch.exemptions.append(exemption)
        decision = decisions.exemption_granted(s.bureau, exemption, data)
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
        self._remember(f"exemption:{data.idempotency_key}", result.model_dump(mode="json"))
        self.changed()
        return result

    # -- submit_correction_plan ---------------------------------------------------------------

    def seen_plan(self, data: CorrectionPlanInput) -> CorrectionPlanResult | None:
        stored = self.s.seen.get(f"plan:{data.idempotency_key}")
        if stored is None:
            return None
        return CorrectionPlanResult.model_validate(stored).model_copy(update={"duplicate": True})

    def check_plan(self, data: CorrectionPlanInput) -> None:
        checks.check_plan(self.s, data, f"plan:{data.idempotency_key}" in self.s.seen)

    def submit_plan(self, data: CorrectionPlanInput) -> CorrectionPlanResult:
        """The bureau answers a 督办 (closed) or a 督办单 (closed when the project is off red)."""
        s = self.s
        order = s.orders[data.order_id]
        bnow = self.bnow()
        before = order.status
        on_time = self.today() <= order.due
        order.plan = data.plan.strip()
        order.plan_actor = data.actor
        order.submitted_at = bnow
        order.plan_on_time = on_time
        if order.kind is ActionKind.PROJECT_SUPERVISION:
            order.status = OrderStatus.PLAN_SUBMITTED
        else:
            order.status = OrderStatus.CLOSED
            order.closed_at = bnow
        self.batch.orders.append(order)
        decision = decisions.plan_received(
            s.bureau, order, self.level(order.track), self.today(), on_time, bnow
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
        self._remember(f"plan:{data.idempotency_key}", result.model_dump(mode="json"))
        self.changed()
        return result


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


__all__ = ["CLOSED_ORDERS_KEPT", "SEEN_KEPT", "LadderBook"]
