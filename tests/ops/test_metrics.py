"""`/metrics`: the Temporal SDK's series and Guatu's, on the API port and on a standalone worker.

Real dev server and PostgreSQL. Counters are process-wide, so the report test compares a scrape
before with a scrape after; the read-model gauges are checked on a database of the test's own,
whose rows the test writes itself (expected figures counted by hand below).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from config.settings import ROOT, Settings
from guatu.api.app import create_app
from guatu.core import metrics
from guatu.core.clock import month_key
from guatu.core.temporal_client import connect
from guatu.core.tokens import create_token
from guatu.lifecycle.models import TimerPolicy
from guatu.lifecycle.service import start_project
from tests.api.conftest import TEST_OPTIONS, today
from tests.conftest import free_port
from tests.helpers import add_bureau, eventually, make_plan, running_worker
from worker import run_worker

REPORTS_ROUTE = "/api/v1/projects/{code}/reports"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition text; parsing it whole also proves the text is valid."""
    return {
        (s.name, frozenset(s.labels.items())): float(s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(
    parsed: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    """A sample's value (0 when absent: a labelled counter appears with its first increment)."""
    return sum(v for (n, ls), v in parsed.items() if n == name and set(labels.items()) <= set(ls))


@pytest_asyncio.fixture
async def sdk_client(dev_env: WorkflowEnvironment) -> Client:
    """A client connected the way `guatu up` connects: on the runtime with the SDK exporter."""
    return await connect(Settings(), target=dev_env.client.service_client.config.target_host)


@pytest_asyncio.fixture
async def api(
    sdk_client: Client, pool: asyncpg.Pool, http: httpx.AsyncClient
) -> AsyncIterator[tuple[httpx.AsyncClient, str, str]]:
    settings = Settings(graceful_shutdown_seconds=2, max_cached_workflows=1000)
    async with running_worker(sdk_client, pool, http, settings) as task_queue:
        app = create_app(sdk_client, pool, settings, task_queue=task_queue, options=TEST_OPTIONS)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://guatu.test", timeout=30
        ) as client:
            yield client, task_queue, settings.task_queue


async def test_report_moves_guatu_counters_and_sdk_series(
    api: tuple[httpx.AsyncClient, str, str], sdk_client: Client, pool: asyncpg.Pool
) -> None:
    client, task_queue, _ = api
    bureau = await add_bureau(pool, None)
    token = await create_token(pool, "bureau", bureau, "metrics test")
    auth = {"Authorization": f"Bearer {token}"}
    plan = make_plan(start=today() - timedelta(days=70), bureau=bureau)
    await start_project(sdk_client, plan, TimerPolicy(), task_queue=task_queue)

    first = await client.get("/metrics")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/plain; version=0.0.4")
    before = samples(first.text)

    path = f"/api/v1/projects/{plan.code}/reports"
    report = {"month": month_key(today()), "investment_wan": 120.0, "physical_progress_pct": 12}
    ok = await client.post(path, headers={**auth, "Idempotency-Key": uuid.uuid4().hex}, json=report)
    assert ok.status_code == 200, ok.text
    # The same month again without `correction`: refused by the rules.
    again = await client.post(
        path, headers={**auth, "Idempotency-Key": uuid.uuid4().hex}, json=report
    )
    assert again.status_code == 422 and again.json()["code"] == "duplicate_month"

    async def projected() -> bool:
        async with pool.acquire() as conn:
            return bool(
                await conn.fetchval(
                    "SELECT count(*) FROM progress_reports WHERE project = $1", plan.code
                )
            )

    await eventually(projected)
    text = (await client.get("/metrics")).text
    after = samples(text)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # One accepted report (not a duplicate) and one refusal, by its code.
    assert moved("guatu_reports_accepted_total", action="report", duplicate="false") == 1
    assert moved("guatu_reports_refused_total", action="report", code="duplicate_month") == 1
    # HTTP latency by route template and status: one 200 and one 422 on the reports route.
    for status in ("200", "422"):
        assert (
            moved(
                "guatu_http_request_duration_seconds_count",
                method="POST",
                route=REPORTS_ROUTE,
                status=status,
            )
            == 1
        )
    # The report was projected by this process's worker: the read-model lag was observed.
    assert moved("guatu_read_model_lag_seconds_count") >= 1
    # The SDK's own series, from its exporter: this process's client sent Updates and its
    # worker completed workflow tasks since the first scrape.
    sdk = {name for name, _ in after if name.startswith("temporal_")}
    assert "temporal_request_total" in sdk, sorted(sdk)
    # Updates wait for their outcome: the SDK counts them as long requests, two here.
    assert moved("temporal_long_request_total", operation="UpdateWorkflowExecution") == 2
    assert moved("temporal_workflow_task_execution_latency_seconds_count") >= 1
    # Paths and methods a client makes up do not make series of their own.
    made_up = uuid.uuid4().hex
    for method, probe in (("GET", f"/api/v1/{made_up}"), ("BREW", "/healthz")):
        await client.request(method, probe)
    text = (await client.get("/metrics")).text
    routes = {
        dict(ls).get("route")
        for (n, ls), _ in samples(text).items()
        if n == "guatu_http_request_duration_seconds_count"
    }
    methods = {
        dict(ls).get("method")
        for (n, ls), _ in samples(text).items()
        if n == "guatu_http_request_duration_seconds_count"
    }
    assert "<unmatched>" in routes and not any(made_up in str(r) for r in routes), routes
    assert "BREW" not in methods and "OTHER" in methods
    # Nothing that identifies a project, a bureau or a token.
    # (gt_<id>_<secret>: the secret may itself hold "_", so split off the id only.)
    _, token_id, token_secret = token.split("_", 2)
    for secret in (plan.code, bureau, token, token_id, token_secret[:8]):
        assert secret not in text


@pytest.fixture
def fresh_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every scrape reads the read model again (the 5 s cache would hand one test's figures on).
    monkeypatch.setattr(metrics, "REFRESH_SECONDS", 0.0)


async def test_read_model_gauges(
    fresh_figures: None, fresh_pool: asyncpg.Pool, dev_env: WorkflowEnvironment
) -> None:
    now = datetime.now(UTC)
    async with fresh_pool.acquire() as conn:
        plan = make_plan(start=today(), bureau="swj").model_dump_json()
        rows = [
            ("M-1", "green", "active"),
            ("M-2", "red", "active"),
            ("M-3", "red", "suspended"),
            ("M-4", "yellow", "closed"),
            ("M-5", "green", "cancelled"),
        ]
        for code, light, status in rows:
            await conn.execute(
                "INSERT INTO projects (code, name_zh, program, bureau, kind, stage, status, light,"
                " total_investment_wan, planned_investment_to_date_wan, actual_investment_wan,"
                " physical_progress_pct, plan, business_today, version)"
                " VALUES ($1, '项目', 'P06', 'swj', 'engineering', 'approved', $2, $3, 1, 0, 0, 0,"
                " $4::jsonb, $5, 1)",
                code,
                status,
                light,
                plan,
                today(),
            )
        notices = [
            ("n-1", "pending", 120),
            ("n-2", "pending", 30),
            ("n-3", "failed", 600),
            ("n-4", "delivered", 900),
            ("n-5", "inbox", 900),
        ]
        for key, status, age in notices:
            await conn.execute(
                "INSERT INTO notifications (key, bureau, kind, title_zh, body_zh, created_at,"
                " status) VALUES ($1, 'swj', 'reminder', '提醒', '正文', $2, $3)",
                key,
                now - timedelta(seconds=age),
                status,
            )
        await conn.execute(
            "INSERT INTO ranking_rulesets (id, version, body, sha256)"
            " VALUES ('default', 1, '{}', 'x')"
        )
        frozen = now - timedelta(days=1)
        for period, kind, took in (
            ("2000-01", "month", 42.5),
            ("2000-02", "month", 7.25),
            ("2000-Q1", "quarter", 90.0),
        ):
            # Each later round is stored a day after the one before.
            await conn.execute(
                "INSERT INTO ranking_snapshots (period, kind, close_date, frozen_at, projects,"
                " body, sha256) VALUES ($1, $2, '2000-01-31', $3, 0, '{}', 'x')",
                period,
                kind,
                frozen,
            )
            await conn.execute(
                "INSERT INTO ranking_rounds (period, ruleset_id, ruleset_version, kind,"
                " close_date, snapshot_sha256, context, results, results_sha256, computed_at)"
                " VALUES ($1, 'default', 1, $2, '2000-01-31', 'x', '{}', '{}', 'x', $3)",
                period,
                kind,
                frozen + timedelta(seconds=took),
            )
            frozen += timedelta(days=1)

    app = create_app(dev_env.client, fresh_pool, Settings(), options=TEST_OPTIONS)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://guatu.test"
    ) as client:
        got = samples((await client.get("/metrics")).text)
        assert value(got, "guatu_read_model_up") == 1
        # Not ended: M-1 (green, active), M-2 and M-3 (red, active and suspended); M-4 closed
        # and M-5 cancelled are left out.
        assert {
            c: value(got, "guatu_project_lights", light=c) for c in ("green", "yellow", "red")
        } == {"green": 1, "yellow": 0, "red": 2}
        # pending: n-1, n-2; failed: n-3; delivered and inbox are done.
        assert value(got, "guatu_notices", status="pending") == 2
        assert value(got, "guatu_notices", status="failed") == 1
        # The oldest pending notice is n-1, 120 s old when written (a few seconds more now).
        assert 120 <= value(got, "guatu_notices_oldest_pending_age_seconds") < 180
        # The newest month round is 2000-02 (stored a day after 2000-01): 7.25 s.
        assert value(got, "guatu_ranking_round_duration_seconds", kind="month") == 7.25
        assert value(got, "guatu_ranking_round_duration_seconds", kind="quarter") == 90.0
        stored = (frozen - timedelta(days=2) + timedelta(seconds=7.25)).timestamp()
        assert (
            abs(
                value(got, "guatu_ranking_round_last_published_timestamp_seconds", kind="month")
                - stored
            )
            < 0.01
        )

        # PostgreSQL gone: the scrape still answers, and says so.
        await fresh_pool.close()
        r = await client.get("/metrics")
        assert r.status_code == 200
        assert value(samples(r.text), "guatu_read_model_up") == 0


async def test_dashboard_queries_series_that_exist(
    dev_env: WorkflowEnvironment, fresh_pool: asyncpg.Pool
) -> None:
    """Every `guatu_` series of docs/grafana-guatu.json is one that `/metrics` declares."""
    dashboard = json.loads((ROOT / "docs" / "grafana-guatu.json").read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = {
        re.sub(r"_(bucket|count|sum)$", "", name)
        for e in exprs
        for name in re.findall(r"\bguatu_[a-z_]+", e)
    }
    app = create_app(dev_env.client, fresh_pool, Settings(), options=TEST_OPTIONS)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://guatu.test"
    ) as client:
        text = (await client.get("/metrics")).text
    declared = set(re.findall(r"^# TYPE (guatu_[a-z_]+) ", text, flags=re.M))
    # A series per deliverable: lights, notices, rounds, inputs, HTTP latency, read-model lag.
    assert len(used) >= 9, used
    assert used <= declared, used - declared


async def test_metrics_can_be_turned_off(dev_env: WorkflowEnvironment, pool: asyncpg.Pool) -> None:
    app = create_app(dev_env.client, pool, Settings(metrics_enabled=False), options=TEST_OPTIONS)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://guatu.test"
    ) as client:
        assert (await client.get("/metrics")).status_code == 404


async def test_standalone_worker_serves_metrics(dev_env: WorkflowEnvironment, pg_dsn: str) -> None:
    port = free_port()
    settings = Settings(
        temporal_address=dev_env.client.service_client.config.target_host,
        database_url=pg_dsn,
        task_queue=f"tq-{uuid.uuid4().hex[:8]}",
        worker_metrics_port=port,
        graceful_shutdown_seconds=1,
    )
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, stop))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:

            async def scraped() -> dict[tuple[str, frozenset[tuple[str, str]]], float] | None:
                try:
                    r = await http.get("/metrics")
                except httpx.TransportError:
                    return None  # not listening yet
                got = samples(r.text)
                # The worker's pollers on its own task queue, from the SDK's exporter.
                return (
                    got
                    if value(got, "temporal_num_pollers", task_queue=settings.task_queue) > 0
                    else None
                )

            got = await eventually(scraped, timeout=30)
            assert "guatu_read_model_lag_seconds_count" in {name for name, _ in got}
            assert (await http.get("/")).status_code == 404
    finally:
        stop.set()
        await asyncio.wait_for(worker, 30)
    with pytest.raises(httpx.TransportError):  # the listener ended with the worker
        async with httpx.AsyncClient(timeout=2) as http:
            await http.get(f"http://127.0.0.1:{port}/metrics")
