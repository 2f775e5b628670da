"""Prometheus metrics: Guatu's own series and the Temporal SDK's, on one `/metrics`.

One file: every series Guatu exports, with its fixed label set, and the one exporter that serves
them, so what `/metrics` can carry is reviewed in one place.

Guatu's series live in prometheus_client's default registry, counted where the behaviour
happens (the API's update service, the projection activity, the HTTP middleware here). The
Temporal SDK's series come from its own Prometheus exporter (a Rust server inside the SDK's
runtime) bound to a loopback port: `render()` appends that text to prometheus_client's, so one
scrape sees both. Nothing here carries a token, a project code or a narrative: every label is
drawn from a small fixed set (route templates, refusal codes, colours, statuses, kinds).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import httpx
import structlog
from prometheus_client import (
    REGISTRY,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio import activity
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from config.settings import Settings

log = structlog.get_logger("guatu.core.metrics")
# `*_created` samples double the series for nothing Prometheus uses.
disable_created_metrics()  # type: ignore[no-untyped-call]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Updates wait up to 20 s for the worker (GUATU_API_UPDATE_TIMEOUT_SECONDS): buckets reach 30 s.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)
# Read-model lag: normally well under a second; minutes while PostgreSQL is away.
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)

REPORTS_ACCEPTED = Counter(
    "guatu_reports_accepted",
    "Inputs (reports, transitions, plan changes…) accepted through "
    "the API; duplicate=true: a retried idempotency key, answered without a change",
    ["action", "duplicate"],
)
REPORTS_REFUSED = Counter(
    "guatu_reports_refused",
    "Inputs refused through the API, by refusal code (422 by a "
    "rule, 409 for a reused idempotency key)",
    ["action", "code"],
)
HTTP_LATENCY = Histogram(
    "guatu_http_request_duration_seconds",
    "HTTP requests by route template and status",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
READ_MODEL_LAG = Histogram(
    "guatu_read_model_lag_seconds",
    "From the change (a door sending its Update, or the workflow scheduling a projection) to "
    "its commit in PostgreSQL (retries included)",
    buckets=LAG_BUCKETS,
)


def input_accepted(action: str, duplicate: bool) -> None:
    REPORTS_ACCEPTED.labels(action, "true" if duplicate else "false").inc()


def input_refused(action: str, status: int, code: str) -> None:
    """Count a refusal; an outage (503, 504) or a rate limit (429) is not a refusal."""
    if status in (409, 422):
        REPORTS_REFUSED.labels(action, code).inc()


def projection_committed(since: float | None = None) -> None:
    """Once a projection is committed: the read model's lag for this change. A door's
    write-through gives `since` (its `time.monotonic()` before sending the Update); in the
    projection activity the lag runs from the workflow scheduling it (first attempt), clamped
    at 0 (the time-skipping test server's clock runs ahead). Otherwise nothing to time."""
    if since is not None:
        READ_MODEL_LAG.observe(max(0.0, time.monotonic() - since))
    elif activity.in_activity():
        lag = (datetime.now(UTC) - activity.info().scheduled_time).total_seconds()
        READ_MODEL_LAG.observe(max(0.0, lag))


# ---------------------------------------------------------------------------------------------
# The read model, read at scrape time (at most every REFRESH_SECONDS, whatever the scrapers do)
# ---------------------------------------------------------------------------------------------

REFRESH_SECONDS = 5.0
LIGHTS = ("green", "yellow", "red")
NOTICE_STATES = ("pending", "failed")

_LIGHTS_SQL = (
    "SELECT light, count(*) AS n FROM projects"
    " WHERE status NOT IN ('cancelled', 'closed') GROUP BY light"
)
_NOTICES_SQL = (
    "SELECT status, count(*) AS n,"
    " extract(epoch FROM now() - min(created_at)) AS oldest FROM notifications"
    " WHERE status IN ('pending', 'failed') GROUP BY status"
)
_ROUNDS_SQL = (
    "SELECT DISTINCT ON (r.kind) r.kind,"
    " extract(epoch FROM r.computed_at - s.frozen_at) AS took,"
    " extract(epoch FROM r.computed_at) AS at"
    " FROM ranking_rounds r JOIN ranking_snapshots s USING (period)"
    " ORDER BY r.kind, r.computed_at DESC"
)


@dataclass
class ReadModelFigures:
    lights: dict[str, int] = field(default_factory=dict)
    notices: dict[str, int] = field(default_factory=dict)
    oldest_pending_seconds: float = 0.0
    rounds: dict[str, tuple[float, float]] = field(default_factory=dict)  # kind → (took, at)
    up: bool = False


async def read_figures(pool: asyncpg.Pool) -> ReadModelFigures:
    async with pool.acquire() as conn:
        lights = await conn.fetch(_LIGHTS_SQL)
        notices = await conn.fetch(_NOTICES_SQL)
        rounds = await conn.fetch(_ROUNDS_SQL)
    oldest = next((float(r["oldest"]) for r in notices if r["status"] == "pending"), 0.0)
    return ReadModelFigures(
        lights={r["light"]: int(r["n"]) for r in lights},
        notices={r["status"]: int(r["n"]) for r in notices},
        oldest_pending_seconds=max(oldest, 0.0),
        rounds={r["kind"]: (float(r["took"]), float(r["at"])) for r in rounds},
        up=True,
    )


class ReadModelCollector(Collector):
    """Gauges of the read model: the figures of the last refresh, and whether it answered."""

    def __init__(self) -> None:
        self.figures = ReadModelFigures()
        self._at = -REFRESH_SECONDS
        self._lock = asyncio.Lock()

    async def refresh(self, pool: asyncpg.Pool, timeout: float) -> None:
        async with self._lock:
            if time.monotonic() - self._at < REFRESH_SECONDS:
                return
            try:
                async with asyncio.timeout(timeout):
                    self.figures = await read_figures(pool)
            except Exception as err:
                log.warning("metrics: the read model did not answer", error=repr(err))
                self.figures.up = False
            self._at = time.monotonic()

    def collect(self) -> Iterator[Metric]:
        f = self.figures
        up = GaugeMetricFamily(
            "guatu_read_model_up", "1 if the read model answered the last metrics refresh"
        )
        up.add_metric([], 1.0 if f.up else 0.0)
        yield up
        lights = GaugeMetricFamily(
            "guatu_project_lights",
            "Projects not ended (active or suspended) by light colour",
            labels=["light"],
        )
        for light in LIGHTS:
            lights.add_metric([light], float(f.lights.get(light, 0)))
        yield lights
        notices = GaugeMetricFamily(
            "guatu_notices",
            "Notices to bureaus not yet delivered: pending (being delivered) or failed (given up)",
            labels=["status"],
        )
        for status in NOTICE_STATES:
            notices.add_metric([status], float(f.notices.get(status, 0)))
        yield notices
        oldest = GaugeMetricFamily(
            "guatu_notices_oldest_pending_age_seconds",
            "Age of the oldest pending notice (0: none pending)",
        )
        oldest.add_metric([], f.oldest_pending_seconds)
        yield oldest
        took = GaugeMetricFamily(
            "guatu_ranking_round_duration_seconds",
            "Newest published round of each kind: from freezing its "
            "snapshot to storing its results",
            labels=["kind"],
        )
        at = GaugeMetricFamily(
            "guatu_ranking_round_last_published_timestamp_seconds",
            "Newest published round of each kind: when its results were stored (Unix time)",
            labels=["kind"],
        )
        for kind, (seconds, when) in sorted(f.rounds.items()):
            took.add_metric([kind], seconds)
            at.add_metric([kind], when)
        yield took
        yield at


_read_model: ReadModelCollector | None = None


def read_model_collector() -> ReadModelCollector:
    """The process's read-model collector, registered on first use (the API's, not the worker's:
    a worker alone exposes no read-model gauges rather than zeros)."""
    global _read_model
    if _read_model is None:
        _read_model = ReadModelCollector()
        REGISTRY.register(_read_model)
    return _read_model


# ---------------------------------------------------------------------------------------------
# The Temporal SDK's runtime and its exporter
# ---------------------------------------------------------------------------------------------

_runtime: Runtime | None = None
_sdk_address: str | None = None


def _free_loopback_address() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def temporal_runtime(settings: Settings) -> Runtime | None:
    """The process's SDK runtime with the Prometheus exporter (None: metrics off, or the
    exporter could not bind; the client then runs on the default runtime, without them).

    One per process: the exporter holds its port, and every client of the process shares it.
    """
    global _runtime, _sdk_address
    if not settings.metrics_enabled:
        return None
    if _runtime is None and _sdk_address is None:
        address = settings.temporal_metrics_address or _free_loopback_address()
        try:
            _runtime = Runtime(
                telemetry=TelemetryConfig(
                    metrics=PrometheusConfig(
                        bind_address=address,
                        counters_total_suffix=True,
                        unit_suffix=True,
                        durations_as_seconds=True,
                    )
                )
            )
        except ValueError as err:  # the address is taken: run on, without the SDK's series
            log.warning(
                "metrics: the Temporal SDK exporter could not start",
                address=address,
                error=str(err),
            )
            _sdk_address = ""
            return None
        _sdk_address = address
        log.info("temporal sdk metrics exporter", address=address)
    return _runtime


async def sdk_text(timeout: float = 2.0) -> bytes:
    """The SDK exporter's exposition text (empty when there is none or it does not answer)."""
    if not _sdk_address:
        return b""
    try:
        async with httpx.AsyncClient(timeout=timeout) as http:
            answer = await http.get(f"http://{_sdk_address}/metrics")
        answer.raise_for_status()
    except httpx.HTTPError as err:
        log.warning("metrics: the Temporal SDK exporter did not answer", error=repr(err))
        return b""
    text = answer.content
    return text if not text or text.endswith(b"\n") else text + b"\n"


async def render(pool: asyncpg.Pool | None = None, timeout: float = 5.0) -> bytes:
    """The exposition text: prometheus_client's registry, then the SDK's series."""
    if pool is not None:
        await read_model_collector().refresh(pool, timeout)
    return generate_latest(REGISTRY) + await sdk_text()


# ---------------------------------------------------------------------------------------------
# HTTP: latency by route template, and the worker's own listener
# ---------------------------------------------------------------------------------------------


# Any token is a valid HTTP method: the label keeps the known ones, so clients cannot add series.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _route_template(scope: Scope) -> str:
    # The template, never the raw path: a path carries project codes, and unmatched paths
    # (scanners, typos) would make one series each.
    route = scope.get("route")
    return str(getattr(route, "path", "")) or "<unmatched>"


class HttpMetrics:
    """ASGI middleware: observes every HTTP request's duration by method, route and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            HTTP_LATENCY.labels(method, _route_template(scope), str(status)).observe(
                time.perf_counter() - started
            )


async def _metrics_app(scope: Scope, receive: Receive, send: Send) -> None:
    """The worker's `/metrics` (nothing else)."""
    if scope["type"] != "http":
        return
    found = scope["path"] == "/metrics"
    body = await render() if found else b"not found\n"
    await send(
        {
            "type": "http.response.start",
            "status": 200 if found else 404,
            "headers": [
                (b"content-type", CONTENT_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def serve_worker_metrics(settings: Settings, stop: asyncio.Event) -> None:
    """Serve `/metrics` on `worker_metrics_host:worker_metrics_port` until `stop` is set.

    A port that cannot be bound raises at once: an operator who asked for metrics must not get
    a worker that silently has none.
    """
    import uvicorn

    from guatu.core.serving import QuietServer  # uvicorn: imported only when metrics are served

    assert settings.worker_metrics_port is not None
    server = QuietServer(
        uvicorn.Config(
            _metrics_app,
            host=settings.worker_metrics_host,
            port=settings.worker_metrics_port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
    )

    async def serve() -> None:
        try:
            await server.serve()
        except SystemExit as exit_:  # uvicorn exits the process when it cannot bind
            raise RuntimeError(
                f"worker metrics: cannot serve on {settings.worker_metrics_host}:"
                f"{settings.worker_metrics_port} (exit {exit_.code})"
            ) from None

    serving = asyncio.create_task(serve())
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        await serving
        if not stop.is_set():
            raise RuntimeError("worker metrics: the listener stopped on its own")
    finally:
        stopping.cancel()


__all__ = [
    "CONTENT_TYPE",
    "HttpMetrics",
    "input_accepted",
    "input_refused",
    "projection_committed",
    "read_model_collector",
    "render",
    "serve_worker_metrics",
    "temporal_runtime",
]
