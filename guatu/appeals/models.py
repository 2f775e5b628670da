"""Models of 申诉 appeals. Fields are only ever added with defaults, at the end."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from guatu.lifecycle.casebook import CaseBatch, CaseState
from guatu.lifecycle.models import IdempotencyKey, ProgrammeClock
from guatu.ranking.models import AppealRules, BureauCode, PeriodKey, RuleSetId


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AppealItem(StrEnum):
    """What a bureau appeals in a published round."""

    SCORE = "score"  # its score (or one of its projects' scores)
    LIST = "list"  # its place on (or off) the red / black list
    ORDER = "order"  # a 督办单 / 督办 issued from the round


ITEM_ZH = {AppealItem.SCORE: "得分", AppealItem.LIST: "红黑榜名次", AppealItem.ORDER: "督办单"}


class AppealStatus(StrEnum):
    OPEN = "open"
    REMINDED = "reminded"  # leaders reminded before the decision deadline
    ESCALATED = "escalated"  # deadline passed undecided: with 区幸福办
    ACCEPTED = "accepted"
    REJECTED = "rejected"


STATUS_ZH = {
    AppealStatus.OPEN: "待决定",
    AppealStatus.REMINDED: "待决定（已提醒）",
    AppealStatus.ESCALATED: "已逾期，提请区幸福办督办",
    AppealStatus.ACCEPTED: "申诉成立",
    AppealStatus.REJECTED: "申诉不成立",
}
DECIDED = (AppealStatus.ACCEPTED, AppealStatus.REJECTED)


class Decision(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"


ProjectRef = Annotated[str, StringConstraints(pattern=r"^([A-Z0-9][A-Z0-9-]{1,39})?$")]
OrderRef = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f/]{0,300}$")]


class AppealFiling(Strict):
    """A bureau's appeal as a door receives it (the bureau and actor come from the caller)."""

    bureau: BureauCode
    period: PeriodKey
    ruleset_id: RuleSetId = "default"
    item: AppealItem
    project: ProjectRef = ""  # item=score: one of the bureau's projects; empty: the bureau's
    order_id: OrderRef = ""  # item=order: the 督办单's id (its period and rule set win)
    reason: str = Field(max_length=100_000)
    evidence: str = Field(default="", max_length=1_000_000)
    actor: str = ""
    idempotency_key: IdempotencyKey


class AppealDeadlines(BaseModel):
    filed_on: date
    decision_due: date  # decided by the end of this day
    remind_at: datetime | None  # start of decision_due − reminder_days; None: no reminder
    escalate_at: datetime  # start of decision_due + 1
    office_due: date  # 区幸福办: by the end of this day
    office_overdue_at: datetime  # start of office_due + 1
    # Why the decision is due that day (working days: the holidays and 调休 crossed), Chinese
    # first; empty for calendar days.
    explain: str = ""


class AppealInput(BaseModel):
    """Start input of RankingAppeal: a filing the door has checked, with what it was checked on."""

    appeal_id: str
    filing: AppealFiling
    rules: AppealRules
    revision: int = 1  # the revision of the round appealed
    published_at: datetime
    subject_zh: str  # what is appealed, as the bureau reads it
    subject_en: str = ""
    bureau_name: str = ""
    clock: ProgrammeClock = Field(default_factory=ProgrammeClock)
    # Counted by the door on the working-day calendar, so a run never recounts them (a calendar
    # file added later changes new appeals only). None: counted by the run (calendar days).
    deadlines: AppealDeadlines | None = None


class DecideInput(Strict):
    """A leader's decision: accept (→ a superseding revision of the round) or reject."""

    decision: Decision
    reason: str = Field(max_length=100_000)
    actor: str
    role: str
    idempotency_key: IdempotencyKey


class AppealView(BaseModel):
    """One appeal as the doors show it and the read model stores it."""

    id: str
    workflow_id: str
    bureau: str
    bureau_name: str = ""
    period: str
    ruleset_id: str
    revision: int
    item: AppealItem
    project: str = ""
    order_id: str = ""
    subject_zh: str
    status: AppealStatus
    reason: str
    evidence: str
    filed_by: str
    filed_at: datetime
    published_at: datetime
    decision_due: date
    remind_at: datetime | None
    escalate_at: datetime
    office_due: date
    deadline_explain: str = ""  # AppealDeadlines.explain
    reminded_at: datetime | None = None
    escalated_at: datetime | None = None
    office_overdue_at: datetime | None = None
    decision: Decision | None = None
    decision_reason: str = ""
    decided_by: str = ""
    decided_at: datetime | None = None
    revision_workflow_id: str = ""
    revised_to: int | None = None  # the revision the acceptance led to
    version: int = 0
    duplicate: bool = False
    filing_key: str = ""  # the filing's idempotency key: a retried filing gets this appeal back


class AppealState(CaseState[AppealInput, AppealView]):
    pass


class AppealBatch(CaseBatch[AppealView]):
    """What one persist writes: the appeal's row, its audit entries and its notices."""


class ReviseInput(BaseModel):
    appeal_id: str
    period: str
    ruleset_id: str
    reason: str
    actor: str


class ReviseResult(BaseModel):
    workflow_id: str
    revision: int | None = None
