"""What-if replay: re-evaluate frozen periods under another rule set, side by side.

The replay calls the very functions rounds and ladders use (`compute_round`, `outcomes`,
`ladder_step`); only the rule set differs. Ladders are replayed from a clean slate at the first
period of the range on both sides, one track per period kind, so the two columns compare like
with like; correction-plan deadlines are not replayed (they depend on what bureaus did later).

- `replay(snapshots, rules, exemptions)`: pure, in memory; periods in order, movement from the
  previous period of the same kind in the range;
- `what_if_snapshots(snapshots, baseline, candidate)`: pure, the side-by-side comparison;
- `what_if(pool, periods, ruleset_id)`: the same over the frozen snapshots in PostgreSQL,
  against the rule set the published rounds used, with a check that the baseline still
  reproduces each published round byte for byte.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from guatu.ladder.models import TrackState
from guatu.ladder.rules import ladder_step
from guatu.ranking.actions import ActionKind
from guatu.ranking.models import Exemption, Level, RoundContext, RoundResults, RuleSet, Snapshot
from guatu.ranking.periods import parse_period, previous_period
from guatu.ranking.rules import compute_round, outcomes, previous_ranks
from guatu.ranking.rulesets import (
    DEFAULT_RULESET,
    canonical_json,
    load_ruleset,
    load_ruleset_ref,
    sha256,
)

_KIND_ORDER = {"month": 0, "quarter": 1, "year": 2}


def ordered(snapshots: Sequence[Snapshot]) -> list[Snapshot]:
    return sorted(snapshots, key=lambda s: (s.close, _KIND_ORDER.get(s.kind, 9), s.period))


def replay(
    snapshots: Sequence[Snapshot],
    rules: RuleSet,
    exemptions: Mapping[str, Mapping[str, Exemption]] | None = None,
) -> list[RoundResults]:
    """Rank every snapshot under `rules`, in period order."""
    exemptions = exemptions or {}
    last: dict[str, RoundResults] = {}
    out: list[RoundResults] = []
    for snap in ordered(snapshots):
        prev = last.get(snap.kind)
        if prev is not None and prev.period != previous_period(snap.period).key:
            prev = None
        context = RoundContext(
            previous_period=prev.period if prev else None,
            previous_ranks=previous_ranks(prev),
            exemptions=dict(exemptions.get(snap.period, {})),
        )
        results = compute_round(snap, rules, context)
        last[snap.kind] = results
        out.append(results)
    return out


@dataclass
class LadderReplay:
    """Per period and bureau: the ladder level after the period and the actions taken."""

    steps: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)


def replay_ladders(results: Sequence[RoundResults], rules: RuleSet) -> LadderReplay:
    tracks: dict[tuple[str, str], TrackState] = {}
    open_orders: dict[tuple[str, str], set[str]] = {}
    out = LadderReplay()
    for r in results:
        period_steps: dict[str, dict[str, Any]] = {}
        for o in outcomes(r):
            key = (o.bureau, o.kind)
            track = tracks.get(key) or TrackState(ruleset_id=rules.id, kind=o.kind)
            orders = open_orders.setdefault(key, set())
            step = ladder_step(track, o, rules.ladder, orders)
            tracks[key] = step.track
            for a in step.actions:
                if a.kind is ActionKind.PROJECT_SUPERVISION and a.project:
                    orders.add(a.project)
                elif a.kind is ActionKind.ORDER_CLOSED and a.project:
                    orders.discard(a.project)
            period_steps[o.bureau] = {
                "level": step.track.level,
                "actions": [a.kind.value for a in step.actions],
                "project_orders": sorted(
                    a.project
                    for a in step.actions
                    if a.kind is ActionKind.PROJECT_SUPERVISION and a.project
                ),
            }
        out.steps[r.period] = period_steps
    return out


def _side(row: Any) -> dict[str, Any]:
    return {
        "rank": row.rank,
        "score": row.score,
        "list": row.listed.value if row.listed else None,
        "exempted": row.exempted,
    }


def compare(
    baseline: Sequence[RoundResults],
    candidate: Sequence[RoundResults],
    ladders_b: LadderReplay,
    ladders_c: LadderReplay,
) -> list[dict[str, Any]]:
    periods: list[dict[str, Any]] = []
    for b, c in zip(baseline, candidate, strict=True):
        bb, cb = b.levels[Level.BUREAU], c.levels[Level.BUREAU]
        c_rows = {r.code: r for r in cb.rows}
        bureaus = []
        for row in bb.rows:
            other = c_rows[row.code]
            lb = ladders_b.steps.get(b.period, {}).get(row.code, {})
            lc = ladders_c.steps.get(c.period, {}).get(row.code, {})
            bureaus.append(
                {
                    "code": row.code,
                    "name_zh": row.name_zh,
                    "baseline": {**_side(row), "ladder": lb},
                    "candidate": {**_side(other), "ladder": lc},
                    "rank_change": row.rank - other.rank,
                    "list_changed": row.listed != other.listed,
                    "ladder_changed": lb != lc,
                }
            )
        programs = []
        c_programs = {r.code: r for r in c.levels[Level.PROGRAM].rows}
        for row in b.levels[Level.PROGRAM].rows:
            other = c_programs[row.code]
            programs.append(
                {
                    "code": row.code,
                    "name_zh": row.name_zh,
                    "baseline": _side(row),
                    "candidate": _side(other),
                    "rank_change": row.rank - other.rank,
                }
            )
        c_projects = {r.code: r.rank for r in c.levels[Level.PROJECT].rows}
        project_moves = [abs(r.rank - c_projects[r.code]) for r in b.levels[Level.PROJECT].rows]
        periods.append(
            {
                "period": b.period,
                "kind": b.kind,
                "label_zh": parse_period(b.period).label_zh,
                "bureaus": bureaus,
                "programs": programs,
                "red_list": {"baseline": bb.red_list, "candidate": cb.red_list},
                "black_list": {"baseline": bb.black_list, "candidate": cb.black_list},
                "projects": {
                    "ranked": len(project_moves),
                    "rank_changes": sum(1 for m in project_moves if m),
                    "largest_move": max(project_moves, default=0),
                    "red_list": {
                        "baseline": b.levels[Level.PROJECT].red_list,
                        "candidate": c.levels[Level.PROJECT].red_list,
                    },
                    "black_list": {
                        "baseline": b.levels[Level.PROJECT].black_list,
                        "candidate": c.levels[Level.PROJECT].black_list,
                    },
                },
                "differences": {
                    "bureau_rank_changes": sum(1 for x in bureaus if x["rank_change"]),
                    "list_changes": sum(1 for x in bureaus if x["list_changed"]),
                    "ladder_changes": sum(1 for x in bureaus if x["ladder_changed"]),
                    "program_rank_changes": sum(1 for x in programs if x["rank_change"]),
                    "project_rank_changes": sum(1 for m in project_moves if m),
                },
            }
        )
    return periods


def _rules_brief(rules: RuleSet) -> dict[str, Any]:
    return {
        "id": rules.id,
        "version": rules.version,
        "name_zh": rules.name_zh,
        "name_en": rules.name_en,
    }


def what_if_snapshots(
    snapshots: Sequence[Snapshot],
    baseline: RuleSet,
    candidate: RuleSet,
    exemptions: Mapping[str, Mapping[str, Exemption]] | None = None,
) -> dict[str, Any]:
    """Pure side-by-side replay of in-memory snapshots under two rule sets."""
    started = time.perf_counter()
    snaps = ordered(snapshots)
    res_b = replay(snaps, baseline, exemptions)
    res_c = replay(snaps, candidate, exemptions)
    periods = compare(
        res_b, res_c, replay_ladders(res_b, baseline), replay_ladders(res_c, candidate)
    )
    totals = {
        k: sum(p["differences"][k] for p in periods)
        for k in (
            "bureau_rank_changes",
            "list_changes",
            "ladder_changes",
            "program_rank_changes",
            "project_rank_changes",
        )
    }
    return {
        "baseline": _rules_brief(baseline),
        "candidate": _rules_brief(candidate),
        "periods": periods,
        "summary": {
            "periods": len(periods),
            "projects": max((len(s.projects) for s in snaps), default=0),
            "periods_with_differences": sum(1 for p in periods if any(p["differences"].values())),
            **totals,
            "seconds": round(time.perf_counter() - started, 3),
        },
    }


async def what_if(
    pool: asyncpg.Pool,
    periods: list[str],
    ruleset_id: str,
    *,
    baseline_ruleset: str = DEFAULT_RULESET,
) -> dict[str, Any]:
    """Re-evaluate frozen periods under `ruleset_id`, side by side with the baseline rule set.

    `ruleset_id` may name an earlier version (`default@1`, kept in config/rules/versions).

    The baseline is the rule set version the published rounds used (else the current file),
    with the exemptions those rounds froze. Periods not frozen yet are listed under `missing`.
    Each published baseline round is also recomputed with its own stored context and checked
    byte for byte (`verified`).
    """
    for p in periods:
        parse_period(p)
    candidate = load_ruleset_ref(ruleset_id)
    rows: list[tuple[str, str, asyncpg.Record | None, list[asyncpg.Record]]] = []
    async with pool.acquire() as conn:
        for p in periods:
            row = await conn.fetchrow(
                "SELECT body, sha256 FROM ranking_snapshots WHERE period = $1", p
            )
            if row is None:
                continue
            published = await conn.fetchrow(
                "SELECT r.context, r.results_sha256, r.snapshot_sha256, s.body AS rules,"
                " s.sha256 AS rules_sha"
                " FROM ranking_rounds r JOIN ranking_rulesets s ON s.id = r.ruleset_id"
                " AND s.version = r.ruleset_version WHERE r.period = $1 AND r.ruleset_id = $2",
                p,
                baseline_ruleset,
            )
            granted = (
                []
                if published is not None
                else await conn.fetch("SELECT * FROM ranking_exemptions WHERE period = $1", p)
            )
            rows.append((row["body"], row["sha256"], published, granted))
    # Parsing and ranking every period twice is CPU work: off the event loop.
    return await asyncio.to_thread(_evaluate, periods, rows, candidate, baseline_ruleset)


def _evaluate(
    periods: list[str],
    rows: list[tuple[str, str, asyncpg.Record | None, list[asyncpg.Record]]],
    candidate: RuleSet,
    baseline_ruleset: str,
) -> dict[str, Any]:
    snapshots: list[Snapshot] = []
    exemptions: dict[str, dict[str, Exemption]] = {}
    verified: dict[str, bool] = {}
    baseline: RuleSet | None = None
    for body, snapshot_sha, published, granted in rows:
        snap = Snapshot.model_validate_json(body)
        snapshots.append(snap)
        p = snap.period
        if published is None:
            exemptions[p] = {
                r["bureau"]: Exemption(
                    bureau=r["bureau"],
                    period=p,
                    reason=r["reason"],
                    actor=r["actor"],
                    role=r["role"],
                    granted_at=r["granted_at"],
                    key=r["key"],
                )
                for r in granted
            }
            continue
        rules = RuleSet.model_validate_json(published["rules"])
        baseline = baseline or rules
        context = RoundContext.model_validate_json(published["context"])
        exemptions[p] = dict(context.exemptions)
        # Only the latest revision's snapshot is here; an older rule set's round (computed from
        # an earlier snapshot revision) is not re-verified against it.
        if published["snapshot_sha256"] == snapshot_sha:
            again = compute_round(
                snap,
                rules,
                context,
                ruleset_sha256=published["rules_sha"],
                snapshot_sha256=snapshot_sha,
            )
            verified[p] = (
                sha256(canonical_json(again.model_dump(mode="json"))) == published["results_sha256"]
            )
    baseline = baseline or load_ruleset(baseline_ruleset)
    result = what_if_snapshots(snapshots, baseline, candidate, exemptions)
    result["missing"] = [p for p in periods if p not in {s.period for s in snapshots}]
    result["verified"] = verified
    return result


__all__ = ["compare", "ordered", "replay", "replay_ladders", "what_if", "what_if_snapshots"]
