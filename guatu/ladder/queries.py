"""Leaders' reads of the ladders, served from PostgreSQL (asyncpg): a bureau's standing.

The ladder's levels and open orders come from the state its workflow last wrote
(`ladder_standing`), the decisions and exemptions from their tables, the recent ranks from the
ranking's read model (`guatu.ranking.queries.unit_history`).
"""

from __future__ import annotations

from typing import Any

import asyncpg

from guatu.ladder.models import LadderState
from guatu.ladder.rules import standing_of
from guatu.ranking.actions import ACTION_ZH, ActionKind
from guatu.ranking.queries import _iso, _json, unit_history


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


__all__ = ["bureau_standing"]
