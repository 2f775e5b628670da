"""A ranking round's heavy step off the worker's event loop, and the ladders fed by key.

Since `ranking-off-loop-2026-12` a round is (workflows/ranking_round.py):
1. `ranking_round_compute`, a *sync* activity run in the worker's process pool
   (`round_executor`): it opens its own PostgreSQL connection, freezes the period (reused if
   frozen), computes, publishes or re-verifies the round byte for byte
   (`activities.ranking.compute_and_store`) and stores each bureau's outcome in
   `ranking_outcomes`, in the transaction that publishes the round. A thread heartbeats while
   it works. It returns the round's keys (`RoundKeys`), not its outcomes;
2. `ranking_feed_ladder_key` per bureau: reads that bureau's outcome and the round's rule set
   by key and feeds the ladder as `ranking_feed_ladder` does;
3. the notices, as before.

The CPU-bound Python of a round (scoring, ranking, canonical JSON of tens of MB) thus runs in
another process, on another core: the worker's event loop, which runs every workflow task and
every other activity of that worker, never waits for it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import ctypes
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from multiprocessing.managers import SyncManager

import asyncpg
import structlog
from temporalio import activity
from temporalio.worker import SharedStateManager

from activities.ranking import RankingActivities, Revise, _fail, compute_and_store
from guatu.core import constants as c
from guatu.core import db
from guatu.ranking import revisions
from guatu.ranking.messages import BureauOutcome, FeedLadderInput, FeedLadderResult
from guatu.ranking.models import Level, RoundResults, RuleSet, Snapshot
from guatu.ranking.periods import PeriodError, parse_period
from guatu.ranking.round_keys import FeedLadderKey, RoundComputeInput, RoundKeys
from guatu.ranking.rules import outcomes
from guatu.ranking.snapshot import read_snapshot, store_snapshot

log = structlog.get_logger(__name__)
HEARTBEAT_SECONDS = 5.0  # the workflow's heartbeat timeout is much longer (see ranking_round)
ROUND_NICENESS = 10  # added to a round process's nice value (Unix): lower CPU priority


@contextmanager
def heartbeating(every: float = HEARTBEAT_SECONDS) -> Iterator[None]:
    """Heartbeat from a thread while the activity's own thread computes (a CPU-bound step
    would otherwise not heartbeat for tens of seconds at 100,000 projects)."""
    stop = threading.Event()
    context = contextvars.copy_context()  # the activity's context: `activity.heartbeat` works

    def beat() -> None:
        context.run(activity.heartbeat)
        while not stop.wait(every):
            context.run(activity.heartbeat)

    thread = threading.Thread(target=beat, name="round-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


async def _freeze(
    conn: asyncpg.Connection, data: RoundComputeInput, run_id: str
) -> tuple[str, int, tuple[Snapshot, str] | None]:
    """Freeze the period (inside a transaction): (sha256, projects, the snapshot just frozen
    or None when the stored one is reused). A frozen period is reused without parsing it."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"freeze:{data.period}")
    if data.refreeze:
        snapshot, digest, revision, reused = await revisions.refreeze(
            conn,
            data.period,
            datetime.now(UTC),
            reason=data.reason,
            actor=data.actor,
            run_id=run_id,
        )
        log.info(
            "ranking snapshot frozen again",
            period=data.period,
            revision=revision,
            sha256=digest[:12],
            reused=reused,
            reason=data.reason,
            actor=data.actor,
        )
        if snapshot is None:
            projects = await conn.fetchval(
                "SELECT projects FROM ranking_snapshots WHERE period = $1", data.period
            )
            return digest, int(projects or 0), None
        return digest, len(snapshot.projects), (snapshot, digest)
    head = await conn.fetchrow(
        "SELECT sha256, projects FROM ranking_snapshots WHERE period = $1", data.period
    )
    if head is not None:
        return head["sha256"], head["projects"], None
    snapshot = await read_snapshot(conn, data.period, datetime.now(UTC))
    digest, reused = await store_snapshot(conn, snapshot)
    log.info(
        "ranking snapshot frozen",
        period=data.period,
        projects=len(snapshot.projects),
        sha256=digest[:12],
    )
    return digest, len(snapshot.projects), None if reused else (snapshot, digest)


async def store_outcomes(conn: asyncpg.Connection, results: RoundResults, revision: int) -> None:
    """Each bureau's outcome of the round's `revision` (inside the round's transaction): a
    re-run writes the same rows again (nothing changes), a revision replaces the previous one's."""
    await conn.execute(
        "DELETE FROM ranking_outcomes WHERE period = $1 AND ruleset_id = $2 AND revision <> $3",
        results.period,
        results.ruleset_id,
        revision,
    )
    await conn.executemany(
        "INSERT INTO ranking_outcomes (period, ruleset_id, bureau, revision, outcome)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (period, ruleset_id, bureau) DO NOTHING",
        [
            (o.period, o.ruleset_id, o.bureau, revision, o.model_dump(mode="json"))
            for o in outcomes(results)
        ],
    )


async def compute_round_keys(dsn: str, data: RoundComputeInput, run_id: str) -> RoundKeys:
    """Freeze, compute, publish (or re-verify) a round and store its outcomes: its keys."""
    try:
        parse_period(data.period)
    except PeriodError as err:
        raise _fail("bad_period", str(err)) from None
    conn = await asyncpg.connect(dsn, command_timeout=300)
    try:
        await db._init_connection(conn)
        async with conn.transaction():
            snapshot_sha, projects, frozen = await _freeze(conn, data, run_id)
        activity.heartbeat("frozen")
        revise = Revise(snapshot_sha, data.reason, data.actor, run_id) if data.refreeze else None
        async with conn.transaction():
            results, digest, reproduced, rules, revision = await compute_and_store(
                conn, data.period, data.ruleset_id, data.workflow_id, frozen, revise
            )
            await store_outcomes(conn, results, revision)
    finally:
        await conn.close()
    bureaus = results.levels[Level.BUREAU]
    log.info(
        "ranking computed",
        period=data.period,
        ruleset=data.ruleset_id,
        sha256=digest[:12],
        reproduced=reproduced,
        revision=revision,
        red=bureaus.red_list,
        black=bureaus.black_list,
    )
    return RoundKeys(
        period=data.period,
        ruleset_id=data.ruleset_id,
        revision=revision,
        ruleset_version=rules.version,
        snapshot_sha256=results.snapshot_sha256,
        results_sha256=digest,
        reproduced=reproduced,
        projects=projects,
        bureaus=[r.code for r in bureaus.rows],
        red_list=bureaus.red_list,
        black_list=bureaus.black_list,
        exempted=bureaus.exempted,
        reason=data.reason if revise is not None else "",
        actor=data.actor if revise is not None else "",
    )


class RoundWork:
    """The sync, CPU-bound step of a round. Holds only a DSN, so that it pickles into the
    worker's process pool (each call opens and closes its own connection)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    @activity.defn(name=c.ACTIVITY_RANKING_ROUND)
    def compute_round(self, data: RoundComputeInput) -> RoundKeys:
        run_id = activity.info().workflow_run_id or ""
        with heartbeating():
            return asyncio.run(compute_round_keys(self.dsn, data, run_id))


class RoundKeyActivities:
    """The ladders of a round fed by key: each reads its bureau's outcome in PostgreSQL."""

    def __init__(self, pool: asyncpg.Pool, ranking: RankingActivities) -> None:
        self.pool = pool
        self.ranking = ranking

    @activity.defn(name=c.ACTIVITY_RANKING_FEED_LADDER_KEY)
    async def feed_ladder_key(self, data: FeedLadderKey) -> FeedLadderResult:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT o.revision, o.outcome::text AS outcome, s.body FROM ranking_outcomes o"
                " JOIN ranking_rulesets s ON s.id = o.ruleset_id"
                " AND s.version = (o.outcome->>'ruleset_version')::int"
                " WHERE o.period = $1 AND o.ruleset_id = $2 AND o.bureau = $3",
                data.period,
                data.ruleset_id,
                data.bureau,
            )
        if row is None:
            raise _fail(
                "not_computed",
                f"{data.period} {data.ruleset_id} 无 {data.bureau} 的排名结果 / has no outcome"
                f" for bureau {data.bureau}",
            )
        if row["revision"] != data.revision:
            # A later revision of the round replaced this one: its own run feeds the ladder.
            return FeedLadderResult(
                bureau=data.bureau,
                accepted=False,
                rejected=f"revision {data.revision} superseded by revision {row['revision']}",
            )
        rules = RuleSet.model_validate_json(row["body"])
        return await self.ranking.feed_ladder(
            FeedLadderInput(
                outcome=BureauOutcome.model_validate_json(row["outcome"]),
                ladder=rules.ladder,
                exemption=rules.exemption,
                clock=data.clock,
                revision=data.revision,
                reason=data.reason,
                actor=data.actor,
            )
        )


# ---------------------------------------------------------------------------------------------
# The worker's process pool
# ---------------------------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1
# processes → (executor, shared state): one per setting for the whole process.
_executors: dict[int, tuple[concurrent.futures.Executor, SharedStateManager | None]] = {}
_lock = threading.Lock()


def _die_with_parent(parent: int) -> None:
    """In a pool process: end when the worker that started it (`parent`) ends, even by SIGKILL
    — also if it ended while this process was still starting."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the pool's processes end when their queues close
    if os.getppid() != parent:
        os._exit(0)  # orphaned before the signal was armed


def _round_process(parent: int) -> None:
    """A round's process: dies with its worker, and yields the CPU to everything else (the
    worker's workflow tasks, Temporal, PostgreSQL) when the cores are contended: a round is a
    batch job that may take a little longer, a workflow task is someone waiting."""
    _die_with_parent(parent)
    with contextlib.suppress(OSError, AttributeError):
        os.nice(ROUND_NICENESS)
    # Its log lines in the worker's format (GUATU_LOG_* from the environment it inherited).
    from config.settings import Settings
    from guatu.core import logs

    logs.configure_from(Settings())


def warm() -> int:
    """Import what a round needs, so that the first round does not pay for it."""
    import activities.ranking  # noqa: F401
    import guatu.ranking.rules  # noqa: F401

    return os.getpid()


def round_executor(
    processes: int,
) -> tuple[concurrent.futures.Executor, SharedStateManager | None]:
    """The executor of the worker's sync activities, shared by every worker of this process
    built with the same setting: `processes` spawned processes (started now and warmed up),
    or with 0 a thread pool (the round then shares the worker's interpreter and its GIL)."""
    processes = max(processes, 0)
    with _lock:
        if processes in _executors:
            return _executors[processes]
        if processes == 0:
            threads = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="round")
            _executors[0] = (threads, None)
            return _executors[0]
        # spawn, never fork: the worker runs threads (the Temporal core, asyncio's helpers).
        context = multiprocessing.get_context("spawn")
        manager = SyncManager(ctx=context)
        manager.start(_die_with_parent, (os.getpid(),))
        pool = concurrent.futures.ProcessPoolExecutor(
            processes,
            mp_context=context,
            initializer=_round_process,
            initargs=(os.getpid(),),
        )
        for _ in range(processes):
            pool.submit(warm)
        _executors[processes] = (pool, SharedStateManager.create_from_multiprocessing(manager))
        return _executors[processes]


def pool_dsn(pool: asyncpg.Pool) -> str:
    """The DSN a pool was created with (`guatu.core.db.create_pool` passes it first)."""
    args = getattr(pool, "_connect_args", ())
    dsn = args[0] if args else getattr(pool, "_connect_kwargs", {}).get("dsn")
    if not isinstance(dsn, str):
        raise ValueError("the worker's pool has no DSN: pass round_dsn to build_worker")
    return dsn
