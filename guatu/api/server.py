"""Serving the API with uvicorn inside `guatu up` (settings.api_host:api_port)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

import asyncpg
import structlog
import uvicorn
from temporalio.client import Client

from config.settings import Settings
from guatu.api.app import create_app
from guatu.core.serving import QuietServer

log = structlog.get_logger("guatu.api")


class ApiStack(Protocol):
    """What the API is served from (`guatu up`'s Stack): the settings, the Temporal client, the
    pool of the API's role and the pool of the read-only role."""

    @property
    def settings(self) -> Settings: ...
    @property
    def client(self) -> Client: ...
    @property
    def api(self) -> asyncpg.Pool: ...
    @property
    def reads(self) -> asyncpg.Pool: ...


async def run_api(st: ApiStack, stop: asyncio.Event) -> None:
    """Serve until `stop` is set, then finish the requests in flight and return.

    If the port cannot be bound the error is logged and `stop` is set: a stack without its API
    is of no use to anyone, so `guatu up` ends with a clear message instead of running blind.
    """
    settings = st.settings
    try:
        app = create_app(st.client, st.api, settings, read_pool=st.reads)
    except Exception:
        log.exception("the HTTP API could not be built")
        stop.set()
        return
    # proxy_headers off: uvicorn would believe X-Forwarded-For from loopback by default; the
    # API reads it itself, from the proxies of GUATU_TRUSTED_PROXIES only (guatu.api.auth).
    config = uvicorn.Config(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=10,
        proxy_headers=False,
    )
    server = QuietServer(config)

    async def serve() -> None:
        try:
            await server.serve()
        except SystemExit as exit_:  # uvicorn exits the process when it cannot bind
            raise RuntimeError(f"uvicorn could not start (exit {exit_.code})") from None

    serving = asyncio.create_task(serve())
    stopping = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if serving in done:
            # uvicorn returned (or exited) on its own: it could not start.
            error = serving.exception() if not serving.cancelled() else None
            log.error(
                "the HTTP API stopped unexpectedly",
                host=settings.api_host,
                port=settings.api_port,
                error=repr(error) if error else "exited",
            )
            stop.set()
            return
        server.should_exit = True
        await serving
        log.info("HTTP API stopped")
    finally:
        stopping.cancel()
        if not serving.done():
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                await serving


__all__ = ["run_api"]
