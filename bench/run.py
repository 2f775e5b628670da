"""`make bench`: Guatu against raw Temporal, in the same run, on the same server and settings.

Starts its own embedded Temporal dev server and PostgreSQL (fresh data, free ports), runs each
measurement, prints a table of absolute figures and ratios against the targets of issue #5, and
writes `bench/results.json`. Bounded to about ten minutes on 2 cores; `--quick` for a smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date
from pathlib import Path
from typing import Any

import asyncpg
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter

from activities.read_model import upsert_reference
from bench.raw import RawInput
from guatu.core import constants as c
from guatu.core import db
from guatu.lifecycle.models import ProgressReportInput, ProjectPlan
from guatu.lifecycle.programme import load_bureaus, load_policy, load_programs, load_sample_plans
from guatu.lifecycle.service import gather_limited, send_update, start_programme
from guatu.runtime.stack import EmbeddedPostgres, EmbeddedTemporal
from workflows.project_lifecycle import ProjectLifecycle

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results.json"
# The simulated programme clock: one business year in this many real seconds. The figure is
# the real time a simulated year takes with every report and step applied and nothing refused,
# so the clock must run at least as fast as the target (issue 10: one year ≤ 60 s).
SIM_YEAR_SECONDS = 100.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class WorkerProcess:
    def __init__(self, target: str, dsn: str, kind: str, namespace: str = "default") -> None:
        self.task_queue = f"bench-{kind}-{uuid.uuid4().hex[:6]}"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.worker_proc",
                "--target",
                target,
                "--dsn",
                dsn,
                "--task-queue",
                self.task_queue,
                "--kind",
                kind,
                "--namespace",
                namespace,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=None if os.environ.get("BENCH_WORKER_STDERR") else subprocess.DEVNULL,
            text=True,
            env={**os.environ, "GUATU_LOG_LEVEL": "WARNING"},
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "ready" not in line:
            raise RuntimeError(f"{kind} worker did not start")

    def rss_kib(self) -> int:
        return rss_kib(self.proc.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def children_cpu(self) -> float:
        """CPU so far of the worker's child processes (its round process among them)."""
        pid = self.proc.pid
        kids = [
            int(k)
            for task in Path(f"/proc/{pid}/task").iterdir()
            for k in (task / "children").read_text().split()
        ]
        return sum(cpu_seconds(k) for k in kids if Path(f"/proc/{k}").exists())

    async def wait_idle(self, timeout: float, window: float = 2.0) -> float:
        """Wait until the worker has drained its backlog: under 5 % of a core over `window`."""
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            before = self.cpu()
            await asyncio.sleep(window)
            if self.cpu() - before < 0.05 * window:
                return time.perf_counter() - started
        raise TimeoutError(f"{self.task_queue}: still busy after {timeout} s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def datetime_utc() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


async def create_database(dsn: str, name: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{dsn.rpartition('/')[0]}/{name}"


def synthetic_plans(count: int, year: int, prefix: str) -> list[ProjectPlan]:
    """`count` plans cycling through the sample programme under fresh codes."""
    sample = load_sample_plans(year)
    return [
        sample[i % len(sample)].model_copy(update={"code": f"{prefix}{i:05d}"})
        for i in range(count)
    ]


async def timed(label: str, job: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await job()
    seconds = time.perf_counter() - started
    print(f"  {label}: {seconds:.2f} s", flush=True)
    return seconds, result


async def wait_projected(pool: asyncpg.Pool, prefix: str, count: int, timeout: float) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        async with pool.acquire() as conn:
            n = await conn.fetchval(
                "SELECT count(*) FROM projects WHERE code LIKE $1", f"{prefix}%"
            )
        if n >= count:
            return time.perf_counter() - started
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{prefix}: projected fewer than {count} in {timeout} s")


async def round_phases(client: Client, period: str) -> tuple[str, tuple[float, float]]:
    """Where a round's time went, from its history: each activity type's span (first
    scheduled → last completed) after the workflow started; and the wall-clock window in which
    its compute step ran (started → completed)."""
    from temporalio.api.enums.v1 import EventType

    handle = client.get_workflow_handle(c.ranking_round_workflow_id(period, "default"))
    history = await handle.fetch_history()
    t0 = history.events[0].event_time.ToDatetime()
    kinds: dict[int, str] = {}
    spans: dict[str, list[float]] = {}
    window = [0.0, 0.0]
    for e in history.events:
        at = (e.event_time.ToDatetime() - t0).total_seconds()
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = e.activity_task_scheduled_event_attributes.activity_type.name
            kinds[e.event_id] = name
            spans.setdefault(name, [at, at])
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            name = kinds[e.activity_task_started_event_attributes.scheduled_event_id]
            if name == c.ACTIVITY_RANKING_ROUND:
                window[0] = e.event_time.ToDatetime().replace(tzinfo=UTC).timestamp()
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            name = kinds[e.activity_task_completed_event_attributes.scheduled_event_id]
            spans[name][1] = max(spans[name][1], at)
            if name == c.ACTIVITY_RANKING_ROUND:
                window[1] = e.event_time.ToDatetime().replace(tzinfo=UTC).timestamp()
    end = (history.events[-1].event_time.ToDatetime() - t0).total_seconds()
    text = ", ".join(f"{k} {a:.2f}→{b:.2f}" for k, (a, b) in spans.items())
    return f"{text}; end {end:.2f} s", (window[0], window[1])


class TaskLatencyProbe:
    """Workflow-task latency of a worker, end to end: the round trip of an Update its validator
    refuses (`resume` of a project that is not suspended). Each is one workflow task on that
    worker (the event loop, the workflow thread, the sandbox) and writes no history. The
    probed lifecycle starts next year: out of scope of the round being measured."""

    def __init__(self, handle: WorkflowHandle[Any, Any]) -> None:
        self.handle = handle
        self.samples: list[tuple[float, float]] = []  # (wall-clock start, latency in ms)
        self.n = 0

    @classmethod
    async def start(cls, client: Client, task_queue: str, year: int) -> TaskLatencyProbe:
        plan = synthetic_plans(1, year, f"PROBE{uuid.uuid4().hex[:4].upper()}-")[0]
        plan = plan.model_copy(
            update={
                "start": date(year + 1, 1, 1),
                "finish": date(year + 2, 12, 1),
                "milestones": [
                    m.model_copy(update={"planned": date(year + 1, 6, 1)}) for m in plan.milestones
                ],
                "yearly_investment_wan": {},
            }
        )
        await start_programme(client, [plan], load_policy(), task_queue=task_queue)
        probe = cls(client.get_workflow_handle(c.project_workflow_id(plan.code)))
        from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError

        for attempt in range(3):  # the first one waits for the lifecycle's first task
            try:
                await probe.once()
                break
            except WorkflowUpdateRPCTimeoutOrCancelledError:
                if attempt == 2:
                    raise
        probe.take()
        return probe

    async def once(self) -> None:
        from temporalio.client import WorkflowUpdateFailedError

        from guatu.lifecycle.models import RunControlInput

        self.n += 1
        wall = time.time()
        t = time.perf_counter()
        try:
            await self.handle.execute_update(
                c.UPDATE_RESUME, RunControlInput(idempotency_key=f"probe-{self.n}")
            )
        except WorkflowUpdateFailedError:
            pass  # refused, as meant
        else:
            raise RuntimeError("the probe's update was applied: it must be refused")
        self.samples.append((wall, (time.perf_counter() - t) * 1000))

    async def run(
        self, seconds: float, gap: float = 0.02, stop: asyncio.Event | None = None
    ) -> None:
        """Probe one at a time, `gap` seconds apart, for `seconds` or until `stop` is set."""
        started = time.perf_counter()
        while time.perf_counter() - started < seconds and not (stop and stop.is_set()):
            await self.once()
            await asyncio.sleep(gap)

    def take(self, within: tuple[float, float] | None = None) -> list[float]:
        """The latencies so far (of probes started `within` a wall-clock window), and forget
        them all."""
        samples, self.samples = self.samples, []
        return [ms for at, ms in samples if within is None or within[0] <= at <= within[1]]


class Bench:
    def __init__(
        self, client: Client, pool: asyncpg.Pool, target: str, dsn: str, quick: bool
    ) -> None:
        self.client = client
        self.pool = pool
        self.target = target
        self.dsn = dsn
        self.quick = quick
        self.year = date.today().year
        self.figures: dict[str, Any] = {}

    async def raw_starts(self, worker: WorkerProcess, count: int, workflow: str) -> float:
        async def start_all() -> list[WorkflowHandle[Any, Any]]:
            return await gather_limited(
                [
                    lambda i=i: self.client.start_workflow(
                        workflow,
                        RawInput(label=str(i)),
                        id=f"raw-{workflow}-{uuid.uuid4().hex}",
                        task_queue=worker.task_queue,
                    )
                    for i in range(count)
                ],
                32,
            )

        seconds, _ = await timed(f"raw {workflow} × {count}", start_all)
        return count / seconds

    async def guatu_starts(self, worker: WorkerProcess, count: int, prefix: str) -> float:
        plans = synthetic_plans(count, self.year, prefix)

        async def start_all() -> int:
            return await start_programme(
                self.client, plans, load_policy(), task_queue=worker.task_queue, concurrency=32
            )

        seconds, _ = await timed(f"guatu lifecycles × {count}", start_all)
        return count / seconds

    async def measure_import_and_memory(self) -> None:
        big = 1_000 if self.quick else 10_000
        raw = WorkerProcess(self.target, self.dsn, "raw")
        guatu = WorkerProcess(self.target, self.dsn, "guatu")
        try:
            raw_idle, guatu_idle = raw.rss_kib(), guatu.rss_kib()
            # Each phase waits for its worker to finish the tasks its starts created, so that
            # the next phase does not pay for the previous one's backlog.
            raw_243 = await self.raw_starts(raw, 243, "RawTimer")
            await raw.wait_idle(60)
            guatu_243 = await self.guatu_starts(guatu, 243, "BA-")
            await wait_projected(self.pool, "BA-", 243, timeout=60)
            raw_big = await self.raw_starts(raw, big - 243, "RawTimer")
            raw_drain = await raw.wait_idle(300)
            raw_all_done = (big - 243) / raw_big + raw_drain
            started = time.perf_counter()
            guatu_big = await self.guatu_starts(guatu, big - 243, "BB-")
            guatu_drain = await wait_projected(self.pool, "B", big, timeout=600)
            guatu_on_chart = time.perf_counter() - started
            print(
                f"  backlog after the starts: raw {raw_drain:.0f} s, guatu {guatu_drain:.0f} s"
                f" (all {big} on the chart {guatu_on_chart:.0f} s after the first start)",
                flush=True,
            )
            await guatu.wait_idle(60)
            raw_rss, guatu_rss = raw.rss_kib(), guatu.rss_kib()
        finally:
            raw.stop()
            guatu.stop()
        self.figures["import"] = {
            "raw_starts_per_s_243": round(raw_243, 1),
            "guatu_starts_per_s_243": round(guatu_243, 1),
            "ratio_243": round(guatu_243 / raw_243, 2),
            f"raw_starts_per_s_{big}": round(raw_big, 1),
            f"guatu_starts_per_s_{big}": round(guatu_big, 1),
            f"ratio_{big}": round(guatu_big / raw_big, 2),
            f"guatu_on_chart_per_s_{big}": round((big - 243) / guatu_on_chart, 1),
            # Issue 10: every imported project on the chart (projected and indexed) within
            # 1.2 × the time the raw platform takes to start and drain the same starts.
            "raw_all_done_s": round(raw_all_done, 1),
            "guatu_on_chart_s": round(guatu_on_chart, 1),
            "on_chart_ratio": round(guatu_on_chart / raw_all_done, 2),
            "target": "≥ 0.70",
        }
        self.figures["memory"] = {
            "open_workflows": big,
            "raw_rss_mib": round(raw_rss / 1024, 1),
            "guatu_rss_mib": round(guatu_rss / 1024, 1),
            "raw_idle_mib": round(raw_idle / 1024, 1),
            "guatu_idle_mib": round(guatu_idle / 1024, 1),
            "raw_kib_per_workflow": round((raw_rss - raw_idle) / big, 1),
            "guatu_kib_per_workflow": round((guatu_rss - guatu_idle) / big, 1),
            "ratio": round(guatu_rss / raw_rss, 2),
            "target": "≤ 1.5",
        }

    async def measure_updates(self) -> None:
        """Raw Update vs a Guatu monthly report (validated, applied, projected)."""
        count = 200 if self.quick else 1000
        raw = WorkerProcess(self.target, self.dsn, "raw")
        guatu = WorkerProcess(self.target, self.dsn, "guatu")
        try:
            targets = 50
            raw_handles = [
                await self.client.start_workflow(
                    "RawTimer",
                    RawInput(),
                    id=f"raw-upd-{uuid.uuid4().hex}",
                    task_queue=raw.task_queue,
                )
                for _ in range(targets)
            ]
            plans = synthetic_plans(targets, self.year, f"BU{uuid.uuid4().hex[:3].upper()}-")
            plans = [p.model_copy(update={"start": date(self.year, 1, 1)}) for p in plans]
            await start_programme(self.client, plans, load_policy(), task_queue=guatu.task_queue)
            await asyncio.sleep(2)
            raw_lat: list[float] = []
            guatu_lat: list[float] = []

            async def raw_one(i: int) -> None:
                t = time.perf_counter()
                await raw_handles[i % targets].execute_update("bump", RawInput(label=str(i)))
                raw_lat.append((time.perf_counter() - t) * 1000)

            months = [f"{self.year}-{m:02d}" for m in range(1, 13)]
            this_month = date.today().strftime("%Y-%m")
            months = [m for m in months if m <= this_month]

            async def guatu_one(i: int) -> None:
                plan = plans[i % targets]
                month = months[(i // targets) % len(months)]
                t = time.perf_counter()
                await send_update(
                    self.client,
                    plan.code,
                    ProjectLifecycle.submit_report,
                    ProgressReportInput(
                        bureau=plan.bureau,
                        idempotency_key=f"b-{i}",
                        month=month,
                        investment_wan=1.0,
                        physical_progress_pct=min(100.0, 1.0 + i / count),
                        correction=(i // targets) >= len(months),
                    ),
                    pool=self.pool,
                )
                guatu_lat.append((time.perf_counter() - t) * 1000)

            raw_cpu = raw.cpu()
            raw_s, _ = await timed(
                f"raw updates × {count}",
                lambda: gather_limited([lambda i=i: raw_one(i) for i in range(count)], 16),
            )
            raw_cpu = raw.cpu() - raw_cpu
            n = min(count, targets * len(months))
            guatu_cpu = guatu.cpu()
            guatu_s, _ = await timed(
                f"guatu reports × {n}",
                lambda: gather_limited([lambda i=i: guatu_one(i) for i in range(n)], 16),
            )
            guatu_cpu = guatu.cpu() - guatu_cpu
            print(
                f"  worker CPU: raw {raw_cpu:.1f} s ({raw_cpu / raw_s:.0%} of a core), "
                f"guatu {guatu_cpu:.1f} s ({guatu_cpu / guatu_s:.0%}); "
                f"per call raw {1000 * raw_cpu / count:.1f} ms, "
                f"guatu {1000 * guatu_cpu / n:.1f} ms",
                flush=True,
            )
        finally:
            raw.stop()
            guatu.stop()
        self.figures["report"] = {
            "path": "send_update: Update (validator + handler) + read-model write-through",
            "raw_updates_per_s": round(count / raw_s, 1),
            "raw_p50_ms": round(pct(raw_lat, 50), 1),
            "raw_p99_ms": round(pct(raw_lat, 99), 1),
            "guatu_reports_per_s": round(n / guatu_s, 1),
            "guatu_p50_ms": round(pct(guatu_lat, 50), 1),
            "guatu_p99_ms": round(pct(guatu_lat, 99), 1),
            "rate_ratio": round((n / guatu_s) / (count / raw_s), 2),
            "p99_ratio": round(pct(guatu_lat, 99) / pct(raw_lat, 99), 2),
            # Where the time goes: a worker far below one core means the server is the limit.
            "raw_worker_cpu_share": round(raw_cpu / raw_s, 2),
            "guatu_worker_cpu_share": round(guatu_cpu / guatu_s, 2),
            "guatu_worker_cpu_ms_per_report": round(1000 * guatu_cpu / n, 1),
            "target": "rate ≥ 0.70; p99 ≤ 2×",
        }

    async def measure_http_reports(self) -> None:
        """Bureau reports through the HTTP API: authenticated, validated, applied and projected."""
        import httpx

        from config.settings import Settings
        from guatu.api.app import create_app
        from guatu.api.deps import ApiOptions
        from guatu.core.tokens import create_token

        count = 200 if self.quick else 600
        guatu = WorkerProcess(self.target, self.dsn, "guatu")
        try:
            this_month = date.today().strftime("%Y-%m")
            months = [m for m in (f"{self.year}-{i:02d}" for i in range(1, 13)) if m <= this_month]
            # One first report per (project, month): every request is valid and is applied.
            plans = synthetic_plans(
                -(-count // len(months)), self.year, f"BH{uuid.uuid4().hex[:3].upper()}-"
            )
            plans = [p.model_copy(update={"start": date(self.year, 1, 1)}) for p in plans]
            await start_programme(self.client, plans, load_policy(), task_queue=guatu.task_queue)
            app = create_app(
                self.client,
                self.pool,
                Settings(),
                task_queue=guatu.task_queue,
                options=ApiOptions(rate_per_second=10_000, rate_burst=10_000),
            )
            tokens = {
                b: await create_token(self.pool, "bureau", bureau=b)
                for b in {p.bureau for p in plans}
            }
            latencies: list[float] = []
            failures = 0
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                await asyncio.sleep(2)

                async def one(i: int) -> None:
                    nonlocal failures
                    plan = plans[i % len(plans)]
                    month = months[(i // len(plans)) % len(months)]
                    body = {
                        "month": month,
                        "investment_wan": 1.0,
                        "physical_progress_pct": float(1 + (i // len(plans))),
                    }
                    t = time.perf_counter()
                    response = await http.post(
                        f"/api/v1/projects/{plan.code}/reports",
                        json=body,
                        headers={
                            "Authorization": f"Bearer {tokens[plan.bureau]}",
                            "Idempotency-Key": f"http-{i}",
                        },
                    )
                    latencies.append((time.perf_counter() - t) * 1000)
                    if response.status_code != 200:
                        failures += 1

                n = count
                seconds, _ = await timed(
                    f"HTTP reports × {n}",
                    lambda: gather_limited([lambda i=i: one(i) for i in range(n)], 16),
                )
            async with self.pool.acquire() as conn:
                projected = await conn.fetchval(
                    "SELECT count(*) FROM progress_reports WHERE project = ANY($1::text[])",
                    [p.code for p in plans],
                )
        finally:
            guatu.stop()
        self.figures["http_report"] = {
            "reports": n,
            "failures": failures,
            "projected_rows": projected,
            "reports_per_s": round(n / seconds, 1),
            "p50_ms": round(pct(latencies, 50), 1),
            "p99_ms": round(pct(latencies, 99), 1),
        }
        if "report" in self.figures:
            raw = self.figures["report"]
            self.figures["http_report"]["rate_ratio_vs_raw_update"] = round(
                (n / seconds) / raw["raw_updates_per_s"], 2
            )
            self.figures["http_report"]["p99_ratio_vs_raw_update"] = round(
                pct(latencies, 99) / raw["raw_p99_ms"], 2
            )

    async def measure_queries(self, client: Client, dsn: str) -> None:
        """Leader queries through the HTTP API on a seeded read model (100,000 projects) with
        a published round: the rankings and filtered project lists."""
        pool = await db.create_pool(dsn, 2, 10)
        try:
            await self._leader_queries(client, pool)
        finally:
            await pool.close()

    async def _leader_queries(self, client: Client, pool: asyncpg.Pool) -> None:
        import httpx

        from config.settings import Settings
        from guatu.api.app import create_app
        from guatu.api.deps import ApiOptions
        from guatu.core.tokens import create_token

        async with pool.acquire() as conn:
            have = await conn.fetchval("SELECT count(*) FROM projects")
        app = create_app(
            client, pool, Settings(), options=ApiOptions(rate_per_second=10_000, rate_burst=10_000)
        )
        token = await create_token(pool, "leader")
        headers = {"Authorization": f"Bearer {token}"}
        calls = 100 if self.quick else 300
        results: dict[str, Any] = {"projects_in_read_model": have}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            paths = {
                "project_list": "/api/v1/projects?program=P06&light=red&page_size=50",
                "project_list_bureau_page3": "/api/v1/projects?bureau=fgj&page=3&page_size=50",
                "overview": "/api/v1/overview",
            }
            ranking = await http.get("/api/v1/rankings?level=bureau", headers=headers)
            assert ranking.status_code == 200, ranking.text
            paths["ranking_bureau"] = "/api/v1/rankings?level=bureau"
            paths["ranking_program"] = "/api/v1/rankings?level=program"
            paths["ranking_project_page1"] = "/api/v1/rankings?level=project&page_size=50"
            paths["ranking_project_page40"] = "/api/v1/rankings?level=project&page=40&page_size=50"
            paths["ranking_project_bureau"] = (
                "/api/v1/rankings?level=project&bureau=fgj&page_size=50"
            )
            for name, path in paths.items():
                lat: list[float] = []
                for _ in range(calls):
                    t = time.perf_counter()
                    response = await http.get(path, headers=headers)
                    lat.append((time.perf_counter() - t) * 1000)
                    assert response.status_code == 200, (path, response.status_code)
                results[name] = {"p50_ms": round(pct(lat, 50), 2), "p99_ms": round(pct(lat, 99), 2)}
        worst = max(v["p99_ms"] for k, v in results.items() if isinstance(v, dict))
        results["summary"] = f"worst p99 {worst} ms"
        results["target"] = "p99 ≤ 20 ms"
        self.figures["queries"] = results

    async def seed_read_model(self, dsn: str, count: int, months: list[str]) -> None:
        """A read model of `count` projects with reports for `months`, written directly (COPY)."""
        import json as _json
        import random

        pool = await db.create_pool(dsn, 1, 4)
        try:
            await db.migrate(pool)
            await upsert_reference(pool, load_bureaus(), load_programs())
            rng = random.Random(count)
            plans = synthetic_plans(count, self.year, "R")
            plans = [p.model_copy(update={"start": date(self.year, 1, 1)}) for p in plans]
            today = date(self.year, 4, 1)
            from guatu.lifecycle.rules.progress import planned_to_date_wan

            projects, reports = [], []
            for p in plans:
                planned = planned_to_date_wan(p, today)
                projects.append(
                    (
                        p.code,
                        p.name_zh,
                        p.program,
                        p.bureau,
                        p.kind.value,
                        "under_construction",
                        "active",
                        "green",
                        "[]",
                        p.total_investment_wan,
                        planned,
                        0.0,
                        0.0,
                        "[]",
                        0,
                        None,
                        "[]",
                        _json.dumps(p.model_dump(mode="json")),
                        today,
                        1,
                        1,
                    )
                )
                for i, month in enumerate(months):
                    reports.append(
                        (
                            p.code,
                            month,
                            0,
                            planned / len(months) * rng.uniform(0.4, 1.3),
                            0.0,
                            10.0 * (i + 1),
                            "",
                            datetime_utc(),
                            rng.random() < 0.85,
                            "bench",
                        )
                    )
            cols = [
                "code",
                "name_zh",
                "program",
                "bureau",
                "kind",
                "stage",
                "status",
                "light",
                "explanations",
                "total_investment_wan",
                "planned_investment_to_date_wan",
                "actual_investment_wan",
                "physical_progress_pct",
                "milestones",
                "open_issues",
                "last_report_month",
                "red_months",
                "plan",
                "business_today",
                "version",
                "runs",
            ]
            async with pool.acquire() as conn:
                # jsonb has no binary COPY encoder: stage the rows as text, then cast.
                await conn.execute(
                    "CREATE TEMP TABLE seed_projects AS SELECT * FROM projects WITH NO DATA;"
                    " ALTER TABLE seed_projects ALTER explanations TYPE text,"
                    " ALTER milestones TYPE text, ALTER red_months TYPE text, ALTER plan TYPE text"
                )
                await conn.copy_records_to_table("seed_projects", records=projects, columns=cols)
                names = ", ".join(cols)
                casts = ", ".join(
                    f"{k}::jsonb"
                    if k in ("explanations", "milestones", "red_months", "plan")
                    else k
                    for k in cols
                )
                await conn.execute(
                    f"INSERT INTO projects ({names}) SELECT {casts} FROM seed_projects"
                )
                await conn.copy_records_to_table(
                    "progress_reports",
                    records=reports,
                    columns=[
                        "project",
                        "month",
                        "corrected",
                        "investment_wan",
                        "cumulative_investment_wan",
                        "physical_progress_pct",
                        "narrative",
                        "received_at",
                        "on_time",
                        "actor",
                    ],
                )
        finally:
            await pool.close()

    async def measure_ranking(self, rounds: bool = True, queries: bool = True) -> None:
        """A full monthly round (freeze, score, rank, lists, ladders, notices) per size; the
        leader queries run on the 100,000-project read model (issue 10; 2,000 in quick mode)
        once its round is published. At the
        largest size, the workflow-task latency of the round's worker is probed while idle and
        while the round computes."""
        from guatu.ranking.messages import RankingRoundInput

        query_size = 2_000 if self.quick else 100_000
        sizes = [243, 2_000] if self.quick else [243, 10_000, 100_000]
        if not rounds:
            sizes = [query_size]
        months = [f"{self.year}-01", f"{self.year}-02", f"{self.year}-03"]
        results: dict[str, Any] = {}
        for size in sizes:
            name = f"rank{size}"
            dsn = await create_database(self.dsn, name)
            await timed(
                f"seed {size} projects",
                lambda dsn=dsn, size=size: self.seed_read_model(dsn, size, months),
            )
            worker = WorkerProcess(self.target, dsn, "guatu", namespace=name)
            probe = rounds and size == sizes[-1]
            try:
                client = await Client.connect(
                    self.target, namespace=name, data_converter=pydantic_data_converter
                )
                prober: TaskLatencyProbe | None = None
                idle: list[float] = []
                if probe:
                    prober = await TaskLatencyProbe.start(client, worker.task_queue, self.year)
                    await prober.run(seconds=4 if self.quick else 8)  # idle
                    idle = prober.take()

                async def run_round(
                    client: Client = client,
                    worker: WorkerProcess = worker,
                    prober: TaskLatencyProbe | None = prober,
                ) -> Any:
                    handle = await client.start_workflow(
                        c.RANKING_WORKFLOW,
                        RankingRoundInput(period=months[-1]),
                        # The business-key ID: the round runs here, it does not hand itself over
                        # to that ID as a detached child (which would return at once).
                        id=c.ranking_round_workflow_id(months[-1], "default"),
                        task_queue=worker.task_queue,
                    )
                    if prober is None:
                        return await handle.result()
                    # Probe the worker's workflow tasks for as long as the round runs.
                    stop = asyncio.Event()
                    probing = asyncio.create_task(prober.run(seconds=3600, stop=stop))
                    try:
                        return await handle.result()
                    finally:
                        stop.set()
                        await probing

                cpu_before = (worker.cpu(), worker.children_cpu())
                seconds, _ = await timed(f"ranking round × {size}", run_round)
                cpu_used = (worker.cpu() - cpu_before[0], worker.children_cpu() - cpu_before[1])
                phases, computing = await round_phases(client, months[-1])
                phases += (
                    f"; CPU: round process {cpu_used[1]:.2f} s, worker {cpu_used[0]:.2f} s"
                    f" (load average {os.getloadavg()[0]:.1f})"
                )
                print(f"    {phases}", flush=True)
                results.setdefault("phases", {})[str(size)] = phases
                if prober is not None:
                    samples = list(prober.samples)
                    whole = prober.take()
                    prober.samples = samples
                    busy = prober.take(within=computing)
                    results["task_latency"] = {
                        "projects": size,
                        "idle_p50_ms": round(pct(idle, 50), 1),
                        "idle_p99_ms": round(pct(idle, 99), 1),
                        "idle_samples": len(idle),
                        "round_p50_ms": round(pct(busy, 50), 1),
                        "round_p99_ms": round(pct(busy, 99), 1),
                        "round_max_ms": round(max(busy, default=float("nan")), 1),
                        "round_samples": len(busy),
                        "compute_seconds": round(computing[1] - computing[0], 2),
                        "whole_round_p99_ms": round(pct(whole, 99), 1),
                        "whole_round_samples": len(whole),
                        "p99_ratio": round(pct(busy, 99) / pct(idle, 99), 2),
                        "target": "p99 ≤ 3 × idle",
                    }
                    print(
                        f"  workflow-task latency (refused Update round trip) on the round's"
                        f" worker, p50/p99 ms (samples): idle {pct(idle, 50):.1f}/"
                        f"{pct(idle, 99):.1f} ({len(idle)}), while the {size} round computes"
                        f" {pct(busy, 50):.1f}/{pct(busy, 99):.1f} ({len(busy)}), over the"
                        f" whole round (ladders' first tasks included) p99 {pct(whole, 99):.1f}"
                        f" ({len(whole)})",
                        flush=True,
                    )
            finally:
                worker.stop()
            # The reads are the API's alone: the round's worker, still retrying its notices to
            # bureau webhooks that do not exist here, would only add noise.
            if queries and size == query_size:
                await self.measure_queries(client, dsn)
            results[str(size)] = round(seconds, 2)
        if not rounds:
            return
        latency = results.pop("task_latency", None)
        phases = results.pop("phases", {})
        results["summary"] = " / ".join(f"{k}: {v}" for k, v in results.items())
        results["target"] = "10,000 ≤ 2 s; 100,000 ≤ 20 s"
        results["meets_target"] = all(
            results[k] <= limit for k, limit in (("10000", 2.0), ("100000", 20.0)) if k in results
        )
        results["phases"] = phases
        self.figures["ranking"] = results
        if latency is not None:
            self.figures["task_latency"] = latency

    async def measure_whatif(self) -> None:
        from guatu.ranking.periods import periods_between
        from guatu.ranking.rulesets import load_ruleset
        from guatu.ranking.sample import synthetic_snapshots
        from guatu.whatif.replay import what_if_snapshots

        plans = load_sample_plans(self.year)
        periods = periods_between("month", f"{self.year}-01", f"{self.year + 4}-12")
        build_s, snapshots = await timed(
            "synthetic snapshots, 5 years",
            lambda: asyncio.to_thread(synthetic_snapshots, plans, periods),
        )
        started = time.perf_counter()
        result = await asyncio.to_thread(
            what_if_snapshots, snapshots, load_ruleset("default"), load_ruleset("sanya")
        )
        seconds = time.perf_counter() - started
        print(f"  what-if 5 years × 243 projects: {seconds:.2f} s", flush=True)
        self.figures["whatif"] = {
            "periods": len(periods),
            "projects": len(plans),
            "seconds": round(seconds, 2),
            "snapshot_build_seconds": round(build_s, 2),
            "differences": len(result.get("differences", [])) if isinstance(result, dict) else None,
            "summary": round(seconds, 2),
            "target": "≤ 5 s",
        }

    async def measure_payload(self) -> None:
        """The largest lifecycle payload after five simulated years of maximum-length inputs
        (bench/lifecycle_payload: the decisions alone, no server), bounded and as before."""
        from bench.lifecycle_payload import measure

        bounded = await asyncio.to_thread(measure, 5, True)
        before = await asyncio.to_thread(measure, 5, False)
        self.figures["payload"] = {
            **bounded,
            "unbounded_state_kib": before["largest_state_kib"],
            "summary": f"{bounded['largest_state_kib']} KiB "
            f"(update {bounded['largest_update_kib']} KiB; "
            f"before the patch {before['largest_state_kib']} KiB)",
        }
        print(f"  lifecycle after 5 years: {self.figures['payload']['summary']}", flush=True)

    async def measure_simulation(self) -> None:
        from guatu.runtime.simulation import ProgrammeSimulation, SimulationConfig

        months = 3 if self.quick else 12
        guatu = WorkerProcess(self.target, self.dsn, "guatu")
        try:
            config = SimulationConfig(
                start_year=self.year,
                months=months,
                year_seconds=SIM_YEAR_SECONDS,
                code_prefix="SIM-",
            )
            sim = ProgrammeSimulation(
                self.client,
                load_sample_plans(self.year),
                load_policy(),
                config,
                task_queue=guatu.task_queue,
                pool=self.pool,
            )
            report = await sim.run()
        finally:
            guatu.stop()
        self.figures["simulation"] = {
            "projects": report.projects,
            "months": months,
            "real_seconds": report.real_seconds,
            "reports": report.reports_sent,
            "steps": report.steps_sent,
            "refused": report.refused,
            "max_driver_lag_business_days": report.max_lag_business_days,
            "target": "one simulated year ≤ 60 s",
        }

    async def measure_ladder_payload(self) -> None:
        from bench.ladder_payload import measure

        lp = self.figures["ladder_payload"] = await measure(
            self.pool, years=2 if self.quick else 10
        )
        print(
            f"  ladder after {lp['years']} years: {lp['largest_payload_kib']} KiB "
            f"in {lp['largest_payload_in']}",
            flush=True,
        )

    def table(self) -> str:
        f = self.figures
        rows: list[tuple[str, str, str, str]] = []
        if "import" in f:
            i = f["import"]
            big = [k for k in i if k.startswith("guatu_starts_per_s_") and not k.endswith("_243")][
                0
            ]
            n = big.rsplit("_", 1)[1]
            rows.append(
                (
                    "import 243 (starts/s)",
                    f"{i['guatu_starts_per_s_243']}",
                    f"{i['raw_starts_per_s_243']} raw → ×{i['ratio_243']}",
                    i["target"],
                )
            )
            rows.append(
                (
                    f"import {n} (starts/s)",
                    f"{i[big]}",
                    f"{i[f'raw_starts_per_s_{n}']} raw → ×{i[f'ratio_{n}']}",
                    i["target"],
                )
            )
            if "on_chart_ratio" in i:
                rows.append(
                    (
                        f"import {n}: all on the chart (s)",
                        f"{i['guatu_on_chart_s']}",
                        f"{i['raw_all_done_s']} raw started and drained → ×{i['on_chart_ratio']}",
                        "≤ 1.2 × raw",
                    )
                )
        if "http_report" in f:
            h = f["http_report"]
            rows.append(
                (
                    "HTTP report rate (/s)",
                    f"{h['reports_per_s']} ({h['failures']} non-200)",
                    f"raw update → ×{h.get('rate_ratio_vs_raw_update', '?')}",
                    "≥ 0.60",
                )
            )
            rows.append(
                (
                    "HTTP report p50/p99 (ms)",
                    f"{h['p50_ms']}/{h['p99_ms']}",
                    f"raw update p99 → ×{h.get('p99_ratio_vs_raw_update', '?')}",
                    "p99 ≤ 2.5×",
                )
            )
        if "report" in f:
            r = f["report"]
            rows.append(
                (
                    "report rate (/s)",
                    f"{r['guatu_reports_per_s']}",
                    f"{r['raw_updates_per_s']} raw → ×{r['rate_ratio']}",
                    "≥ 0.70",
                )
            )
            rows.append(
                (
                    "report p50/p99 (ms)",
                    f"{r['guatu_p50_ms']}/{r['guatu_p99_ms']}",
                    f"{r['raw_p50_ms']}/{r['raw_p99_ms']} raw → p99 ×{r['p99_ratio']}",
                    "p99 ≤ 2×",
                )
            )
        for key, label in (
            ("ranking", "ranking round (s)"),
            ("queries", "leader queries"),
            ("whatif", "what-if 5 years (s)"),
            ("payload", "lifecycle payload, 5 years max inputs"),
        ):
            if key in f:
                rows.append((label, str(f[key].get("summary")), "—", f[key]["target"]))
        if "task_latency" in f:
            t = f["task_latency"]
            rows.append(
                (
                    f"workflow-task p99 during a {t['projects']} round (ms)",
                    f"{t['round_p99_ms']}",
                    f"{t['idle_p99_ms']} idle → ×{t['p99_ratio']}",
                    t["target"],
                )
            )
        if "memory" in f:
            m = f["memory"]
            rows.append(
                (
                    f"worker RSS, {m['open_workflows']} open (MiB)",
                    f"{m['guatu_rss_mib']}",
                    f"{m['raw_rss_mib']} raw → ×{m['ratio']}",
                    m["target"],
                )
            )
        if "simulation" in f:
            s = f["simulation"]
            rows.append(
                (
                    f"simulation {s['months']} months × {s['projects']} (s)",
                    f"{s['real_seconds']}",
                    "—",
                    s["target"],
                )
            )
        if "ladder_payload" in f:
            lp = f["ladder_payload"]
            rows.append(
                (
                    f"largest payload: ladder after {lp['years']} years (KiB)",
                    f"{lp['largest_payload_kib']}",
                    f"in {lp['largest_payload_in']}, {lp['runs']} runs",
                    lp["target"],
                )
            )
        widths = [
            max(len(r[i]) for r in [("figure", "Guatu", "compared with", "target"), *rows])
            for i in range(4)
        ]
        lines = []
        for r in [("figure", "Guatu", "compared with", "target"), *rows]:
            lines.append(" | ".join(r[i].ljust(widths[i]) for i in range(4)))
        lines.insert(1, "-+-".join("-" * w for w in widths))
        return "\n".join(lines)


@asynccontextmanager
async def embedded_stack(quick: bool, extra: list[str] | None = None):  # type: ignore[no-untyped-def]
    data = Path(tempfile.mkdtemp(prefix="guatu-bench-"))
    pg = EmbeddedPostgres(data, port=free_port())
    namespaces = [
        arg for size in (243, 2_000, 10_000, 100_000) for arg in ("--namespace", f"rank{size}")
    ]
    temporal = EmbeddedTemporal(
        data / "temporal",
        port=free_port(),
        ui_port=None,
        extra_args=[
            "--dynamic-config-value",
            "frontend.namespaceRPS.visibility=1000",
            *namespaces,
            *(extra or []),
        ],
    )
    await asyncio.to_thread(pg.start)
    await asyncio.to_thread(temporal.start)
    try:
        client = await Client.connect(temporal.target, data_converter=pydantic_data_converter)
        pool = await db.create_pool(pg.dsn, 2, 20)
        await db.migrate(pool)
        await upsert_reference(pool, load_bureaus(), load_programs())
        yield client, pool, temporal.target, pg.dsn
        await pool.close()
    finally:
        temporal.stop()
        pg.stop("immediate")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument(
        "--only",
        nargs="*",
        default=None,
        help="subset: updates http import queries simulation ranking whatif payload ladder",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        flush=True,
    )
    async with embedded_stack(args.quick) as (client, pool, target, dsn):
        bench = Bench(client, pool, target, dsn, args.quick)
        wanted = set(args.only) if args.only is not None else None
        queries = wanted is None or "queries" in wanted
        steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("updates", bench.measure_updates),
            ("http", bench.measure_http_reports),
            ("import", bench.measure_import_and_memory),
            # The leader queries read the 10,000-project round the ranking step publishes.
            ("ranking", lambda: bench.measure_ranking(queries=queries)),
            ("queries", lambda: bench.measure_ranking(rounds=False)),
            ("whatif", bench.measure_whatif),
            ("simulation", bench.measure_simulation),
            ("payload", bench.measure_payload),
            ("ladder", bench.measure_ladder_payload),
        ]
        if wanted is None or "ranking" in wanted:
            steps = [step for step in steps if step[0] != "queries"]
        for name, step in steps:
            if wanted is None or name in wanted:
                print(f"[{name}]", flush=True)
                await step()
    bench.figures["machine"] = {
        "arch": platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    print()
    print(bench.table())
    RESULTS.write_text(
        json.dumps(bench.figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(
        f"\nwritten {RESULTS.relative_to(ROOT)}; total {bench.figures['machine']['total_seconds']} s"
    )


if __name__ == "__main__":
    asyncio.run(main())
