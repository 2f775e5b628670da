"""BureauLadder histories replay on today's code: runs recorded before the bounded-state patch
(pre_patch_*: the whole state in every write) and after it (bounded_*), each a first run and a
run after continue-as-new (scripts/record_ladder_histories.py; the pre-patch ones from the
commit before `ladder-bounded-state-2026-12`).

Negative control: with the bounded branch removed (the patch name no longer asked for), the
bounded histories must fail to replay — the guard can tell.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

import workflows.bureau_ladder as ladder_module
from workflows.registry import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def _history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))


def test_both_layouts_are_committed() -> None:
    stems = {p.stem for p in HISTORIES}
    assert {"pre_patch_first_run", "pre_patch_after_continue_as_new"} <= stems
    assert {"bounded_first_run", "bounded_after_continue_as_new"} <= stems


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_ladder_history_replays(path: Path) -> None:
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    await replayer.replay_workflow(_history(path))


async def test_removing_the_bounded_branch_breaks_the_bounded_histories(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ladder_module, "PATCH_BOUNDED_STATE", "ladder-bounded-state-removed")
    replayer = Replayer(
        workflows=[ladder_module.BureauLadder],
        data_converter=pydantic_data_converter,
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    for stem in ("bounded_first_run", "pre_patch_first_run"):
        path = next(p for p in HISTORIES if p.stem == stem)
        result = await replayer.replay_workflow(_history(path), raise_on_replay_failure=False)
        # Pre-patch runs never took the branch: they still replay.
        assert (result.replay_failure is not None) == stem.startswith("bounded"), stem
