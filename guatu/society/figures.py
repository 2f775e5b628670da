"""Published figures of 市民观察: satisfaction and response timeliness per project, scene and
bureau. Counts and rates only — never an observer's identity, text or photo — so the public
page (信息公开) may show them as they are: `published_figures(pool)` is its entry point.

Definitions (hand-checkable, `tests/society/test_figures.py`):
- observations: filed in the window; average rating: their mean 1–5 rating, 2 decimals;
- replies due: observations asking for an answer whose reply deadline has passed by `as_of`
  (the day before it) or that were answered; on time: answered by the end of the due day;
  timeliness = on time ÷ due, 4 decimals (None when nothing is due yet);
- rated: replies the observer rated; satisfaction = 满意 ÷ rated, 4 decimals (None: none rated);
- escalated: observations that went to 区幸福办 (unanswered or 不满意).
A scene's figures count the observations on the scene itself and on its member projects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from guatu.core.clock import local_date


@dataclass
class Figures:
    code: str
    name_zh: str = ""
    observations: int = 0
    rating_sum: int = 0
    replies_due: int = 0
    on_time: int = 0
    rated: int = 0
    satisfied: int = 0
    escalated: int = 0
    categories: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name_zh": self.name_zh,
            "observations": self.observations,
            "average_rating": round(self.rating_sum / self.observations, 2)
            if self.observations
            else None,
            "replies_due": self.replies_due,
            "replied_on_time": self.on_time,
            "timeliness": round(self.on_time / self.replies_due, 4) if self.replies_due else None,
            "rated": self.rated,
            "satisfied": self.satisfied,
            "satisfaction": round(self.satisfied / self.rated, 4) if self.rated else None,
            "escalated": self.escalated,
            "categories": dict(sorted(self.categories.items())),
        }


def _add(f: Figures, row: Mapping[str, Any], as_of: date) -> None:
    f.observations += 1
    f.rating_sum += int(row["rating"])
    f.categories[row["category"]] = f.categories.get(row["category"], 0) + 1
    if row["wants_reply"] and row["reply_due"] is not None:
        if row["replied_at"] is not None or row["reply_due"] < as_of:
            f.replies_due += 1
            if row["reply_on_time"]:
                f.on_time += 1
    if row["satisfaction"] is not None:
        f.rated += 1
        if row["satisfaction"] == "satisfied":
            f.satisfied += 1
    if row["escalated_at"] is not None:
        f.escalated += 1


def compute_figures(
    rows: Iterable[Mapping[str, Any]],
    as_of: date,
    scenes_of: Mapping[str, Iterable[tuple[str, str]]] | None = None,
) -> dict[str, Any]:
    """Pure: the published figures of observation rows (as the read model holds them).
    `scenes_of` maps a project to the (code, name) of the scenes it belongs to."""
    scenes_of = scenes_of or {}
    projects: dict[str, Figures] = {}
    scenes: dict[str, Figures] = {}
    bureaus: dict[str, Figures] = {}
    total = Figures(code="all", name_zh="全区")
    for row in rows:
        per = projects if row["target_kind"] == "project" else scenes
        unit = per.setdefault(row["target"], Figures(row["target"], row["target_name"]))
        if not unit.name_zh and row["target_name"]:
            unit.name_zh = row["target_name"]
        bureau = bureaus.setdefault(row["bureau"], Figures(row["bureau"], row["bureau_name"]))
        units = [unit, bureau, total]
        if row["target_kind"] == "project":
            for code, name in scenes_of.get(row["target"], ()):
                units.append(scenes.setdefault(code, Figures(code, name)))
        for f in units:
            _add(f, row, as_of)
    return {
        "as_of": as_of.isoformat(),
        "total": total.as_dict(),
        "projects": [f.as_dict() for _, f in sorted(projects.items())],
        "scenes": [f.as_dict() for _, f in sorted(scenes.items())],
        "bureaus": [f.as_dict() for _, f in sorted(bureaus.items())],
    }


async def published_figures(
    pool: asyncpg.Pool,
    *,
    as_of: date | None = None,
    since: date | None = None,
    until: date | None = None,
) -> dict[str, Any]:
    """Satisfaction and timeliness per project, scene and bureau, for observations filed in
    [since, until) (local dates; default: all). No observer identity leaves this function."""
    as_of = as_of or local_date(datetime.now(UTC))
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT target_kind, target, target_name, bureau, bureau_name, category, rating,"
            " wants_reply, reply_due, replied_at, reply_on_time, satisfaction, escalated_at"
            " FROM observations WHERE ($1::date IS NULL OR (filed_at AT TIME ZONE"
            " 'Asia/Shanghai')::date >= $1) AND ($2::date IS NULL OR (filed_at AT TIME ZONE"
            " 'Asia/Shanghai')::date < $2) ORDER BY id",
            since,
            until,
        )
        scenes_of: dict[str, list[tuple[str, str]]] = {}
        if await conn.fetchval("SELECT to_regclass('scene_projects')") is not None:
            for r in await conn.fetch(
                "SELECT m.project, s.code, s.name_zh FROM scene_projects m"
                " JOIN scenes s ON s.code = m.scene ORDER BY m.project, s.code"
            ):
                scenes_of.setdefault(r["project"], []).append((r["code"], r["name_zh"]))
    return compute_figures(rows, as_of, scenes_of)


__all__ = ["compute_figures", "published_figures"]
