"""Messages of the RankingRound workflow and its activities: inputs and results of freeze,
compute, feed-the-ladders and notices, and what a round hands each bureau's ladder
(`BureauOutcome`). Fields are only ever added with defaults.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from guatu.lifecycle.models import ProgrammeClock
from guatu.ranking.models import ExemptionRules, LadderRules, ListKind, RedProject


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


RankingRoundInput.model_rebuild()
