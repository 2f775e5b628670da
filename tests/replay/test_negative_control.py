"""Negative control: the committed histories really guard the patch branches.

Each case replays a committed history with ONE patch branch taken away: `workflow.patched`
is still called for the patch (so its marker is matched exactly as the code matches it) but the
workflow then takes the other branch, as a workflow would whose author deleted a branch
(False: only the old code is left; True: only the new code is left). The replay must fail with
a nondeterminism error. The same history with the real `workflow.patched` replays (the positive
half of each case), so the failure comes from the branch and nothing else. Cases forcing True
replay a history recorded BEFORE the patch (scripts/record_prepatch.py): they prove the
pre-patch histories hold the old branch.

Deleting the `workflow.patched` call itself fails even sooner on every history that took the
new branch: "Non-deprecated patch marker encountered" (`test_deleting_the_call_fails_replay`).

Not every patch can be guarded this way: replay compares the commands a workflow emits (their
kinds, order, activity and child types, timers), not their options or the state a branch
leaves. `delivery-bounded-2026-12` differs only in a retry policy, and
`ladder-forget-withdrawn-orders` only in the state carried over: their branches are still
required (a running workflow would act differently) but swapping them is not caught here, so
such a patch is retired by the checklist in docs/operations.md, never by trusting this suite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from temporalio import workflow

from tests.replay.corpus import Recorded, corpus, replay
from workflows.registry import WORKFLOWS

# (history file, patch name, the answer forced on `workflow.patched`)
CASES = [
    # A round of today: its notices are NoticeDelivery children; the old branch runs
    # deliver_notice activities instead.
    ("round_2031_03_v4.json", "ranking-notices-detached", False),
    # A round from before the patch: forcing the new branch starts children where the history
    # scheduled activities.
    ("round_2031_03_pre-ranking-notices-detached.json", "ranking-notices-detached", True),
    # A scheduled run: the data gate and a detached child, against the old awaited child …
    ("round_scheduled_parent_v4.json", "ranking-scheduled-period-detached", False),
    # … and a period-less run from before it: it awaited its child, the new branch gates first.
    (
        "round_delegating_parent_pre-ranking-notices-detached.json",
        "ranking-scheduled-period-detached",
        True,
    ),
    # A round from before ladders and notices went together: gathering them emits the notices
    # activity in the same workflow task as the ladders.
    (
        "round_2031_03_pre-ranking-ladders-with-notices.json",
        "ranking-ladders-with-notices",
        True,
    ),
    # A lifecycle recorded while the projection was a local activity.
    ("engineering_full_v2.json", "projection-local-activity-2026-11", False),
    # Late data (rules revision 1): the old rules arm other deadline timers.
    ("engineering_full_v4.json", "late-data-revisions-2026-12", False),
    # A ladder from before escalation while draining: the new branch arms a deadline timer
    # while the old one only waited for its deliveries before continuing as new.
    (
        "ladder_steps_run1_pre-ranking-notices-detached.json",
        "ladder-escalate-while-draining",
        True,
    ),
    # A bounded ladder writes its changes (ladder_persist_changes); the old branch writes its
    # whole state (ladder_persist) …
    ("ladder_steps_run1_v5.json", "ladder-bounded-state-2026-12", False),
    # … and a ladder from before the patch, forced onto the new branch, writes changes where its
    # history wrote the whole state.
    ("ladder_steps_run1_v4.json", "ladder-bounded-state-2026-12", True),
]


def _recorded(file: str) -> Recorded:
    return next(r for r in corpus() if r.file == file)


@pytest.fixture
def force_patch(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """`force_patch(name, answer, keep_call=True)`: from then on `workflow.patched(name)`
    answers `answer`; with `keep_call` the real call is made first (the marker is matched or
    written as ever), without it the call is gone. Other names as ever. Workflow code calls
    `workflow.patched` through the `temporalio.workflow` module, which the sandbox passes
    through, so the replacement reaches it."""
    real = workflow.patched

    def force(name: str, answer: bool, keep_call: bool = True) -> None:
        def patched(patch_id: str) -> bool:
            if patch_id != name:
                return real(patch_id)
            if keep_call:
                real(patch_id)
            return answer

        monkeypatch.setattr(workflow, "patched", patched)

    yield force


@pytest.mark.parametrize("file,patch,answer", CASES, ids=[f"{p}={a}" for _, p, a in CASES])
async def test_removing_a_patch_branch_fails_replay(
    file: str, patch: str, answer: bool, force_patch: Callable[..., None]
) -> None:
    recorded = _recorded(file)
    # The real branch replays: whatever fails below is the forced branch.
    await replay(recorded, WORKFLOWS)
    expected_marker = not answer  # forcing False on a history that took the new branch …
    assert (patch in recorded.markers()) is expected_marker, "the case must cross the branch"

    force_patch(patch, answer)
    result = await replay(recorded, WORKFLOWS, raise_on_failure=False)
    assert result.replay_failure is not None, f"{file} replayed without {patch}'s branch"
    assert isinstance(result.replay_failure, workflow.NondeterminismError), repr(
        result.replay_failure
    )
    assert "Non-deprecated patch marker" not in str(result.replay_failure), (
        "must fail on the branch's commands, not on the marker"
    )


async def test_deleting_the_call_fails_replay(force_patch: Callable[..., None]) -> None:
    """A history that took the new branch holds the patch's marker: code that no longer calls
    `workflow.patched` for it (old branch kept, call deleted) cannot replay it."""
    recorded = _recorded("round_2031_03_v4.json")
    assert "ranking-ladders-with-notices" in recorded.markers()
    force_patch("ranking-ladders-with-notices", True, keep_call=False)
    result = await replay(recorded, WORKFLOWS, raise_on_failure=False)
    assert isinstance(result.replay_failure, workflow.NondeterminismError)
    assert "Non-deprecated patch marker" in str(result.replay_failure)
