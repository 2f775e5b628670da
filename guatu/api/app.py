"""The FastAPI application: `create_app(client, pool, settings)`.

Paths live under `/api/v1`; the OpenAPI page is `/docs` (served from local files, no CDN) and
the schema `/openapi.json`; `/healthz`, `/readyz` and `/metrics` (Prometheus, unless
`GUATU_METRICS_ENABLED=false`) need no token. The leaders' dashboard, when
its package `guatu.api.dashboard` is installed, is mounted by its own `mount(app)` function.
"""

from __future__ import annotations

import importlib
import importlib.util
import json

import asyncpg
import structlog
from fastapi import FastAPI, HTTPException
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client

from config.settings import Settings
from guatu.api import errors, openapi
from guatu.api.auth import RateLimiter
from guatu.api.deps import ApiContext, ApiOptions
from guatu.api.public import router as public_router
from guatu.api.routes import admin, appeals, bureau, health, ladder, leader, manager, meta, projects
from guatu.api.routes import bulletin as bulletin_routes
from guatu.api.routes import channels as channel_routes
from guatu.api.routes import codec as codec_routes
from guatu.api.routes import evaluations as evaluation_routes
from guatu.api.routes import metrics as metrics_route
from guatu.api.routes import observations as observation_routes
from guatu.api.routes import opportunities as opportunity_routes
from guatu.api.routes import public_opportunities as public_opportunity_routes
from guatu.api.routes import scenes as scene_routes
from guatu.api.routes import trends as trends_routes
from guatu.core import metrics, tracing
from guatu.lifecycle.models import TimerPolicy
from guatu.lifecycle.programme import load_policy

DESCRIPTION = """
Guatu (挂图): the key-project programme's HTTP API.

**Authentication.** Every `/api/v1` call needs `Authorization: Bearer <token>`. A token has
one role: `bureau` (a bureau system; sees and reports on its own bureau's projects only —
another bureau's project answers **404**, exactly as a project that does not exist — reads
its notification inbox and answers its supervision orders), `manager` (start, import, plan
change, suspend / resume / cancel), `leader` (read everything: projects, overview, rankings,
escalations, ladders; grants force-majeure exemptions), `admin` (tokens), `observer` (a 市民观察员:
files observations and rates the replies to them), `evaluator` (a 第三方评估 agency, scoped to
the programs it is engaged for). The audit log's
actor is always the token, never the body: bodies carrying `actor` or `bureau` are refused.

**Writes.** Every update needs an `Idempotency-Key` header. The answer is synchronous: 200
with the project's new state, or 422 with the rule that refused it (`code`, `zh`, `en`).
Retrying with the same key and body is safe (one change, the first answer); the same key
with another body answers 409.

**Errors** share one body `{"code", "zh", "en", "details"}`: 401 token, 403 role, 404 not
found, 409 conflict, 413 body too large (256 KiB; 8 MiB for the import), 422 invalid or
refused, 429 rate limit (per token; or more updates of one project in flight than
`GUATU_API_UPDATES_PER_PROJECT`, 8: see `Retry-After`), 503 Temporal or PostgreSQL unavailable
(see `Retry-After`); 400 for a body that cannot be parsed (not UTF-8). Unknown body fields are
refused, numbers are JSON numbers (never `"4"` or `true`); pages hold at most 200 (`page_size`).
"""

IMPORT_PATH = "/api/v1/projects/import"
log = structlog.get_logger("guatu.api")


class BodyLimit:
    """413 for bodies above the limit: by Content-Length at once, or while streaming."""

    def __init__(self, app: ASGIApp, limit: int, per_path: dict[str, int]) -> None:
        self.app = app
        self.limit = limit
        self.per_path = per_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.limit)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(send, limit)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, detail={"limit_bytes": limit})
            return message

        await self.app(scope, limited, send)

    @staticmethod
    async def _reject(send: Send, limit: int) -> None:
        body = json.dumps(
            {
                "code": "body_too_large",
                "zh": f"请求体超过 {limit} 字节",
                "en": f"the request body is larger than {limit} bytes",
                "details": {"limit_bytes": limit},
            },
            ensure_ascii=False,
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def create_app(
    client: Client,
    pool: asyncpg.Pool,
    settings: Settings,
    *,
    task_queue: str | None = None,
    options: ApiOptions | None = None,
    policy: TimerPolicy | None = None,
    read_pool: asyncpg.Pool | None = None,
) -> FastAPI:
    """The API wired to a Temporal client and a PostgreSQL pool.

    `task_queue` is where started projects run (default `settings.task_queue`); `options`
    holds limits and deadlines (default from the environment, `GUATU_API_*`); `policy` the
    deadline thresholds for started projects (default `config/lifecycle.json`); `read_pool`
    serves the leaders' reads and the dashboard (a read-only role; default `pool`).
    """
    options = options or ApiOptions()
    app = FastAPIOffline(
        title="Guatu API (挂图)",
        version="1",
        description=DESCRIPTION,
        docs_url="/docs",
        redoc_url="/redoc",
        openapi_url="/openapi.json",
    )
    app.state.guatu = ApiContext(
        client=client,
        pool=pool,
        settings=settings,
        options=options,
        task_queue=task_queue or settings.task_queue,
        policy=policy or load_policy(),
        limiter=RateLimiter(rate=options.rate_per_second, burst=options.rate_burst),
        auth_failures=RateLimiter(
            rate=options.failed_auth_per_second, burst=options.failed_auth_burst
        ),
        read_pool=read_pool,
    )
    errors.install(app)
    openapi.install(app, options.max_page_size)
    for module in (health, meta, projects, bureau, manager, leader, ladder, admin, appeals):
        app.include_router(module.router)
    app.include_router(codec_routes.router)
    app.include_router(bulletin_routes.router)
    app.include_router(channel_routes.router)
    app.include_router(trends_routes.router)
    app.include_router(observation_routes.router)
    app.include_router(evaluation_routes.router)
    app.include_router(scene_routes.router)
    app.include_router(public_router)  # 信息公开: /public/, no token
    app.include_router(opportunity_routes.router)
    app.include_router(public_opportunity_routes.router)  # 机会清单: /public/api/opportunities
    app.add_middleware(
        BodyLimit,
        limit=options.body_limit_bytes,
        per_path={
            IMPORT_PATH: options.import_body_limit_bytes,
            **codec_routes.BODY_LIMITS,
            **observation_routes.BODY_LIMITS,
            **evaluation_routes.BODY_LIMITS,
        },
    )
    if settings.metrics_enabled:
        app.include_router(metrics_route.router)
        app.add_middleware(metrics.HttpMetrics)  # outermost: it sees 413s too
    _mount_dashboard(app)
    tracing.instrument_app(app, settings)
    return app


def _mount_dashboard(app: FastAPI) -> None:
    """Mount the dashboard (`guatu.api.dashboard.mount(app)`) when installed. A dashboard that
    fails to load is logged and left out: the bureaus' API must not go down with it."""
    if importlib.util.find_spec("guatu.api.dashboard") is None:
        return
    try:
        mount = getattr(importlib.import_module("guatu.api.dashboard"), "mount", None)
        if mount is not None:
            mount(app)
    except Exception:
        log.exception("dashboard not mounted: it failed to load")


__all__ = ["ApiOptions", "BodyLimit", "create_app"]
