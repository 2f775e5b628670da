"""kill -9 the Temporal dev server (persistent SQLite file) mid-run, then restart it on the file.

The test starts its own `guatu.runtime.stack.EmbeddedTemporal` (headless, free port, SQLite file in a
temporary directory), a worker process, and 20 compressed lifecycles driven by a bureau. At a
seeded random moment while they run, the server is killed with SIGKILL, left down for a few
seconds, and started again on the same file and port. Every workflow must resume and reach the
same final state as a fault-free run; the bureau retries what failed with the same keys.

The HTTP API (`guatu.api.app.create_app`, wired to the same client) is asked during the outage:
a bureau's transition, a project read and `/readyz` must each answer 503 with `Retry-After`
within the API's deadline (not hang, not 500); after the restart the same transition with the
same Idempotency-Key is accepted, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from config.settings import Settings
from guatu.api.app import create_app
from guatu.api.deps import ApiOptions
from guatu.core import constants as c
from guatu.core.temporal_client import connect
from guatu.core.tokens import create_token
from guatu.lifecycle.models import ProgrammeClock, ProjectKind, ProjectStatus, Step
from guatu.runtime.stack import EmbeddedTemporal
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
    free_port,
    run_prefix,
    scripted_lifecycle,
    scripted_plans,
)
from tests.helpers import WebhookReceiver, add_bureau, make_plan
from workflows.project_lifecycle import ProjectLifecycle

SEED = int(os.environ.get("GUATU_FAULT_SEED", "20260805"))
LIFECYCLES = 20
OUTAGE_SECONDS = 5.0
API_OPTIONS = ApiOptions(
    temporal_timeout_seconds=1.5,
    update_timeout_seconds=2.0,
    rate_per_second=1000,
    rate_burst=10_000,
)
API_DEADLINE = 2.0 + 1.5  # the update deadline, and slack for a loaded machine


async def _api_call(
    api: httpx.AsyncClient, method: str, path: str, **kw: Any
) -> tuple[int, str | None, str, float]:
    started = time.monotonic()
    r = await api.request(method, path, **kw)
    code = (
        r.json().get("code", "")
        if r.headers.get("content-type", "").startswith("application/json")
        else ""
    )
    return r.status_code, r.headers.get("retry-after"), str(code), time.monotonic() - started


async def test_kill_dev_server_and_resume(
    pool: asyncpg.Pool, pg_dsn: str, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    rng = random.Random(SEED + 2)
    server = EmbeddedTemporal(tmp_path / "temporal", port=free_port(), ui_port=None)
    worker: WorkerProcess | None = None
    api: httpx.AsyncClient | None = None
    drivers: asyncio.Future[list[None]] | None = None
    try:
        await asyncio.to_thread(server.start)
        client = await connect(Settings(), server.target)
        bureau_code = await add_bureau(pool, receiver.url)
        prefix = run_prefix("S")
        plans = scripted_plans(prefix, LIFECYCLES, bureau_code)
        task_queue = f"faults-{prefix.lower()}"
        bureau = Bureau(client, bureau_code, pool)
        worker = WorkerProcess(server.target, pg_dsn, task_queue, tmp_path)
        worker.start()
        await worker.wait_ready()
        clock = ProgrammeClock(scale=SCALE)
        # One more project, reported on through the HTTP API (milestones far away: no timers).
        api_plan = make_plan(
            ProjectKind.SERVICE,
            start=plans[0].start,
            bureau=bureau_code,
            milestone_days=[300, 320, 340],
            code=f"{prefix}-API",
        )
        await bureau.start(api_plan, task_queue, ProgrammeClock())
        token = await create_token(pool, "bureau", bureau=bureau_code, label="fault test")
        auth = {"Authorization": f"Bearer {token}"}
        app = create_app(client, pool, Settings(), task_queue=task_queue, options=API_OPTIONS)
        api = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://guatu.test", timeout=30
        )
        transition = ("POST", f"/api/v1/projects/{api_plan.code}/transitions")
        transition_kw: dict[str, Any] = {
            "json": {"step": "implementing"},
            "headers": {**auth, "Idempotency-Key": "api-during-outage"},
        }
        async with ReadModelWatch(pool, [p.code for p in plans]) as watch:

            async def launch(i: int) -> None:
                await asyncio.sleep(i * 0.1)
                await scripted_lifecycle(bureau, watch, plans[i], task_queue, clock)

            drivers = asyncio.gather(*(launch(i) for i in range(len(plans))))
            await asyncio.sleep(rng.uniform(2.5, 4.0))
            assert not drivers.done()
            open_at_kill = sum(1 for r in watch.rows.values() if r["status"] != "closed")
            server.kill()
            killed_at = time.monotonic()
            during = {
                "transition": await _api_call(api, *transition, **transition_kw),
                "project": await _api_call(
                    api, "GET", f"/api/v1/projects/{api_plan.code}", headers=auth
                ),
                "readyz": await _api_call(api, "GET", "/readyz"),
            }
            await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - killed_at)))
            await asyncio.to_thread(server.start)
            outage = time.monotonic() - killed_at
            restarted_at = time.monotonic()
            # The bureau system retries what got 503, with the same key, until it is accepted.
            after: list[int] = []
            while time.monotonic() - restarted_at < 60:
                status, *_ = await _api_call(api, *transition, **transition_kw)
                after.append(status)
                if status != 503:
                    break
                await asyncio.sleep(1.0)
            try:
                await asyncio.wait_for(drivers, timeout=150)
                for plan in plans:
                    handle = client.get_workflow_handle(
                        c.project_workflow_id(plan.code), result_type=ProjectStatus
                    )
                    final = await asyncio.wait_for(handle.result(), timeout=90)
                    assert final.status.value == "closed", (plan.code, final.status)
            except BaseException:
                print(f"\nopen runs:\n{await diagnose(client, [p.code for p in plans])}")
                raise
            all_done_after = time.monotonic() - restarted_at
            api_state = await client.get_workflow_handle(
                c.project_workflow_id(api_plan.code)
            ).query(ProjectLifecycle.state)
            async with pool.acquire() as conn:
                api_audit = await conn.fetchval(
                    "SELECT count(*) FROM audit_log WHERE project = $1 AND accepted"
                    " AND idempotency_key = 'api-during-outage'",
                    api_plan.code,
                )
            await client.get_workflow_handle(c.project_workflow_id(api_plan.code)).terminate()
        worker_survived = (
            worker.starts == 1 and worker.proc is not None and worker.proc.poll() is None
        )

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
        if api is not None:
            await api.aclose()
        if worker is not None:
            worker.stop()
        server.stop()

    print(
        f"\nserver killed with {open_at_kill}/{LIFECYCLES} lifecycles open; down {outage:.1f}s; "
        f"all closed {all_done_after:.1f}s after the restart; worker survived={worker_survived}"
    )
    print(
        f"resumed_and_completed={outcome.completed}/{LIFECYCLES} "
        f"mismatches={len(outcome.final_state_mismatches)} runs={outcome.runs} "
        f"bureau retries={dict(bureau.retries)}"
    )
    print(
        f"decisions={outcome.decisions} delivered_unique_keys={outcome.delivered_keys} "
        f"undelivered={len(outcome.undelivered)} raw_duplicate_posts={outcome.raw_duplicate_posts} "
        f"workflow_task_failures={dict(outcome.task_failures)} nondeterminism_log_lines={len(nde)}"
    )
    print(
        "API during the outage: "
        + ", ".join(
            f"{name} {status} {code} Retry-After={retry} in {took:.2f}s"
            for name, (status, retry, code, took) in during.items()
        )
        + f"; the same transition after the restart: {after}; audit rows={api_audit}"
    )
    for name, (status, retry, _code, took) in during.items():
        assert status == 503 and retry is not None and int(retry) > 0, (name, status, retry)
        assert took < API_DEADLINE, (name, took)
    assert during["transition"][2] == "temporal_unavailable"
    assert after[-1] == 200
    assert [ch.step for ch in api_state.stage_history if ch.step] == [Step.IMPLEMENTING]
    assert api_audit == 1
    assert open_at_kill > 0
    assert outcome.final_state_mismatches == [], "\n".join(outcome.final_state_mismatches)
    assert outcome.completed == LIFECYCLES
    assert outcome.undelivered == [] and outcome.delivered_keys == outcome.decisions
    assert nde == [] and outcome.bad_task_failures == 0
