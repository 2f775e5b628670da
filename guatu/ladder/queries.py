"""Leaders' reads of the ladders, served from PostgreSQL (asyncpg): a bureau's standing, and
the dashboard's summary of every ladder (`ladders_overview`).

The ladder's levels and open orders come from the state its workflow last wrote
(`ladder_standing`), the decisions and exemptions from their tables, the recent ranks from the
ranking's read model (`guatu.ranking.queries.unit_history`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from guatu.ladder.models import LadderState
from guatu.ladder.rules import standing_of
from guatu.ranking.actions import ACTION_ZH, ActionKind
from guatu.ranking.queries import _iso, _json, unit_history

# Ladder decisions a leader follows on the dashboard: 通报, 约谈, 督办 and 督办单.
FOLLOWED_KINDS = ("notice", "summons", "supervision", "project_supervision")


async def bureau_standing(pool: asyncpg.Pool, bureau: str) -> dict[str, Any]:
    """A bureau's ladder levels, open orders, exemptions, recent decisions and recent ranks."""
    async with pool.acquire() as conn:
        state = await conn.fetchval("SELECT state FROM ladder_standing WHERE bureau = $1", bureau)
        name = await conn.fetchval("SELECT name_zh FROM bureaus WHERE code = $1", bureau)
        decisions = await conn.fetch(
            "SELECT key, period, ruleset_id, ruleset_version, kind, level_before, level_after,"
            " project, order_id, deadline, lines_zh, lines_en, decided_at FROM ladder_decisions"
            " WHERE bureau = $1 ORDER BY decided_at DESC, key LIMIT 30",
            bureau,
        )
        exemptions = await conn.fetch(
            "SELECT period, reason, actor, role, granted_at FROM ranking_exemptions"
            " WHERE bureau = $1 ORDER BY period",
            bureau,
        )
    standing = (
        standing_of(LadderState.model_validate(state)).model_dump(mode="json")
        if state
        else {
            "bureau": bureau,
            "name_zh": name or bureau,
            "tracks": [],
            "open_orders": [],
            "exemptions": [],
            "decisions": 0,
            "version": 0,
            "runs": 0,
        }
    )
    if name:
        standing["name_zh"] = name
    standing["recent_decisions"] = [
        {
            "key": d["key"],
            "period": d["period"],
            "ruleset_id": d["ruleset_id"],
            "ruleset_version": d["ruleset_version"],
            "kind": d["kind"],
            "kind_zh": ACTION_ZH[ActionKind(d["kind"])],
            "level_before": d["level_before"],
            "level_after": d["level_after"],
            "project": d["project"],
            "order_id": d["order_id"],
            "deadline": _iso(d["deadline"]),
            "lines_zh": _json(d["lines_zh"]),
            "lines_en": _json(d["lines_en"]),
            "decided_at": d["decided_at"].isoformat(),
        }
        for d in decisions
    ]
    standing["exemptions"] = [
        {
            "period": e["period"],
            "reason": e["reason"],
            "actor": e["actor"],
            "role": e["role"],
            "granted_at": e["granted_at"].isoformat(),
        }
        for e in exemptions
    ]
    standing["recent_ranks"] = await unit_history(pool, "bureau", bureau, limit=12)
    return standing


async def ladders_overview(pool: asyncpg.Pool) -> dict[str, Any]:
    """The dashboard's ladder summary (leaders): every bureau's tracks above level 0, highest
    first, and the latest 50 decisions of the kinds a leader follows (`FOLLOWED_KINDS`)."""
    async with pool.acquire() as conn:
        standings = await conn.fetch(
            "SELECT s.bureau, b.name_zh, b.name_en, s.state FROM ladder_standing s"
            " LEFT JOIN bureaus b ON b.code = s.bureau ORDER BY s.bureau"
        )
        decisions = await conn.fetch(
            "SELECT d.key, d.bureau, b.name_zh AS bureau_name, d.period, d.ruleset_id, d.kind,"
            " d.level_before, d.level_after, d.project, d.order_id, d.deadline, d.lines_zh,"
            " d.lines_en, d.decided_at FROM ladder_decisions d"
            " LEFT JOIN bureaus b ON b.code = d.bureau WHERE d.kind = ANY($1::text[])"
            " ORDER BY d.decided_at DESC, d.key LIMIT 50",
            list(FOLLOWED_KINDS),
        )
    levels: list[dict[str, Any]] = []
    for row in standings:
        standing = standing_of(LadderState.model_validate(_json(row["state"])))
        for track in standing.tracks:
            if track.level <= 0:
                continue
            levels.append(
                {
                    "bureau": row["bureau"],
                    "name_zh": row["name_zh"] or row["bureau"],
                    "name_en": row["name_en"] or row["bureau"],
                    "track": track.track,
                    "ruleset_id": track.ruleset_id,
                    "kind": track.kind,
                    "level": track.level,
                    "level_zh": track.level_zh,
                    "black_streak": track.black_streak,
                    "red_streak": track.red_streak,
                    "last_period": track.last_period,
                    "open_orders": len(standing.open_orders),
                }
            )
    levels.sort(key=lambda x: (-x["level"], -x["black_streak"], x["bureau"], x["track"]))
    return {
        "levels": levels,
        "decisions": [
            {
                "key": d["key"],
                "bureau": d["bureau"],
                "bureau_name": d["bureau_name"] or d["bureau"],
                "period": d["period"],
                "ruleset_id": d["ruleset_id"],
                "kind": d["kind"],
                "kind_zh": ACTION_ZH[ActionKind(d["kind"])],
                "level_before": d["level_before"],
                "level_after": d["level_after"],
                "project": d["project"],
                "order_id": d["order_id"],
                "deadline": d["deadline"].isoformat() if isinstance(d["deadline"], date) else None,
                "lines_zh": _json(d["lines_zh"]),
                "lines_en": _json(d["lines_en"]),
                "decided_at": d["decided_at"].isoformat(),
            }
            for d in decisions
        ],
    }


__all__ = ["FOLLOWED_KINDS", "bureau_standing", "ladders_overview"]
