"""OpenTelemetry traces: HTTP request → Temporal client call → workflow → activity → SQL.

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or `GUATU_OTLP_ENDPOINT`) is set: then no provider,
no interceptor and no instrumentation exist, so tracing costs nothing. On, one provider per
process exports over OTLP/HTTP in batches, and it is handed explicitly to each piece (Temporal's
`TracingInterceptor` on the client, and so on every worker built from it; FastAPI; asyncpg)
rather than only set globally, so that a test can enable it with an in-memory exporter.

The interceptor's shape (docs/operations.md, "Traces"): an HTTP request that starts a project
is the root of that project's workflow trace (StartWorkflow → RunWorkflow → StartActivity →
RunActivity → SQL). An HTTP request that sends an Update is the root of its own trace
(StartWorkflowUpdate); inside the workflow, ValidateUpdate and HandleUpdate belong to the
workflow's trace and carry a link to that client span.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from temporalio.client import Interceptor

from config.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

log = structlog.get_logger("guatu.core.tracing")

SERVICE_NAME = "guatu"
# Probes and scrapes would be most of the spans and tell nothing.
EXCLUDED_URLS = "/metrics,/healthz,/readyz"

_provider: TracerProvider | None = None
_decided = False


def _instrument(provider: TracerProvider) -> None:
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    # asyncpg is patched at class level: every pool of the process, also those already open.
    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]


def _resource() -> Resource:
    # OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES win; otherwise "guatu", not "unknown_service".
    detected = Resource.create()
    if str(detected.attributes.get("service.name", "")).startswith("unknown_service"):
        return detected.merge(Resource({"service.name": SERVICE_NAME}))
    return detected


def enable(exporter: SpanExporter, *, batch: bool = True) -> TracerProvider:
    """Trace this process into `exporter` (replacing what was there). `batch=False` exports
    each span as it ends (tests)."""
    global _provider, _decided
    disable()
    provider = TracerProvider(resource=_resource())
    provider.add_span_processor(
        BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
    )
    _instrument(provider)
    _provider, _decided = provider, True
    return provider


def disable() -> None:
    """Stop tracing: flush and drop the provider, undo the asyncpg instrumentation."""
    global _provider, _decided
    if _provider is not None:
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

        AsyncPGInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
        _provider.shutdown()
    _provider, _decided = None, True


def provider(settings: Settings) -> TracerProvider | None:
    """The process's tracer provider; the first call decides from the settings (None: off)."""
    global _decided
    if not _decided:
        _decided = True
        if settings.otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            # Given explicitly: the endpoint may come from `.env`, which the exporter never reads.
            endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces"
            enable(OTLPSpanExporter(endpoint=endpoint))
            log.info("tracing on: spans exported over OTLP/HTTP", endpoint=endpoint)
    return _provider


def temporal_interceptors(settings: Settings) -> list[Interceptor]:
    """Temporal's tracing interceptor for `Client.connect` (none when tracing is off)."""
    traced = provider(settings)
    if traced is None:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor(tracer=traced.get_tracer("guatu.temporal"))]


def instrument_app(app: FastAPI, settings: Settings) -> None:
    """Trace the FastAPI app's requests (nothing when tracing is off)."""
    traced = provider(settings)
    if traced is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=traced,
        excluded_urls=EXCLUDED_URLS,
    )


__all__ = ["disable", "enable", "instrument_app", "provider", "temporal_interceptors"]
