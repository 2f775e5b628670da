"""The decisions of one 市民观察 observation, without Temporal.

One file: the pure decision class of one workflow (`CitizenObservation`); splitting it would scatter
one state machine.

`CitizenObservation` (workflows/citizen_observation.py) owns the durable parts — the timer, the
activities, the update handlers — and hands every decision to an `ObservationBook`: the
deadlines (in working or calendar days, rule data), the reminder before the reply deadline, the
overdue escalation to 区幸福办, the reply, the observer's rating (满意 / 不满意) and the escalation
of an unsatisfied one, 区幸福办's resolution, and what each writes to the read model, the audit
log and the outbox.

Days are counted by an injected `add(start, n, unit) -> date` (the signature of
`guatu.workdays.WorkCalendar.add`). In a run it is `table_add(input.working_days)`: the working
days the door's calendar gave for the observation's horizon, carried in the input, so a replay
never depends on a calendar's data. Time is only read through the `now` the book is given.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

from guatu.core.clock import local_date, local_start, past_due_at
from guatu.core.constants import OFFICE_BUREAU
from guatu.lifecycle.casebook import CaseBook, Log
from guatu.lifecycle.rules.validation import InputRejected
from guatu.society.models import (
    CATEGORY_ZH,
    SATISFACTION_ZH,
    DayUnit,
    ObservationBatch,
    ObservationDeadlines,
    ObservationInput,
    ObservationRules,
    ObservationState,
    ObservationStatus,
    ObservationView,
    RateInput,
    ReplyInput,
    ResolveInput,
    Satisfaction,
    TargetKind,
)

AddDays = Callable[[date, int, DayUnit], date]

REPLY_ROLES = ("bureau",)
RATE_ROLES = ("observer",)
RESOLVE_ROLES = ("leader",)  # 区幸福办 acts through the leaders' tokens, as for appeals
UNIT_ZH = {"working": "个工作日", "calendar": "日"}
HORIZON_DAYS = 366


def observation_workflow_id(observation_id: str) -> str:
    return f"observation-{observation_id}"


def table_add(working_days: Sequence[date]) -> AddDays:
    """`add(start, n, unit)` over a table of working days (sorted). Calendar days are plain date
    arithmetic; working days past the table's end fall back to Monday–Friday."""
    days = sorted(working_days)

    def add(start: date, n: int, unit: DayUnit) -> date:
        if unit == "calendar" or n == 0:
            return start + timedelta(days=n)
        if n < 0:
            raise ValueError("only forward counts of working days are used")
        i = bisect.bisect_right(days, start)
        if i + n - 1 < len(days):
            return days[i + n - 1]
        # Past the table: count on from its last day (or the start) on weekdays.
        cursor = max(start, days[-1]) if days else start
        left = n - max(0, len(days) - i)
        while left:
            cursor += timedelta(days=1)
            if cursor.weekday() < 5:
                left -= 1
        return cursor

    return add


def deadlines(filed_on: date, rules: ObservationRules, add: AddDays) -> ObservationDeadlines:
    u = rules.day_unit
    reply_due = add(filed_on, rules.reply_days, u)
    return ObservationDeadlines(
        filed_on=filed_on,
        reply_due=reply_due,
        remind_on=add(filed_on, rules.reply_days - rules.reminder_days, u)
        if rules.reminder_days
        else None,
        office_due_unanswered=add(reply_due, rules.escalation_days, u),
    )


def check_text(text: str, rules: ObservationRules) -> None:
    size = len(text.strip())
    if size == 0:
        raise InputRejected("text_required", "请填写观察内容", "the observation text is required")
    if size > rules.text_max_chars:
        raise InputRejected(
            "text_too_long",
            f"观察内容过长（最多 {rules.text_max_chars} 个字，现 {size} 个字）",
            f"the observation text is too long ({size} characters; at most {rules.text_max_chars})",
        )


def new_view(data: ObservationInput, filed_at: datetime, add: AddDays) -> ObservationView:
    d = deadlines(local_date(filed_at), data.rules, add) if data.wants_reply else None
    return ObservationView(
        id=data.observation_id,
        workflow_id=observation_workflow_id(data.observation_id),
        target_kind=data.target_kind,
        target=data.target,
        target_name=data.target_name,
        bureau=data.bureau,
        bureau_name=data.bureau_name,
        program=data.program,
        observer=data.observer,
        category=data.category,
        rating=data.rating,
        text=data.text.strip(),
        wants_reply=data.wants_reply,
        photos=data.photos,
        status=ObservationStatus.OPEN if data.wants_reply else ObservationStatus.RECORDED,
        filed_at=filed_at,
        reply_due=d.reply_due if d else None,
        remind_on=d.remind_on if d else None,
        calendar_note=data.calendar_note,
        filing_key=data.idempotency_key,
    )


class ObservationBook(CaseBook[ObservationView, ObservationBatch]):
    """One observation's state and the rules that change it (see the module docstring)."""

    key_prefix = "observation"
    batch_type = ObservationBatch
    s: ObservationState

    def __init__(
        self, state: ObservationState, now: Callable[[], datetime], add: AddDays, log: Log
    ) -> None:
        super().__init__(state, now, log)
        self._add = add

    @property
    def rules(self) -> ObservationRules:
        return self.s.input.rules

    @property
    def finished(self) -> bool:
        return self.v.status in (ObservationStatus.CLOSED, ObservationStatus.RECORDED)

    def _days(self, n: int) -> str:
        return f"{n} {UNIT_ZH[self.rules.day_unit]}"

    @property
    def _subject(self) -> str:
        v = self.v
        what = "项目" if v.target_kind is TargetKind.PROJECT else "示范场景"
        name = f"「{v.target_name}」" if v.target_name else ""
        return f"{what}{name}（{v.target}）"

    def _notice_project(self) -> str:
        return self.v.target if self.v.target_kind is TargetKind.PROJECT else ""

    # -- filing -------------------------------------------------------------------------------

    def start(self) -> None:
        v = self.v
        cat = CATEGORY_ZH[v.category]
        if v.wants_reply:
            assert v.reply_due is not None
            due = v.reply_due.isoformat()
            self._notify(
                "filed",
                v.bureau,
                "observation_filed",
                f"【市民观察待答复】{self._subject} · {cat}",
                [
                    f"{v.bureau_name or v.bureau}：",
                    f"市民观察员对{self._subject}提出{cat}方面的观察（编号 {v.id}，评分 {v.rating}/5），"
                    f"请于 {due} 前答复（{self._days(self.rules.reply_days)}），逾期将提请区幸福办督办。",
                    f"观察内容：{v.text[:500]}",
                    *([v.calendar_note] if v.calendar_note else []),
                ],
                f"citizen observation {v.id} ({v.category.value}) awaits your reply by {due}",
                v.reply_due,
            )
        self._audit_entry(
            "filed",
            f"observer:{v.observer}",
            "observation:file",
            self.s.input.idempotency_key,
            {},
            {
                "status": v.status.value,
                "reply_due": v.reply_due.isoformat() if v.reply_due else None,
                "photos": len(v.photos),
            },
        )
        if not v.wants_reply:
            v.closed_at = v.filed_at
        self._changed()

    # -- deadlines ----------------------------------------------------------------------------

    def _next_step(self) -> tuple[datetime, Callable[[], None]] | None:
        """Escalated: the office's overdue. Unanswered: the reminder, then overdue (which
        escalates). Answered: closing unrated once the rating is due. None once finished."""
        v = self.v
        if self.finished:
            return None
        if v.status is ObservationStatus.ESCALATED:
            if v.office_overdue_at is None and v.office_due is not None:
                return past_due_at(v.office_due), self._office_overdue
            return None
        if v.replied_at is None:
            assert v.reply_due is not None
            if v.remind_on is not None and v.reminded_at is None:
                return local_start(v.remind_on), self._remind
            return past_due_at(v.reply_due), self._overdue
        if v.rated_at is None and v.rating_due is not None:
            return past_due_at(v.rating_due), self._close_unrated
        return None

    def _remind(self) -> None:
        v = self.v
        v.reminded_at = self.bnow()
        v.status = ObservationStatus.REMINDED
        assert v.reply_due is not None
        due = v.reply_due.isoformat()
        self._notify(
            "reminder",
            v.bureau,
            "observation_reminder",
            f"【市民观察答复提醒】{self._subject}",
            [
                f"{v.bureau_name or v.bureau}：",
                f"市民观察（编号 {v.id}）尚未答复，须于 {due} 前答复，逾期将提请区幸福办督办。",
            ],
            f"citizen observation {v.id} is still unanswered; the reply is due by {due}",
            v.reply_due,
        )
        self._log("observation reminder", {"observation": v.id, "due": due})

    def _escalate(self, reason: str, office_due: date) -> None:
        v = self.v
        v.escalated_at = self.bnow()
        v.escalation_reason = reason
        v.office_due = office_due
        v.status = ObservationStatus.ESCALATED
        why_zh = (
            f"未在 {v.reply_due.isoformat() if v.reply_due else ''} 前答复"
            if reason == "unanswered"
            else "观察员对答复不满意"
        )
        self._notify(
            f"escalated:{reason}",
            OFFICE_BUREAU,
            "observation_escalated",
            f"【市民观察督办】{v.bureau_name or v.bureau} · {self._subject}",
            [
                f"市民观察（编号 {v.id}，{CATEGORY_ZH[v.category]}）{why_zh}，现提请区幸福办督办，"
                f"请于 {office_due.isoformat()} 前办结。",
                f"观察内容：{v.text[:500]}",
                *([f"部门答复：{v.reply[:500]}"] if v.reply else []),
                *([f"观察员评价：{v.rating_comment[:500]}"] if v.rating_comment else []),
            ],
            f"citizen observation {v.id} escalated to the coordinating office ({reason}), "
            f"due {office_due.isoformat()}",
            office_due,
        )
        self._log("observation escalated", {"observation": v.id, "reason": reason})

    def _overdue(self) -> None:
        v = self.v
        v.overdue_at = self.bnow()
        assert v.reply_due is not None
        office_due = self._add(v.reply_due, self.rules.escalation_days, self.rules.day_unit)
        self._notify(
            "overdue",
            v.bureau,
            "observation_overdue",
            f"【市民观察逾期未答复】{self._subject}",
            [
                f"{v.bureau_name or v.bureau}：",
                f"市民观察（编号 {v.id}）应于 {v.reply_due.isoformat()} 前答复，已逾期，"
                f"已提请区幸福办督办（办结期限 {office_due.isoformat()}），请立即答复。",
            ],
            f"citizen observation {v.id} was not answered by {v.reply_due.isoformat()}: overdue, "
            "escalated to the coordinating office",
            office_due,
        )
        self._escalate("unanswered", office_due)

    def _close_unrated(self) -> None:
        v = self.v
        v.status = ObservationStatus.CLOSED
        v.closed_at = self.bnow()
        self._audit_entry(
            "closed_unrated", "system", "observation:close", v.id, {}, {"rated": False}
        )

    def _office_overdue(self) -> None:
        v = self.v
        v.office_overdue_at = self.bnow()
        assert v.office_due is not None
        self._notify(
            "office_overdue",
            OFFICE_BUREAU,
            "observation_office_overdue",
            f"【市民观察督办逾期】{v.bureau_name or v.bureau} · {self._subject}",
            [
                f"市民观察（编号 {v.id}）的督办期限 {v.office_due.isoformat()} 已过，仍未办结，请立即办结。"
            ],
            f"citizen observation {v.id}: the office's deadline {v.office_due.isoformat()} passed",
            v.office_due,
        )

    # -- updates ------------------------------------------------------------------------------

    def _refuse_if_closed(self) -> None:
        v = self.v
        if not v.wants_reply:
            raise InputRejected(
                "no_reply_asked",
                f"市民观察 {v.id} 未要求答复",
                f"citizen observation {v.id} did not ask for an answer",
            )
        if v.status is ObservationStatus.CLOSED:
            raise InputRejected(
                "observation_closed",
                f"市民观察 {v.id} 已办结",
                f"citizen observation {v.id} is closed",
            )

    def check_reply(self, data: ReplyInput) -> None:
        if f"reply:{data.idempotency_key}" in self.s.seen:
            return
        v = self.v
        if data.role not in REPLY_ROLES or data.bureau != v.bureau:
            raise InputRejected(
                "not_responsible",
                f"只有责任单位 {v.bureau_name or v.bureau} 可以答复该市民观察",
                f"only the responsible bureau {v.bureau} may reply to this observation",
            )
        self._refuse_if_closed()
        if v.replied_at is not None:
            raise InputRejected(
                "already_replied",
                f"市民观察 {v.id} 已于 {local_date(v.replied_at).isoformat()} 答复，不能重复答复",
                f"citizen observation {v.id} was already answered on "
                f"{local_date(v.replied_at).isoformat()}",
            )
        size = len(data.text.strip())
        r = self.rules
        if size < r.reply_min_chars:
            raise InputRejected(
                "reply_too_short",
                f"请写明答复内容（至少 {r.reply_min_chars} 个字）",
                f"the reply needs at least {r.reply_min_chars} characters",
            )
        if size > r.reply_max_chars:
            raise InputRejected(
                "reply_too_long",
                f"答复过长（最多 {r.reply_max_chars} 个字，现 {size} 个字）",
                f"the reply is too long ({size} characters; at most {r.reply_max_chars})",
            )

    def reply(self, data: ReplyInput) -> ObservationView:
        if first := self._first(f"reply:{data.idempotency_key}"):
            return first
        v = self.v
        before = {"status": v.status.value}
        now = self.bnow()
        v.reply = data.text.strip()
        v.replied_by = data.actor
        v.replied_at = now
        assert v.reply_due is not None
        v.reply_on_time = local_date(now) <= v.reply_due
        v.rating_due = self._add(local_date(now), self.rules.rating_days, self.rules.day_unit)
        if v.status is not ObservationStatus.ESCALATED:
            v.status = ObservationStatus.REPLIED
        self._audit_entry(
            "reply",
            data.actor,
            "observation:reply",
            data.idempotency_key,
            before,
            {"status": v.status.value, "on_time": v.reply_on_time},
            v.reply,
        )
        if not v.reply_on_time:
            self._notify(
                "late_reply",
                OFFICE_BUREAU,
                "observation_late_reply",
                f"【抄送】市民观察逾期答复 · {v.bureau_name or v.bureau}",
                [
                    f"市民观察（编号 {v.id}）已由 {v.bureau_name or v.bureau} 逾期答复：{v.reply[:500]}"
                ],
                f"citizen observation {v.id} was answered late",
                None,
            )
        self._changed()
        return self._remember(f"reply:{data.idempotency_key}")

    def check_rate(self, data: RateInput) -> None:
        if f"rate:{data.idempotency_key}" in self.s.seen:
            return
        v = self.v
        if data.role not in RATE_ROLES or data.observer != v.observer:
            raise InputRejected(
                "not_observer",
                "只有提出该观察的市民观察员可以评价答复",
                "only the observer who filed this observation may rate the reply",
            )
        self._refuse_if_closed()
        if v.replied_at is None:
            raise InputRejected(
                "not_replied",
                f"市民观察 {v.id} 尚未答复，暂不能评价",
                f"citizen observation {v.id} has no reply to rate yet",
            )
        if v.rated_at is not None:
            raise InputRejected(
                "already_rated",
                f"市民观察 {v.id} 的答复已评价（{SATISFACTION_ZH[v.satisfaction] if v.satisfaction else ''}）",
                f"the reply to citizen observation {v.id} was already rated",
            )
        if len(data.comment.strip()) > self.rules.text_max_chars:
            raise InputRejected(
                "comment_too_long",
                f"评价意见过长（最多 {self.rules.text_max_chars} 个字）",
                f"the comment is too long (at most {self.rules.text_max_chars} characters)",
            )

    def rate(self, data: RateInput) -> ObservationView:
        if first := self._first(f"rate:{data.idempotency_key}"):
            return first
        v = self.v
        before = {"status": v.status.value}
        now = self.bnow()
        v.satisfaction = data.satisfaction
        v.rating_comment = data.comment.strip()
        v.rated_at = now
        if data.satisfaction is Satisfaction.SATISFIED:
            v.status = ObservationStatus.CLOSED
            v.closed_at = now
        elif v.status is not ObservationStatus.ESCALATED:
            self._escalate(
                "unsatisfied",
                self._add(local_date(now), self.rules.escalation_days, self.rules.day_unit),
            )
        word = SATISFACTION_ZH[data.satisfaction]
        self._notify(
            f"rated:{data.satisfaction.value}",
            v.bureau,
            "observation_rated",
            f"【市民观察评价：{word}】{self._subject}",
            [
                f"{v.bureau_name or v.bureau}：",
                f"市民观察员对你单位的答复（编号 {v.id}）评价为「{word}」。"
                + ("已提请区幸福办督办。" if v.status is ObservationStatus.ESCALATED else ""),
                *([f"评价意见：{v.rating_comment[:500]}"] if v.rating_comment else []),
            ],
            f"the observer rated the reply to {v.id}: {data.satisfaction.value}",
            v.office_due if v.status is ObservationStatus.ESCALATED else None,
        )
        self._audit_entry(
            "rate",
            f"observer:{data.observer}",
            "observation:rate",
            data.idempotency_key,
            before,
            {"status": v.status.value, "satisfaction": data.satisfaction.value},
            v.rating_comment,
        )
        self._changed()
        return self._remember(f"rate:{data.idempotency_key}")

    def check_resolve(self, data: ResolveInput) -> None:
        if f"resolve:{data.idempotency_key}" in self.s.seen:
            return
        v = self.v
        if data.role not in RESOLVE_ROLES:
            raise InputRejected(
                "not_authorised",
                f"只有区幸福办（领导令牌）可以办结督办的市民观察（当前角色：{data.role}）",
                f"only the coordinating office (a leader token) may resolve (role: {data.role})",
            )
        if v.status is not ObservationStatus.ESCALATED:
            raise InputRejected(
                "not_escalated",
                f"市民观察 {v.id} 未提请督办（状态：{v.status.value}）",
                f"citizen observation {v.id} is not escalated (status: {v.status.value})",
            )
        if len(data.text.strip()) < self.rules.reply_min_chars:
            raise InputRejected(
                "resolution_too_short",
                f"请写明办结情况（至少 {self.rules.reply_min_chars} 个字）",
                f"state what was done (at least {self.rules.reply_min_chars} characters)",
            )

    def resolve(self, data: ResolveInput) -> ObservationView:
        if first := self._first(f"resolve:{data.idempotency_key}"):
            return first
        v = self.v
        before = {"status": v.status.value}
        v.resolution = data.text.strip()
        v.resolved_by = data.actor
        v.status = ObservationStatus.CLOSED
        v.closed_at = self.bnow()
        self._notify(
            "resolved",
            v.bureau,
            "observation_resolved",
            f"【市民观察督办办结】{self._subject}",
            [f"市民观察（编号 {v.id}）经区幸福办督办办结：{v.resolution[:500]}"],
            f"citizen observation {v.id} was resolved by the coordinating office",
            None,
        )
        self._audit_entry(
            "resolve",
            data.actor,
            "observation:resolve",
            data.idempotency_key,
            before,
            {"status": v.status.value},
            v.resolution,
        )
        self._changed()
        return self._remember(f"resolve:{data.idempotency_key}")
