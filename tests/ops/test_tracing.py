"""Traces: from the HTTP request through Temporal (client, workflow, activity) to the SQL.

Tracing is enabled for this process with an in-memory exporter (what `OTEL_EXPORTER_OTLP_ENDPOINT`
does with an OTLP one), then a manager starts a project and a bureau reports through the API,
on the real dev server and PostgreSQL. The spans are read back as trees.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import asyncpg
import httpx
import pytest
import pytest_asyncio
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.api.app import create_app
from guatu.core import tracing
from guatu.core.clock import month_key
from guatu.core.temporal_client import connect
from guatu.core.tokens import create_token
from tests.api.conftest import TEST_OPTIONS, today
from tests.helpers import add_bureau, eventually, make_plan, running_worker


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    tracing.enable(spans, batch=False)
    try:
        yield spans
    finally:
        tracing.disable()


@pytest_asyncio.fixture
async def api(
    exporter: InMemorySpanExporter,
    dev_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(graceful_shutdown_seconds=2, max_cached_workflows=1000)
    client = await connect(settings, target=dev_env.client.service_client.config.target_host)
    async with running_worker(client, pool, http, settings) as task_queue:
        app = create_app(client, pool, settings, task_queue=task_queue, options=TEST_OPTIONS)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://guatu.test", timeout=30
        ) as api_client:
            yield api_client


class Spans:
    def __init__(self, spans: tuple[ReadableSpan, ...]) -> None:
        self.spans = spans
        self.by_id = {s.context.span_id: s for s in spans}

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans if s.name == name]

    def path(self, span: ReadableSpan) -> list[str]:
        """The names from the root of `span`'s trace down to it, by parent links."""
        names = [span.name]
        while span.parent is not None:
            span = self.by_id[span.parent.span_id]  # a parent that was never exported: KeyError
            names.append(span.name)
        return names[::-1]

    def sql_under(self, parent: ReadableSpan, table: str) -> list[ReadableSpan]:
        return [
            s
            for s in self.spans
            if s.parent is not None
            and s.parent.span_id == parent.context.span_id
            and table in str(s.attributes.get("db.statement", ""))
        ]


async def test_one_trace_from_http_through_temporal_to_sql(
    api: httpx.AsyncClient, exporter: InMemorySpanExporter, pool: asyncpg.Pool
) -> None:
    bureau = await add_bureau(pool, None)
    manager = {"Authorization": f"Bearer {await create_token(pool, 'manager')}"}
    clerk = {"Authorization": f"Bearer {await create_token(pool, 'bureau', bureau, 'trace')}"}
    plan = make_plan(start=today() - timedelta(days=70), bureau=bureau)
    r = await api.post("/api/v1/projects", headers=manager, json=plan.model_dump(mode="json"))
    assert r.status_code == 201, r.text
    r = await api.post(
        f"/api/v1/projects/{plan.code}/reports",
        headers={**clerk, "Idempotency-Key": uuid.uuid4().hex},
        json={"month": month_key(today()), "investment_wan": 50.0, "physical_progress_pct": 5},
    )
    assert r.status_code == 200, r.text

    async def report_projected() -> Spans | None:
        spans = Spans(exporter.get_finished_spans())
        return (
            spans
            if any(
                spans.sql_under(request, "progress_reports")
                for request in spans.named("POST /api/v1/projects/{code}/reports")
            )
            and spans.named("RunActivity:apply_projection")
            else None
        )

    spans = await eventually(report_projected, timeout=30)
    assert hasattr(asyncpg.Connection.execute, "__wrapped__")  # instrumented (see the next test)

    # The start: one trace from the manager's request to the projection's SQL.
    start_http = spans.named("POST /api/v1/projects")
    assert len(start_http) == 1 and start_http[0].kind is SpanKind.SERVER
    assert start_http[0].parent is None
    start = spans.named("StartWorkflow:ProjectLifecycle")
    assert spans.path(start[0]) == ["POST /api/v1/projects", "StartWorkflow:ProjectLifecycle"]
    runs = spans.named("RunActivity:apply_projection")
    first_insert = [sql for run in runs for sql in spans.sql_under(run, "INSERT INTO projects")]
    assert first_insert, "no projection SQL under an activity span"
    assert spans.path(first_insert[0])[:-1] == [
        "POST /api/v1/projects",
        "StartWorkflow:ProjectLifecycle",
        "StartActivity:apply_projection",
        "RunActivity:apply_projection",
    ]
    assert first_insert[0].kind is SpanKind.CLIENT  # asyncpg's span: the database call
    assert first_insert[0].context.trace_id == start_http[0].context.trace_id
    assert spans.named("RunWorkflow:ProjectLifecycle")[0].parent.span_id == (  # type: ignore[union-attr]
        start[0].context.span_id
    )

    # The report: its request is the root of its own trace, down to the client's Update call
    # (and the API's own SQL: the project's bureau, the idempotency key).
    report_http = spans.named("POST /api/v1/projects/{code}/reports")
    assert len(report_http) == 1 and report_http[0].parent is None
    update = spans.named("StartWorkflowUpdate:submit_report")
    assert len(update) == 1
    assert spans.path(update[0]) == [
        "POST /api/v1/projects/{code}/reports",
        "StartWorkflowUpdate:submit_report",
    ]
    assert spans.sql_under(report_http[0], "api_idempotency")
    # In the workflow, the validator and the handler run in the project's trace and are linked
    # to the request's Update span: the interceptor's way to join a long-lived workflow.
    for name in ("ValidateUpdate:submit_report", "HandleUpdate:submit_report"):
        (handled,) = spans.named(name)
        assert spans.path(handled) == [
            "POST /api/v1/projects",
            "StartWorkflow:ProjectLifecycle",
            name,
        ]
        assert [link.context.span_id for link in handled.links] == [update[0].context.span_id]
    # The report's rows: written through by the request itself, right after its Update
    # (no projection activity for a report), in the request's trace.
    # (One statement writes the project's row and its child rows: guatu.lifecycle.projection.)
    (report_sql,) = spans.sql_under(report_http[0], "progress_reports")
    assert spans.path(report_sql)[0] == "POST /api/v1/projects/{code}/reports"
    assert report_sql.attributes.get("db.system") == "postgresql"


async def test_tracing_is_off_without_an_endpoint(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    """No endpoint: no interceptor on the client, no instrumentation of the app or asyncpg."""
    tracing.disable()
    tracing._decided = False  # decide again from the settings, as a fresh process does
    try:
        settings = Settings()
        assert settings.otlp_endpoint is None
        client = await connect(settings, target=dev_env.client.service_client.config.target_host)
        assert client.config()["interceptors"] == []
        app = create_app(client, pool, settings, options=TEST_OPTIONS)
        assert not getattr(app, "_is_instrumented_by_opentelemetry", False)
        assert not hasattr(asyncpg.Connection.execute, "__wrapped__")
    finally:
        tracing.disable()


def test_endpoint_turns_tracing_on_over_otlp_http() -> None:
    tracing.disable()
    tracing._decided = False
    try:
        settings = Settings(GUATU_OTLP_ENDPOINT="http://127.0.0.1:4318/")
        (interceptor,) = tracing.temporal_interceptors(settings)
        assert isinstance(interceptor, TracingInterceptor)
        provider = tracing.provider(settings)
        assert provider is not None
        (processor,) = provider._active_span_processor._span_processors
        assert isinstance(processor, BatchSpanProcessor)  # spans leave in batches, off-thread
        exporter = processor.span_exporter  # type: ignore[attr-defined]
        assert isinstance(exporter, OTLPSpanExporter)
        assert exporter._endpoint == "http://127.0.0.1:4318/v1/traces"
        assert provider.resource.attributes["service.name"] == "guatu"
    finally:
        tracing.disable()  # nothing was traced: the shutdown exports nothing
