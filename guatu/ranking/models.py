"""Models of 竞进比拼 (ranking): rule sets, frozen inputs and published results.

One file: the rule set and a round's frozen inputs and results are one vocabulary (a round freezes
and scores under one rule set), imported as one by `RankingRound`, its activities and the doors.

- rule sets (`RuleSet`): versioned data read from `config/rules/*.json`; unknown keys are
  rejected so that a typo in a rule file never passes silently. The ladder's rules
  (`LadderRules`, `ExemptionRules`) are part of a rule set and live here too;
- frozen inputs and results (`Snapshot`, `RoundContext`, `RoundResults`): what a round freezes
  and what it publishes, stored in PostgreSQL as canonical JSON.

The RankingRound's messages are in `guatu.ranking.messages`, the ladder's state and messages in
`guatu.ladder.models`. Fields are only ever added with defaults.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    field_validator,
    model_serializer,
    model_validator,
)
from typing_extensions import TypedDict

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
    # 市民观察 and 第三方评估 (guatu.ranking.society_scoring; frozen in `ProjectInput.society`)
    CITIZEN_SATISFACTION = "citizen_satisfaction"  # points × 满意 ÷ rated replies
    RESPONSE_TIMELINESS = "response_timeliness"  # points × replies on time ÷ replies due
    THIRD_PARTY_SCORE = "third_party_score"  # points × the latest evaluation's score ÷ 100


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
    calendar, `guatu.workdays`) or "calendar" (自然日, the default). A "calendar" unit is left
    out of every dump, so rule bodies written before units existed keep their canonical JSON and
    SHA-256 (and read back the same)."""

    levels: list[LadderRung] = Field(default_factory=_rungs, min_length=1)
    correction_plan_days: int = Field(default=15, ge=1)
    correction_plan_unit: Unit = "calendar"
    step_down: int = Field(default=1, ge=0)
    award_after: int = Field(default=2, ge=1)
    project_red_months: int = Field(default=2, ge=1)
    project_correction_days: int = Field(default=30, ge=1)
    project_correction_unit: Unit = "calendar"
    project_order_periods: list[KindName] = Field(default_factory=_months_only)

    @model_serializer(mode="wrap")
    def _omit_calendar_units(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for key in ("correction_plan_unit", "project_correction_unit"):
            if data.get(key) == "calendar":
                del data[key]
        return data


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


class EvaluationInput(BaseModel):
    """The third-party evaluation a project is scored on: its own latest version submitted
    before close, or else its program's for the year (`subject` says which)."""

    id: str
    subject: str  # project | program
    year: int
    score: float


class SocietyInput(BaseModel):
    """What 市民观察 and 第三方评估 say about one project, frozen at period close, by month:
    ratings by the month they were given, replies due by the month of their deadline."""

    satisfied: dict[str, int] = Field(default_factory=dict)
    unsatisfied: dict[str, int] = Field(default_factory=dict)
    replies_due: dict[str, int] = Field(default_factory=dict)
    replies_on_time: dict[str, int] = Field(default_factory=dict)
    evaluation: EvaluationInput | None = None


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
    # 市民观察 / 第三方评估 (issue 9); None in snapshots frozen before, read as "nothing yet".
    society: SocietyInput | None = None


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
