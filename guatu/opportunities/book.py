"""The decisions of 机会清单, without Temporal: one opportunity (`ListingBook`) and one
expression of interest (`InterestBook`).

One file: the pure decision classes of the two workflows of `workflows/opportunity.py` (on the
requests' shared base, `guatu.lifecycle.casebook.CaseBook`); splitting them would scatter one state machine and move names that workflow module
imports.

`workflows/opportunity.py` owns the durable parts — timers, activities, update handlers — and
hands every decision to a book: when a listing closes, whether an interest may still be taken,
the bureau's answer deadline (counted by the door in working days, `interest_deadlines`), the
reminder before it, 催办 once it has passed, the escalation to 区幸福办 after
`escalation_days` more, the answer, the outcome (签约 / 未成), and what each of these writes to
the read model, the audit log and the outbox. Time is only read through the `now` a book is
given (`workflow.now` in a run), so it stays deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from guatu.core.clock import local_date, local_start, past_due_at
from guatu.core.constants import OFFICE_BUREAU
from guatu.lifecycle.casebook import CaseBook, Log
from guatu.lifecycle.rules.validation import InputRejected
from guatu.opportunities.models import (
    CONCLUDED,
    KIND_ZH,
    OUTCOME_ZH,
    SUBJECT_ZH,
    CloseInput,
    InterestBatch,
    InterestDeadlines,
    InterestInput,
    InterestReceipt,
    InterestRequest,
    InterestState,
    InterestStatus,
    InterestView,
    ListingBatch,
    ListingInput,
    ListingState,
    ListingStatus,
    OpportunityRules,
    OpportunityView,
    Outcome,
    OutcomeInput,
    PublishInput,
    RespondInput,
)
from guatu.opportunities.uscc import check_uscc
from guatu.workdays import UNIT_ZH, WorkCalendar, default_calendar
from guatu.workdays.ladder import deadline_days

CLOSER_ROLES = ("manager",)
ANSWER_ROLES = ("bureau",)


def listing_workflow_id(opportunity_id: str) -> str:
    return f"opportunity-{opportunity_id}"


def interest_workflow_id(interest_id: str) -> str:
    return f"opportunity-interest-{interest_id}"


def opportunity_id(data: PublishInput) -> str:
    """One opportunity of a kind per subject and closing day: `WJ-2026-001.venue.20270115`."""
    return f"{data.subject}.{data.kind.value}.{data.closes_on:%Y%m%d}"


def interest_id(opportunity: str, uscc: str) -> str:
    """One interest per enterprise and opportunity: a second submission gets the first back."""
    return f"{opportunity}.{uscc}"


def closes_at(closes_on: date) -> datetime:
    """Interest is taken up to the end of the closing day (Wenjiang time)."""
    return past_due_at(closes_on)


def check_publish(data: PublishInput, today: date, rules: OpportunityRules) -> None:
    """The pure checks of a publication (the subject's existence is the door's)."""
    last = today + timedelta(days=rules.max_open_days)
    if data.closes_on > last:
        raise InputRejected(
            "closing_too_far",
            f"截止日期 {data.closes_on.isoformat()} 过远：最晚可设为 {last.isoformat()}"
            f"（发布后 {rules.max_open_days} 天内）",
            f"the closing date {data.closes_on.isoformat()} is too far ahead; the latest is "
            f"{last.isoformat()} ({rules.max_open_days} days after publication)",
        )
    if data.closes_on < today:
        raise InputRejected(
            "closing_in_past",
            f"截止日期 {data.closes_on.isoformat()} 早于今天（{today.isoformat()}），请填写今后的日期",
            f"the closing date {data.closes_on.isoformat()} is before today ({today.isoformat()})",
        )
    if not data.title_zh.strip():
        raise InputRejected("title_required", "请填写机会名称", "the title is required")


def interest_deadlines(
    submitted_at: datetime, rules: OpportunityRules, cal: WorkCalendar | None = None
) -> InterestDeadlines:
    """The answer is due `response_days` (`rules.day_unit`) after the submission day, that day
    not counted; reminder `reminder_days` before the due day; overdue from the next calendar
    day; escalation `escalation_days` after the due day, from the day after."""
    start = local_date(submitted_at)
    unit = rules.day_unit
    cal = cal or default_calendar()
    ladder = deadline_days(
        start, rules.response_days, rules.reminder_days, rules.escalation_days, unit, cal
    )
    due, office_due, remind_on = ladder.due, ladder.office_due, ladder.remind_on
    return InterestDeadlines(
        submitted_on=start,
        respond_due=due,
        remind_at=local_start(remind_on) if remind_on and remind_on > start else None,
        overdue_at=past_due_at(due),
        office_due=office_due,
        escalate_at=past_due_at(office_due),
        explain=cal.explain(start, rules.response_days, unit),
    )


def check_submission(req: InterestRequest) -> InterestRequest:
    """The submission with its code normalised, or the refusal (中文 first)."""
    s = req.submission
    uscc = check_uscc(s.uscc)
    for value, zh, en in (
        (s.company_name, "企业名称", "the company name"),
        (s.contact_name, "联系人", "the contact person"),
    ):
        if not value.strip():
            raise InputRejected("field_required", f"请填写{zh}", f"{en} is required")
    clean = s.model_copy(
        update={
            "uscc": uscc,
            "company_name": s.company_name.strip(),
            "contact_name": s.contact_name.strip(),
            "message": s.message.strip(),
        }
    )
    return req.model_copy(update={"submission": clean})


# -- one opportunity -------------------------------------------------------------------------


def new_listing_view(data: ListingInput, published_at: datetime) -> OpportunityView:
    p = data.publish
    return OpportunityView(
        id=data.opportunity_id,
        workflow_id=listing_workflow_id(data.opportunity_id),
        subject_kind=p.subject_kind,
        subject=p.subject,
        subject_name_zh=data.subject_name_zh,
        bureau=data.bureau,
        bureau_name=data.bureau_name,
        kind=p.kind,
        title_zh=p.title_zh.strip(),
        description=p.description.strip(),
        amount_wan=p.amount_wan,
        conditions=p.conditions.strip(),
        closes_on=p.closes_on,
        published_by=p.actor or "manager",
        published_at=published_at,
        publish_key=p.idempotency_key,
    )


class ListingBook(CaseBook[OpportunityView, ListingBatch]):
    """One opportunity: open until the end of its closing day or a manager's close."""

    key_prefix = "opportunity"
    batch_type = ListingBatch
    s: ListingState

    def __init__(self, state: ListingState, now: Callable[[], datetime], log: Log) -> None:
        super().__init__(state, now, log)

    @property
    def closed(self) -> bool:
        return self.v.status is ListingStatus.CLOSED

    def _subject_zh(self) -> str:
        v = self.v
        return f"{SUBJECT_ZH[v.subject_kind]}「{v.subject_name_zh or v.subject}」"

    def start(self) -> None:
        v = self.v
        self._notify(
            "published",
            v.bureau,
            "opportunity_published",
            f"【机会清单已发布】{v.title_zh}",
            [
                f"{v.bureau_name or v.bureau}：",
                f"{self._subject_zh()}的{KIND_ZH[v.kind]}机会「{v.title_zh}」已在信息公开页发布"
                f"（编号 {v.id}），{v.closes_on.isoformat()} 截止。",
                "企业提交合作意向后，你单位须在规定的工作日内答复，届时另行通知。",
            ],
            f"opportunity {v.id} published; closes on {v.closes_on.isoformat()}",
            v.closes_on,
            v.subject if v.subject_kind.value == "project" else "",
        )
        self._audit_entry(
            "published",
            v.published_by,
            "opportunity:publish",
            v.publish_key,
            {},
            {"status": v.status.value, "closes_on": v.closes_on.isoformat(), "kind": v.kind.value},
        )
        self._changed()

    def next_due(self) -> datetime | None:
        return None if self.closed else closes_at(self.v.closes_on)

    def process_due(self) -> None:
        due = self.next_due()
        if due is not None and due <= self.bnow():
            self._close("system", "deadline", "")

    def _close(self, actor: str, why: str, reason: str) -> None:
        v = self.v
        before = {"status": v.status.value}
        v.status = ListingStatus.CLOSED
        v.closed_at = self.bnow()
        v.closed_by = actor
        v.close_reason = why if not reason else f"{why}: {reason}"
        early = "" if why == "deadline" else f"（提前截止，理由：{reason}）"
        self._notify(
            "closed",
            v.bureau,
            "opportunity_closed",
            f"【机会清单已截止】{v.title_zh}",
            [
                f"{v.bureau_name or v.bureau}：",
                f"机会「{v.title_zh}」（编号 {v.id}）已截止{early}，共收到 {v.interests} 份合作意向，"
                "不再接受新的意向；已收到的意向请按期答复并登记结果（签约 / 未成）。",
            ],
            f"opportunity {v.id} closed ({why}) with {v.interests} expressions of interest",
        )
        self._audit_entry(
            "closed",
            actor,
            "opportunity:close",
            f"close:{why}",
            before,
            {"status": v.status.value, "interests": v.interests},
            reason,
        )
        self._changed()

    # -- interest ---------------------------------------------------------------------------

    def _closed_error(self) -> InputRejected:
        v = self.v
        return InputRejected(
            "opportunity_closed",
            f"机会「{v.title_zh}」已于 {v.closes_on.isoformat()} 截止"
            + ("（已提前截止）" if v.close_reason.startswith("manager") else "")
            + "，不再接受合作意向",
            f"opportunity {v.id} has closed; it takes no more expressions of interest",
        )

    def check_interest(self, req: InterestRequest) -> None:
        req = check_submission(req)
        if req.submission.uscc in self.s.receipts:
            return  # the same enterprise again: its first receipt
        if self.closed or self.bnow() >= closes_at(self.v.closes_on):
            raise self._closed_error()
        if self.v.interests >= self.s.input.rules.max_interests:
            raise InputRejected(
                "too_many_interests",
                f"机会「{self.v.title_zh}」收到的意向已达上限（{self.v.interests} 份），请直接联系"
                f"{self.v.bureau_name or self.v.bureau}",
                f"opportunity {self.v.id} has reached its limit of expressions of interest",
            )

    def register(self, req: InterestRequest) -> tuple[InterestInput | None, InterestReceipt]:
        """The child's input (None for a repeated submission) and the enterprise's receipt."""
        req = check_submission(req)
        s = req.submission
        if first := self.s.receipts.get(s.uscc):
            return None, first.model_copy(update={"duplicate": True})
        v = self.v
        iid = interest_id(v.id, s.uscc)
        d = req.deadlines
        receipt = InterestReceipt(
            interest_id=iid,
            opportunity_id=v.id,
            opportunity_title=v.title_zh,
            company_name=s.company_name,
            submitted_on=d.submitted_on,
            respond_due=d.respond_due,
            message_zh=f"已收到{s.company_name}的合作意向（编号 {iid}），"
            f"{v.bureau_name or '责任单位'}将于 {d.respond_due.isoformat()} 前答复。",
            message_en=f"expression of interest {iid} received; the responsible bureau will answer "
            f"by {d.respond_due.isoformat()}",
        )
        self.s.receipts[s.uscc] = receipt
        v.interests += 1
        self._changed()
        return (
            InterestInput(
                interest_id=iid,
                opportunity_id=v.id,
                opportunity_title=v.title_zh,
                bureau=v.bureau,
                bureau_name=v.bureau_name,
                submission=s,
                deadlines=d,
                rules=self.s.input.rules,
                clock=self.clock,
            ),
            receipt,
        )

    # -- close ------------------------------------------------------------------------------

    def check_close(self, data: CloseInput) -> None:
        if f"close:{data.idempotency_key}" in self.s.seen:
            return
        if data.role not in CLOSER_ROLES:
            raise InputRejected(
                "not_authorised",
                f"只有项目管理人员可以截止机会清单（当前角色：{data.role}）",
                f"only a manager may close an opportunity (role: {data.role})",
            )
        if self.closed:
            raise InputRejected(
                "already_closed",
                f"机会「{self.v.title_zh}」已截止",
                f"opportunity {self.v.id} is already closed",
            )
        if len(data.reason.strip()) < 2:
            raise InputRejected(
                "reason_required",
                "提前截止须写明理由",
                "closing early needs a reason",
            )

    def close(self, data: CloseInput) -> OpportunityView:
        key = f"close:{data.idempotency_key}"
        if first := self._first(key):
            return first
        self._close(data.actor, "manager", data.reason.strip())
        return self._remember(key)


# -- one expression of interest --------------------------------------------------------------


def new_interest_view(data: InterestInput, submitted_at: datetime) -> InterestView:
    s, d = data.submission, data.deadlines
    return InterestView(
        id=data.interest_id,
        workflow_id=interest_workflow_id(data.interest_id),
        opportunity_id=data.opportunity_id,
        opportunity_title=data.opportunity_title,
        bureau=data.bureau,
        bureau_name=data.bureau_name,
        company_name=s.company_name,
        uscc=s.uscc,
        contact_name=s.contact_name,
        contact_phone=s.contact_phone,
        contact_email=s.contact_email,
        message=s.message,
        submitted_at=submitted_at,
        respond_due=d.respond_due,
        remind_at=d.remind_at,
        overdue_at=d.overdue_at,
        office_due=d.office_due,
        escalate_at=d.escalate_at,
        deadline_explain=d.explain,
    )


class InterestBook(CaseBook[InterestView, InterestBatch]):
    """One expression of interest: the bureau's answer within its deadline, then the outcome."""

    key_prefix = "interest"
    batch_type = InterestBatch
    s: InterestState

    def __init__(self, state: InterestState, now: Callable[[], datetime], log: Log) -> None:
        super().__init__(state, now, log)

    @property
    def rules(self) -> OpportunityRules:
        return self.s.input.rules

    @property
    def concluded(self) -> bool:
        return self.v.status in CONCLUDED

    @property
    def answered(self) -> bool:
        return self.v.replied_at is not None or self.concluded

    def _unit(self) -> str:
        return UNIT_ZH[self.rules.day_unit]

    def _what(self) -> str:
        return (
            f"{self.v.company_name}对「{self.v.opportunity_title}」的合作意向（编号 {self.v.id}）"
        )

    def start(self) -> None:
        v = self.v
        due = v.respond_due.isoformat()
        why = v.deadline_explain.partition(" / ")[0]
        self._notify(
            "submitted",
            v.bureau,
            "interest_submitted",
            f"【新合作意向】{v.company_name} · {v.opportunity_title}",
            [
                f"{v.bureau_name or v.bureau}：",
                f"收到{self._what()}，请于 {due} 前答复企业（{self.rules.response_days} 个"
                f"{self._unit()}），逾期将催办并抄送区幸福办。",
                *([f"期限说明：{why}"] if why else []),
                f"联系人：{v.contact_name}，电话 {v.contact_phone}"
                + (f"，邮箱 {v.contact_email}" if v.contact_email else ""),
                *([f"企业留言：{v.message[:500]}"] if v.message else []),
            ],
            f"expression of interest {v.id} from {v.company_name}; answer by {due}",
            v.respond_due,
        )
        self._audit_entry(
            "submitted",
            f"public:{v.uscc}",
            "interest:submit",
            v.id,
            {},
            {"status": v.status.value, "respond_due": due},
        )
        self._changed()

    # -- deadlines --------------------------------------------------------------------------

    def _next_step(self) -> tuple[datetime, Callable[[], None]] | None:
        """Reminder (unless overdue), overdue (催办), then the escalation; none once answered."""
        v = self.v
        if self.answered:
            return None
        if v.remind_at is not None and v.reminded_at is None and v.overdue_notified_at is None:
            return v.remind_at, self._remind
        if v.overdue_notified_at is None:
            return v.overdue_at, self._overdue
        if v.escalated_at is None:
            return v.escalate_at, self._escalate
        return None

    def _remind(self) -> None:
        v = self.v
        v.reminded_at = self.bnow()
        v.status = InterestStatus.REMINDED
        due = v.respond_due.isoformat()
        self._notify(
            "reminder",
            v.bureau,
            "interest_reminder",
            f"【合作意向待答复提醒】{v.company_name} · {v.opportunity_title}",
            [
                f"{v.bureau_name or v.bureau}：",
                f"{self._what()}尚未答复，须于 {due} 前答复，逾期将催办并抄送区幸福办。",
            ],
            f"expression of interest {v.id} is unanswered; the answer is due by {due}",
            v.respond_due,
        )
        self._log("interest reminder", {"interest": v.id, "due": due})

    def _overdue(self) -> None:
        v = self.v
        v.overdue_notified_at = self.bnow()
        v.status = InterestStatus.OVERDUE
        due, office_due = v.respond_due.isoformat(), v.office_due.isoformat()
        self._notify(
            "overdue",
            v.bureau,
            "interest_overdue",
            f"【催办】合作意向逾期未答复：{v.company_name} · {v.opportunity_title}",
            [
                f"{v.bureau_name or v.bureau}：",
                f"{self._what()}应于 {due} 前答复，现已逾期，请立即答复企业。",
                f"{office_due} 前仍未答复的，将提请区幸福办书面通报。",
            ],
            f"expression of interest {v.id} was not answered by {due}; answer now "
            f"(written criticism after {office_due})",
            v.office_due,
        )
        self._notify(
            f"overdue:{OFFICE_BUREAU}",
            OFFICE_BUREAU,
            "interest_overdue",
            f"【抄送】合作意向逾期未答复：{v.bureau_name or v.bureau} · {v.opportunity_title}",
            [
                f"【抄送区幸福办】{v.bureau_name or v.bureau}对{self._what()}应于 {due} 前答复，"
                f"逾期未答复，已催办；{office_due} 前仍未答复的，提请书面通报。"
            ],
            f"expression of interest {v.id}: {v.bureau} missed the answer deadline {due}",
            v.office_due,
        )
        self._log("interest overdue", {"interest": v.id, "due": due})

    def _escalate(self) -> None:
        v = self.v
        v.escalated_at = self.bnow()
        v.status = InterestStatus.ESCALATED
        due, office_due = v.respond_due.isoformat(), v.office_due.isoformat()
        body_en = (
            f"expression of interest {v.id}: still unanswered after {office_due} "
            f"(due {due}); escalated to the coordinating office"
        )
        self._notify(
            "escalated",
            OFFICE_BUREAU,
            "interest_escalated",
            f"【合作意向逾期督办】{v.bureau_name or v.bureau} · {v.opportunity_title}",
            [
                f"{v.bureau_name or v.bureau}对{self._what()}应于 {due} 前答复，催办后至 "
                f"{office_due} 仍未答复，提请区幸福办书面通报。"
            ],
            body_en,
        )
        self._notify(
            "escalated:bureau",
            v.bureau,
            "interest_escalated",
            f"【督办】合作意向仍未答复：{v.company_name} · {v.opportunity_title}",
            [
                f"{v.bureau_name or v.bureau}：",
                f"{self._what()}至 {office_due} 仍未答复，已提请区幸福办书面通报，请立即答复。",
            ],
            body_en,
        )
        self._log("interest escalated", {"interest": v.id, "office_due": office_due})

    # -- the bureau's answer and outcome ----------------------------------------------------

    def _check_bureau(self, role: str, bureau: str, what_zh: str, what_en: str) -> None:
        if role not in ANSWER_ROLES:
            raise InputRejected(
                "not_authorised",
                f"只有责任单位可以{what_zh}（当前角色：{role}）",
                f"only the responsible bureau may {what_en} (role: {role})",
            )
        if bureau != self.v.bureau:
            raise InputRejected(
                "not_your_interest",
                f"该合作意向由{self.v.bureau_name or self.v.bureau}负责，不是本单位",
                f"this expression of interest is {self.v.bureau}'s, not {bureau}'s",
            )

    def check_respond(self, data: RespondInput) -> None:
        if f"respond:{data.idempotency_key}" in self.s.seen:
            return
        self._check_bureau(data.role, data.bureau, "答复合作意向", "answer an interest")
        if not data.actor.strip():
            raise InputRejected("actor_required", "请填写答复人", "who answers is required")
        if self.concluded:
            raise InputRejected(
                "already_concluded",
                f"该合作意向已登记结果（{OUTCOME_ZH[self.v.outcome] if self.v.outcome else ''}），"
                "不能再答复",
                f"expression of interest {self.v.id} already has its outcome",
            )
        if self.v.replied_at is not None:
            raise InputRejected(
                "already_answered",
                f"该合作意向已于 {local_date(self.v.replied_at).isoformat()} 由 "
                f"{self.v.replied_by} 答复；后续进展请登记结果（签约 / 未成）",
                f"expression of interest {self.v.id} was already answered; record its outcome",
            )
        size = len(data.reply.strip())
        if size < self.rules.reply_min_chars:
            raise InputRejected(
                "reply_too_short",
                f"请写明答复内容（至少 {self.rules.reply_min_chars} 个字）",
                f"write the answer (at least {self.rules.reply_min_chars} characters)",
            )
        if size > self.rules.reply_max_chars:
            raise InputRejected(
                "reply_too_long",
                f"答复内容过长（最多 {self.rules.reply_max_chars} 个字，现 {size} 个字）",
                f"the answer is too long ({size} characters; at most {self.rules.reply_max_chars})",
            )

    def respond(self, data: RespondInput) -> InterestView:
        key = f"respond:{data.idempotency_key}"
        if first := self._first(key):
            return first
        v = self.v
        before = {"status": v.status.value}
        self._reply(data.reply.strip(), data.actor)
        self._audit_entry(
            "replied",
            data.actor,
            "interest:respond",
            data.idempotency_key,
            before,
            {"status": v.status.value, "late": v.replied_late},
            v.reply,
        )
        self._changed()
        return self._remember(key)

    def _reply(self, text: str, actor: str) -> None:
        v = self.v
        v.reply, v.replied_by, v.replied_at = text, actor, self.bnow()
        v.replied_late = local_date(v.replied_at) > v.respond_due
        v.status = InterestStatus.RESPONDED
        if v.overdue_notified_at is not None:
            self._notify(
                f"replied:{OFFICE_BUREAU}",
                OFFICE_BUREAU,
                "interest_replied",
                f"【抄送】逾期合作意向已答复：{v.bureau_name or v.bureau} · {v.opportunity_title}",
                [
                    f"【抄送区幸福办】{self._what()}已于 {local_date(v.replied_at).isoformat()} "
                    f"答复（应于 {v.respond_due.isoformat()} 前答复，逾期答复）。"
                ],
                f"overdue expression of interest {v.id} answered late",
            )

    def check_outcome(self, data: OutcomeInput) -> None:
        if f"outcome:{data.idempotency_key}" in self.s.seen:
            return
        self._check_bureau(data.role, data.bureau, "登记合作结果", "record an outcome")
        if not data.actor.strip():
            raise InputRejected("actor_required", "请填写登记人", "who records is required")
        if self.concluded:
            raise InputRejected(
                "already_concluded",
                f"该合作意向已登记结果（{OUTCOME_ZH[self.v.outcome] if self.v.outcome else ''}）",
                f"expression of interest {self.v.id} already has its outcome",
            )
        note = len(data.note.strip())
        if data.outcome is Outcome.NOT_CONCLUDED and note < self.rules.reply_min_chars:
            raise InputRejected(
                "note_required",
                f"登记“未成”须写明原因（至少 {self.rules.reply_min_chars} 个字）",
                f"an outcome of 'not concluded' needs its reason "
                f"(at least {self.rules.reply_min_chars} characters)",
            )
        if note > self.rules.note_max_chars:
            raise InputRejected(
                "note_too_long",
                f"说明过长（最多 {self.rules.note_max_chars} 个字，现 {note} 个字）",
                f"the note is too long ({note} characters; at most {self.rules.note_max_chars})",
            )
        if data.outcome is Outcome.NOT_CONCLUDED and data.amount_wan:
            raise InputRejected(
                "amount_not_expected",
                "未成的合作不填签约金额",
                "an outcome of 'not concluded' has no signed amount",
            )

    def record_outcome(self, data: OutcomeInput) -> InterestView:
        key = f"outcome:{data.idempotency_key}"
        if first := self._first(key):
            return first
        v = self.v
        before = {"status": v.status.value}
        if v.replied_at is None:
            # An outcome is an answer too: the enterprise has heard from the bureau.
            self._reply(data.note.strip() or OUTCOME_ZH[data.outcome], data.actor)
        v.outcome = data.outcome
        v.outcome_note = data.note.strip()
        v.outcome_amount_wan = data.amount_wan
        v.outcome_by = data.actor
        v.outcome_at = self.bnow()
        v.status = (
            InterestStatus.SIGNED
            if data.outcome is Outcome.SIGNED
            else InterestStatus.NOT_CONCLUDED
        )
        word = OUTCOME_ZH[data.outcome]
        amount = f"，签约金额 {data.amount_wan:g} 万元" if data.amount_wan else ""
        self._notify(
            "outcome",
            OFFICE_BUREAU,
            f"interest_{data.outcome.value}",
            f"【抄送】合作意向结果：{word} · {v.opportunity_title}",
            [
                f"【抄送区幸福办】{v.bureau_name or v.bureau}登记{self._what()}的结果：{word}"
                f"{amount}。",
                *([f"说明：{v.outcome_note}"] if v.outcome_note else []),
            ],
            f"expression of interest {v.id}: {data.outcome.value}",
        )
        self._audit_entry(
            "outcome",
            data.actor,
            f"interest:{data.outcome.value}",
            data.idempotency_key,
            before,
            {"status": v.status.value, "amount_wan": data.amount_wan},
            v.outcome_note,
        )
        self._changed()
        return self._remember(key)
