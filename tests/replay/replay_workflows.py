"""Workflows that exist only for the replay tests (a module of their own, with few imports:
the sandbox re-imports the module a workflow is defined in)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from guatu.lifecycle.models import ProjectStatus, StartProjectInput


@workflow.defn(name="ProjectLifecycle")
class ChangedLifecycle:
    """A workflow that schedules a timer first: incompatible with every recorded history."""

    @workflow.run
    async def run(self, input: StartProjectInput) -> ProjectStatus:
        await workflow.sleep(1)
        raise AssertionError("never reached in replay")
