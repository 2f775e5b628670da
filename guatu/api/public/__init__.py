"""信息公开: the public page and its read-only API under `/public/`, no token.

- `GET /public/` — the page (Chinese first, English on a button), built from the API below;
- `GET /public/api/overview` — programme progress: totals and per program (investment against
  the plan to date, this year's target and completion, lights, start and completion rates);
- `GET /public/api/scenes` — the demonstration scenes with progress, light and member projects;
- `GET /public/api/satisfaction` — 市民观察: satisfaction and response timeliness per bureau,
  scene and project (`guatu.society.figures`), counts and rates only.

The page also shows 机会清单 and takes an enterprise's expression of interest through
`guatu.api.routes.public_opportunities` (`/public/api/opportunities…`, its own rate limits).

Nothing internal: answers are built from the explicit models of `guatu.api.public.models`.
Every answer is cached (`Cache-Control: public, max-age=…` and a short server-side cache, so a
crowd reads PostgreSQL once per interval) and rate-limited per client address (as the nearest
trusted proxy reports it; 429 with `Retry-After`). Reads go through the read-only pool.
"""

from guatu.api.public.routes import router

__all__ = ["router"]
