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
