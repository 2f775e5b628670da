"""Revisions of a ranking round: the storage side (PostgreSQL) and what changed between two.

A refreeze (`service.revise_round`) freezes a period's inputs again and publishes the next
revision of its round. The latest revision lives where every round lives (`ranking_snapshots`,
`ranking_rounds`, `ranking_entries`); the one it supersedes is moved, untouched and with its
hashes, to `ranking_snapshot_archive` / `ranking_round_archive` (migration 006). A refreeze is
idempotent per workflow run: an activity retry finds its own run's revision and reuses it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from guatu.ranking.canonical import paused_gc
from guatu.ranking.models import Level, RoundResults, Snapshot
from guatu.ranking.rulesets import sha256
from guatu.ranking.snapshot import read_snapshot, snapshot_text, store_snapshot

# Project rows listed in a revision's changes (all are counted): a correction moves a few
# projects; a list of thousands helps nobody.
PROJECT_CHANGES_LISTED = 50


async def refreeze(
    conn: asyncpg.Connection, period: str, at: datetime, *, reason: str, actor: str, run_id: str
) -> tuple[Snapshot | None, str, int, bool]:
    """Freeze `period` again as its next snapshot revision (inside a transaction, under the
    period's freeze lock). Returns (snapshot or None if reused, sha256, revision, reused)."""
    head = await conn.fetchrow(
        "SELECT revision, run_id, sha256 FROM ranking_snapshots WHERE period = $1", period
    )
    if head is not None and run_id and head["run_id"] == run_id:
        return None, head["sha256"], head["revision"], True
    snapshot = await read_snapshot(conn, period, at)
    if head is None:
        digest, _ = await store_snapshot(conn, snapshot)
        await conn.execute(
            "UPDATE ranking_snapshots SET reason = $2, actor = $3, run_id = $4 WHERE period = $1",
            period,
            reason,
            actor,
            run_id,
        )
        return snapshot, digest, 1, False
    await conn.execute(
        "INSERT INTO ranking_snapshot_archive (period, revision, kind, close_date, frozen_at,"
        " projects, body, sha256, reason, actor, run_id) SELECT period, revision, kind,"
        " close_date, frozen_at, projects, body, sha256, reason, actor, run_id"
        " FROM ranking_snapshots WHERE period = $1",
        period,
    )
    text = snapshot_text(snapshot)
    digest = sha256(text)
    revision = head["revision"] + 1
    await conn.execute(
        "UPDATE ranking_snapshots SET revision = $2, frozen_at = $3, projects = $4, body = $5,"
        " sha256 = $6, reason = $7, actor = $8, run_id = $9, kind = $10, close_date = $11"
        " WHERE period = $1",
        period,
        revision,
        snapshot.frozen_at,
        len(snapshot.projects),
        text,
        digest,
        reason,
        actor,
        run_id,
        snapshot.kind,
        snapshot.close,
    )
    return snapshot, digest, revision, False


async def snapshot_by_sha(
    conn: asyncpg.Connection,
    period: str,
    digest: str,
    cached: tuple[Snapshot, str] | None = None,
) -> tuple[Snapshot, str, int] | None:
    """The snapshot revision of `period` with SHA-256 `digest` (latest or archived)."""
    row = await conn.fetchrow(
        "SELECT revision FROM ranking_snapshots WHERE period = $1 AND sha256 = $2", period, digest
    )
    table = "ranking_snapshots"
    if row is None:
        row = await conn.fetchrow(
            "SELECT revision FROM ranking_snapshot_archive WHERE period = $1 AND sha256 = $2"
            " ORDER BY revision DESC LIMIT 1",
            period,
            digest,
        )
        table = "ranking_snapshot_archive"
    if row is None:
        return None
    if cached is not None and cached[0].period == period and cached[1] == digest:
        return cached[0], digest, row["revision"]
    body = await conn.fetchval(
        f"SELECT body FROM {table} WHERE period = $1 AND revision = $2", period, row["revision"]
    )
    with paused_gc():
        return Snapshot.model_validate_json(body), digest, row["revision"]


async def archive_round(conn: asyncpg.Connection, period: str, ruleset_id: str) -> None:
    """Move the latest revision of a round to the archive and clear its entries (the caller
    then writes the next revision into the same row)."""
    await conn.execute(
        "INSERT INTO ranking_round_archive (period, ruleset_id, revision, ruleset_version, kind,"
        " close_date, snapshot_revision, snapshot_sha256, context, results, results_sha256,"
        " workflow_id, reason, actor, run_id, changes, computed_at, verified_at, verifications)"
        " SELECT period, ruleset_id, revision, ruleset_version, kind, close_date,"
        " snapshot_revision, snapshot_sha256, context, results, results_sha256, workflow_id,"
        " reason, actor, run_id, changes, computed_at, verified_at, verifications"
        " FROM ranking_rounds WHERE period = $1 AND ruleset_id = $2",
        period,
        ruleset_id,
    )
    await conn.execute(
        "DELETE FROM ranking_entries WHERE period = $1 AND ruleset_id = $2", period, ruleset_id
    )


def _brief(row: Any) -> dict[str, Any]:
    return {"rank": row["rank"], "score": row["score"], "list": row["list"]}


async def changes(
    conn: asyncpg.Connection, results: RoundResults, from_revision: int
) -> dict[str, Any]:
    """What revision `from_revision + 1` (`results`) changes against the entries of
    `from_revision` still in `ranking_entries`: per level the rank, score and list changes, and
    the red and black lists before and after."""
    levels: dict[str, Any] = {}
    for level, lr in results.levels.items():
        before = {
            r["code"]: r
            for r in await conn.fetch(
                "SELECT code, name_zh, rank, score, list FROM ranking_entries"
                " WHERE period = $1 AND ruleset_id = $2 AND level = $3",
                results.period,
                results.ruleset_id,
                level.value,
            )
        }
        moved: list[dict[str, Any]] = []
        for row in lr.rows:
            old = before.pop(row.code, None)
            new = {
                "rank": row.rank,
                "score": row.score,
                "list": row.listed.value if row.listed else None,
            }
            if old is not None and _brief(old) == new:
                continue
            moved.append(
                {
                    "code": row.code,
                    "name_zh": row.name_zh,
                    "before": _brief(old) if old is not None else None,
                    "after": new,
                }
            )
        moved.extend(
            {"code": code, "name_zh": old["name_zh"], "before": _brief(old), "after": None}
            for code, old in sorted(before.items())
        )
        old_lists = {
            kind: sorted(
                (
                    r
                    for r in (
                        await conn.fetch(
                            "SELECT code, rank FROM ranking_entries WHERE period = $1 AND ruleset_id = $2"
                            " AND level = $3 AND list = $4",
                            results.period,
                            results.ruleset_id,
                            level.value,
                            kind,
                        )
                    )
                ),
                key=lambda r: r["rank"],
            )
            for kind in ("red", "black")
        }
        shown = (
            moved
            if level is not Level.PROJECT
            else sorted(
                moved,
                key=lambda m: (
                    -abs((m["before"] or {}).get("rank", 0) - (m["after"] or {}).get("rank", 0))
                ),
            )[:PROJECT_CHANGES_LISTED]
        )
        levels[level.value] = {
            "changed": len(moved),
            "rows": shown,
            "red_list": {"before": [r["code"] for r in old_lists["red"]], "after": lr.red_list},
            "black_list": {
                "before": [r["code"] for r in old_lists["black"]],
                "after": lr.black_list,
            },
        }
    return {"from_revision": from_revision, "to_revision": from_revision + 1, "levels": levels}


async def revisions(conn: asyncpg.Connection, period: str, ruleset_id: str) -> list[dict[str, Any]]:
    """Every revision of a round, oldest first, with its hashes, reason and actor."""
    columns = (
        "revision, ruleset_version, snapshot_revision, snapshot_sha256, results_sha256,"
        " workflow_id, reason, actor, computed_at, verified_at, verifications, changes"
    )
    rows = [
        *await conn.fetch(
            f"SELECT {columns}, superseded_at FROM ranking_round_archive"
            " WHERE period = $1 AND ruleset_id = $2",
            period,
            ruleset_id,
        ),
        *await conn.fetch(
            f"SELECT {columns}, NULL::timestamptz AS superseded_at FROM ranking_rounds"
            " WHERE period = $1 AND ruleset_id = $2",
            period,
            ruleset_id,
        ),
    ]
    out = []
    for r in sorted(rows, key=lambda r: r["revision"]):
        out.append(
            {
                "revision": r["revision"],
                "latest": r["superseded_at"] is None,
                "ruleset_version": r["ruleset_version"],
                "snapshot_revision": r["snapshot_revision"],
                "snapshot_sha256": r["snapshot_sha256"],
                "results_sha256": r["results_sha256"],
                "workflow_id": r["workflow_id"],
                "reason": r["reason"],
                "actor": r["actor"],
                "computed_at": r["computed_at"].isoformat(),
                "verified_at": r["verified_at"].isoformat() if r["verified_at"] else None,
                "verifications": r["verifications"],
                "superseded_at": r["superseded_at"].isoformat() if r["superseded_at"] else None,
                "changes": json.loads(r["changes"])
                if isinstance(r["changes"], str)
                else r["changes"],
            }
        )
    return out


async def revision_results(
    conn: asyncpg.Connection, period: str, ruleset_id: str, revision: int
) -> tuple[str, str] | None:
    """(results canonical JSON, its SHA-256) of one revision, latest or archived."""
    for table in ("ranking_rounds", "ranking_round_archive"):
        row = await conn.fetchrow(
            f"SELECT results, results_sha256 FROM {table} WHERE period = $1 AND ruleset_id = $2"
            " AND revision = $3",
            period,
            ruleset_id,
            revision,
        )
        if row is not None:
            return row["results"], row["results_sha256"]
    return None


__all__ = [
    "archive_round",
    "changes",
    "refreeze",
    "revision_results",
    "revisions",
    "snapshot_by_sha",
]
