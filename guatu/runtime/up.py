"""`guatu up`: the embedded stack, the worker, the sample programme and the HTTP API in one process.

One file: the order of start and the reverse order of stop are read together; split, a step would
sit apart from its undo.

Order of start: PostgreSQL → Temporal → migrations and reference data → worker → API ("guatu is
up"), then in the background: the sample programme (if `GUATU_LOAD_SAMPLE`), the ranking
schedules and, when last month has data, its first round. Nothing a round or a bureau's webhook
does can hold the start up. Order of stop (Ctrl-C / SIGTERM, at any stage, also during the
start-up): background work → API → worker (graceful) → pool → Temporal → PostgreSQL.
Everything embedded is skipped when the settings point at an external server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import structlog
from temporalio.client import Client, WorkflowHandle

from activities.read_model import upsert_reference
from config.settings import Settings
from guatu.core import db
from guatu.core.payload_codec import warn_if_plain
from guatu.core.temporal_client import connect
from guatu.lifecycle.models import ProgrammeClock
from guatu.lifecycle.programme import load_bureaus, load_policy, load_programs, load_sample_plans
from guatu.lifecycle.service import start_programme
from guatu.ranking.messages import RoundResult
from guatu.runtime.dsns import role_dsns
from guatu.runtime.guard import Guard
from guatu.runtime.stack import CREDENTIALS_FILE, EmbeddedPostgres, EmbeddedTemporal, StackError
from guatu.runtime.sweeper import run_sweeper
from worker import build_worker

log = structlog.get_logger("guatu.runtime.up")


@dataclass
class Stack:
    """What `guatu up` runs on. `pool` connects as the worker's role, `api_pool` as the API's,
    `read_pool` as the read-only role (both default to `pool`); `dsn` is the owner's."""

    settings: Settings
    client: Client
    pool: asyncpg.Pool
    http: httpx.AsyncClient
    dsn: str
    api_pool: asyncpg.Pool | None = None
    read_pool: asyncpg.Pool | None = None

    @property
    def api(self) -> asyncpg.Pool:
        return self.api_pool or self.pool

    @property
    def reads(self) -> asyncpg.Pool:
        return self.read_pool or self.api


@asynccontextmanager
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    """Start (or connect to) PostgreSQL and Temporal; stop what was started on exit."""
    async with AsyncExitStack() as exit_stack:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        guard: Guard | None = None
        if settings.embedded_postgres or settings.embedded_temporal:
            exit_stack.enter_context(data_dir_lock(settings.data_dir))
            guard = Guard()
            exit_stack.callback(guard.close)
        if settings.database_url is None:
            pg = EmbeddedPostgres(settings.data_dir, port=settings.postgres_port)
            started = time.monotonic()

            def pg_started() -> None:
                pid = pg.postmaster_pid()
                if guard is not None and pid is not None:
                    guard.watch("postgres", pid)

            await _start_then_stop_on_exit(exit_stack, pg.start, pg.stop, pg_started)
            log.info(
                "embedded postgres up",
                server=f"{pg.host}:{pg.port}",
                credentials=str(settings.data_dir / CREDENTIALS_FILE),
                seconds=round(time.monotonic() - started, 2),
            )
        if settings.embedded_temporal:
            temporal = EmbeddedTemporal(
                settings.data_dir / "temporal",
                settings.temporal_ip,
                settings.temporal_port,
                settings.temporal_ui_port,
                sqlite_pragmas=settings.temporal_sqlite_pragmas,
            )
            started = time.monotonic()
            left = await asyncio.to_thread(temporal.stop_leftovers)
            if left:
                log.warning("stopped the Temporal server an earlier run left behind", pids=left)
            # Spawned from this (the main) thread: its parent-death signal is bound to the
            # thread that forks it, and this one lives as long as `guatu up`.
            temporal.spawn()
            exit_stack.callback(temporal.stop)
            if guard is not None and temporal.proc is not None:
                guard.watch("temporal", temporal.proc.pid)
            await asyncio.to_thread(temporal.wait_ready)
            log.info(
                "embedded temporal up",
                target=temporal.target,
                ui=f"http://{settings.temporal_ip}:{settings.temporal_ui_port}",
                seconds=round(time.monotonic() - started, 2),
            )
        dsns = role_dsns(settings)
        warn_if_plain(settings)
        client = await connect(settings)
        owner = await db.create_pool(dsns.owner, 1, 1)
        try:
            applied = await db.migrate(owner)
        finally:
            await owner.close()
        if applied:
            log.info("migrations applied", migrations=applied)
        pool = await db.create_pool(dsns.worker, settings.db_pool_min, settings.db_pool_max)
        exit_stack.push_async_callback(pool.close)
        api_pool = await db.create_pool(dsns.api, settings.db_pool_min, settings.db_pool_max)
        exit_stack.push_async_callback(api_pool.close)
        read_pool = await db.create_pool(dsns.reader, 1, settings.db_pool_max)
        exit_stack.push_async_callback(read_pool.close)
        await upsert_reference(pool, load_bureaus(), load_programs())
        http = await exit_stack.enter_async_context(
            httpx.AsyncClient(timeout=settings.webhook_timeout_seconds)
        )
        yield Stack(settings, client, pool, http, dsns.owner, api_pool, read_pool)


@contextlib.contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """One `guatu up` per data directory. The lock dies with its process (kill -9 included), so
    a run that was killed never blocks the next one."""
    import fcntl

    path = data_dir / "guatu.lock"
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise StackError(
                f"another guatu up is running on {data_dir} (pid {handle.read().strip() or '?'})"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


async def _start_then_stop_on_exit(
    exit_stack: AsyncExitStack,
    start: Callable[[], None],
    stop: Callable[[], None],
    started: Callable[[], None] | None = None,
) -> None:
    """Start an embedded server in a thread. A stop request (cancellation) arriving meanwhile
    lets the start finish (bounded by its own timeout) so that the server is then stopped, not
    left running without its owner."""
    starting = asyncio.ensure_future(asyncio.to_thread(start))
    try:
        await asyncio.shield(starting)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await starting
        exit_stack.callback(stop)
        raise
    finally:
        if (
            started is not None
            and starting.done()
            and not starting.cancelled()
            and starting.exception() is None
        ):
            started()
    exit_stack.callback(stop)


async def bootstrap_tokens(st: Stack) -> dict[str, str]:
    """First start: a leader and an admin token, kept in the data directory (mode 0600).

    A leader can open the dashboard after `make run` without help: the file also holds
    `dashboard_url`, the link that logs in with the leader token. The log says where the file
    is, never the token (logs are shipped and read by many). An operator uses the admin token to
    issue bureau and manager tokens (`guatu token create`). Later starts reuse them unless they
    were revoked.
    """
    from guatu.core.tokens import create_token, verify_token

    settings = st.settings
    path = settings.data_dir / "tokens.json"
    saved: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    tokens: dict[str, str] = {}
    for role in ("leader", "admin"):
        raw = saved.get(role)
        if raw is None or await verify_token(st.api, raw) is None:
            raw = await create_token(st.api, role, label=f"bootstrap {role}")
        tokens[role] = raw
    base = f"http://{settings.api_host}:{settings.api_port}/"
    tokens["dashboard_url"] = f"{base}#token={tokens['leader']}"
    if tokens != saved:
        # Created 0600 before the tokens are written: never readable by others, not even briefly.
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_text(json.dumps(tokens, indent=2))
    log.info(
        "dashboard for leaders",
        url=base,
        tokens_file=str(path),
        login=f"open the dashboard_url written in {path} (it holds the leader token)",
    )
    return tokens


async def start_rankings(
    st: Stack, first_round: bool = True
) -> WorkflowHandle[Any, RoundResult] | None:
    """The ranking schedules (monthly, quarterly, annual) and, on a first start, last month's
    round, started and not waited for (its handle is returned).

    The schedules fire on the 1st at 09:00 Asia/Shanghai; without a first round the leaders'
    boards would stay empty until then. A round that exists is not run again, and no round is
    started for a month before any project had data for it (`activities/round_gate.py`): it
    would publish that month empty for good. A simulation runs its own rounds (`first_round`
    False): a round started here would freeze last month from the simulation's January.
    """
    from activities.round_gate import period_has_data
    from guatu.core.clock import local_date
    from guatu.ranking.periods import last_closed
    from guatu.ranking.queries import get_ranking
    from guatu.ranking.service import ensure_schedules, trigger_round

    schedules = await ensure_schedules(st.client, st.settings)
    log.info("ranking schedules ensured", schedules=[h.id for h in schedules])
    if not first_round:
        return None
    period = last_closed("month", local_date(datetime.now(UTC))).key
    existing = await get_ranking(st.pool, "bureau", period)
    if existing.get("found"):
        return None
    gate = await period_has_data(st.pool, period)
    if not gate.has_data:
        log.info("first ranking round skipped", period=period, reason=gate.reason)
        return None
    handle = await trigger_round(st.client, period, task_queue=st.settings.task_queue)
    log.info(
        "first ranking round started", period=period, workflow_id=handle.id, because=gate.reason
    )
    return handle


async def start_up_work(st: Stack, first_round: bool = True) -> None:
    """What `guatu up` does once it serves: the sample (if the settings say so) with its history
    (once per data directory), the ranking schedules and (`first_round`) the first round. A
    failure is logged; the stack keeps serving."""
    try:
        if st.settings.load_sample:
            await seed_sample_history(st)
            await seed_society_sample(st)
        handle = await start_rankings(st, first_round)
        if handle is not None:
            result = await handle.result()
            log.info(
                "first ranking round finished",
                period=result.period,
                bureaus=result.bureaus,
                notices=result.notices,
            )
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("start-up work failed (the API and dashboard keep serving)")


async def load_sample(st: Stack, progress: Callable[[int, int], None] | None = None) -> int:
    plans = load_sample_plans(st.settings.programme_start_year)
    clock = ProgrammeClock(scale=st.settings.clock_scale)
    done = 0
    log.info("loading the sample programme", projects=len(plans))

    def tick(_: object) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, len(plans))

    started = time.monotonic()
    await start_programme(
        st.client,
        plans,
        load_policy(),
        task_queue=st.settings.task_queue,
        clock=clock,
        progress=tick,
    )
    log.info(
        "sample programme loaded", projects=len(plans), seconds=round(time.monotonic() - started, 2)
    )
    from guatu.scenes.sample import seed_sample_scenes

    await seed_sample_scenes(st.pool, [p.code for p in plans])  # 示范场景 (illustrative)
    from guatu.opportunities.sample import seed_sample_opportunities  # 机会清单 (illustrative)

    await seed_sample_opportunities(
        st.client, st.pool, task_queue=st.settings.task_queue, clock=clock
    )
    return len(plans)


async def seed_society_sample(st: Stack) -> None:
    """Illustrative 市民观察 and 第三方评估 on the sample (guatu/society/sample.py), idempotent;
    a failure is logged and the rest of the start-up goes on."""
    from guatu.society.sample import seed_society_sample as seed

    try:
        await seed(st.client, st.pool, st.settings.task_queue)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("illustrative observations and evaluations not seeded")


async def seed_sample_history(st: Stack) -> None:
    """The sample and this year's history of it, on the first start only
    (guatu/runtime/sample_history.py); the marker file in the data directory says both are done, so
    a later start does nothing here (its projects are running)."""
    from guatu.runtime.sample_history import MARKER_FILE, read_marker, seed_history

    marker = st.settings.data_dir / MARKER_FILE
    if (done := read_marker(marker)) is not None:
        log.info(
            "sample programme and history already in place",
            seeded_on=done.today.isoformat(),
            rounds=len(done.rounds),
            marker=str(marker),
        )
        return
    await load_sample(st)
    await seed_history(
        st.client,
        st.pool,
        load_sample_plans(st.settings.programme_start_year),
        clock=ProgrammeClock(scale=st.settings.clock_scale),
        task_queue=st.settings.task_queue,
        marker=marker,
    )


# A stop request ends `guatu up` within STOP_SECONDS: the worker's grace for its activities
# (they are idempotent; an interrupted one runs again), then the rest is cancelled so that the
# servers are stopped in time, whatever is still running (the sample loading, a round).
STOP_SECONDS = 15.0
WORKER_GRACE_SECONDS = 5.0
CANCEL_AFTER_SECONDS = 9.0


async def serve(
    settings: Settings,
    stop: asyncio.Event,
    extra: Callable[[Stack], Awaitable[asyncio.Task[Any] | None]] | None = None,
    first_round: bool = True,
) -> None:
    """Run everything until `stop` is set; `stop` ends the start-up too, at any stage. `extra`
    runs once the API serves; a task it returns is cancelled when `guatu up` stops."""
    serving = asyncio.Event()
    main = asyncio.create_task(_serve(settings, stop, serving, extra, first_round))
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({main, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not main.done() and not serving.is_set():
            # Stopped while starting: unwind what was started (embedded servers are stopped).
            log.info("stopping during start-up")
            main.cancel()
        done, _ = await asyncio.wait({main}, timeout=CANCEL_AFTER_SECONDS)
        if not done:
            log.warning(
                "the stop is taking long: cancelling what still runs", seconds=CANCEL_AFTER_SECONDS
            )
            main.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await main
    finally:
        stopping.cancel()
        if not main.done():
            main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await main
    log.info("stopped")


async def _serve(
    settings: Settings,
    stop: asyncio.Event,
    serving: asyncio.Event,
    extra: Callable[[Stack], Awaitable[asyncio.Task[Any] | None]] | None,
    first_round: bool = True,
) -> None:
    async with stack(settings) as st:
        grace = min(settings.graceful_shutdown_seconds, WORKER_GRACE_SECONDS)
        worker = build_worker(
            st.client,
            st.pool,
            st.http,
            settings,
            graceful_shutdown_timeout=timedelta(seconds=grace),
        )
        async with worker:
            log.info("worker running", task_queue=settings.task_queue)
            api_task: asyncio.Task[None] | None = None
            with contextlib.suppress(ImportError):
                from guatu.api.server import run_api

                api_task = asyncio.create_task(run_api(st, stop))
                await bootstrap_tokens(st)
            serving.set()
            background = [asyncio.create_task(start_up_work(st, first_round))]
            if settings.sweep_seconds > 0:  # the read model's safety net (guatu.runtime.sweeper)
                background.append(
                    asyncio.create_task(run_sweeper(st.client, st.pool, settings.sweep_seconds))
                )
            if extra is not None and (task := await extra(st)) is not None:
                background.append(task)
            log.info(
                "guatu is up",
                api=f"http://{settings.api_host}:{settings.api_port}/",
                temporal_ui=f"http://{settings.temporal_ip}:{settings.temporal_ui_port}"
                if settings.embedded_temporal
                else None,
            )
            await stop.wait()
            log.info("stopping")
            for task in background:
                task.cancel()
            # A task's own failure was logged by its supervisor; here it only has to end.
            await asyncio.gather(*background, return_exceptions=True)
            if api_task is not None:
                await api_task


async def simulate_in_background(st: Stack, year_seconds: float) -> asyncio.Task[None]:
    """A simulated year of the sample programme with a ranking round at each month close.

    It runs from 1 January of the programme's first year up to today (at least twelve months)
    and then goes on in real time: the clock settles at today's date and the last round is the
    last closed month's. The task is returned; `supervise` it so that a failure stops `guatu up`.
    """
    from guatu.core.clock import local_date, months_between
    from guatu.ranking.service import trigger_round
    from guatu.runtime.simulation import ProgrammeSimulation, SimulationConfig

    async def month_closed(month: str) -> None:
        handle = await trigger_round(st.client, month, task_queue=st.settings.task_queue)
        await handle.result()

    async def run() -> None:
        start_year = st.settings.programme_start_year
        today = local_date(datetime.now(UTC))
        months = len(months_between(date(start_year, 1, 1), today))
        config = SimulationConfig(
            start_year=start_year, months=max(12, months), year_seconds=year_seconds
        )
        sim = ProgrammeSimulation(
            st.client,
            load_sample_plans(config.start_year),
            load_policy(),
            config,
            task_queue=st.settings.task_queue,
            on_month_closed=month_closed,
            pool=st.pool,
        )
        report = await sim.run()
        if not report.reached_today:
            await sim.settle()  # a simulated year still to come: scale 1 from where it ended
        log.info(
            "simulation finished; the programme goes on in real time",
            real_seconds=report.real_seconds,
            reports=report.reports_sent,
            steps=report.steps_sent,
            refused=report.refused,
            rounds=report.rounds,
            reached_today=report.reached_today,
        )

    return asyncio.create_task(run(), name="simulated year")


def supervise(task: asyncio.Task[Any], stop: asyncio.Event, failures: list[str]) -> None:
    """A background task that fails is logged with its trace and stops `guatu up` (its name
    goes to `failures`), never silently ("Task exception was never retrieved")."""

    def done(finished: asyncio.Task[Any]) -> None:
        if finished.cancelled() or (error := finished.exception()) is None:
            return
        log.error(
            "background task failed: stopping guatu up",
            task=finished.get_name(),
            error=repr(error),
            exc_info=error,
        )
        failures.append(finished.get_name())
        stop.set()

    task.add_done_callback(done)


def run_forever(settings: Settings, simulate_year_seconds: float | None = None) -> None:
    failures: list[str] = []

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def stop_requested() -> None:
            if not stop.is_set():
                stop.set()
                _exit_after(STOP_SECONDS - 2)

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop_requested)
        extra = None
        if simulate_year_seconds is not None:

            async def extra(st: Stack) -> asyncio.Task[Any]:
                task = await simulate_in_background(st, simulate_year_seconds)
                supervise(task, stop, failures)
                return task

        await serve(settings, stop, extra, first_round=simulate_year_seconds is None)

    asyncio.run(main())
    if failures:
        raise SystemExit(
            f"guatu up stopped: {', '.join(failures)} failed (its error is logged "
            "above) / 后台任务失败，guatu up 已停止，错误见上方日志"
        )


def _exit_after(seconds: float) -> None:
    """The last resort of a stop request: if `guatu up` has not ended in `seconds` (a thread
    that does not return, a server that does not stop), end the process; the guard then stops
    the embedded servers still running."""

    def expire() -> None:
        log.error(
            "stop did not finish in time: exiting; the guard stops the servers", seconds=seconds
        )
        os._exit(3)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
