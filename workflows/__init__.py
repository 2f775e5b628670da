"""Temporal workflows: orchestration only; the arithmetic lives in `guatu.rules`."""

from workflows.bureau_ladder import BureauLadder
from workflows.project_lifecycle import ProjectLifecycle
from workflows.ranking_round import RankingRound

WORKFLOWS: list[type] = [ProjectLifecycle, RankingRound, BureauLadder]

__all__ = ["WORKFLOWS", "BureauLadder", "ProjectLifecycle", "RankingRound"]
