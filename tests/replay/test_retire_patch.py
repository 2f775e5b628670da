"""Retiring a patch (docs/operations.md, "Retiring a patch"), stage by stage, on real histories.

A small workflow (tests/replay/replay_workflows.py) exists at each stage: before the change,
`if workflow.patched(...)` with both branches, `workflow.deprecate_patch(...)` with the new
branch only, and the call deleted. Histories are recorded on the time-skipping server from the
stages a running workflow could have started under, and replayed on the later stages:

| recorded by \\ replayed on  | patched | deprecate_patch | call deleted |
|---|---|---|---|
| before the patch           | yes     | NO              | NO           |
| `patched` (new branch)     | yes     | yes             | NO           |
| `deprecate_patch`          | —       | yes             | yes          |

So `deprecate_patch` may replace `patched` once no open run predates the patch, and the call
may be deleted once no open run was recorded by the `patched` code (one more continue-as-new
or end of every run after the `deprecate_patch` release). The visibility query that tells
(`Patch.open_runs_query`) is checked on the dev server, continue-as-new included.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

from temporalio import activity
from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from guatu.core.versioning import PATCHES, Patch, PatchStage, active_patches, patch, patch_table
from tests.helpers import eventually
from tests.replay.corpus import replay_history
from tests.replay.replay_workflows import (
    ECHO,
    PATCH,
    Waiting,
    YearlyBeforePatch,
    YearlyDeprecated,
    YearlyPatched,
    YearlyRetired,
)


@activity.defn(name=ECHO)
async def echo(year: int) -> int:
    return year


async def record(env: WorkflowEnvironment, stage: type, year: int) -> WorkflowHistory:
    client = env.client
    task_queue = f"retire-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=task_queue, workflows=[stage], activities=[echo]):
        handle = await client.start_workflow(
            "Yearly", year, id=f"yearly-{uuid.uuid4().hex[:8]}", task_queue=task_queue
        )
        await handle.result()
        return await handle.fetch_history()


async def replays(history: WorkflowHistory, stage: type) -> bool:
    result = await replay_history(history, [stage])
    return result.replay_failure is None


async def test_patched_history_replays_after_deprecate_patch(ts_env: WorkflowEnvironment) -> None:
    before = await record(ts_env, YearlyBeforePatch, 2026)
    patched = await record(ts_env, YearlyPatched, 2027)
    deprecated = await record(ts_env, YearlyDeprecated, 2028)

    # Each history replays on the code that recorded it.
    assert await replays(before, YearlyBeforePatch)
    assert await replays(patched, YearlyPatched)
    assert await replays(deprecated, YearlyDeprecated)

    # Stage 1: both branches, every history so far replays.
    assert await replays(before, YearlyPatched)

    # Stage 2: `patched` → `deprecate_patch`. A run recorded under `patched` keeps replaying;
    # a run from before the patch does not: it must have ended or continued as new first.
    assert await replays(patched, YearlyDeprecated)
    assert not await replays(before, YearlyDeprecated)

    # Stage 3: the call deleted. Runs recorded under `deprecate_patch` replay; runs still
    # carrying the `patched` marker do not: they too must be gone first.
    assert await replays(deprecated, YearlyRetired)
    assert not await replays(patched, YearlyRetired)
    assert not await replays(before, YearlyRetired)


async def _open_before(client: Client, p: Patch, cutoff: datetime, task_queue: str) -> int:
    query = f"{p.open_runs_query(cutoff)} AND TaskQueue = '{task_queue}'"
    return (await client.count_workflows(query)).count


async def test_open_runs_query_counts_runs_started_before_the_release(
    dev_env: WorkflowEnvironment,
) -> None:
    """The checklist's visibility query: an open run started before the patched code ran
    everywhere counts; once it continues as new (a yearly continue-as-new) or ends, it does
    not; a run started after the release never does."""
    client = dev_env.client
    task_queue = f"retire-{uuid.uuid4().hex[:8]}"
    probe = Patch(PATCH, ("Waiting",), date(2026, 12, 1), PatchStage.PATCHED, "test only")
    async with Worker(client, task_queue=task_queue, workflows=[Waiting]):
        old = await client.start_workflow(
            Waiting.run, 0, id=f"waiting-old-{uuid.uuid4().hex[:8]}", task_queue=task_queue
        )
        ended = await client.start_workflow(
            Waiting.run, 0, id=f"waiting-ended-{uuid.uuid4().hex[:8]}", task_queue=task_queue
        )
        await asyncio.sleep(1.2)
        released = datetime.now(UTC)  # the patched code runs on every worker from here
        await asyncio.sleep(1.2)
        new = await client.start_workflow(
            Waiting.run, 0, id=f"waiting-new-{uuid.uuid4().hex[:8]}", task_queue=task_queue
        )

        async def count_is(n: int) -> bool:
            return await _open_before(client, probe, released, task_queue) == n

        await eventually(lambda: count_is(2), timeout=20)  # old and ended, not new
        await ended.signal(Waiting.move, "finish")
        await ended.result()
        await eventually(lambda: count_is(1), timeout=20)
        await old.signal(Waiting.move, "continue")  # its next run starts after the release
        await eventually(lambda: count_is(0), timeout=20)
        for h in (old, new):
            await client.get_workflow_handle(h.id).signal(Waiting.move, "finish")


def test_registry_lists_each_active_patch_with_its_date_and_stage() -> None:
    names = [p.name for p in PATCHES]
    assert len(names) == len(set(names))
    assert patch("late-data-revisions-2026-12").introduced == date(2026, 12, 1)
    assert patch("ranking-ladders-with-notices").stage is PatchStage.PATCHED
    lifecycle = active_patches("ProjectLifecycle")
    # Oldest first (then by name); more patches may join after these.
    assert [p.name for p in lifecycle][:2] == [
        "projection-local-activity-2026-11",
        "projection-regular-activity-2026-11b",
    ]
    assert lifecycle == sorted(lifecycle, key=lambda p: (p.introduced, p.name))
    assert {"delivery-bounded-2026-12", "late-data-revisions-2026-12"} <= {
        p.name for p in lifecycle
    }
    assert all("ProjectLifecycle" in p.workflows for p in lifecycle)
    assert "ranking-notices-detached" not in {p.name for p in lifecycle}
    table = patch_table().splitlines()
    assert len(table) == len(PATCHES)
    assert table[0].split()[:3] == ["2026-11-25", "patched", "projection-local-activity-2026-11"]
    query = patch("delivery-bounded-2026-12").open_runs_query(datetime(2026, 12, 1, tzinfo=UTC))
    assert query == (
        "WorkflowType IN ('ProjectLifecycle', 'BureauLadder', 'RankingAppeal', 'NoticeDelivery')"
        " AND ExecutionStatus = 'Running' AND StartTime < '2026-12-01T00:00:00+00:00'"
    )
