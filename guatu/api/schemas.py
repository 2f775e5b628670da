"""Request and response bodies of the HTTP API.

Request bodies reject unknown fields (`extra="forbid"`) and never carry `actor` or `bureau`:
who acts, and for which bureau, comes from the bearer token. The workflow's input models
(`StageTransitionInput`, `ProgressReportInput`, …) are built from token + body + header.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi.exceptions import RequestValidationError
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from guatu.core.tokens import Role
from guatu.lifecycle.models import (
    CurveShape,
    IssueRaised,
    Light,
    ProjectCode,
    ProjectKind,
    ProjectPlan,
    RunStatus,
    Stage,
    Step,
)

# Numbers are JSON numbers (an int is fine); `true` or `"4"` is refused, never coerced to 1.0 or
# 4.0 (Strict). Amounts in 万元: finite, and within what a district programme could ever hold.
Amount = Annotated[float, Strict(), Field(allow_inf_nan=False, ge=-1e9, le=1e9)]
PlannedAmount = Annotated[float, Strict(), Field(allow_inf_nan=False, ge=0, le=1e9)]
Percent = Annotated[float, Strict(), Field(allow_inf_nan=False, ge=-1e6, le=1e6)]
Flag = Annotated[bool, Strict()]


def _date_text(value: Any) -> Any:
    """Dates come as ISO text (2026-03-01); a number is not read as seconds since 1970."""
    if isinstance(value, str | date):
        return value
    raise ValueError("a date is written as text, YYYY-MM-DD")


# Dates a programme can hold; far-off dates would only make timers and date arithmetic fail.
ProgrammeDate = Annotated[
    date, BeforeValidator(_date_text), Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))
]
Year = Annotated[int, Field(ge=2000, le=2100)]
# A ranking period: a month 2026-11, a quarter 2026-Q4 or a year 2026.
# A month of the programme's years (what-if ranges): the ranking's periods run 2000–2100.
ProgrammeMonth = Annotated[str, StringConstraints(pattern=r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$")]
# Years 2000–2100 only, as plan dates (guatu.ranking.periods): year 0 is not a period.
Period = Annotated[
    str, StringConstraints(pattern=r"^(20[0-9]{2}|2100)(-(0[1-9]|1[0-2])|-Q[1-4])?$")
]


def _text_problem(value: Any) -> str | None:
    """Why a text inside a body cannot be stored (PostgreSQL text holds neither NUL nor lone
    surrogates, and a workflow must never accept what its projection cannot write)."""
    if isinstance(value, str):
        if "\x00" in value:
            return "text must not contain NUL (\\u0000) characters"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "text must be valid Unicode (no lone surrogates)"
        return None
    if isinstance(value, BaseModel):
        value = dict(value)
    if isinstance(value, dict):
        return next((p for p in map(_text_problem, [*value.keys(), *value.values()]) if p), None)
    if isinstance(value, list | tuple):
        return next((p for p in map(_text_problem, value) if p), None)
    return None


class Body(BaseModel):
    """Request bodies: unknown fields refused, every text storable."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        problem = _text_problem(value)
        if problem:
            raise ValueError(problem)
        return value


# ---------------------------------------------------------------------------------------------
# Bureau
# ---------------------------------------------------------------------------------------------


class TransitionBody(Body):
    """A bureau reports that its project reached a step (e.g. 开工 `construction_started`)."""

    step: Step
    on: ProgrammeDate | None = Field(
        default=None, description="Date the step was reached; today if empty"
    )
    note: str = Field(default="", max_length=2000)


class ReportBody(Body):
    """A monthly progress report (月报). Issues are raised and resolved (销号) with a report."""

    month: ProgrammeMonth = Field(description="YYYY-MM, a month of 2000–2100")
    investment_wan: Amount = Field(description="Investment completed in that month, 万元")
    physical_progress_pct: Percent = Field(description="Cumulative physical progress, %")
    narrative: str = Field(default="", max_length=5000)
    issues_raised: list[IssueRaised] = Field(default_factory=list, max_length=50)
    issues_resolved: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=50
    )
    correction: Flag = Field(default=False, description="Replaces the report of that month")


# ---------------------------------------------------------------------------------------------
# Manager
# ---------------------------------------------------------------------------------------------


# The milestones a plan of each kind may carry (the steps its bureau reports).
KIND_STEPS: dict[ProjectKind, tuple[Step, ...]] = {
    ProjectKind.ENGINEERING: (
        Step.PRELIMINARY,
        Step.LAND_USE,
        Step.PLANNING_PERMIT,
        Step.CONSTRUCTION_PERMIT,
        Step.CONSTRUCTION_STARTED,
        Step.UNDER_CONSTRUCTION,
        Step.COMPLETED,
        Step.ACCEPTED,
        Step.CLOSED,
    ),
    ProjectKind.SERVICE: (Step.IMPLEMENTING, Step.DONE, Step.EVALUATED, Step.CLOSED),
}


class MilestoneBody(Body):
    step: Step
    planned: ProgrammeDate


class PlanBody(Body):
    """The approved plan of one project (as `guatu.lifecycle.models.ProjectPlan`, unknown fields refused)."""

    code: ProjectCode
    name_zh: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    name_en: str = Field(default="", max_length=300)
    program: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
    bureau: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
    kind: ProjectKind
    total_investment_wan: PlannedAmount
    yearly_investment_wan: dict[Year, PlannedAmount] = Field(default_factory=dict, max_length=50)
    start: ProgrammeDate
    finish: ProgrammeDate
    milestones: list[MilestoneBody] = Field(min_length=1, max_length=30)
    curve: CurveShape = CurveShape.LINEAR
    illustrative: Flag = False

    @model_validator(mode="after")
    def _coherent(self) -> PlanBody:
        if self.finish < self.start:
            raise ValueError("finish is before start")
        steps = [m.step for m in self.milestones]
        if len(set(steps)) != len(steps):
            raise ValueError("a milestone step appears twice")
        allowed = KIND_STEPS[self.kind]
        foreign = [s.value for s in steps if s not in allowed]
        if foreign:
            raise ValueError(
                f"milestones {foreign} do not belong to a {self.kind.value} project "
                f"(allowed: {', '.join(s.value for s in allowed)})"
            )
        return self

    def to_plan(self) -> ProjectPlan:
        try:
            return ProjectPlan.model_validate(self.model_dump())
        except ValidationError as err:  # the body's rules are meant to be at least as strict
            raise RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in err.errors()]
            ) from None


class PlanChangeBody(Body):
    """A plan change (调整计划): only what changes; the previous plan is kept as a baseline."""

    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    milestones: list[MilestoneBody] = Field(default_factory=list, max_length=30)
    total_investment_wan: Amount | None = None
    yearly_investment_wan: dict[Year, Amount] | None = None
    finish: ProgrammeDate | None = None


class RunControlBody(Body):
    """Suspend, resume or cancel (暂停 / 恢复 / 撤销); suspend and cancel need a reason."""

    reason: str = Field(default="", max_length=2000)


class StartResult(BaseModel):
    project: str
    workflow_id: str
    created: bool = Field(description="False when the project was already running with this plan")


class ImportItem(BaseModel):
    index: int
    project: str
    outcome: str = Field(description="created | existing | conflict")
    code: str = ""
    zh: str = ""
    en: str = ""


class ImportResult(BaseModel):
    total: int
    created: int
    existing: int
    conflicts: int
    dry_run: bool = False
    items: list[ImportItem] = Field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------------


class ProjectRow(BaseModel):
    """One project of the list, from the read model."""

    code: str
    name_zh: str
    name_en: str | None = None
    program: str
    bureau: str
    kind: ProjectKind
    stage: Stage
    status: RunStatus
    light: Light
    explanations: list[dict[str, Any]]
    total_investment_wan: float
    planned_investment_to_date_wan: float
    actual_investment_wan: float
    physical_progress_pct: float
    milestones: list[dict[str, Any]]
    open_issues: int
    last_report_month: str | None
    red_months: list[str]
    start: date | None
    finish: date | None
    business_today: date
    version: int
    runs: int
    updated_at: datetime


class ProjectPage(BaseModel):
    items: list[ProjectRow]
    total: int
    page: int
    page_size: int


class NotificationRow(BaseModel):
    key: str
    bureau: str
    project: str | None
    kind: str
    title_zh: str
    body_zh: str
    body_en: str
    created_at: datetime
    deadline: date | None
    status: str
    delivered_at: datetime | None
    acknowledged_at: datetime | None


class NotificationPage(BaseModel):
    items: list[NotificationRow]
    total: int
    page: int
    page_size: int


# ---------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------


class TokenCreateBody(Body):
    role: Role
    bureau: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")] | None = Field(
        default=None, description="Required for (and only for) role bureau"
    )
    label: str = Field(default="", max_length=100)
    programs: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")]] = Field(
        default_factory=list,
        max_length=10,
        description="Required for (and only for) role evaluator: the programs it evaluates",
    )


class TokenCreated(BaseModel):
    id: str
    token: str = Field(description="Shown once; only its SHA-256 is stored")
    role: Role
    bureau: str | None
    label: str
    programs: list[str] = Field(default_factory=list)


class TokenInfo(BaseModel):
    id: str
    role: Role
    bureau: str | None
    label: str
    programs: list[str] = Field(default_factory=list)
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class Me(BaseModel):
    token_id: str
    role: Role
    bureau: str | None
    label: str
    actor: str


__all__ = [
    "ImportItem",
    "ImportResult",
    "Me",
    "MilestoneBody",
    "NotificationPage",
    "NotificationRow",
    "Period",
    "ProgrammeMonth",
    "PlanBody",
    "PlanChangeBody",
    "ProjectPage",
    "ProjectRow",
    "ReportBody",
    "RunControlBody",
    "StartResult",
    "TokenCreateBody",
    "TokenCreated",
    "TokenInfo",
    "TransitionBody",
]
