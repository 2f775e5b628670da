"""Models of 激励奖惩 (reward/penalty ladders): the BureauLadder workflow's state and messages.

One input model per workflow, update and query; fields are only ever added with defaults (a
running ladder's state is decoded with the code of the day).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from guatu.lifecycle.models import AuditEntry, IdempotencyKey, Notice, ProgrammeClock
from guatu.ranking.actions import ActionKind, OrderStatus
from guatu.ranking.messages import BureauOutcome
from guatu.ranking.models import (
    Exemption,
    ExemptionRules,
    LadderRules,
    ListKind,
    PeriodKey,
    Strict,
)


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
    # The keys of `decisions`. A repeated record_period of a bounded ladder answers with these
    # alone (`decisions` empty): the decisions themselves are in PostgreSQL.
    decision_keys: list[str] = Field(default_factory=list)


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
    # Bounded (ladder-bounded-state-2026-12): `seen` keeps keys and levels, decisions refer to
    # their inputs in PostgreSQL (`ladder_inputs`), writes carry changes (`LadderChanges`),
    # finished orders carry no plan text across continue-as-new.
    bounded: bool = False


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


class PeriodInput(BaseModel):
    """What one record_period was decided on (the round's outcome for the bureau and the rule
    set's ladder rules), written once to `ladder_inputs`; its decisions refer to it by key."""

    key: str
    bureau: str
    period: str
    ruleset_id: str
    revision: int = 1
    outcome: BureauOutcome
    ladder: LadderRules
    recorded_at: datetime


# The fields of a ladder's state written whole with every change (small and fixed in size).
HEAD_FIELDS = frozenset(
    {
        "bureau",
        "name_zh",
        "exemption_rules",
        "clock",
        "continue_as_new_events",
        "decisions",
        "version",
        "runs",
        "started_at",
        "updated_at",
        "bounded",
    }
)


class LadderChanges(BaseModel):
    """What a bounded ladder writes to PostgreSQL in one transaction: what changed since its
    last write, not its whole state (`full`: everything, the first write of an upgraded run)."""

    bureau: str
    version: int
    full: bool = False
    head: dict[str, Any] = Field(default_factory=dict)  # HEAD_FIELDS of the state
    tracks: dict[str, TrackState] = Field(default_factory=dict)
    last_records: dict[str, PeriodRecord] = Field(default_factory=dict)
    seen: dict[str, dict[str, Any]] = Field(default_factory=dict)  # in the order remembered
    inputs: list[PeriodInput] = Field(default_factory=list)
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
