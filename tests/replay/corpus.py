"""The replay corpus: committed histories and what the manifest says about each.

`histories/manifest.json` names, for every history file, the real workflow ID (RankingRound
decides on its own ID: a history replayed under another ID takes another path), the workflow
type, the commit that recorded it and the patches that commit did not have yet (`predates`:
the history takes their old branch). Written by scripts/record_histories.py (main) and
scripts/record_prepatch.py (older commits).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, WorkflowReplayResult

DIR = Path(__file__).parent / "histories"
MANIFEST = DIR / "manifest.json"


@dataclass(frozen=True)
class Recorded:
    file: str
    workflow_id: str
    workflow_type: str
    commit: str
    recorded_from: str
    predates: tuple[str, ...]

    @property
    def path(self) -> Path:
        return DIR / self.file

    def history(self) -> WorkflowHistory:
        return WorkflowHistory.from_json(self.workflow_id, self.path.read_text(encoding="utf-8"))

    def markers(self) -> set[str]:
        """The patch IDs whose markers this history holds (the new branch was taken)."""
        found: set[str] = set()
        for event in json.loads(self.path.read_text(encoding="utf-8"))["events"]:
            marker = event.get("markerRecordedEventAttributes")
            if not marker or marker.get("markerName") != "core_patch":
                continue
            details = marker["details"]
            data = (details.get("patch-data") or details.get("patch_data"))["payloads"][0]["data"]
            found.add(json.loads(base64.b64decode(data))["id"])
        return found


@cache
def corpus() -> tuple[Recorded, ...]:
    index = json.loads(MANIFEST.read_text(encoding="utf-8"))
    return tuple(
        Recorded(
            file=file,
            workflow_id=e["workflow_id"],
            workflow_type=e["workflow_type"],
            commit=e["commit"],
            recorded_from=e["recorded_from"],
            predates=tuple(e.get("predates", ())),
        )
        for file, e in sorted(index.items())
    )


def history_files() -> list[str]:
    return sorted(p.name for p in DIR.glob("*.json") if p != MANIFEST)


async def replay(
    recorded: Recorded, workflows: list[type], *, raise_on_failure: bool = True
) -> WorkflowReplayResult:
    return await replay_history(recorded.history(), workflows, raise_on_failure=raise_on_failure)


async def replay_history(
    history: WorkflowHistory, workflows: list[type], *, raise_on_failure: bool = False
) -> WorkflowReplayResult:
    replayer = Replayer(workflows=workflows, data_converter=pydantic_data_converter)
    return await replayer.replay_workflow(history, raise_on_replay_failure=raise_on_failure)
