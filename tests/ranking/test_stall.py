"""Rounds never stall (issue 8, deliverable 6), on the real dev server and PostgreSQL.

- A dead webhook (a closed port) during a round: the round and the next month's round complete,
  the undelivered notices end `failed` in the outbox after the bounded attempts, and
  `redeliver` sends them once each when the bureau is back. A 4xx is not retried.
- A backfill of a schedule over three months ranks three periods, each from its scheduled time.
- A schedule paused by an operator stays paused through `ensure_schedules`.
- Automatic rounds skip a period before any project had data for it; an explicit run runs.

Dates are fixed far from today (2031, 2033, 2034): nothing depends on the day the suite runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
import httpx
from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleBackfill,
    ScheduleOverlapPolicy,
    ScheduleState,
)
from temporalio.testing import WorkflowEnvironment

from activities.notify import redeliver
from activities.round_gate import period_has_data
from config.settings import Settings
from guatu.core import constants as c
from guatu.core.clock import CST
from guatu.ranking import service
from guatu.ranking.messages import RoundResult
from tests.conftest import free_port
from tests.helpers import WebhookReceiver, running_worker
from tests.ranking import fixture
from tests.ranking.conftest import end_ladders, eventually, fetch, prefix

ATTEMPTS = 2  # the worker's cap on delivery attempts, so that "finally failed" comes in seconds


async def _statuses(
    pool: asyncpg.Pool, bureaus: list[str]
) -> dict[str, tuple[str, int, str | None]]:
    rows = await fetch(
        pool,
        "SELECT key, status, attempts, last_error FROM notifications"
        " WHERE bureau = ANY($1::text[])",
        bureaus,
    )
    return {r["key"]: (r["status"], r["attempts"], r["last_error"]) for r in rows}


async def test_dead_webhook_round_completes_and_failed_notices_are_redelivered(
    dev_env: WorkflowEnvironment,
    fresh_pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    receiver: WebhookReceiver,
) -> None:
    px = prefix()
    dead = f"http://127.0.0.1:{free_port()}/notify"  # nothing listens: connection refused
    bureaus = await fixture.add_bureaus(fresh_pool, px, dead)
    a = bureaus[0]
    await fixture.insert(fresh_pool, px)
    client = dev_env.client
    settings = Settings(graceful_shutdown_seconds=2)
    async with running_worker(client, fresh_pool, http, settings, delivery_attempts=ATTEMPTS) as tq:
        try:
            march = await service.trigger_round(client, "2031-03", "default", task_queue=tq)
            # Completes although no bureau can be reached (it would wait for ever before).
            first = await asyncio.wait_for(march.result(), timeout=60)
            assert first.period == "2031-03" and first.bureaus == 4
            april = await service.trigger_round(client, "2031-04", "default", task_queue=tq)
            second = await asyncio.wait_for(april.result(), timeout=60)
            assert second.period == "2031-04" and second.bureaus == 4
            # Each bureau's two rank notices (March, April) plus its ladder decisions: every one
            # finally failed after exactly ATTEMPTS attempts, with the connection error kept.
            statuses = await eventually(lambda: _all_failed(fresh_pool, bureaus), timeout=90)
            rank_keys = {
                f"ranking:default:{p}:{b}" for p in ("2031-03", "2031-04") for b in bureaus
            }
            assert rank_keys <= set(statuses)
            assert {(s, n) for s, n, _ in statuses.values()} == {("failed", ATTEMPTS)}
            assert all("ConnectError" in (e or "") for _, _, e in statuses.values())
            assert receiver.deliveries().keys().isdisjoint(statuses)

            # The bureaus are back (their webhook fixed): redeliver bureau a's, then the rest.
            async with fresh_pool.acquire() as conn:
                await conn.execute(
                    "UPDATE bureaus SET webhook_url = $1 WHERE code = ANY($2::text[])",
                    receiver.url,
                    bureaus,
                )
            of_a = await redeliver(client, fresh_pool, bureau=a, task_queue=tq)
            a_keys = {k for k in statuses if (await _bureau_of(fresh_pool, k)) == a}
            assert {r["key"] for r in of_a} == a_keys
            await eventually(lambda: _delivered(fresh_pool, a_keys), timeout=30)
            rest = await redeliver(client, fresh_pool, task_queue=tq)
            assert {r["key"] for r in rest} == set(statuses) - a_keys
            await eventually(lambda: _delivered(fresh_pool, set(statuses)), timeout=30)
            # Exactly once per key at the receiver; nothing left to redeliver.
            posted = receiver.deliveries()
            assert all(posted[k] == 1 for k in statuses)
            assert await redeliver(client, fresh_pool, task_queue=tq) == []
            final = await _statuses(fresh_pool, bureaus)
            # One more attempt each (the redelivery): ATTEMPTS + 1.
            assert {(s, n) for s, n, _ in final.values()} == {("delivered", ATTEMPTS + 1)}
        finally:
            await end_ladders(client, bureaus)


async def _all_failed(
    pool: asyncpg.Pool, bureaus: list[str]
) -> dict[str, tuple[str, int, str | None]]:
    statuses = await _statuses(pool, bureaus)
    if len(statuses) < 8 or any(s != "failed" for s, _, _ in statuses.values()):
        return {}
    return statuses


async def _bureau_of(pool: asyncpg.Pool, key: str) -> str:
    rows = await fetch(pool, "SELECT bureau FROM notifications WHERE key = $1", key)
    return str(rows[0]["bureau"])


async def _delivered(pool: asyncpg.Pool, keys: set[str]) -> bool:
    rows = await fetch(
        pool, "SELECT status FROM notifications WHERE key = ANY($1::text[])", list(keys)
    )
    return len(rows) == len(keys) and all(r["status"] == "delivered" for r in rows)


class Refusing:
    """A bureau endpoint that answers 404 to everything (a wrong URL) and counts the calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/notify"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        await reader.readexactly(length)
        self.calls += 1
        writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()


async def test_a_4xx_is_not_retried(
    dev_env: WorkflowEnvironment, fresh_pool: asyncpg.Pool, http: httpx.AsyncClient
) -> None:
    refusing = Refusing()
    url = await refusing.start()
    px = prefix()
    bureaus = await fixture.add_bureaus(fresh_pool, px, url)
    await fixture.insert(fresh_pool, px)
    client = dev_env.client
    # No cap on attempts here: only the 404 can stop the retries after the first.
    async with running_worker(
        client, fresh_pool, http, Settings(graceful_shutdown_seconds=2)
    ) as tq:
        try:
            handle = await service.trigger_round(client, "2031-03", "default", task_queue=tq)
            await asyncio.wait_for(handle.result(), timeout=60)
            statuses = await eventually(lambda: _all_failed(fresh_pool, bureaus), timeout=60)
            # Each notice: one POST, one attempt, failed with the status code.
            assert {(s, n) for s, n, _ in statuses.values()} == {("failed", 1)}
            assert all((e or "").startswith("HTTP 404") for _, _, e in statuses.values())
            await asyncio.sleep(3)  # the retry would have come after 2 s
            assert refusing.calls == len(statuses)
        finally:
            await end_ladders(client, bureaus)
            if refusing.server:
                refusing.server.close()


# ---------------------------------------------------------------------------------------------
# Schedules: backfill, pause, data gate
# ---------------------------------------------------------------------------------------------


async def _on_chart(pool: asyncpg.Pool, px: str, bureau: str, loaded: datetime, start: date) -> str:
    """One project in the read model whose 立项 was recorded at `loaded` (its plan starts at
    `start` and runs long past the periods ranked)."""
    code = f"{px.upper()}-S1"
    plan = fixture.plan_json(fixture.projects(px)[1])
    plan.update(
        {
            "code": code,
            "bureau": bureau,
            "start": start.isoformat(),
            "finish": (start + timedelta(days=900)).isoformat(),
            "milestones": [],
        }
    )
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO projects (code, name_zh, program, bureau, kind, stage, status, light,"
            " total_investment_wan, planned_investment_to_date_wan, actual_investment_wan,"
            " physical_progress_pct, plan, business_today, version) VALUES ($1,'项目','P01',$2,"
            "'engineering','approved','active','green',1000,0,0,0,$3,$4,1)",
            code,
            bureau,
            plan,
            loaded.date(),
        )
        await conn.execute(
            "INSERT INTO stage_history (key, project, step, stage, on_date, recorded_at, actor,"
            " bureau) VALUES ($1, $2, NULL, 'approved', $3, $4, 'test', $5)",
            f"{code}:approved",
            code,
            start,
            loaded,
            bureau,
        )
    return code


async def _own_schedule(client: Client, tq: str, paused: bool = True) -> str:
    """The production monthly schedule (spec, action, policy) under a test's own ID, paused so
    that it never fires by itself while the test runs."""
    schedule_id = f"test-ranking-month-{uuid.uuid4().hex[:8]}"
    schedule = service.schedule_for("month", "default", tq)
    schedule.state = ScheduleState(paused=paused, note="test")
    assert isinstance(schedule.action, ScheduleActionStartWorkflow)
    schedule.action.id = f"{schedule_id}-run"  # its runs never meet another test's
    await client.create_schedule(schedule_id, schedule)
    return schedule_id


async def test_backfill_of_three_months_ranks_three_periods(
    dev_env: WorkflowEnvironment, fresh_pool: asyncpg.Pool, http: httpx.AsyncClient
) -> None:
    px = prefix()
    bureaus = await fixture.add_bureaus(fresh_pool, px, None)
    # The anchor: a programme on the chart since 15 January 2033 (Beijing time).
    await _on_chart(
        fresh_pool, px, bureaus[0], datetime(2033, 1, 15, 10, tzinfo=CST), date(2033, 1, 10)
    )
    client = dev_env.client
    async with running_worker(
        client, fresh_pool, http, Settings(graceful_shutdown_seconds=2)
    ) as tq:
        schedule_id = await _own_schedule(client, tq)
        handle = client.get_schedule_handle(schedule_id)
        try:
            # Fires on the 1st at 09:00 Beijing: 1 March, 1 April and 1 May 2033 fall in the
            # window, so the runs rank February, March and April (the month before each), not
            # the month the backfill happens to run in.
            await handle.backfill(
                ScheduleBackfill(
                    start_at=datetime(2033, 3, 1, 0, tzinfo=CST),
                    end_at=datetime(2033, 5, 1, 12, tzinfo=CST),
                    overlap=ScheduleOverlapPolicy.ALLOW_ALL,
                )
            )
            rows = await eventually(lambda: _periods(fresh_pool, 3), timeout=90)
            assert rows == ["2033-02", "2033-03", "2033-04"]
            for period in rows:
                result = await client.get_workflow_handle(
                    c.ranking_round_workflow_id(period, "default"), result_type=RoundResult
                ).result()
                assert result.period == period and result.bureaus == 1
            desc = await handle.describe()
            assert desc.info.num_actions == 3
        finally:
            with contextlib.suppress(Exception):
                await handle.delete()
            await end_ladders(client, bureaus)


async def _periods(pool: asyncpg.Pool, n: int) -> list[str]:
    rows = await fetch(pool, "SELECT period FROM ranking_rounds ORDER BY period")
    periods = [r["period"] for r in rows]
    return periods if len(periods) >= n else []


async def test_automatic_round_skips_a_period_without_data_an_explicit_run_runs(
    dev_env: WorkflowEnvironment, fresh_pool: asyncpg.Pool, http: httpx.AsyncClient
) -> None:
    px = prefix()
    bureaus = await fixture.add_bureaus(fresh_pool, px, None)
    # Loaded on 10 February 2034 (after January closed), no reports: January has no data.
    await _on_chart(
        fresh_pool, px, bureaus[0], datetime(2034, 2, 10, 10, tzinfo=CST), date(2033, 12, 1)
    )
    january = await period_has_data(fresh_pool, "2034-01")
    assert january.has_data is False and "2034-02-01" in january.reason
    february = await period_has_data(fresh_pool, "2034-02")  # on the chart before 1 March
    assert february.has_data is True
    # A report for a month of the period is data too, even without the project on the chart:
    # the first quarter (January–March) has one once a January report exists.
    assert (await period_has_data(fresh_pool, "2033-Q4")).has_data is False
    async with fresh_pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO progress_reports (project, month, corrected, investment_wan,"
            " cumulative_investment_wan, physical_progress_pct, received_at, on_time, actor)"
            " VALUES ($1, '2033-12', 0, 10, 10, 1, $2, true, 'test')",
            f"{px.upper()}-S1",
            datetime(2034, 2, 11, tzinfo=UTC),
        )
    assert (await period_has_data(fresh_pool, "2033-Q4")).has_data is True
    async with fresh_pool.acquire() as conn:
        await conn.execute("DELETE FROM progress_reports")
    client = dev_env.client
    async with running_worker(
        client, fresh_pool, http, Settings(graceful_shutdown_seconds=2)
    ) as tq:
        schedule_id = await _own_schedule(client, tq)
        handle = client.get_schedule_handle(schedule_id)
        try:
            # The scheduled run of 1 February 2034 ranks January: skipped, nothing published.
            await handle.backfill(
                ScheduleBackfill(
                    start_at=datetime(2034, 2, 1, 0, tzinfo=CST),
                    end_at=datetime(2034, 2, 1, 12, tzinfo=CST),
                    overlap=ScheduleOverlapPolicy.ALLOW_ALL,
                )
            )
            run = await eventually(lambda: _first_run(client, schedule_id), timeout=60)
            skipped = await client.get_workflow_handle(run, result_type=RoundResult).result()
            assert skipped.period == "2034-01" and skipped.delegated_to == ""
            assert "no project was on the chart before 2034-02-01" in skipped.skipped
            assert await fetch(fresh_pool, "SELECT period FROM ranking_rounds") == []
            # Someone runs it explicitly: it runs (and publishes the month, empty of scores).
            explicit = await service.trigger_round(client, "2034-01", "default", task_queue=tq)
            result = await explicit.result()
            assert result.period == "2034-01" and result.skipped == ""
            assert [
                r["period"] for r in await fetch(fresh_pool, "SELECT period FROM ranking_rounds")
            ] == ["2034-01"]
        finally:
            with contextlib.suppress(Exception):
                await handle.delete()
            await end_ladders(client, bureaus)


async def _first_run(client: Client, schedule_id: str) -> str | None:
    desc = await client.get_schedule_handle(schedule_id).describe()
    actions = desc.info.recent_actions
    if not actions:
        return None
    action = actions[0].action
    assert isinstance(action, ScheduleActionExecutionStartWorkflow)
    return action.workflow_id


async def test_a_paused_schedule_stays_paused_through_ensure_schedules(
    dev_env: WorkflowEnvironment,
) -> None:
    client = dev_env.client
    first, second = f"tq-{uuid.uuid4().hex[:6]}", f"tq-{uuid.uuid4().hex[:6]}"
    try:
        handles = await service.ensure_schedules(client, Settings(task_queue=first))
        month = handles[0]
        await month.pause(note="春节停排 (paused by the office)")
        # A restart with another task queue: the action changes, the pause and its note stay.
        again = await service.ensure_schedules(client, Settings(task_queue=second))
        assert [h.id for h in again] == [h.id for h in handles]
        desc = await month.describe()
        assert desc.schedule.state.paused is True
        assert desc.schedule.state.note == "春节停排 (paused by the office)"
        action = desc.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow) and action.task_queue == second
        assert desc.schedule.policy.overlap == ScheduleOverlapPolicy.ALLOW_ALL
        # The schedules nobody paused are running.
        for h in again[1:]:
            assert (await h.describe()).schedule.state.paused is False
    finally:
        for kind in ("month", "quarter", "year"):
            with contextlib.suppress(Exception):
                await client.get_schedule_handle(c.ranking_schedule_id(kind, "default")).delete()
