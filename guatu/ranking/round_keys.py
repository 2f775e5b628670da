"""What a ranking round's activities pass between them since `ranking-off-loop-2026-12`: keys.

The compute step (`activities/round_work.py`, a sync activity in the worker's process pool)
freezes, computes and publishes the round and stores each bureau's outcome in PostgreSQL; the
workflow gets the round's key and the bureau codes back, and each ladder feed reads its
bureau's outcome by key. No red project list travels through the workflow's history.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from guatu.lifecycle.models import ProgrammeClock


class RoundComputeInput(BaseModel):
    period: str
    ruleset_id: str
    workflow_id: str = ""
    refreeze: bool = False
    reason: str = ""
    actor: str = ""


class RoundKeys(BaseModel):
    """A computed round, by key: (period, ruleset_id, revision) names it in PostgreSQL."""

    period: str
    ruleset_id: str
    revision: int = 1
    ruleset_version: int
    snapshot_sha256: str
    results_sha256: str
    reproduced: bool
    projects: int = 0  # in the frozen snapshot
    bureaus: list[str] = Field(default_factory=list)  # ranked, in rank order
    red_list: list[str] = Field(default_factory=list)
    black_list: list[str] = Field(default_factory=list)
    exempted: list[str] = Field(default_factory=list)
    reason: str = ""  # of a refreeze (revision > 1)
    actor: str = ""


class FeedLadderKey(BaseModel):
    """Feed one bureau's ladder with its outcome of the round (period, ruleset_id, revision)."""

    period: str
    ruleset_id: str
    revision: int = 1
    bureau: str
    clock: ProgrammeClock = Field(default_factory=ProgrammeClock)
    reason: str = ""
    actor: str = ""
