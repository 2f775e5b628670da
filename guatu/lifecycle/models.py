"""Domain models shared by workflows, activities, the API and tests.

One file: every lifecycle message that crosses a Temporal boundary, so the rule below is kept in one
place and recorded histories decode against one module.

Every message that crosses a Temporal boundary is one of these pydantic models: one input
model per workflow, update and signal. Fields are only ever added with defaults, never
reordered or removed, so that histories recorded by older workers keep decoding.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Defined in guatu.core (below every domain package), named here with the models they go with.
from guatu.core.clock import ProgrammeClock as ProgrammeClock
from guatu.core.notice import Notice as Notice

ProjectCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{1,39}$")]
BureauCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=200)]
# ASCII digits only (\d also matches ٢٠٢٦).
Month = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
ProgressBasis = Literal["year_plan", "total"]


class Strict(BaseModel):
    """Inputs reject unknown fields: a typo from a bureau system must not be silently dropped."""

    model_config = ConfigDict(extra="forbid")


class ProjectKind(StrEnum):
    """工程类 engineering (built) or 服务类 service (delivered)."""

    ENGINEERING = "engineering"
    SERVICE = "service"


class Stage(StrEnum):
    """Where a project stands in its lifecycle.

    Engineering: 立项 → 前期 → 开工 → 在建 → 竣工 → 验收 → closed.
    Service: 立项 → 实施 → 完成 → 评估 → closed.
    """

    APPROVED = "approved"  # 立项
    PRELIMINARY = "preliminary"  # 前期 (land use, planning permit, construction permit)
    CONSTRUCTION_STARTED = "construction_started"  # 开工
    UNDER_CONSTRUCTION = "under_construction"  # 在建
    COMPLETED = "completed"  # 竣工
    ACCEPTED = "accepted"  # 验收
    IMPLEMENTING = "implementing"  # 实施
    DONE = "done"  # 完成
    EVALUATED = "evaluated"  # 评估
    CLOSED = "closed"


class Step(StrEnum):
    """A checkpoint a bureau reports. Most steps enter a stage; permits are steps inside 前期."""

    PRELIMINARY = "preliminary"
    LAND_USE = "land_use"  # 用地
    PLANNING_PERMIT = "planning_permit"  # 规划许可
    CONSTRUCTION_PERMIT = "construction_permit"  # 施工许可
    CONSTRUCTION_STARTED = "construction_started"
    UNDER_CONSTRUCTION = "under_construction"
    COMPLETED = "completed"
    ACCEPTED = "accepted"
    IMPLEMENTING = "implementing"
    DONE = "done"
    EVALUATED = "evaluated"
    CLOSED = "closed"


class Light(StrEnum):
    """红黄绿灯: the project's warning light."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class RunStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"
    CLOSED = "closed"


class CurveShape(StrEnum):
    """序时进度 curve: how planned cumulative investment grows over the project's span."""

    LINEAR = "linear"
    S_CURVE = "s_curve"


# ---------------------------------------------------------------------------------------------
# Reference data and plans
# ---------------------------------------------------------------------------------------------


class Bureau(BaseModel):
    code: BureauCode
    name_zh: str
    name_en: str
    webhook_url: str | None = None


class Program(BaseModel):
    """One of the ten programs (十大工程)."""

    code: str
    number: int
    name_zh: str
    name_en: str
    lead_bureau: BureauCode


class MilestonePlan(BaseModel):
    """The planned date by which a step must be reported (节点计划)."""

    step: Step
    planned: date


class ProjectPlan(BaseModel):
    """The approved plan of one project: what it is, who owns it, when and how much."""

    code: ProjectCode
    name_zh: str
    name_en: str = ""
    program: str
    bureau: BureauCode
    kind: ProjectKind
    total_investment_wan: float = Field(ge=0)
    yearly_investment_wan: dict[int, float] = Field(default_factory=dict)
    start: date
    finish: date
    milestones: list[MilestonePlan]
    curve: CurveShape = CurveShape.LINEAR
    illustrative: bool = False

    def milestone(self, step: Step) -> MilestonePlan | None:
        return next((m for m in self.milestones if m.step == step), None)


class TimerPolicy(BaseModel):
    """Every deadline threshold of the lifecycle; none is written in code (config/lifecycle.json)."""

    milestone_reminder_days: int = 7
    milestone_grace_days: int = 30
    report_due_day: int = 25
    report_reminder_days: int = 3
    progress_yellow_points: float = 10.0
    progress_red_points: float = 30.0
    progress_check_day: int = 1
    continue_as_new_events: int = 4000
    # 序时 basis of the monthly check (config/rules/README.md): "year_plan" compares this year's
    # completion rate (本年累计完成 ÷ 年度计划) with the elapsed share of the year's plan span;
    # "total" compares cumulative investment with the whole-span curve, in points of the total.
    progress_basis: ProgressBasis = "year_plan"
    # Deadlines that passed before a project was loaded read 待补报 (no data yet) until the end
    # of the N-th monthly report due day after the load day; then what is missing counts. 0: none.
    backfill_report_dues: int = Field(default=1, ge=0)


# ---------------------------------------------------------------------------------------------
# Workflow input and messages (one model each)
# ---------------------------------------------------------------------------------------------


class StartProjectInput(BaseModel):
    """Input of ProjectLifecycle. On continue-as-new, `state` carries everything forward."""

    plan: ProjectPlan
    policy: TimerPolicy = Field(default_factory=TimerPolicy)
    clock: ProgrammeClock = Field(default_factory=ProgrammeClock)
    started_by: str = "system"
    state: ProjectState | None = None
    search_attributes: bool = True


class StageTransitionInput(Strict):
    """A bureau reports that a project reached a step (e.g. 开工)."""

    bureau: BureauCode
    idempotency_key: IdempotencyKey
    step: Step
    on: date | None = Field(default=None, description="Date the step was reached; today if empty")
    note: str = Field(default="", max_length=2000)
    actor: str = Field(default="", max_length=200)


class EvaluationRecordInput(Strict):
    """A third-party evaluation (第三方评估) of the project was submitted (guatu.society)."""

    evaluation_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    score: float = Field(ge=0, le=100)
    actor: str = Field(default="", max_length=200)
    idempotency_key: IdempotencyKey


class IssueRaised(Strict):
    id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    title: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class ProgressReportInput(Strict):
    """A monthly progress report (月报) from the responsible bureau."""

    bureau: BureauCode
    idempotency_key: IdempotencyKey
    month: Month
    investment_wan: float = Field(description="Investment completed in that month, 万元")
    physical_progress_pct: float = Field(description="Cumulative physical progress, %")
    narrative: str = Field(default="", max_length=5000)
    issues_raised: list[IssueRaised] = Field(default_factory=list, max_length=50)
    issues_resolved: list[str] = Field(default_factory=list, max_length=50)
    correction: bool = False
    actor: str = Field(default="", max_length=200)


class PlanChangeInput(Strict):
    """A manager changes the plan (调整计划). The previous plan is kept as a baseline."""

    idempotency_key: IdempotencyKey
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    milestones: list[MilestonePlan] = Field(default_factory=list)
    total_investment_wan: float | None = None
    yearly_investment_wan: dict[int, float] | None = None
    finish: date | None = None
    actor: str = Field(default="", max_length=200)


class RunControlInput(Strict):
    """Suspend, resume or cancel a project (暂停 / 恢复 / 撤销)."""

    idempotency_key: IdempotencyKey
    reason: str = Field(default="", max_length=2000)
    actor: str = Field(default="", max_length=200)


class ClockChangeInput(Strict):
    """Only for simulations: change the programme clock scale of a running project.

    By default business time goes on from where it is at the new scale. `real_time` ends a
    simulation that ran up to today: business time becomes real time again (scale 1, no anchor),
    so the programme reads today's date, not the few days the accelerated clock was off by.
    """

    clock: ProgrammeClock
    real_time: bool = False


# ---------------------------------------------------------------------------------------------
# State, explanations and results
# ---------------------------------------------------------------------------------------------


class Explanation(BaseModel):
    """Why a light is what it is: the rule, its inputs and the formula, readable by a leader."""

    rule: str
    light: Light
    inputs: dict[str, Any] = Field(default_factory=dict)
    formula: str = ""
    text_zh: str = ""
    text_en: str = ""


class LightChange(BaseModel):
    at: datetime
    light: Light
    previous: Light
    explanations: list[Explanation]


class StageChange(BaseModel):
    step: Step | None  # None for the approval that starts the lifecycle
    stage: Stage
    on: date
    recorded_at: datetime
    actor: str
    bureau: str
    note: str = ""
    planned: date | None = None


class ReportRecord(BaseModel):
    month: Month
    investment_wan: float
    cumulative_investment_wan: float
    physical_progress_pct: float
    narrative: str = ""
    received_at: datetime
    on_time: bool
    corrected: int = 0
    actor: str = ""


class OpenIssue(BaseModel):
    id: str
    title: str
    raised_month: str


class IssueChange(BaseModel):
    """One issue raised or resolved, for the read model's 问题台账 (project_issues)."""

    id: str
    title: str = ""
    raised_month: str
    resolved_month: str | None = None
    version: int


class MilestoneWatch(BaseModel):
    """Which deadline events of one milestone have already fired (so a restart never repeats)."""

    reminded: bool = False
    missed: bool = False
    escalated: bool = False


class ReportWatch(BaseModel):
    reminded: bool = False
    late: bool = False


class MonthCheck(BaseModel):
    """The light of one month's 序时 check as last (re)computed from what is known now."""

    light: Light
    rules: list[str] = Field(default_factory=list)
    awaiting_backfill: bool = False


class AuditEntry(BaseModel):
    key: str
    at: datetime
    actor: str
    bureau: str
    action: str
    idempotency_key: str
    accepted: bool
    before: dict[str, Any] = Field(default_factory=dict)
    after: dict[str, Any] = Field(default_factory=dict)
    reason: str = ""


class UpdateResult(BaseModel):
    """What a bureau gets back: accepted, with the project's new state in brief."""

    accepted: bool = True
    project: str
    stage: Stage
    light: Light
    status: RunStatus
    message_zh: str = ""
    message_en: str = ""
    duplicate: bool = False


class ProjectState(BaseModel):
    """All state of one ProjectLifecycle run, carried whole across continue-as-new."""

    plan: ProjectPlan
    baselines: list[ProjectPlan] = Field(default_factory=list)
    policy: TimerPolicy = Field(default_factory=TimerPolicy)
    clock: ProgrammeClock = Field(default_factory=ProgrammeClock)
    stage: Stage = Stage.APPROVED
    status: RunStatus = RunStatus.ACTIVE
    status_reason: str = ""
    steps_done: dict[Step, date] = Field(default_factory=dict)
    stage_history: list[StageChange] = Field(default_factory=list)
    reports: dict[str, ReportRecord] = Field(default_factory=dict)
    milestone_watch: dict[Step, MilestoneWatch] = Field(default_factory=dict)
    report_watch: dict[str, ReportWatch] = Field(default_factory=dict)
    progress_checked: list[str] = Field(default_factory=list)
    progress_explanation: Explanation | None = None
    light: Light = Light.GREEN
    explanations: list[Explanation] = Field(default_factory=list)
    light_history: list[LightChange] = Field(default_factory=list)
    red_months: list[str] = Field(default_factory=list)
    open_issues: dict[str, OpenIssue] = Field(default_factory=dict)
    seen_keys: dict[str, UpdateResult] = Field(default_factory=dict)
    pending_notices: list[Notice] = Field(default_factory=list)
    watch_from: datetime | None = None
    version: int = 0
    runs: int = 1
    started_at: datetime | None = None
    updated_at: datetime | None = None
    # 1 (new runs, patched in the workflow): late data revises past months, the back-fill
    # window and the policy's 序时 basis apply. 0: runs recorded before, kept as they decided.
    rules_revision: int = 0
    backfill_until: date | None = None  # last day of the back-fill window (待补报)
    backfill_closed: bool = False
    month_checks: dict[str, MonthCheck] = Field(default_factory=dict)
    # Bounded runs (patch lifecycle-bounded-state-2026-12) keep the first and the last
    # baselines; this many in between live only in PostgreSQL's audit of plan changes.
    baselines_dropped: int = 0
    # 第三方评估 (issue 9): evaluations recorded, and whether closing a service project needs
    # one (runs started or continued after the patch `evaluation-before-close-2026-12`).
    evaluations: list[str] = Field(default_factory=list)
    evaluation_gate: bool = False


class ProjectStatus(BaseModel):
    """The full status a query returns (项目详情)."""

    code: str
    name_zh: str
    program: str
    bureau: str
    kind: ProjectKind
    stage: Stage
    status: RunStatus
    status_reason: str
    light: Light
    explanations: list[Explanation]
    milestones: list[dict[str, Any]]
    planned_investment_to_date_wan: float
    actual_investment_wan: float
    total_investment_wan: float
    planned_progress_pct: float
    actual_progress_pct: float
    physical_progress_pct: float
    open_issues: list[OpenIssue]
    last_report: ReportRecord | None
    business_today: date
    version: int
    runs: int
    baselines: int


class ProjectionBatch(BaseModel):
    """What a lifecycle writes to the read model in one transaction."""

    snapshot: dict[str, Any]
    stage_changes: list[StageChange] = Field(default_factory=list)
    reports: list[ReportRecord] = Field(default_factory=list)
    light_changes: list[LightChange] = Field(default_factory=list)
    audit: list[AuditEntry] = Field(default_factory=list)
    notices: list[Notice] = Field(default_factory=list)
    issues: list[IssueChange] = Field(default_factory=list)


class UpdateOutcome(UpdateResult):
    """What a lifecycle Update returns over Temporal: the bureau's answer and, for runs that
    write through (patch `report-write-through-2026-12`), the rows the door writes to the read
    model right after the Update (`guatu.lifecycle.projection`). A door hands the bureau only
    the `UpdateResult` part."""

    projection: ProjectionBatch | None = None

    def answer(self) -> UpdateResult:
        return UpdateResult.model_validate(self.model_dump(exclude={"projection"}))


StartProjectInput.model_rebuild()
