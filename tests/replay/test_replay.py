"""Determinism guard: committed histories of ProjectLifecycle must replay on today's code.

Histories are recorded by `scripts/record_histories.py` from real runs (engineering and service
lifecycles, deadlines fired, reports, a plan change, continue-as-new). A change to workflow code
that would break a running project fails here; such a change needs `workflow.patched`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from guatu.lifecycle.models import ProjectStatus, StartProjectInput
from workflows.registry import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_histories_are_committed() -> None:
    assert len(HISTORIES) >= 3, "record histories with scripts/record_histories.py"


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_replay(path: Path) -> None:
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    await replayer.replay_workflow(history)


@workflow.defn(name="ProjectLifecycle")
class ChangedLifecycle:
    """A workflow that schedules a timer first: incompatible with every recorded history."""

    @workflow.run
    async def run(self, input: StartProjectInput) -> ProjectStatus:
        await workflow.sleep(1)
        raise AssertionError("never reached in replay")


async def test_replayer_detects_a_changed_workflow() -> None:
    """Negative control: the guard must fail for a workflow that no longer matches history."""
    replayer = Replayer(workflows=[ChangedLifecycle], data_converter=pydantic_data_converter)
    history = WorkflowHistory.from_json("x", HISTORIES[0].read_text(encoding="utf-8"))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is not None
