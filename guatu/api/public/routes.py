"""The routes of the public page (see the package docstring)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from guatu.api.auth import RateLimiter, request_client
from guatu.api.deps import Context
from guatu.api.errors import ApiError, db_call, retry_later
from guatu.api.public import models as m
from guatu.lifecycle import queries
from guatu.scenes import store as scenes
from guatu.society import figures as society_figures

router = APIRouter(prefix="/public", tags=["public"])

CACHE_SECONDS = 30  # server side: PostgreSQL is read at most once per interval per answer
MAX_AGE = 60  # browsers and proxies
RATE_PER_SECOND = 5.0  # per client address
RATE_BURST = 30
SECTIONS = ["overview", "scenes", "opportunities", "satisfaction"]

# Everything from this origin; no inline script or style, no frames.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Cache-Control": f"public, max-age={MAX_AGE}",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
}

_STATIC = {
    "public.js": "application/javascript; charset=utf-8",
    "public.css": "text/css; charset=utf-8",
}


class _Cache:
    """One answer per key for `CACHE_SECONDS`; concurrent misses wait for the same read."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[float, Any]] = {}
        self.locks: dict[str, asyncio.Lock] = {}

    async def get(self, key: str, load: Callable[[], Awaitable[Any]]) -> Any:
        hit = self.entries.get(key)
        if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
        lock = self.locks.setdefault(key, asyncio.Lock())
        async with lock:
            hit = self.entries.get(key)
            if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
                return hit[1]
            value = await load()
            self.entries[key] = (time.monotonic(), value)
            return value


def _state(request: Request) -> tuple[_Cache, RateLimiter]:
    app_state = request.app.state
    if not hasattr(app_state, "public_cache"):
        app_state.public_cache = _Cache()
        app_state.public_limiter = RateLimiter(rate=RATE_PER_SECOND, burst=RATE_BURST)
    return app_state.public_cache, app_state.public_limiter


def _limit(request: Request, ctx: Any) -> _Cache:
    cache, limiter = _state(request)
    client = request_client(request, ctx.options.trusted_networks)
    wait = limiter.take(f"public:{client}")
    if wait is not None:
        raise retry_later(
            wait,
            "rate_limited",
            "访问过于频繁，请 {seconds} 秒后再试",
            "too many requests; retry in {seconds} s",
        )
    return cache


def _cached(response: Response) -> None:
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"


async def _overview(ctx: Any) -> m.Overview:
    raw = await db_call(queries.programme_overview(ctx.reads), ctx.options.db_timeout_seconds)
    return m.Overview(
        as_of=raw["as_of"],
        year=raw["year"],
        illustrative=raw["illustrative_projects"] > 0,
        total=m.Figures.model_validate(raw["total"]),
        programs=[m.ProgramFigures.model_validate(p) for p in raw["programs"]],
    )


async def _scenes(ctx: Any) -> list[m.Scene]:
    timeout = ctx.options.db_timeout_seconds
    listed = await db_call(scenes.list_scenes(ctx.reads), timeout)
    out = []
    for s in listed:
        detail = await db_call(scenes.get_scene(ctx.reads, s.code), timeout)
        out.append(
            m.Scene(
                code=s.code,
                name_zh=s.name_zh,
                name_en=s.name_en,
                program=s.program,
                program_name_zh=s.program_name_zh,
                lead_bureau_name_zh=s.lead_bureau_name_zh,
                description=s.description,
                illustrative=s.illustrative,
                light=s.light,
                light_reasons_zh=s.light_reasons_zh,
                light_reasons_en=s.light_reasons_en,
                progress=m.SceneProgress.model_validate(s.progress.model_dump()),
                members=[
                    m.SceneMember(code=x.code, name_zh=x.name_zh, light=x.light, stage=x.stage)
                    for x in detail.members
                    if x.name_zh is not None  # not started: nothing to publish yet
                ],
            )
        )
    return out


async def _satisfaction(ctx: Any) -> m.PublicSatisfaction:
    raw = await db_call(
        society_figures.published_figures(ctx.reads), ctx.options.db_timeout_seconds
    )
    # Field by field through the public model: whatever else the figures carry stays here.
    return m.PublicSatisfaction.model_validate(raw)


@router.get("/api/overview", response_model=m.Overview, summary="Programme progress (public)")
async def overview(request: Request, response: Response, ctx: Context) -> m.Overview:
    cache = _limit(request, ctx)
    _cached(response)
    result: m.Overview = await cache.get("overview", lambda: _overview(ctx))
    return result


@router.get("/api/scenes", response_model=list[m.Scene], summary="Demonstration scenes (public)")
async def public_scenes(request: Request, response: Response, ctx: Context) -> list[m.Scene]:
    cache = _limit(request, ctx)
    _cached(response)
    result: list[m.Scene] = await cache.get("scenes", lambda: _scenes(ctx))
    return result


@router.get(
    "/api/satisfaction",
    response_model=m.PublicSatisfaction,
    summary="市民观察: satisfaction and response timeliness per bureau, scene, project (public)",
)
async def satisfaction(request: Request, response: Response, ctx: Context) -> m.PublicSatisfaction:
    cache = _limit(request, ctx)
    _cached(response)
    result: m.PublicSatisfaction = await cache.get("satisfaction", lambda: _satisfaction(ctx))
    return result


@router.get("/api/about", response_model=m.Notice, summary="What the public page publishes")
async def about(request: Request, response: Response, ctx: Context) -> m.Notice:
    _limit(request, ctx)
    _cached(response)
    return m.Notice(sections=SECTIONS, cache_seconds=CACHE_SECONDS)


def _file(name: str) -> str:
    return resources.files("guatu.api.public").joinpath(name).read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def page(request: Request, ctx: Context) -> HTMLResponse:
    _limit(request, ctx)
    return HTMLResponse(_file("page.html"), headers={"Cache-Control": f"public, max-age={MAX_AGE}"})


@router.get("/static/{name}", include_in_schema=False)
async def static(name: str, request: Request, ctx: Context) -> Response:
    _limit(request, ctx)
    if name not in _STATIC:
        raise ApiError(404, "not_found", "没有该文件", "no such file")
    return Response(_file(name), media_type=_STATIC[name], headers=_HEADERS)
