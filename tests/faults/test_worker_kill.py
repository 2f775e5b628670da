"""kill -9 the worker at random points across 50 compressed lifecycles on the real dev server.

Four business days pass per real second. A bureau drives 50 lifecycles (25 engineering, 25
service) through the service layer while the worker process is killed with SIGKILL at seeded
random moments and started again. Every lifecycle must end in exactly the state a fault-free
run ends in (written out in `support.Expected`), every decision in the outbox must reach the
bureau's receiver (deduplicated by Idempotency-Key), and no workflow task may fail for
non-determinism. Raw duplicate POSTs (a crash between the POST and the outbox update makes the
retry send it again, which is why the key is there) are counted and printed apart.

The killed worker's sticky queue is given up after 2 s instead of 10 s (a worker option), so
that tasks move to a live worker sooner; an activity in flight at a kill is retried only after
its start-to-close timeout (30 s), which dominates the test's duration.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from pathlib import Path

import asyncpg
from temporalio.testing import WorkflowEnvironment

from guatu.core import constants as c
from guatu.lifecycle.models import ProgrammeClock, ProjectStatus
from tests.faults.support import (
    SCALE,
    Bureau,
    Outcome,
    ReadModelWatch,
    WorkerProcess,
    check_final_states,
    check_notices,
    check_task_failures,
    diagnose,
    run_prefix,
    scripted_lifecycle,
    scripted_plans,
)
from tests.helpers import WebhookReceiver, add_bureau

SEED = int(os.environ.get("GUATU_FAULT_SEED", "20260805"))
LIFECYCLES = 50
KILLS = 8


async def test_kill_worker_at_random_points(
    dev_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    pg_dsn: str,
    receiver: WebhookReceiver,
    tmp_path: Path,
) -> None:
    client = dev_env.client
    rng = random.Random(SEED)
    bureau_code = await add_bureau(pool, receiver.url)
    prefix = run_prefix("K")
    plans = scripted_plans(prefix, LIFECYCLES, bureau_code)
    task_queue = f"faults-{prefix.lower()}"
    clock = ProgrammeClock(scale=SCALE)
    bureau = Bureau(client, bureau_code, pool)
    worker = WorkerProcess(client.service_client.config.target_host, pg_dsn, task_queue, tmp_path)
    kills: list[str] = []
    began = time.monotonic()
    drivers: asyncio.Future[list[None]] | None = None
    try:
        worker.start()
        await worker.wait_ready()
        async with ReadModelWatch(pool, [p.code for p in plans]) as watch:

            async def launch(i: int) -> None:
                await asyncio.sleep(i * 0.15)  # staggered, so kills meet every phase
                await scripted_lifecycle(bureau, watch, plans[i], task_queue, clock)

            drivers = asyncio.gather(*(launch(i) for i in range(len(plans))))
            for _ in range(KILLS):
                await asyncio.sleep(rng.uniform(0.5, 3.0))
                if drivers.done():
                    break
                open_ = sum(1 for r in watch.rows.values() if r["status"] != "closed")
                worker.kill()
                kills.append(f"t={time.monotonic() - began:.1f}s open={open_}")
                await asyncio.sleep(rng.uniform(0.0, 1.0))
                worker.start()
                await worker.wait_ready()
            try:
                await asyncio.wait_for(drivers, timeout=180)
                for plan in plans:
                    handle = client.get_workflow_handle(
                        c.project_workflow_id(plan.code), result_type=ProjectStatus
                    )
                    final = await asyncio.wait_for(handle.result(), timeout=120)
                    assert final.status.value == "closed", (plan.code, final.status)
            except BaseException:
                print(
                    f"\nkills: {kills}\nopen runs:\n"
                    f"{await diagnose(client, [p.code for p in plans])}"
                )
                raise
        elapsed = time.monotonic() - began

        outcome = Outcome()
        await check_final_states(client, pool, plans, outcome)
        await check_notices(pool, receiver.posts, prefix, outcome)
        await check_task_failures(client, prefix, outcome)
        nde = worker.nondeterminism_lines()
    finally:
        if drivers is not None and not drivers.done():  # a failed test leaves no bureau behind
            drivers.cancel()
            with contextlib.suppress(BaseException):
                await drivers
        worker.stop()

    print(
        f"\nseed={SEED} kills={worker.kills} restarts={worker.starts - 1} "
        f"elapsed={elapsed:.1f}s kill points: {', '.join(kills)}"
    )
    print(
        f"completed={outcome.completed}/{LIFECYCLES} mismatches={len(outcome.final_state_mismatches)} "
        f"runs={outcome.runs} bureau retries={dict(bureau.retries)}"
    )
    print(
        f"decisions={outcome.decisions} delivered_once_after_dedup_by_key="
        f"{outcome.delivered_keys} undelivered={len(outcome.undelivered)} "
        f"raw_posts={outcome.raw_posts} raw_duplicate_posts={outcome.raw_duplicate_posts}"
    )
    print(
        f"nondeterminism_log_lines={len(nde)} workflow_task_failures={dict(outcome.task_failures)} "
        f"non_benign={outcome.bad_task_failures}"
    )
    assert worker.kills >= 5, "the seed must kill the worker mid-run several times"
    assert outcome.final_state_mismatches == [], "\n".join(outcome.final_state_mismatches)
    assert outcome.completed == LIFECYCLES
    assert outcome.undelivered == []
    assert outcome.delivered_keys == outcome.decisions
    # Every lifecycle made its 6 (or 3) milestone-missed decisions, at the least.
    assert outcome.decisions >= 25 * 6 + 25 * 3
    assert nde == []
    assert outcome.bad_task_failures == 0
    assert outcome.runs >= LIFECYCLES
