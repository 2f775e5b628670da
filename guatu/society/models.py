"""Models of 市民观察 (citizen observation) and 第三方评估 (third-party evaluation).

Fields are only ever added with defaults, at the end. Rule data (deadlines in working or
calendar days, limits) lives in `config/society.json` and is read into `SocietyRules`.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from config.settings import CONFIG_DIR
from guatu.lifecycle.casebook import CaseBatch, CaseState
from guatu.lifecycle.models import IdempotencyKey, ProgrammeClock

DayUnit = Literal["working", "calendar"]
SOCIETY_RULES = CONFIG_DIR / "society.json"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------------------------
# Rule data
# ---------------------------------------------------------------------------------------------


class ObservationRules(Strict):
    """Deadlines of an observation that asks for an answer, in `day_unit` days counted from the
    local (Asia/Shanghai) date of the event: the bureau replies by the end of filed + `reply_days`;
    it is reminded at the start of filed + (`reply_days` − `reminder_days`) (0: no reminder); an
    unanswered observation is overdue from the next day and goes to 区幸福办, due by the end of
    reply_due + `escalation_days`; the observer rates a reply by the end of replied +
    `rating_days` (unrated by then: closed without a rating); an unsatisfied rating goes to
    区幸福办, due by the end of rated + `escalation_days`."""

    day_unit: DayUnit = "working"
    reply_days: int = Field(default=5, ge=1, le=60)
    reminder_days: int = Field(default=2, ge=0, le=59)
    rating_days: int = Field(default=5, ge=1, le=60)
    escalation_days: int = Field(default=3, ge=1, le=60)
    daily_limit_per_target: int = Field(default=3, ge=1, le=100)
    text_max_chars: int = Field(default=2000, ge=1)
    reply_min_chars: int = Field(default=10, ge=1)
    reply_max_chars: int = Field(default=4000, ge=1)
    photo_max_bytes: int = Field(default=1024 * 1024, ge=1024)
    photos_max: int = Field(default=3, ge=0, le=10)

    @model_validator(mode="after")
    def _reminder_before_deadline(self) -> ObservationRules:
        if self.reminder_days >= self.reply_days:
            raise ValueError("reminder_days must be smaller than reply_days")
        return self


class EvaluationRules(Strict):
    reason_min_chars: int = Field(default=10, ge=1)
    conclusion_max_chars: int = Field(default=10000, ge=1)
    report_max_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    indicators_max: int = Field(default=50, ge=1)
    answer_max_chars: int = Field(default=10000, ge=1)


class SocietyRules(Strict):
    version: int = Field(ge=1)
    observation: ObservationRules = Field(default_factory=ObservationRules)
    evaluation: EvaluationRules = Field(default_factory=EvaluationRules)


def load_rules(path: Path | None = None) -> SocietyRules:
    return SocietyRules.model_validate_json((path or SOCIETY_RULES).read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# 市民观察
# ---------------------------------------------------------------------------------------------


class Category(StrEnum):
    PROGRESS = "progress"  # 进度
    QUALITY = "quality"  # 质量
    SAFETY = "safety"  # 安全
    NUISANCE = "nuisance"  # 扰民
    SERVICE = "service"  # 服务


CATEGORY_ZH = {
    Category.PROGRESS: "进度",
    Category.QUALITY: "质量",
    Category.SAFETY: "安全",
    Category.NUISANCE: "扰民",
    Category.SERVICE: "服务",
}


class TargetKind(StrEnum):
    PROJECT = "project"
    SCENE = "scene"  # 示范场景, by its code (scenes are data of their own package)


class ObservationStatus(StrEnum):
    RECORDED = "recorded"  # no answer asked: recorded, closed at once
    OPEN = "open"  # awaiting the bureau's reply
    REMINDED = "reminded"  # reminded before the reply deadline
    REPLIED = "replied"  # replied, awaiting the observer's rating
    ESCALATED = "escalated"  # with 区幸福办 (unanswered, or rated 不满意)
    CLOSED = "closed"


STATUS_ZH = {
    ObservationStatus.RECORDED: "已记录",
    ObservationStatus.OPEN: "待答复",
    ObservationStatus.REMINDED: "待答复（已提醒）",
    ObservationStatus.REPLIED: "已答复，待评价",
    ObservationStatus.ESCALATED: "已提请区幸福办督办",
    ObservationStatus.CLOSED: "已办结",
}


class Satisfaction(StrEnum):
    SATISFIED = "satisfied"  # 满意
    UNSATISFIED = "unsatisfied"  # 不满意


SATISFACTION_ZH = {Satisfaction.SATISFIED: "满意", Satisfaction.UNSATISFIED: "不满意"}

TargetCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,39}$")]


class PhotoRef(BaseModel):
    """A photo stored in PostgreSQL (`observation_photos`); history carries only this."""

    seq: int
    content_type: str
    size: int
    sha256: str


class ObservationDeadlines(BaseModel):
    filed_on: date
    reply_due: date  # replied by the end of this day
    remind_on: date | None  # reminder at the start of this day; None: no reminder
    office_due_unanswered: date  # 区幸福办's deadline when unanswered


class ObservationInput(BaseModel):
    """Start input of CitizenObservation: an observation its door has checked."""

    observation_id: str
    target_kind: TargetKind
    target: str
    target_name: str = ""
    bureau: str  # the responsible bureau (the project's; the scene's lead bureau)
    bureau_name: str = ""
    program: str = ""
    observer: str  # the observer's token id: never published
    category: Category
    rating: int
    text: str
    wants_reply: bool
    photos: list[PhotoRef] = Field(default_factory=list)
    rules: ObservationRules
    # Working days from the filing day on, as the door's calendar gave them: the run computes
    # every later deadline from this table, so a replay never depends on a calendar's data.
    working_days: list[date] = Field(default_factory=list)
    calendar_note: str = ""
    idempotency_key: str = ""
    clock: ProgrammeClock = Field(default_factory=ProgrammeClock)


class ReplyInput(Strict):
    """The responsible bureau's reply."""

    text: str = Field(max_length=100_000)
    bureau: str
    actor: str
    role: str
    idempotency_key: IdempotencyKey


class RateInput(Strict):
    """The observer rates the reply: 满意 / 不满意."""

    satisfaction: Satisfaction
    comment: str = Field(default="", max_length=100_000)
    observer: str
    role: str
    idempotency_key: IdempotencyKey


class ResolveInput(Strict):
    """区幸福办 closes an escalated observation with what was done."""

    text: str = Field(max_length=100_000)
    actor: str
    role: str
    idempotency_key: IdempotencyKey


class ObservationView(BaseModel):
    """One observation as the doors show it and the read model stores it."""

    id: str
    workflow_id: str
    target_kind: TargetKind
    target: str
    target_name: str = ""
    bureau: str
    bureau_name: str = ""
    program: str = ""
    observer: str
    category: Category
    rating: int
    text: str
    wants_reply: bool
    photos: list[PhotoRef] = Field(default_factory=list)
    status: ObservationStatus
    filed_at: datetime
    reply_due: date | None = None
    remind_on: date | None = None
    reminded_at: datetime | None = None
    overdue_at: datetime | None = None
    reply: str = ""
    replied_by: str = ""
    replied_at: datetime | None = None
    reply_on_time: bool | None = None
    rating_due: date | None = None
    satisfaction: Satisfaction | None = None
    rating_comment: str = ""
    rated_at: datetime | None = None
    escalated_at: datetime | None = None
    escalation_reason: str = ""  # unanswered | unsatisfied
    office_due: date | None = None
    office_overdue_at: datetime | None = None
    resolution: str = ""
    resolved_by: str = ""
    closed_at: datetime | None = None
    calendar_note: str = ""
    version: int = 0
    duplicate: bool = False
    filing_key: str = ""


class ObservationState(CaseState[ObservationInput, ObservationView]):
    pass


class ObservationBatch(CaseBatch[ObservationView]):
    pass


class ObservationFiling(Strict):
    """An observation as a door receives it (the observer comes from the caller's token)."""

    target_kind: TargetKind = TargetKind.PROJECT
    target: TargetCode
    category: Category
    rating: int = Field(ge=1, le=5)
    text: str = Field(max_length=100_000)
    wants_reply: bool = True
    photos: list[bytes] = Field(default_factory=list, max_length=20)
    observer: str
    idempotency_key: IdempotencyKey


# ---------------------------------------------------------------------------------------------
# 第三方评估
# ---------------------------------------------------------------------------------------------


class EvaluationSubject(StrEnum):
    PROJECT = "project"  # one project
    PROGRAM = "program"  # one program (工程) for one year


IndicatorKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,40}$")]


class Indicator(Strict):
    key: IndicatorKey
    name_zh: str = Field(min_length=1, max_length=100)
    score: float = Field(ge=0, le=100)
    weight: float = Field(default=1.0, gt=0, le=100)


class EvaluationFiling(Strict):
    """An evaluation as a door receives it (the evaluator comes from the caller's token)."""

    subject: EvaluationSubject
    project: str = ""
    program: str = ""
    year: int = Field(ge=2000, le=2100)
    indicators: list[Indicator] = Field(min_length=1)
    conclusion: str = Field(max_length=1_000_000)
    report_name: str = Field(default="", max_length=200)
    report: bytes = b""
    supersedes: str = ""  # a correction names the version it corrects
    reason: str = Field(default="", max_length=100_000)  # required for a correction
    evaluator: str
    evaluator_label: str = ""
    programs: list[str] = Field(default_factory=list)  # the evaluator's engagement
    idempotency_key: IdempotencyKey
