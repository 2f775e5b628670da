"""The workflows a Guatu worker registers.

Kept out of `workflows/__init__.py` on purpose: the sandbox re-imports a workflow's module,
and with it its package, for every run it starts; a package that imported every workflow
would make each lifecycle run pay for the ranking and ladder modules too.
"""

from workflows.bureau_ladder import BureauLadder
from workflows.citizen_observation import CitizenObservation
from workflows.notice_delivery import NoticeDelivery
from workflows.opportunity import OpportunityInterest, OpportunityListing
from workflows.project_lifecycle import ProjectLifecycle
from workflows.ranking_appeal import RankingAppeal
from workflows.ranking_round import RankingRound

WORKFLOWS: list[type] = [
    ProjectLifecycle,
    RankingRound,
    BureauLadder,
    NoticeDelivery,
    RankingAppeal,
    CitizenObservation,
    OpportunityListing,
    OpportunityInterest,
]
