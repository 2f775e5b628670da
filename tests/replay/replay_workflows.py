"""Workflows that exist only for the replay tests (a module of their own, with few imports:
the sandbox re-imports the module a workflow is defined in)."""

from __future__ import annotations

from datetime import timedelta

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


# -- retiring a patch: one small workflow at each stage (tests/replay/test_retire_patch.py) ----
# The old behaviour waits on a timer, the new one runs an activity: replay tells them apart.

PATCH = "yearly-report-2026-12"
ECHO = "replay_echo"


async def _old(year: int) -> str:
    await workflow.sleep(60)
    return f"{year}: old"


async def _new(year: int) -> str:
    await workflow.execute_activity(
        ECHO, year, start_to_close_timeout=timedelta(seconds=10), result_type=int
    )
    return f"{year}: new"


@workflow.defn(name="Yearly")
class YearlyBeforePatch:
    """Stage 0: the code before the change."""

    @workflow.run
    async def run(self, year: int) -> str:
        return await _old(year)


@workflow.defn(name="Yearly")
class YearlyPatched:
    """Stage 1: `if workflow.patched(...)`, both branches."""

    @workflow.run
    async def run(self, year: int) -> str:
        if workflow.patched(PATCH):
            return await _new(year)
        return await _old(year)


@workflow.defn(name="Yearly")
class YearlyDeprecated:
    """Stage 2: `workflow.deprecate_patch(...)`, the new branch only."""

    @workflow.run
    async def run(self, year: int) -> str:
        workflow.deprecate_patch(PATCH)
        return await _new(year)


@workflow.defn(name="Yearly")
class YearlyRetired:
    """Stage 3: the call deleted, the new branch only."""

    @workflow.run
    async def run(self, year: int) -> str:
        return await _new(year)


@workflow.defn(name="Waiting")
class Waiting:
    """Open until told to continue as new or to finish (the visibility query's test)."""

    def __init__(self) -> None:
        self._next: str | None = None

    @workflow.run
    async def run(self, generation: int) -> int:
        await workflow.wait_condition(lambda: self._next is not None)
        if self._next == "continue":
            workflow.continue_as_new(generation + 1)
        return generation

    @workflow.signal
    def move(self, what: str) -> None:
        self._next = what
