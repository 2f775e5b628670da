"""The leaders' battle-map dashboard (挂图): one page at `/`, its assets under `/static/`.

The page is plain HTML, CSS and JavaScript drawing SVG, served from this package: no build
step, no CDN, no external font. Its trend charts use Apache ECharts, vendored with its licence
under `static/vendor/echarts/` (`scripts/vendor_echarts.sh` updates it). It reads the HTTP API with a leader's bearer token (kept in
the browser's sessionStorage) and adds two leader-only endpoints of its own:

- `GET /api/v1/export.xlsx` — the current view (filters and ranking period) as an Excel
  workbook, built from the same queries as the API (`guatu.lifecycle.queries`, `guatu.ranking.queries`);
- `GET /api/v1/dashboard/ladders` — each bureau's current rung on the 通报 / 约谈 / 督办 ladder
  and the latest such decisions (the API's `/escalations` lists only the orders with deadlines).

`mount_dashboard(app)` adds all of it to an API app made by `guatu.api.app.create_app`; calling
it twice is harmless.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from guatu.api.dashboard.routes import router

STATIC_DIR = Path(__file__).resolve().parent / "static"

# The page may load only what this server serves; the API is on the same origin.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@lru_cache(maxsize=1)
def _page() -> str:
    """index.html with its asset URLs versioned by content, so an upgrade is never stale."""
    digest = hashlib.sha256()
    for name in ("app.js", "app.css", "vendor/echarts/VERSION"):
        digest.update((STATIC_DIR / name).read_bytes())
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    return html.replace("__VERSION__", digest.hexdigest()[:12])


async def index() -> HTMLResponse:
    return HTMLResponse(_page(), headers=PAGE_HEADERS)


def mount_dashboard(app: FastAPI) -> None:
    """Serve the dashboard at `/`, its assets at `/static/…`, and its two endpoints."""
    if getattr(app.state, "dashboard_mounted", False):
        return
    app.state.dashboard_mounted = True
    app.include_router(router)
    app.add_api_route(
        "/", index, methods=["GET", "HEAD"], include_in_schema=False, response_class=HTMLResponse
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="dashboard-static")


# `create_app` looks for `mount` in this package and calls it when present.
mount = mount_dashboard

__all__ = ["STATIC_DIR", "mount", "mount_dashboard"]
