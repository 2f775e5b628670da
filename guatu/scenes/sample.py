"""The sample programme's scenes (config/sample_scenes.json), marked illustrative (示例).

Members are named by the end of the sample project codes (`P07-006` is `WJ2021-P07-006`, or
`WJ2026-P07-006` once the sample is moved to start in 2026), so they follow the sample wherever
`GUATU_PROGRAMME_START_YEAR` puts it. A scene is written only if it does not exist yet: a scene
a leader changed is left as it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import asyncpg
import structlog

from config.settings import CONFIG_DIR
from guatu.scenes import store
from guatu.scenes.models import SceneBody

SAMPLE_FILE = CONFIG_DIR / "sample_scenes.json"
log = structlog.get_logger("guatu.scenes.sample")


def sample_scenes(project_codes: Iterable[str]) -> list[tuple[str, SceneBody]]:
    data: dict[str, Any] = json.loads(SAMPLE_FILE.read_text(encoding="utf-8"))
    by_suffix = {code.split("-", 1)[-1]: code for code in project_codes}
    out = []
    for s in data["scenes"]:
        members = [by_suffix[p] for p in s["projects"] if p in by_suffix]
        if not members:
            continue
        body = SceneBody(**{k: v for k, v in s.items() if k not in ("code", "projects")})
        out.append((s["code"], body.model_copy(update={"projects": members})))
    return out


async def seed_sample_scenes(pool: asyncpg.Pool, project_codes: Iterable[str]) -> int:
    """Write the sample scenes that do not exist yet; returns how many were written."""
    written = 0
    for code, body in sample_scenes(project_codes):
        async with pool.acquire() as conn:
            if await conn.fetchval("SELECT 1 FROM scenes WHERE code = $1", code):
                continue
        await store.put_scene(
            pool, code, body, actor="guatu up (sample)", door="sample", illustrative=True,
            check_projects=False,
        )  # fmt: skip
        written += 1
    log.info("sample scenes", written=written)
    return written
