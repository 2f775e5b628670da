"""信息公开: the public page and its read-only API under `/public/`, no token.

- `GET /public/` — the page (Chinese first, English on a button), built from the API below;
- `GET /public/api/overview` — programme progress: totals and per program (investment against
  the plan to date, this year's target and completion, lights, start and completion rates);
- `GET /public/api/scenes` — the demonstration scenes with progress, light and member projects.

Nothing internal: answers are built from the explicit models of `guatu.api.public.models`.
Every answer is cached (`Cache-Control: public, max-age=…` and a short server-side cache, so a
crowd reads PostgreSQL once per interval) and rate-limited per client address (as the nearest
trusted proxy reports it; 429 with `Retry-After`). Reads go through the read-only pool.
"""

from guatu.api.public.routes import router

__all__ = ["router"]
