"""Models of 竞进比拼 (ranking) and 激励奖惩 (reward/penalty ladders).

Three families:
- rule sets (`RuleSet`): versioned data read from `config/rules/*.json`; unknown keys are
  rejected so that a typo in a rule file never passes silently;
- frozen inputs and results (`Snapshot`, `RoundContext`, `RoundResults`): what a round freezes
  and what it publishes, stored in PostgreSQL as canonical JSON;
- ladder state and messages (`LadderState`, `RecordPeriodInput`, …): one input model per
  workflow, update and query. Fields are only ever added with defaults.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from typing_extensions import TypedDict

from guatu.lifecycle.models import AuditEntry, IdempotencyKey, Notice, ProgrammeClock
from guatu.workdays.units import UNITS, Unit

RuleSetId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]
PeriodKey = Annotated[str, StringConstraints(pattern=r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$")]
BureauCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]


M = TypeVar("M", bound=BaseModel)


def trusted(cls: type[M], values: dict[str, Any]) -> M:
    """`cls.model_construct(**values)` for complete, already valid values, several times faster.

    For the hundreds of thousands of inputs and rows a round builds from data that is valid by
    construction. Every field must be given (no defaults are filled in); the model must have no
    aliases, extras or post-init (true of the models it is used with).
    """
    assert values.keys() == cls.__pydantic_fields__.keys(), (
        cls.__name__,
        set(values) ^ set(cls.__pydantic_fields__),
    )
    m = cls.__new__(cls)
    object.__setattr__(m, "__dict__", values)
    object.__setattr__(m, "__pydantic_fields_set__", set(values))
    object.__setattr__(m, "__pydantic_extra__", None)
    object.__setattr__(m, "__pydantic_private__", None)
    return m


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Level(StrEnum):
    BUREAU = "bureau"
    PROGRAM = "program"
    PROJECT = "project"


LEVEL_ZH = {Level.BUREAU: "责任单位", Level.PROGRAM: "工程", Level.PROJECT: "项目"}


class ListKind(StrEnum):
    RED = "red"  # 红榜
    BLACK = "black"  # 黑榜


# ---------------------------------------------------------------------------------------------
# Rule sets
# ---------------------------------------------------------------------------------------------


class ComponentKey(StrEnum):
    INVESTMENT_RATIO = "investment_ratio"  # points × min(actual ÷ planned-to-date, cap)
    INVESTMENT_LIGHT = "investment_light"  # points by light: behind the plan by ≤ x yellow, > x red
    MILESTONES_ON_TIME = "milestones_on_time"  # points × share of due milestones met on time
    REPORTS_ON_TIME = "reports_on_time"  # points × share of monthly reports on time
    RED_MONTHS = "red_months"  # − points per month spent red in the period


class Basis(StrEnum):
    CUMULATIVE = "cumulative"  # everything since the project started (the `total` basis)
    YEAR_TO_DATE = "year_to_date"  # the calendar year of the period's last month, day curve
    # 本年累计完成 against the year's plan × 时间进度 (elapsed share of the year's plan span in
    # whole months): the published practice (config/rules/README.md)
    YEAR_PLAN = "year_plan"


class Window(StrEnum):
    PERIOD = "period"  # the months of the period
    TO_DATE = "to_date"  # every month since the project started


class WeightBy(StrEnum):
    TOTAL_INVESTMENT = "total_investment_wan"
    PLANNED_TO_DATE = "planned_to_date_wan"


class TieKey(StrEnum):
    SCORE = "score"
    INVESTMENT_RATIO = "investment_ratio"
    WEIGHT = "weight"
    CODE = "code"


class Component(Strict):
    key: ComponentKey
    points: float = Field(ge=0)
    cap: float = Field(default=1.3, gt=0)
    basis: Basis = Basis.CUMULATIVE
    red_behind: float = Field(default=0.5, ge=0, le=1)
    light_points: dict[Literal["green", "yellow", "red"], float] = Field(default_factory=dict)
    window: Window = Window.PERIOD


class TargetRule(Strict):
    """A unit met its period target when actual ≥ ratio × planned-to-date on `basis`."""

    basis: Basis = Basis.CUMULATIVE
    ratio: float = Field(default=1.0, gt=0)


class ListSize(Strict):
    red: int = Field(default=3, ge=0)
    black: int = Field(default=3, ge=0)


class ExemptionRules(Strict):
    """Who may exempt a bureau from the black list (force majeure) and what they must write."""

    roles: list[str] = Field(default_factory=lambda: ["district_leader", "leaders_office"])
    min_reason_chars: int = Field(default=10, ge=1)


LadderRung = Literal["notice", "summons", "supervision"]
KindName = Literal["month", "quarter", "year"]


def _rungs() -> list[LadderRung]:
    return ["notice", "summons", "supervision"]


def _months_only() -> list[KindName]:
    return ["month"]


class LadderRules(Strict):
    """A deadline's day unit sits next to its day count: "working" (工作日, on the working-day
    calendar, `guatu.workdays`) or "calendar" (自然日, the default). `ruleset_canonical` leaves
    a "calendar" unit out, so bodies written before units existed keep their SHA-256."""

    levels: list[LadderRung] = Field(default_factory=_rungs, min_length=1)
    correction_plan_days: int = Field(default=15, ge=1)
    correction_plan_unit: Unit = "calendar"
    step_down: int = Field(default=1, ge=0)
    award_after: int = Field(default=2, ge=1)
    project_red_months: int = Field(default=2, ge=1)
    project_correction_days: int = Field(default=30, ge=1)
    project_correction_unit: Unit = "calendar"
    project_order_periods: list[KindName] = Field(default_factory=_months_only)


# The day units an appeal term may be counted in (`guatu.workdays`): 工作日 or 自然日.
APPEAL_DAY_UNITS = UNITS


class AppealRules(Strict):
    """申诉: how long a bureau may appeal a published round, and how fast leaders must answer.

    All counts are days of `day_unit` ("working": 工作日 on the working-day calendar; "calendar":
    自然日), counted from the local (Asia/Shanghai) date of the event, that day not counted:
    a round published on D may be appealed up to and including D + `window_days`; an appeal
    filed on F must be decided by the end of F + `decision_days`; the leaders are reminded at
    the start of that day minus `reminder_days` (0: no reminder); an appeal still undecided when
    the deadline has passed is escalated to the coordinating office (区幸福办), which has until
    the end of the deadline + `escalation_days`.
    """

    day_unit: str = "calendar"
    window_days: int = Field(default=7, ge=1, le=366)
    decision_days: int = Field(default=10, ge=1, le=366)
    reminder_days: int = Field(default=3, ge=0, le=365)
    escalation_days: int = Field(default=5, ge=1, le=366)
    reason_min_chars: int = Field(default=10, ge=1)
    reason_max_chars: int = Field(default=2000, ge=1)
    evidence_max_chars: int = Field(default=10000, ge=0)

    @field_validator("day_unit")
    @classmethod
    def _known_unit(cls, unit: str) -> str:
        if unit not in APPEAL_DAY_UNITS:
            raise ValueError(
                f"申诉期限单位只能是 working（工作日）或 calendar（自然日），不能是 {unit!r} / "
                f"appeal day_unit {unit!r} is unknown; allowed: {', '.join(APPEAL_DAY_UNITS)}"
            )
        return unit

    @model_validator(mode="after")
    def _reminder_before_deadline(self) -> AppealRules:
        if self.reminder_days >= self.decision_days:
            raise ValueError("reminder_days must be smaller than decision_days")
        if self.reason_min_chars > self.reason_max_chars:
            raise ValueError("reason_min_chars must not exceed reason_max_chars")
        return self


class RuleSet(Strict):
    id: RuleSetId
    version: int = Field(ge=1)
    name_zh: str
    name_en: str
    description: str = ""
    components: list[Component] = Field(min_length=1)
    score_floor: float | None = 0.0
    weight_by: WeightBy = WeightBy.TOTAL_INVESTMENT
    target: TargetRule = Field(default_factory=TargetRule)
    lists: dict[Level, ListSize] = Field(
        default_factory=lambda: {
            Level.BUREAU: ListSize(),
            Level.PROGRAM: ListSize(),
            Level.PROJECT: ListSize(red=10, black=10),
        }
    )
    tie_break: list[TieKey] = Field(
        default_factory=lambda: [TieKey.SCORE, TieKey.INVESTMENT_RATIO, TieKey.WEIGHT, TieKey.CODE]
    )
    ladder: LadderRules = Field(default_factory=LadderRules)
    exemption: ExemptionRules = Field(default_factory=ExemptionRules)
    # Procedure, not scoring: left out of the canonical body hashed with every round
    # (`ruleset_canonical`), so adding or changing it neither alters a published round's rule
    # hash nor needs a version bump; each appeal carries the terms it was filed under.
    appeal: AppealRules = Field(default_factory=AppealRules, exclude=True)

    @property
    def label(self) -> str:
        return f"{self.id} v{self.version}"


# ---------------------------------------------------------------------------------------------
# Frozen inputs
# ---------------------------------------------------------------------------------------------


class MilestoneInput(BaseModel):
    step: str
    planned: date
    actual: date | None = None


class ReportInput(BaseModel):
    """One month a report was expected: received at all, and on time (by the due day)."""

    month: str
    received: bool
    on_time: bool


class ProjectInput(BaseModel):
    """Everything the rules read about one project, frozen at period close."""

    code: str
    name_zh: str
    program: str
    bureau: str
    kind: str
    stage: str
    status: str
    start: date
    finish: date
    total_investment_wan: float
    planned_to_date_wan: float
    planned_ytd_wan: float
    actual_cumulative_wan: float
    actual_ytd_wan: float
    monthly_investment_wan: dict[str, float] = Field(default_factory=dict)
    milestones: list[MilestoneInput] = Field(default_factory=list)
    reports: list[ReportInput] = Field(default_factory=list)
    red_months: list[str] = Field(default_factory=list)
    # Year-plan basis (added for issue 8; snapshots frozen before read 0 and never use them).
    year_plan_wan: float = 0.0
    year_plan_to_date_wan: float = 0.0


class Snapshot(BaseModel):
    period: str
    kind: str
    close: date
    months: list[str]
    frozen_at: datetime
    source: str = "read_model"
    bureaus: dict[str, str] = Field(default_factory=dict)  # code → name_zh
    programs: dict[str, str] = Field(default_factory=dict)
    projects: list[ProjectInput] = Field(default_factory=list)


class Exemption(BaseModel):
    bureau: str
    period: str
    reason: str
    actor: str
    role: str
    granted_at: datetime
    key: str = ""


class RoundContext(BaseModel):
    """Inputs of a round besides the snapshot, frozen at its first computation."""

    previous_period: str | None = None
    previous_ranks: dict[str, dict[str, int]] = Field(default_factory=dict)  # level → code → rank
    exemptions: dict[str, Exemption] = Field(default_factory=dict)  # bureau → exemption


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


class Line(TypedDict):
    """One line of a score's explanation, Chinese and English, with its inputs.

    A TypedDict rather than a model: a five-year replay builds hundreds of thousands of them.
    """

    key: str
    points: float | None
    max_points: float | None
    text_zh: str
    text_en: str
    inputs: dict[str, Any]


class RedProject(BaseModel):
    code: str
    name_zh: str
    streak: int  # consecutive red months ending with the period's last month
    red_months: list[str] = Field(default_factory=list)


class RankedRow(BaseModel):
    level: Level
    code: str
    name_zh: str
    rank: int
    of: int
    score: float
    previous_rank: int | None = None
    movement: int | None = None  # previous rank − rank: positive means moved up
    listed: ListKind | None = None  # red | black list
    target_met: bool
    exempted: bool = False
    investment_ratio: float
    weight: float
    members: int = 1
    bureau: str | None = None
    program: str | None = None
    breakdown: list[Line] = Field(default_factory=list)
    red_projects: list[RedProject] = Field(default_factory=list)


class LevelResult(BaseModel):
    rows: list[RankedRow] = Field(default_factory=list)
    red_list: list[str] = Field(default_factory=list)
    black_list: list[str] = Field(default_factory=list)
    exempted: list[str] = Field(default_factory=list)


class RoundResults(BaseModel):
    period: str
    kind: str
    close: date
    ruleset_id: str
    ruleset_version: int
    ruleset_sha256: str
    snapshot_sha256: str
    context: RoundContext
    levels: dict[Level, LevelResult]


# ---------------------------------------------------------------------------------------------
# RankingRound workflow
# ---------------------------------------------------------------------------------------------


class RankingRoundInput(BaseModel):
    """Input of RankingRound. `period` None → the last closed period of `kind` (Asia/Shanghai)."""

    period: str | None = None
    kind: Literal["month", "quarter", "year"] = "month"
    ruleset_id: str = "default"
    feed_ladders: bool = True
    notify: bool = True
    clock: ProgrammeClock = Field(default_factory=ProgrammeClock)
    # Freeze the period's inputs again and publish its next revision (`service.revise_round`).
    refreeze: bool = False
    reason: str = ""
    actor: str = ""


class FreezeInput(BaseModel):
    period: str
    refreeze: bool = False
    reason: str = ""
    actor: str = ""


class FreezeResult(BaseModel):
    period: str
    sha256: str
    projects: int
    reused: bool
    revision: int = 1  # of the period's snapshot


class ComputeInput(BaseModel):
    period: str
    ruleset_id: str
    workflow_id: str = ""
    refreeze: bool = False
    reason: str = ""
    actor: str = ""
    snapshot_sha256: str = ""  # a refreeze computes from the snapshot its freeze step stored


class BureauOutcome(BaseModel):
    """What a bureau's ladder needs to know about one period of one rule set."""

    bureau: str
    name_zh: str
    period: str
    kind: str
    ruleset_id: str
    ruleset_version: int
    rank: int
    of: int
    score: float
    movement: int | None = None
    listed: ListKind | None = None  # red | black list
    target_met: bool
    exempted: bool = False
    exemption_reason: str = ""
    investment_ratio: float
    reasons_zh: list[str] = Field(default_factory=list)
    reasons_en: list[str] = Field(default_factory=list)
    red_projects: list[RedProject] = Field(default_factory=list)


class ComputeResult(BaseModel):
    period: str
    ruleset_id: str
    ruleset_version: int
    snapshot_sha256: str
    results_sha256: str
    reproduced: bool  # a stored result existed and the recomputation matched it byte for byte
    outcomes: list[BureauOutcome]
    ladder: LadderRules
    exemption: ExemptionRules
    red_list: list[str]
    black_list: list[str]
    exempted: list[str]
    revision: int = 1
    reason: str = ""
    actor: str = ""


class FeedLadderInput(BaseModel):
    outcome: BureauOutcome
    ladder: LadderRules
    exemption: ExemptionRules
    clock: ProgrammeClock = Field(default_factory=ProgrammeClock)
    revision: int = 1
    reason: str = ""
    actor: str = ""


class FeedLadderResult(BaseModel):
    bureau: str
    accepted: bool
    duplicate: bool = False
    level_before: int = 0
    level_after: int = 0
    decisions: list[str] = Field(default_factory=list)  # decision keys
    rejected: str = ""
    withdrawn: list[str] = Field(default_factory=list)  # keys of decisions a revision withdrew


class RoundNoticesInput(BaseModel):
    period: str
    ruleset_id: str
    revision: int = 1


class RoundResult(BaseModel):
    period: str
    ruleset_id: str
    ruleset_version: int = 0
    snapshot_sha256: str = ""
    results_sha256: str = ""
    reproduced: bool = False
    bureaus: int = 0
    red_list: list[str] = Field(default_factory=list)
    black_list: list[str] = Field(default_factory=list)
    exempted: list[str] = Field(default_factory=list)
    ladders: list[FeedLadderResult] = Field(default_factory=list)
    notices: int = 0
    delegated_to: str = ""  # schedule runs hand the round to the business-key workflow
    skipped: str = ""  # a scheduled period before any project has data for it: why it was skipped
    revision: int = 1  # the period's round revision this run published or re-verified


class PeriodDataInput(BaseModel):
    period: str


class PeriodDataResult(BaseModel):
    """Whether a period has data to rank (the gate of automatic rounds), and why (or why not)."""

    has_data: bool
    reason: str


# ---------------------------------------------------------------------------------------------
# BureauLadder workflow
# ---------------------------------------------------------------------------------------------


class ActionKind(StrEnum):
    NOTICE = "notice"  # 黑榜通报
    SUMMONS = "summons"  # 约谈
    SUPERVISION = "supervision"  # 督办 (correction plan due)
    STEP_DOWN = "step_down"  # 降级
    COMMENDATION = "commendation"  # 通报表扬
    AWARD = "award_recommendation"  # 推荐评优
    PROJECT_SUPERVISION = "project_supervision"  # 督办单
    ORDER_CLOSED = "order_closed"  # 整改销号
    EXEMPTED = "exempted"  # 不可抗力免于黑榜
    EXEMPTION_GRANTED = "exemption_granted"
    ESCALATION = "escalation"  # 逾期升级
    PLAN_SUBMITTED = "plan_submitted"
    WITHDRAWN = "withdrawn"  # 撤销: a revision of the round no longer supports a decision


ACTION_ZH = {
    ActionKind.NOTICE: "黑榜通报",
    ActionKind.SUMMONS: "约谈",
    ActionKind.SUPERVISION: "督办",
    ActionKind.STEP_DOWN: "降级",
    ActionKind.COMMENDATION: "通报表扬",
    ActionKind.AWARD: "推荐评优",
    ActionKind.PROJECT_SUPERVISION: "督办单",
    ActionKind.ORDER_CLOSED: "整改销号",
    ActionKind.EXEMPTED: "免于黑榜",
    ActionKind.EXEMPTION_GRANTED: "不可抗力豁免",
    ActionKind.ESCALATION: "督办升级",
    ActionKind.PLAN_SUBMITTED: "整改方案已报送",
    ActionKind.WITHDRAWN: "撤销决定",
}


class PeriodStep(BaseModel):
    period: str
    rank: int
    of: int
    score: float
    listed: ListKind | None = None  # red | black list
    exempted: bool = False
    level_before: int
    level_after: int
    actions: list[ActionKind] = Field(default_factory=list)


class TrackState(BaseModel):
    """One ladder track: one rule set and one period kind (monthly, quarterly, annual)."""

    ruleset_id: str
    kind: str
    levels: list[str] = Field(default_factory=list)  # the rule set's rungs, for display
    last_period: str | None = None
    level: int = 0
    black_streak: int = 0
    red_streak: int = 0
    awarded: bool = False  # award already recommended in the current red streak
    history: list[PeriodStep] = Field(default_factory=list)


class LadderAction(BaseModel):
    kind: ActionKind
    level_before: int
    level_after: int
    project: str | None = None
    project_name: str = ""
    due_days: int | None = None
    lines_zh: list[str] = Field(default_factory=list)
    lines_en: list[str] = Field(default_factory=list)


class LadderStep(BaseModel):
    track: TrackState
    actions: list[LadderAction]


class OrderStatus(StrEnum):
    OPEN = "open"  # correction plan awaited
    ESCALATED = "escalated"  # plan overdue, escalated
    PLAN_SUBMITTED = "plan_submitted"  # project order: plan in, project still to come off red
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"  # its decision was withdrawn by a revision of the round

    @property
    def finished(self) -> bool:
        """Nothing more is awaited: not open, not escalated, not counted; kept as history."""
        return self in (OrderStatus.CLOSED, OrderStatus.WITHDRAWN)


class SupervisionOrder(BaseModel):
    id: str
    bureau: str
    kind: ActionKind  # SUPERVISION or PROJECT_SUPERVISION
    project: str | None = None
    project_name: str = ""
    period: str
    ruleset_id: str
    ruleset_version: int = 0
    track: str
    issued_at: datetime
    due: date  # the plan is due by the end of this day (Asia/Shanghai)
    status: OrderStatus = OrderStatus.OPEN
    plan: str = ""
    plan_actor: str = ""
    submitted_at: datetime | None = None
    plan_on_time: bool | None = None
    escalated_at: datetime | None = None
    closed_at: datetime | None = None
    decision_key: str = ""


class LadderDecision(BaseModel):
    key: str
    bureau: str
    period: str
    ruleset_id: str
    ruleset_version: int
    track: str
    kind: ActionKind
    level_before: int
    level_after: int
    project: str | None = None
    order_id: str | None = None
    deadline: date | None = None
    lines_zh: list[str] = Field(default_factory=list)
    lines_en: list[str] = Field(default_factory=list)
    inputs: dict[str, Any] = Field(default_factory=dict)
    decided_at: datetime


class RecordPeriodInput(Strict):
    outcome: BureauOutcome
    ladder: LadderRules = Field(default_factory=LadderRules)
    exemption: ExemptionRules | None = None
    notify_office: bool = True
    # Revision N > 1 of the period's round supersedes what revision N − 1 decided.
    revision: int = Field(default=1, ge=1)
    reason: str = ""
    actor: str = ""


class RecordPeriodResult(BaseModel):
    bureau: str
    period: str
    ruleset_id: str
    track: str
    level_before: int
    level_after: int
    exempted: bool = False
    decisions: list[LadderDecision] = Field(default_factory=list)
    duplicate: bool = False
    revision: int = 1
    withdrawn: list[str] = Field(default_factory=list)  # decision keys withdrawn


class DecisionRef(BaseModel):
    """A decision of a recorded period still in force, as a revision needs to know it."""

    key: str
    kind: ActionKind
    project: str | None = None
    order_id: str | None = None
    order_status_before: OrderStatus | None = None  # ORDER_CLOSED: the status it closed


class PeriodRecord(BaseModel):
    """The last period recorded on a track, kept so a revision of it can be decided again
    from the same starting point: the track before it and the decisions in force."""

    period: str
    revision: int = 1
    before: TrackState
    open_projects: list[str] = Field(default_factory=list)
    decisions: list[DecisionRef] = Field(default_factory=list)


class ExemptionInput(Strict):
    """A leader exempts a bureau from one period's black list (不可抗力, force majeure)."""

    period: PeriodKey
    reason: Annotated[str, StringConstraints(max_length=2000)]
    actor: Annotated[str, StringConstraints(max_length=200)]
    role: Annotated[str, StringConstraints(max_length=100)]
    idempotency_key: IdempotencyKey


class ExemptionResult(BaseModel):
    bureau: str
    period: str
    decision_key: str
    duplicate: bool = False


class CorrectionPlanInput(Strict):
    order_id: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    plan: Annotated[str, StringConstraints(max_length=10000)]
    actor: Annotated[str, StringConstraints(max_length=200)] = ""
    idempotency_key: IdempotencyKey


class CorrectionPlanResult(BaseModel):
    order_id: str
    status: OrderStatus
    on_time: bool
    duplicate: bool = False


class LadderState(BaseModel):
    """All state of one BureauLadder, carried whole across continue-as-new."""

    bureau: str
    name_zh: str = ""
    tracks: dict[str, TrackState] = Field(default_factory=dict)
    orders: dict[str, SupervisionOrder] = Field(default_factory=dict)
    exemptions: dict[str, Exemption] = Field(default_factory=dict)  # by period
    exemption_rules: ExemptionRules = Field(default_factory=ExemptionRules)
    seen: dict[str, dict[str, Any]] = Field(default_factory=dict)
    pending_notices: list[Notice] = Field(default_factory=list)
    clock: ProgrammeClock = Field(default_factory=ProgrammeClock)
    continue_as_new_events: int = 2000
    decisions: int = 0
    version: int = 0
    runs: int = 1
    started_at: datetime | None = None
    updated_at: datetime | None = None
    last_records: dict[str, PeriodRecord] = Field(default_factory=dict)  # by track key


class LadderInput(BaseModel):
    bureau: str
    name_zh: str = ""
    exemption_rules: ExemptionRules = Field(default_factory=ExemptionRules)
    clock: ProgrammeClock = Field(default_factory=ProgrammeClock)
    continue_as_new_events: int = 2000
    state: LadderState | None = None


class LadderBatch(BaseModel):
    """What a ladder writes to PostgreSQL in one transaction."""

    bureau: str
    version: int
    state: dict[str, Any]
    decisions: list[LadderDecision] = Field(default_factory=list)
    orders: list[SupervisionOrder] = Field(default_factory=list)
    exemptions: list[Exemption] = Field(default_factory=list)
    audit: list[AuditEntry] = Field(default_factory=list)
    notices: list[Notice] = Field(default_factory=list)


class TrackView(BaseModel):
    track: str
    ruleset_id: str
    kind: str
    level: int
    level_zh: str
    black_streak: int
    red_streak: int
    last_period: str | None
    history: list[PeriodStep]


class LadderStanding(BaseModel):
    bureau: str
    name_zh: str
    tracks: list[TrackView]
    open_orders: list[SupervisionOrder]
    exemptions: list[Exemption]
    decisions: int
    version: int
    runs: int


RankingRoundInput.model_rebuild()
