"""Models of 机会清单 opportunities and expressions of interest. Fields are only ever added with
defaults, at the end (running workflows carry them in their histories)."""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from guatu.lifecycle.casebook import CaseBatch, CaseState
from guatu.lifecycle.models import IdempotencyKey, Notice, ProgrammeClock
from guatu.workdays.units import Unit

RULES_FILE = Path(__file__).resolve().parents[2] / "config" / "opportunities.json"


class Strict(BaseModel):
    """Unknown fields refused; every text storable in PostgreSQL (no NUL, no lone surrogate)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        if isinstance(value, str):
            if "\x00" in value:
                raise ValueError("text must not contain NUL (\\u0000) characters")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("text must be valid Unicode (no lone surrogates)") from None
        return value


class OpportunityRules(Strict):
    """Rule data (config/opportunities.json). An interest submitted on day S must be answered by
    the end of S + `response_days` (`day_unit`; S itself not counted); the bureau is reminded at
    the start of the day `reminder_days` before that day (0: no reminder); an unanswered one is
    overdue from the start of the next calendar day (催办, copied to 区幸福办), and escalated to
    区幸福办 for a written criticism (书面通报) when still unanswered `escalation_days` after the
    due day. At most `max_interests` interests per opportunity; a closing date at most
    `max_open_days` calendar days after the publication day."""

    day_unit: Unit = "working"
    response_days: int = Field(default=5, ge=1, le=60)
    reminder_days: int = Field(default=1, ge=0, le=30)
    escalation_days: int = Field(default=5, ge=1, le=60)
    reply_min_chars: int = Field(default=5, ge=1)
    reply_max_chars: int = Field(default=2000, ge=10, le=20_000)
    note_max_chars: int = Field(default=2000, ge=10, le=20_000)
    max_interests: int = Field(default=500, ge=1, le=5000)
    max_open_days: int = Field(default=730, ge=1, le=3650)  # closing date at most this far ahead


def load_rules(path: Path | None = None) -> OpportunityRules:
    return OpportunityRules.model_validate(json.loads((path or RULES_FILE).read_text("utf-8")))


class OpportunityKind(StrEnum):
    INVESTMENT = "investment"
    OPERATION = "operation"
    PROCUREMENT = "procurement"
    VENUE = "venue"


KIND_ZH = {
    OpportunityKind.INVESTMENT: "投资合作",
    OpportunityKind.OPERATION: "运营合作",
    OpportunityKind.PROCUREMENT: "采购需求",
    OpportunityKind.VENUE: "场地资源",
}


class SubjectKind(StrEnum):
    PROJECT = "project"
    SCENE = "scene"


SUBJECT_ZH = {SubjectKind.PROJECT: "项目", SubjectKind.SCENE: "示范场景"}

SubjectCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{1,39}$")]
OpportunityId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,120}$")]


class ListingStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


LISTING_STATUS_ZH = {ListingStatus.OPEN: "征集中", ListingStatus.CLOSED: "已截止"}


class PublishInput(Strict):
    """A manager's opportunity as a door receives it (the actor comes from the caller)."""

    subject_kind: SubjectKind
    subject: SubjectCode
    kind: OpportunityKind
    title_zh: str = Field(min_length=2, max_length=100)
    description: str = Field(default="", max_length=4000)
    amount_wan: float | None = Field(default=None, ge=0, le=100_000_000)  # 万元; None: 面议
    conditions: str = Field(default="", max_length=4000)
    closes_on: date
    actor: str = ""
    idempotency_key: IdempotencyKey


class ListingInput(BaseModel):
    """Start input of OpportunityListing: a publication the door has checked."""

    opportunity_id: str
    publish: PublishInput
    bureau: str
    bureau_name: str = ""
    subject_name_zh: str = ""
    rules: OpportunityRules = Field(default_factory=OpportunityRules)
    clock: ProgrammeClock = Field(default_factory=ProgrammeClock)


class OpportunityView(BaseModel):
    id: str
    workflow_id: str
    subject_kind: SubjectKind
    subject: str
    subject_name_zh: str = ""
    bureau: str
    bureau_name: str = ""
    kind: OpportunityKind
    title_zh: str
    description: str = ""
    amount_wan: float | None = None
    conditions: str = ""
    closes_on: date
    status: ListingStatus = ListingStatus.OPEN
    published_by: str = ""
    published_at: datetime
    closed_at: datetime | None = None
    closed_by: str = ""
    close_reason: str = ""
    interests: int = 0
    version: int = 0
    duplicate: bool = False
    publish_key: str = ""


class CloseInput(Strict):
    """A manager closes an opportunity before its closing date."""

    reason: str = Field(max_length=2000)
    actor: str
    role: str
    idempotency_key: IdempotencyKey


# -- expressions of interest -----------------------------------------------------------------

Phone = Annotated[str, StringConstraints(pattern=r"^[0-9+() -]{5,30}$")]
Email = Annotated[str, StringConstraints(pattern=r"^([^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,40})?$")]


class InterestSubmission(Strict):
    """What an enterprise sends through the public page (no account)."""

    company_name: str = Field(min_length=2, max_length=100)
    uscc: str = Field(min_length=1, max_length=40, description="统一社会信用代码 (18 characters)")
    contact_name: str = Field(min_length=1, max_length=50)
    contact_phone: Phone
    contact_email: Email = ""
    message: str = Field(default="", max_length=2000)


class InterestDeadlines(BaseModel):
    submitted_on: date
    respond_due: date  # answered by the end of this day
    remind_at: datetime | None  # start of the day `reminder_days` before; None: no reminder
    overdue_at: datetime  # start of respond_due + 1 calendar day
    office_due: date  # `escalation_days` after respond_due: 区幸福办's written criticism
    escalate_at: datetime  # start of office_due + 1 calendar day
    explain: str = ""  # why respond_due is that day (中文 / English)


class InterestRequest(Strict):
    """The door's request to an OpportunityListing: a checked submission, its deadlines."""

    submission: InterestSubmission
    deadlines: InterestDeadlines


class InterestStatus(StrEnum):
    WAITING = "waiting"
    REMINDED = "reminded"
    OVERDUE = "overdue"
    ESCALATED = "escalated"
    RESPONDED = "responded"
    SIGNED = "signed"
    NOT_CONCLUDED = "not_concluded"


INTEREST_STATUS_ZH = {
    InterestStatus.WAITING: "待答复",
    InterestStatus.REMINDED: "待答复（已提醒）",
    InterestStatus.OVERDUE: "逾期未答复（已催办）",
    InterestStatus.ESCALATED: "逾期未答复（已提请区幸福办通报）",
    InterestStatus.RESPONDED: "已答复，洽谈中",
    InterestStatus.SIGNED: "已签约",
    InterestStatus.NOT_CONCLUDED: "未成",
}
CONCLUDED = (InterestStatus.SIGNED, InterestStatus.NOT_CONCLUDED)


class Outcome(StrEnum):
    SIGNED = "signed"  # 签约
    NOT_CONCLUDED = "not_concluded"  # 未成


OUTCOME_ZH = {Outcome.SIGNED: "签约", Outcome.NOT_CONCLUDED: "未成"}


class InterestInput(BaseModel):
    """Start input of OpportunityInterest (started by its listing, as a child)."""

    interest_id: str
    opportunity_id: str
    opportunity_title: str
    bureau: str
    bureau_name: str = ""
    submission: InterestSubmission
    deadlines: InterestDeadlines
    rules: OpportunityRules = Field(default_factory=OpportunityRules)
    clock: ProgrammeClock = Field(default_factory=ProgrammeClock)


class InterestReceipt(BaseModel):
    """What the enterprise gets back (public): nothing but its own receipt."""

    interest_id: str
    opportunity_id: str
    opportunity_title: str
    company_name: str
    submitted_on: date
    respond_due: date
    message_zh: str
    message_en: str
    duplicate: bool = False


class InterestView(BaseModel):
    id: str
    workflow_id: str
    opportunity_id: str
    opportunity_title: str
    bureau: str
    bureau_name: str = ""
    company_name: str
    uscc: str
    contact_name: str
    contact_phone: str
    contact_email: str = ""
    message: str = ""
    status: InterestStatus = InterestStatus.WAITING
    submitted_at: datetime
    respond_due: date
    remind_at: datetime | None = None
    overdue_at: datetime
    office_due: date
    escalate_at: datetime
    deadline_explain: str = ""
    reminded_at: datetime | None = None
    overdue_notified_at: datetime | None = None
    escalated_at: datetime | None = None
    reply: str = ""
    replied_by: str = ""
    replied_at: datetime | None = None
    replied_late: bool = False
    outcome: Outcome | None = None
    outcome_note: str = ""
    outcome_amount_wan: float | None = None
    outcome_by: str = ""
    outcome_at: datetime | None = None
    version: int = 0
    duplicate: bool = False


class RespondInput(Strict):
    """The responsible bureau's answer to an enterprise (答复)."""

    reply: str = Field(max_length=20_000)
    actor: str
    role: str
    bureau: str = ""  # the caller's bureau (a bureau token's); empty for other roles
    idempotency_key: IdempotencyKey


class OutcomeInput(Strict):
    """The outcome the responsible bureau records: 签约 or 未成."""

    outcome: Outcome
    note: str = Field(default="", max_length=20_000)
    amount_wan: float | None = Field(default=None, ge=0, le=100_000_000)
    actor: str
    role: str
    bureau: str = ""
    idempotency_key: IdempotencyKey


# A `CaseState` but for the receipts by USCC between the view and the answers: kept apart so
# the fields keep their order in stored states.
class ListingState(BaseModel):
    input: ListingInput
    view: OpportunityView
    receipts: dict[str, InterestReceipt] = Field(default_factory=dict)  # by USCC
    seen: dict[str, dict[str, Any]] = Field(default_factory=dict)
    pending_notices: list[Notice] = Field(default_factory=list)


class InterestState(CaseState[InterestInput, InterestView]):
    pass


class ListingBatch(CaseBatch[OpportunityView]):
    pass


class InterestBatch(CaseBatch[InterestView]):
    pass
