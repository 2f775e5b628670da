"""Names shared by the worker, the starters and the tests: one place for each string."""

from temporalio.common import SearchAttributeKey

TASK_QUEUE = "guatu-projects"

PROJECT_WORKFLOW = "ProjectLifecycle"

# Update, query and signal names of ProjectLifecycle.
UPDATE_TRANSITION = "transition_stage"
UPDATE_REPORT = "submit_report"
UPDATE_PLAN = "change_plan"
UPDATE_SUSPEND = "suspend"
UPDATE_RESUME = "resume"
UPDATE_CANCEL = "cancel"
SIGNAL_CLOCK = "set_clock"
QUERY_STATUS = "status"
QUERY_STATE = "state"

# Activity names: workflows refer to activities by name so that the sandbox never imports
# asyncpg or httpx.
ACTIVITY_PROJECT = "apply_projection"
ACTIVITY_DELIVER = "deliver_notice"

SA_PROGRAM = SearchAttributeKey.for_keyword("GuatuProgram")
SA_BUREAU = SearchAttributeKey.for_keyword("GuatuBureau")
SA_STAGE = SearchAttributeKey.for_keyword("GuatuStage")
SA_LIGHT = SearchAttributeKey.for_keyword("GuatuLight")
SEARCH_ATTRIBUTES = (SA_PROGRAM, SA_BUREAU, SA_STAGE, SA_LIGHT)


def project_workflow_id(project_code: str) -> str:
    """The business-key workflow ID of a project: the only place it is formed."""
    return f"project-{project_code}"


# ---------------------------------------------------------------------------------------------
# 竞进比拼 and 激励奖惩 (guatu.ranking): RankingRound, BureauLadder and their activities.
# ---------------------------------------------------------------------------------------------

RANKING_WORKFLOW = "RankingRound"
LADDER_WORKFLOW = "BureauLadder"

# Update and query names of BureauLadder.
UPDATE_RECORD_PERIOD = "record_period"
UPDATE_EXEMPTION = "grant_exemption"
UPDATE_CORRECTION_PLAN = "submit_correction_plan"
QUERY_STANDING = "standing"

ACTIVITY_RANKING_FREEZE = "ranking_freeze"
ACTIVITY_RANKING_COMPUTE = "ranking_compute"
ACTIVITY_RANKING_FEED_LADDER = "ranking_feed_ladder"
ACTIVITY_RANKING_NOTICES = "ranking_round_notices"
ACTIVITY_LADDER_PERSIST = "ladder_persist"
ACTIVITY_LADDER_PERSIST_CHANGES = "ladder_persist_changes"
# Since `ranking-off-loop-2026-12`: freeze + compute + publish in the worker's process pool,
# and the ladders fed by key.
ACTIVITY_RANKING_ROUND = "ranking_round_compute"
ACTIVITY_RANKING_FEED_LADDER_KEY = "ranking_feed_ladder_key"

# The leaders' office (区幸福办) gets a copy of every ranking decision.
OFFICE_BUREAU = "xfb"

RANKING_SCHEDULE_PREFIX = "guatu-ranking"


def ranking_round_workflow_id(period: str, ruleset_id: str, revision: int = 1) -> str:
    """The business-key workflow ID of one ranking round: the only place it is formed.

    Revision 1 (the scheduled or first on-demand round, and every plain re-run) has the bare
    ID; revision N > 1 (a refreeze) runs as `…-rN`, so each revision keeps its own history.
    """
    base = f"ranking-{ruleset_id}-{period}"
    return base if revision <= 1 else f"{base}-r{revision}"


def bureau_ladder_workflow_id(bureau: str) -> str:
    """The business-key workflow ID of a bureau's reward/penalty ladder."""
    return f"ladder-{bureau}"


def ranking_schedule_id(kind: str, ruleset_id: str) -> str:
    return f"{RANKING_SCHEDULE_PREFIX}-{kind}-{ruleset_id}"


# ---------------------------------------------------------------------------------------------
# Notice delivery outside a long-lived workflow (a round's notices, a redelivery).
# ---------------------------------------------------------------------------------------------

NOTICE_WORKFLOW = "NoticeDelivery"
ACTIVITY_ROUND_HAS_DATA = "ranking_period_has_data"


def notice_delivery_workflow_id(key: str) -> str:
    """One delivery workflow per notice key at a time: a second start for the key joins it."""
    return f"notice-{key}"


# ---------------------------------------------------------------------------------------------
# 申诉 appeals (guatu.appeals): one RankingAppeal workflow per appeal.
# ---------------------------------------------------------------------------------------------

APPEAL_WORKFLOW = "RankingAppeal"
UPDATE_APPEAL_DECIDE = "decide"
QUERY_APPEAL = "appeal"
ACTIVITY_APPEAL_PERSIST = "appeal_persist"
ACTIVITY_APPEAL_REVISE = "appeal_revise"


def appeal_workflow_id(appeal_id: str) -> str:
    """The business-key workflow ID of one appeal (its id names the round, bureau and item)."""
    return f"appeal-{appeal_id}"


# ---------------------------------------------------------------------------------------------
# 市民观察 citizen observations (guatu.society): one CitizenObservation workflow per observation.
# ---------------------------------------------------------------------------------------------

OBSERVATION_WORKFLOW = "CitizenObservation"
QUERY_OBSERVATION = "observation"
UPDATE_OBSERVATION_REPLY = "reply"
UPDATE_OBSERVATION_RATE = "rate"
UPDATE_OBSERVATION_RESOLVE = "resolve"
ACTIVITY_OBSERVATION_PERSIST = "observation_persist"
# ProjectLifecycle: a third-party evaluation of the project was submitted (第三方评估).
UPDATE_RECORD_EVALUATION = "record_evaluation"


# ---------------------------------------------------------------------------------------------
# 机会清单 opportunity lists (guatu.opportunities): one OpportunityListing per opportunity, one
# OpportunityInterest per expression of interest (started by its listing).
# ---------------------------------------------------------------------------------------------

OPPORTUNITY_WORKFLOW = "OpportunityListing"
INTEREST_WORKFLOW = "OpportunityInterest"
ACTIVITY_OPPORTUNITY_PERSIST = "opportunity_persist"
ACTIVITY_INTEREST_PERSIST = "opportunity_interest_persist"
UPDATE_OPPORTUNITY_INTEREST = "express_interest"
UPDATE_OPPORTUNITY_CLOSE = "close"
QUERY_OPPORTUNITY = "opportunity"
UPDATE_INTEREST_RESPOND = "respond"
UPDATE_INTEREST_OUTCOME = "record_outcome"
QUERY_INTEREST = "interest"
