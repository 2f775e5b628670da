"""The decisions of one appeal, without Temporal: 申诉的业务判断.

One file: the pure decision class of one workflow (`RankingAppeal`) with the checks its doors run
before starting it; splitting it would scatter one state machine.

`RankingAppeal` (workflows/ranking_appeal.py) owns the durable parts — the timer, the
activities, the update handler — and hands every decision to an `AppealBook`: the deadlines,
the reminder before the leaders' decision deadline, the escalation to 区幸福办 once it has passed
(with the office's own deadline), the decision itself, and what each of these writes to the
read model, the audit log and the outbox. `check_filing_text` and `check_window` are the pure
checks a door runs before it starts an appeal.

Dates are local (Asia/Shanghai) dates; counts are in the rule set's `AppealRules.day_unit`:
working days (工作日, on `guatu.workdays.default_calendar()`, holidays and 调休 included) or
calendar days. The door counts the deadlines once and hands them to the run in
`AppealInput.deadlines`. Time is only read through the `now` the book is given (`workflow.now`
in a run), so it stays deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from guatu.appeals.models import (
    DECIDED,
    ITEM_ZH,
    AppealBatch,
    AppealDeadlines,
    AppealFiling,
    AppealInput,
    AppealItem,
    AppealState,
    AppealStatus,
    AppealView,
    DecideInput,
    Decision,
    ReviseResult,
)
from guatu.core.clock import local_date, local_start, past_due_at
from guatu.core.constants import OFFICE_BUREAU, appeal_workflow_id
from guatu.lifecycle.casebook import CaseBook, Log
from guatu.lifecycle.rules.validation import InputRejected
from guatu.ranking.models import AppealRules
from guatu.workdays import UNIT_EN, UNIT_ZH, WorkCalendar, default_calendar
from guatu.workdays.ladder import deadline_days

# Token roles that may decide an appeal (the API's leader token; the CLI acts as a leader).
DECIDER_ROLES = ("leader",)


def appeal_id(filing: AppealFiling, revision: int) -> str:
    """One appeal per item and published revision: `default-2026-10-swj-score-r1`.

    The id is also the workflow's business key, so a second appeal on the same item while the
    first is open is refused by Temporal itself, atomically.
    """
    if filing.item is AppealItem.ORDER:
        # Order ids are `bureau:ruleset:period:<what>`: the id names the first three already.
        what = filing.order_id.split(":", 3)[-1].replace(":", ".")
        item = f"order.{what}"
    elif filing.item is AppealItem.SCORE and filing.project:
        item = f"score.{filing.project}"
    else:
        item = filing.item.value
    return f"{filing.ruleset_id}-{filing.period}-{filing.bureau}-{item}-r{revision}"


def _calendar(rules: AppealRules, cal: WorkCalendar | None) -> WorkCalendar | None:
    if rules.day_unit != "working":
        return None
    return cal or default_calendar()


def deadlines(
    filed_at: datetime, rules: AppealRules, cal: WorkCalendar | None = None
) -> AppealDeadlines:
    """Decision due `decision_days` after the filing day (not counted), in `rules.day_unit`;
    the reminder `reminder_days` before that day, the office's deadline `escalation_days`
    after it. Escalation and overdue start at the beginning of the next calendar day."""
    filed_on = local_date(filed_at)
    work = _calendar(rules, cal)
    ladder = deadline_days(
        filed_on,
        rules.decision_days,
        rules.reminder_days,
        rules.escalation_days,
        "calendar" if work is None else "working",
        work,
    )
    due, office_due = ladder.due, ladder.office_due
    explain = "" if work is None else work.explain(filed_on, rules.decision_days, "working")
    return AppealDeadlines(
        filed_on=filed_on,
        decision_due=due,
        remind_at=local_start(ladder.remind_on) if ladder.remind_on else None,
        escalate_at=past_due_at(due),
        office_due=office_due,
        office_overdue_at=past_due_at(office_due),
        explain=explain,
    )


def _check_reason(text: str, rules: AppealRules, what_zh: str, what_en: str) -> None:
    size = len(text.strip())
    if size < rules.reason_min_chars:
        raise InputRejected(
            "reason_too_short",
            f"请写明{what_zh}（至少 {rules.reason_min_chars} 个字）",
            f"state the {what_en} (at least {rules.reason_min_chars} characters)",
        )
    if size > rules.reason_max_chars:
        raise InputRejected(
            "reason_too_long",
            f"{what_zh}过长（最多 {rules.reason_max_chars} 个字，现 {size} 个字）",
            f"the {what_en} is too long ({size} characters; at most {rules.reason_max_chars})",
        )


def check_filing_text(filing: AppealFiling, rules: AppealRules) -> None:
    """Reason and evidence lengths, and the reference each item needs."""
    _check_reason(filing.reason, rules, "申诉理由", "reason of the appeal")
    size = len(filing.evidence.strip())
    if size > rules.evidence_max_chars:
        raise InputRejected(
            "evidence_too_long",
            f"证明材料说明过长（最多 {rules.evidence_max_chars} 个字，现 {size} 个字）",
            f"the evidence text is too long ({size} characters; at most "
            f"{rules.evidence_max_chars})",
        )
    if filing.item is AppealItem.ORDER and not filing.order_id:
        raise InputRejected(
            "order_required",
            "申诉督办单须填写督办编号",
            "an appeal against a supervision order needs its order id",
        )
    if filing.item is not AppealItem.ORDER and filing.order_id:
        raise InputRejected(
            "order_not_expected",
            "只有申诉督办单时才填写督办编号",
            "an order id is only given when appealing a supervision order",
        )
    if filing.item is not AppealItem.SCORE and filing.project:
        raise InputRejected(
            "project_not_expected",
            "只有申诉项目得分时才填写项目编号",
            "a project code is only given when appealing a project's score",
        )


def check_window(
    published_at: datetime,
    now: datetime,
    rules: AppealRules,
    period: str,
    cal: WorkCalendar | None = None,
) -> None:
    """Refuse an appeal filed after the window: `window_days` of `day_unit` after the
    publication day, the last one inclusive."""
    published_on = local_date(published_at)
    work = _calendar(rules, cal)
    if work is None:
        last_day = published_on + timedelta(days=rules.window_days)
    else:
        last_day = work.add(published_on, rules.window_days, "working")
    today = local_date(now)
    if today > last_day:
        unit_zh, unit_en = UNIT_ZH[rules.day_unit], UNIT_EN[rules.day_unit]
        raise InputRejected(
            "window_closed",
            f"申诉期已过：{period} 排名于 {published_on.isoformat()} 发布，须在 {rules.window_days} "
            f"个{unit_zh}内（{last_day.isoformat()} 前）提出申诉，今天是 {today.isoformat()}",
            f"the appeal window has closed: the {period} ranking was published on "
            f"{published_on.isoformat()} and could be appealed within {rules.window_days} "
            f"{unit_en}, until {last_day.isoformat()}; today is {today.isoformat()}",
        )


def new_view(data: AppealInput, filed_at: datetime) -> AppealView:
    f = data.filing
    d = data.deadlines or deadlines(filed_at, data.rules)
    return AppealView(
        id=data.appeal_id,
        workflow_id=appeal_workflow_id(data.appeal_id),
        bureau=f.bureau,
        bureau_name=data.bureau_name,
        period=f.period,
        ruleset_id=f.ruleset_id,
        revision=data.revision,
        item=f.item,
        project=f.project,
        order_id=f.order_id,
        subject_zh=data.subject_zh,
        status=AppealStatus.OPEN,
        reason=f.reason.strip(),
        evidence=f.evidence.strip(),
        filed_by=f.actor or f.bureau,
        filed_at=filed_at,
        published_at=data.published_at,
        decision_due=d.decision_due,
        remind_at=d.remind_at,
        escalate_at=d.escalate_at,
        office_due=d.office_due,
        deadline_explain=d.explain,
        filing_key=f.idempotency_key,
    )


class AppealBook(CaseBook[AppealView, AppealBatch]):
    """One appeal's state and the rules that change it.

    Every change goes into the pending batch and marks the book `dirty`; `take_batch` hands it
    over for persistence. `wake` tells the run loop to recompute its timer.
    """

    key_prefix = "appeal"
    batch_type = AppealBatch
    s: AppealState

    def __init__(self, state: AppealState, now: Callable[[], datetime], log: Log) -> None:
        super().__init__(state, now, log)

    @property
    def rules(self) -> AppealRules:
        return self.s.input.rules

    @property
    def decided(self) -> bool:
        return self.v.status in DECIDED

    @property
    def _name(self) -> str:
        return self.v.bureau_name or self.v.bureau

    def _notice_project(self) -> str:
        return self.v.project

    # -- filing -------------------------------------------------------------------------------

    def start(self) -> None:
        """Record the filing: receipt to the bureau, the case to the leaders' office, audit."""
        v = self.v
        f = self.s.input.filing
        due = v.decision_due.isoformat()
        self._notify(
            "filed",
            v.bureau,
            "appeal_filed",
            f"【申诉已受理】{v.subject_zh}",
            [
                f"{self._name}：",
                f"你单位对{v.subject_zh}的申诉已受理（申诉编号 {v.id}）。",
                f"区领导须于 {due} 前作出决定，决定结果将另行通知。",
                *self._why_due(),
                f"申诉理由：{v.reason[:500]}",
            ],
            f"appeal {v.id} received; a leader must decide by {due}",
            v.decision_due,
        )
        self._notify(
            f"filed:{OFFICE_BUREAU}",
            OFFICE_BUREAU,
            "appeal_filed",
            f"【待决申诉】{self._name} · {v.subject_zh}",
            [
                f"【抄送区幸福办】{self._name}对{v.subject_zh}提出申诉（申诉编号 {v.id}），"
                f"请分管区领导于 {due} 前作出决定（接受或驳回，并写明理由）。",
                *self._why_due(),
                f"申诉理由：{v.reason[:500]}",
                *([f"证明材料：{v.evidence[:500]}"] if v.evidence else []),
            ],
            f"appeal {v.id} by {v.bureau} awaits a leader's decision by {due}",
            v.decision_due,
        )
        self._audit_entry(
            "filed",
            v.filed_by,
            f"appeal:file:{v.item.value}",
            f.idempotency_key,
            {},
            {"status": v.status.value, "decision_due": due},
            v.reason,
        )
        self._changed()

    def _why_due(self) -> list[str]:
        """The deadline's explanation (working days only), Chinese part: 期限说明."""
        text = self.v.deadline_explain
        return [f"期限说明：{text.partition(' / ')[0]}"] if text else []

    # -- deadlines ----------------------------------------------------------------------------

    def _next_step(self) -> tuple[datetime, Callable[[], None]] | None:
        """Reminder (unless escalated), escalation, then the office's overdue; none once
        decided."""
        v = self.v
        if self.decided:
            return None
        if v.remind_at is not None and v.reminded_at is None and v.escalated_at is None:
            return v.remind_at, self._remind
        if v.escalated_at is None:
            return v.escalate_at, self._escalate
        if v.office_overdue_at is None:
            return past_due_at(v.office_due), self._office_overdue
        return None

    def _remind(self) -> None:
        v = self.v
        v.reminded_at = self.bnow()
        v.status = AppealStatus.REMINDED
        due = v.decision_due.isoformat()
        self._notify(
            "reminder",
            OFFICE_BUREAU,
            "appeal_reminder",
            f"【申诉待决提醒】{self._name} · {v.subject_zh}",
            [
                f"{self._name}对{v.subject_zh}的申诉（申诉编号 {v.id}）尚未决定，"
                f"须于 {due} 前作出决定（还剩 {self.rules.reminder_days} "
                f"{'个工作日' if self.rules.day_unit == 'working' else '天'}），逾期将提请区幸福办督办。"
            ],
            f"appeal {v.id} is still undecided; the decision is due by {due}",
            v.decision_due,
        )
        self._log("appeal reminder", {"appeal": v.id, "due": due})

    def _escalate(self) -> None:
        v = self.v
        v.escalated_at = self.bnow()
        v.status = AppealStatus.ESCALATED
        due, office_due = v.decision_due.isoformat(), v.office_due.isoformat()
        self._notify(
            "escalated",
            OFFICE_BUREAU,
            "appeal_escalated",
            f"【申诉逾期督办】{self._name} · {v.subject_zh}",
            [
                f"{self._name}对{v.subject_zh}的申诉（申诉编号 {v.id}）应于 {due} 前决定，逾期未决，"
                f"现提请区幸福办督办，请于 {office_due} 前办结。",
                f"申诉理由：{v.reason[:500]}",
            ],
            f"appeal {v.id} was not decided by {due}; escalated to the coordinating office, "
            f"due {office_due}",
            v.office_due,
        )
        self._notify(
            "escalated:bureau",
            v.bureau,
            "appeal_escalated",
            f"【申诉督办】{v.subject_zh}",
            [
                f"{self._name}：",
                f"你单位的申诉（申诉编号 {v.id}）未在 {due} 前得到决定，"
                f"已提请区幸福办督办，办结期限 {office_due}。",
            ],
            f"appeal {v.id} was escalated to the coordinating office, due {office_due}",
            v.office_due,
        )
        self._log("appeal escalated", {"appeal": v.id, "office_due": office_due})

    def _office_overdue(self) -> None:
        v = self.v
        v.office_overdue_at = self.bnow()
        office_due = v.office_due.isoformat()
        self._notify(
            "office_overdue",
            OFFICE_BUREAU,
            "appeal_office_overdue",
            f"【申诉督办逾期】{self._name} · {v.subject_zh}",
            [f"申诉（申诉编号 {v.id}）的督办期限 {office_due} 已过，仍未决定，请立即办结。"],
            f"appeal {v.id}: the coordinating office's deadline {office_due} has passed",
            v.office_due,
        )

    # -- decision -----------------------------------------------------------------------------

    def check_decide(self, data: DecideInput) -> None:
        if f"decide:{data.idempotency_key}" in self.s.seen:
            return
        if data.role not in DECIDER_ROLES:
            raise InputRejected(
                "not_authorised",
                f"只有区领导可以决定申诉（当前角色：{data.role}）",
                f"only a leader may decide an appeal (role: {data.role})",
            )
        if not data.actor.strip():
            raise InputRejected("actor_required", "请填写决定人", "the deciding leader is required")
        if self.decided:
            v = self.v
            raise InputRejected(
                "already_decided",
                f"申诉 {v.id} 已于 {local_date(v.decided_at or v.filed_at).isoformat()} 由 "
                f"{v.decided_by} 决定（{'成立' if v.decision is Decision.ACCEPT else '不成立'}）",
                f"appeal {v.id} was already decided ({v.decision.value if v.decision else ''}) "
                f"by {v.decided_by}",
            )
        _check_reason(data.reason, self.rules, "决定理由", "reason of the decision")

    def decide(self, data: DecideInput) -> AppealView:
        if first := self._first(f"decide:{data.idempotency_key}"):
            return first
        v = self.v
        before = {"status": v.status.value}
        v.decision = data.decision
        v.decision_reason = data.reason.strip()
        v.decided_by = data.actor
        v.decided_at = self.bnow()
        accepted = data.decision is Decision.ACCEPT
        v.status = AppealStatus.ACCEPTED if accepted else AppealStatus.REJECTED
        late = local_date(v.decided_at) > v.decision_due
        word = "成立" if accepted else "不成立"
        follow = (
            f"将重新冻结 {v.period} 的输入并发布更正后的排名（新版本），更正结果另行通报。"
            if accepted
            else "维持已发布的排名结果。"
        )
        lines = [
            f"{self._name}：",
            f"你单位对{v.subject_zh}的申诉（申诉编号 {v.id}）经 {v.decided_by} 决定：申诉{word}。",
            f"理由：{v.decision_reason}",
            follow,
        ]
        en = (
            f"appeal {v.id} {'accepted' if accepted else 'rejected'} by {v.decided_by}: "
            f"{v.decision_reason}"
        )
        kind = f"appeal_{v.status.value}"
        self._notify(v.status.value, v.bureau, kind, f"【申诉{word}】{v.subject_zh}", lines, en)
        self._notify(
            f"{v.status.value}:{OFFICE_BUREAU}",
            OFFICE_BUREAU,
            kind,
            f"【抄送】【申诉{word}】{self._name} · {v.subject_zh}",
            [
                f"【抄送区幸福办】{self._name}的申诉（申诉编号 {v.id}）已决定：申诉{word}"
                + ("（逾期决定）" if late else "")
                + "。",
                f"决定人：{v.decided_by}",
                f"理由：{v.decision_reason}",
            ],
            en,
        )
        self._audit_entry(
            "decision",
            data.actor,
            f"appeal:{data.decision.value}",
            data.idempotency_key,
            before,
            {
                "status": v.status.value,
                "decision": data.decision.value,
                "role": data.role,
                "late": late,
            },
            v.decision_reason,
        )
        self._changed()
        return self._remember(f"decide:{data.idempotency_key}")

    @property
    def needs_revision(self) -> bool:
        return self.v.status is AppealStatus.ACCEPTED and not self.v.revision_workflow_id

    def revision_reason(self) -> str:
        v = self.v
        return (
            f"申诉 {v.id} 成立（{v.bureau}，{ITEM_ZH[v.item]}）：{v.decision_reason} / "
            f"appeal {v.id} accepted by {v.decided_by}"
        )

    def record_revision(self, result: ReviseResult) -> None:
        v = self.v
        v.revision_workflow_id = result.workflow_id
        v.revised_to = result.revision
        which = f"第 {result.revision} 版" if result.revision else "更正版"
        self._notify(
            "revised",
            v.bureau,
            "appeal_revised",
            f"【排名已更正】{v.period} 排名{which}",
            [
                f"{self._name}：",
                f"根据你单位的申诉（申诉编号 {v.id}），{v.period} 竞进比拼排名已重新"
                f"冻结输入并发布{which}，以更正版为准；名次、红黑榜或督办有变化的，另行发送更正通报。",
            ],
            f"following appeal {v.id}, revision {result.revision} of {v.period} was published",
        )
        self._audit_entry(
            "revision",
            v.decided_by or "system",
            "appeal:revision",
            v.id,
            {"revision": v.revision},
            {"revision": result.revision, "workflow_id": result.workflow_id},
            self.revision_reason(),
        )
        self._changed()
