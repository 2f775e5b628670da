"""Activities of 竞进比拼 and 激励奖惩: freeze, compute, feed the ladders, notices, persistence.

Every one is idempotent, so a retry (or a whole re-run of a round) changes nothing:
- `ranking_freeze` stores a period's snapshot once and reuses it afterwards;
- `ranking_compute` stores a round's results once; a re-run recomputes them from the frozen
  snapshot and context and must reproduce the stored bytes (else it fails, non-retryably);
- `ranking_feed_ladder` sends `record_period` with an update ID per rule set and period;
- `ranking_round_notices` writes outbox rows keyed by notice (the ladders' writes:
  activities/ladder.py).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from pydantic import ValidationError
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from guatu.core import constants as c
from guatu.core.records import AuditRow, NotificationRow, write_audit, write_notifications
from guatu.ladder.models import RecordPeriodInput, RecordPeriodResult
from guatu.ladder.service import ensure_ladder
from guatu.lifecycle.models import AuditEntry, Notice
from guatu.ranking import revisions
from guatu.ranking.canonical import ResultsWriter, paused_gc, results_text
from guatu.ranking.messages import (
    ComputeInput,
    ComputeResult,
    FeedLadderInput,
    FeedLadderResult,
    FreezeInput,
    FreezeResult,
    RoundNoticesInput,
)
from guatu.ranking.models import (
    Exemption,
    Level,
    LevelResult,
    ListKind,
    RankedRow,
    RoundContext,
    RoundResults,
    RuleSet,
    Snapshot,
)
from guatu.ranking.notices import revision_notices, round_notices
from guatu.ranking.periods import PeriodError, parse_period, previous_period
from guatu.ranking.rules import compute_round, outcomes
from guatu.ranking.rulesets import (
    UnknownRuleSet,
    canonical_json,
    load_ruleset,
    ruleset_canonical,
    sha256,
)
from guatu.ranking.snapshot import load_snapshot, read_snapshot, store_snapshot

log = structlog.get_logger(__name__)
FROZEN_KEPT = 2  # snapshots kept in memory between the freeze and the compute step


def _fail(code: str, message: str) -> ApplicationError:
    return ApplicationError(message, {"code": code}, type=code, non_retryable=True)


async def register_ruleset(conn: asyncpg.Connection, rules: RuleSet) -> str:
    """Store a rule set version once; refuse a different body under the same id and version."""
    text = ruleset_canonical(rules)
    digest = sha256(text)
    await conn.execute(
        "INSERT INTO ranking_rulesets (id, version, body, sha256) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (id, version) DO NOTHING",
        rules.id,
        rules.version,
        text,
        digest,
    )
    stored = await conn.fetchval(
        "SELECT sha256 FROM ranking_rulesets WHERE id = $1 AND version = $2",
        rules.id,
        rules.version,
    )
    if stored != digest:
        raise _fail(
            "ruleset_changed",
            f"规则集 {rules.id} v{rules.version} 内容已变更但未升版本号 / rule set "
            f"{rules.id} v{rules.version} changed without a version bump",
        )
    return digest


async def stored_ruleset(conn: asyncpg.Connection, ruleset_id: str, version: int) -> RuleSet:
    body = await conn.fetchval(
        "SELECT body FROM ranking_rulesets WHERE id = $1 AND version = $2", ruleset_id, version
    )
    return RuleSet.model_validate_json(body)


async def previous_ranks_stored(
    conn: asyncpg.Connection, period: str, ruleset_id: str
) -> dict[str, dict[str, int]] | None:
    """The previous round's ranks, read from the flattened entries (no need to parse a
    whole published document): level → code → rank, every level present; None if not ranked."""
    exists = await conn.fetchval(
        "SELECT 1 FROM ranking_rounds WHERE period = $1 AND ruleset_id = $2", period, ruleset_id
    )
    if exists is None:
        return None
    ranks: dict[str, dict[str, int]] = {level.value: {} for level in Level}
    for r in await conn.fetch(
        "SELECT level, code, rank FROM ranking_entries WHERE period = $1 AND ruleset_id = $2"
        " ORDER BY level, rank",
        period,
        ruleset_id,
    ):
        ranks.setdefault(r["level"], {})[r["code"]] = r["rank"]
    return ranks


async def build_context(conn: asyncpg.Connection, period: str, ruleset_id: str) -> RoundContext:
    previous = previous_period(period).key
    ranks = await previous_ranks_stored(conn, previous, ruleset_id)
    exemptions = {
        r["bureau"]: Exemption(
            bureau=r["bureau"],
            period=r["period"],
            reason=r["reason"],
            actor=r["actor"],
            role=r["role"],
            granted_at=r["granted_at"],
            key=r["key"],
        )
        for r in await conn.fetch(
            "SELECT * FROM ranking_exemptions WHERE period = $1 ORDER BY bureau", period
        )
    }
    return RoundContext(
        previous_period=previous if ranks is not None else None,
        previous_ranks=ranks or {},
        exemptions=exemptions,
    )


_ENTRY_COLUMNS = [
    "period",
    "ruleset_id",
    "level",
    "code",
    "name_zh",
    "rank",
    "of_count",
    "score",
    "previous_rank",
    "movement",
    "list",
    "target_met",
    "exempted",
    "investment_ratio",
    "weight",
    "members",
    "bureau",
    "program",
    "breakdown",
]


def _copy_field(value: object) -> str:
    """One field of PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, float):
        # repr is the shortest text that reads back as the very same double.
        return repr(value) if math.isfinite(value) else str(value).replace("inf", "Infinity")
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def _entry_line(period: str, ruleset_id: str, level: Level, r: RankedRow, breakdown: str) -> str:
    """One row of `ranking_entries` in COPY text format (columns as `_ENTRY_COLUMNS`)."""
    return (
        "\t".join(
            [
                _copy_field(v)
                for v in (
                    period,
                    ruleset_id,
                    level.value,
                    r.code,
                    r.name_zh,
                    r.rank,
                    r.of,
                    r.score,
                    r.previous_rank,
                    r.movement,
                    r.listed.value if r.listed else None,
                    r.target_met,
                    r.exempted,
                    r.investment_ratio,
                    r.weight,
                    r.members,
                    r.bureau,
                    r.program,
                    breakdown,
                )
            ]
        )
        + "\n"
    )


async def write_entries(
    conn: asyncpg.Connection,
    results: RoundResults,
    breakdowns: dict[Level, list[str]] | None = None,
) -> None:
    """Flatten the rows of a round into `ranking_entries`, in one COPY.

    `breakdowns` are the rows' breakdowns as JSON text (from `results_text`), in row order. The
    round's row was inserted just before in the same transaction (and the entries reference
    it), so none of its entries can exist yet: a plain COPY, no conflict handling needed.
    """
    if breakdowns is None:
        breakdowns = results_text(results).breakdowns
    with paused_gc():
        data = "".join(
            [
                _entry_line(results.period, results.ruleset_id, level, r, breakdown)
                for level, lr in results.levels.items()
                for r, breakdown in zip(lr.rows, breakdowns[level], strict=True)
            ]
        ).encode("utf-8")
    await conn.copy_to_table(
        "ranking_entries", source=io.BytesIO(data), columns=_ENTRY_COLUMNS, format="text"
    )


async def publish(conn: asyncpg.Connection, results: RoundResults) -> str:
    """Write the entries of a round while its canonical JSON is being written: PostgreSQL
    parses and stores the rows (on its own core) as they come. Returns the JSON."""
    writer = ResultsWriter(results)
    chunk = 1 << 20

    async def lines() -> AsyncIterator[bytes]:
        buf: list[str] = []
        size = 0
        with paused_gc():
            for level, r, breakdown in writer.rows():
                line = _entry_line(results.period, results.ruleset_id, level, r, breakdown)
                buf.append(line)
                size += len(line)
                if size >= chunk:
                    yield "".join(buf).encode("utf-8")
                    buf, size = [], 0
        if buf:
            yield "".join(buf).encode("utf-8")

    await conn.copy_to_table(
        "ranking_entries", source=lines(), columns=_ENTRY_COLUMNS, format="text"
    )
    with paused_gc():
        return writer.text()


@dataclass
class Revise:
    """A refreeze: publish the next revision from the snapshot `snapshot_sha256`, once per run."""

    snapshot_sha256: str
    reason: str
    actor: str
    run_id: str


async def compute_and_store(
    conn: asyncpg.Connection,
    period: str,
    ruleset_id: str,
    workflow_id: str = "",
    frozen: tuple[Snapshot, str] | None = None,
    revise: Revise | None = None,
) -> tuple[RoundResults, str, bool, RuleSet, int]:
    """Compute a round from its frozen snapshot; store it, or verify it against the stored one.

    Returns (results, results_sha256, reproduced, rules, revision). Must run inside a
    transaction. `frozen` is (snapshot, sha256) this process has just frozen: used if the
    stored snapshot of the period has that digest. A plain run of a published round verifies
    its latest revision against the snapshot that revision was computed from; `revise`
    publishes the next revision instead (see guatu.ranking.revisions).
    """
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext($1))", f"ranking:{period}:{ruleset_id}"
    )
    existing = await conn.fetchrow(
        "SELECT ruleset_version, context, results_sha256, snapshot_sha256, revision, run_id"
        " FROM ranking_rounds WHERE period = $1 AND ruleset_id = $2",
        period,
        ruleset_id,
    )
    if revise is not None and existing is not None and existing["run_id"] != revise.run_id:
        return await _publish_revision(
            conn, period, ruleset_id, workflow_id, frozen, revise, existing
        )
    wanted = (
        existing["snapshot_sha256"]
        if existing is not None
        else (revise.snapshot_sha256 if revise is not None else None)
    )
    if wanted is not None:
        found = await revisions.snapshot_by_sha(conn, period, wanted, frozen)
        stored = (found[0], found[1]) if found is not None else None
    else:
        stored = await load_snapshot(conn, period, *(frozen or (None, "")))
    if stored is None:
        raise _fail("not_frozen", f"{period} 尚未冻结快照 / period {period} has no snapshot")
    snapshot, snapshot_sha = stored
    if existing is not None:
        # A re-run reproduces the round with the rule version and context it was published with.
        rules = await stored_ruleset(conn, ruleset_id, existing["ruleset_version"])
        rules_sha = sha256(ruleset_canonical(rules))
        context = RoundContext.model_validate_json(existing["context"])
    else:
        try:
            rules = load_ruleset(ruleset_id)
        except (UnknownRuleSet, ValidationError) as err:
            raise _fail(
                "bad_ruleset",
                f"规则集 {ruleset_id} 无法读取 / rule set {ruleset_id!r} cannot be loaded: {err}",
            ) from None
        rules_sha = await register_ruleset(conn, rules)
        context = await build_context(conn, period, ruleset_id)
    results = compute_round(
        snapshot, rules, context, ruleset_sha256=rules_sha, snapshot_sha256=snapshot_sha
    )
    if existing is not None:
        digest = sha256(results_text(results).text)
        if digest != existing["results_sha256"] or snapshot_sha != existing["snapshot_sha256"]:
            raise _fail(
                "not_reproducible",
                f"{period} {ruleset_id} 重算结果与已发布结果不一致 / recomputed results of "
                f"{period} {ruleset_id} differ from the published ones",
            )
        await conn.execute(
            "UPDATE ranking_rounds SET verified_at = now(), verifications = verifications + 1"
            " WHERE period = $1 AND ruleset_id = $2",
            period,
            ruleset_id,
        )
        return results, digest, True, rules, existing["revision"]
    # The round's row first (its entries reference it), its results once they are written.
    await conn.execute(
        "INSERT INTO ranking_rounds (period, ruleset_id, ruleset_version, kind, close_date,"
        " snapshot_sha256, context, results, results_sha256, workflow_id, snapshot_revision)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,'','',$8, COALESCE((SELECT revision FROM"
        " ranking_snapshots WHERE period = $1 AND sha256 = $6), (SELECT max(revision) FROM"
        " ranking_snapshot_archive WHERE period = $1 AND sha256 = $6), 1))",
        period,
        ruleset_id,
        rules.version,
        snapshot.kind,
        snapshot.close,
        snapshot_sha,
        canonical_json(context.model_dump(mode="json")),
        workflow_id,
    )
    if revise is not None:
        await conn.execute(
            "UPDATE ranking_rounds SET reason = $3, actor = $4, run_id = $5"
            " WHERE period = $1 AND ruleset_id = $2",
            period,
            ruleset_id,
            revise.reason,
            revise.actor,
            revise.run_id,
        )
    digest = await _write_results(conn, period, ruleset_id, results)
    return results, digest, False, rules, 1


async def _write_results(
    conn: asyncpg.Connection, period: str, ruleset_id: str, results: RoundResults
) -> str:
    """The entries and the canonical document of a round whose row exists and has no entries."""
    try:
        async with conn.transaction():
            text = await publish(conn, results)
    except ValueError:
        # A value canonical JSON refuses (NaN): the model dump's way, all at once.
        published = results_text(results)
        text = published.text
        await write_entries(conn, results, published.breakdowns)
    digest = sha256(text)
    await conn.execute(
        "UPDATE ranking_rounds SET results = $3, results_sha256 = $4"
        " WHERE period = $1 AND ruleset_id = $2",
        period,
        ruleset_id,
        text,
        digest,
    )
    return digest


async def _publish_revision(
    conn: asyncpg.Connection,
    period: str,
    ruleset_id: str,
    workflow_id: str,
    frozen: tuple[Snapshot, str] | None,
    revise: Revise,
    existing: asyncpg.Record,
) -> tuple[RoundResults, str, bool, RuleSet, int]:
    """The next revision of a published round: from the snapshot this run froze again, under
    the rule set version the round was published with (a revision corrects inputs, not rules),
    with its context (previous ranks, exemptions) read afresh."""
    found = await revisions.snapshot_by_sha(conn, period, revise.snapshot_sha256, frozen)
    if found is None:
        raise _fail(
            "not_frozen",
            f"{period} 的重新冻结快照不存在 / period {period} has no "
            f"snapshot {revise.snapshot_sha256[:12]}",
        )
    snapshot, snapshot_sha, snapshot_revision = found
    rules = await stored_ruleset(conn, ruleset_id, existing["ruleset_version"])
    rules_sha = sha256(ruleset_canonical(rules))
    context = await build_context(conn, period, ruleset_id)
    results = compute_round(
        snapshot, rules, context, ruleset_sha256=rules_sha, snapshot_sha256=snapshot_sha
    )
    revision = existing["revision"] + 1
    diff = await revisions.changes(conn, results, existing["revision"])
    await revisions.archive_round(conn, period, ruleset_id)
    await conn.execute(
        "UPDATE ranking_rounds SET revision = $3, snapshot_revision = $4, snapshot_sha256 = $5,"
        " context = $6, results = '', results_sha256 = '', workflow_id = $7, reason = $8,"
        " actor = $9, run_id = $10, changes = $11, computed_at = now(), verified_at = NULL,"
        " verifications = 0 WHERE period = $1 AND ruleset_id = $2",
        period,
        ruleset_id,
        revision,
        snapshot_revision,
        snapshot_sha,
        canonical_json(context.model_dump(mode="json")),
        workflow_id,
        revise.reason,
        revise.actor,
        revise.run_id,
        diff,
    )
    digest = await _write_results(conn, period, ruleset_id, results)
    log.info(
        "ranking revision published",
        period=period,
        ruleset=ruleset_id,
        revision=revision,
        reason=revise.reason,
        actor=revise.actor,
        sha256=digest[:12],
    )
    return results, digest, False, rules, revision


async def bureau_results(
    conn: asyncpg.Connection, period: str, ruleset_id: str
) -> tuple[RoundResults, datetime] | None:
    """The bureau level of a published round (all its notices need), read from the flattened
    entries rather than by parsing the whole document, and when it was computed."""
    head = await conn.fetchrow(
        "SELECT period, kind, close_date, ruleset_id, ruleset_version, snapshot_sha256,"
        " computed_at FROM ranking_rounds WHERE period = $1 AND ruleset_id = $2",
        period,
        ruleset_id,
    )
    if head is None:
        return None
    entries = await conn.fetch(
        "SELECT code, name_zh, rank, of_count, score, previous_rank, movement, list,"
        " target_met, exempted, investment_ratio, weight, members, bureau, program,"
        " breakdown::text AS breakdown FROM ranking_entries"
        " WHERE period = $1 AND ruleset_id = $2 AND level = 'bureau' ORDER BY rank",
        period,
        ruleset_id,
    )
    with paused_gc():
        rows = [
            RankedRow.model_construct(
                level=Level.BUREAU,
                code=r["code"],
                name_zh=r["name_zh"],
                rank=r["rank"],
                of=r["of_count"],
                score=r["score"],
                previous_rank=r["previous_rank"],
                movement=r["movement"],
                listed=ListKind(r["list"]) if r["list"] else None,
                target_met=r["target_met"],
                exempted=r["exempted"],
                investment_ratio=r["investment_ratio"],
                weight=r["weight"],
                members=r["members"],
                bureau=r["bureau"],
                program=r["program"],
                breakdown=json.loads(r["breakdown"]),
            )
            for r in entries
        ]
    level = LevelResult.model_construct(
        rows=rows,
        red_list=[r.code for r in rows if r.listed is ListKind.RED],
        black_list=[r.code for r in rows if r.listed is ListKind.BLACK],
        exempted=[r.code for r in rows if r.exempted],
    )
    results = RoundResults.model_construct(
        period=head["period"],
        kind=head["kind"],
        close=head["close_date"],
        ruleset_id=head["ruleset_id"],
        ruleset_version=head["ruleset_version"],
        ruleset_sha256="",
        snapshot_sha256=head["snapshot_sha256"],
        context=RoundContext(),
        levels={Level.BUREAU: level},
    )
    return results, head["computed_at"]


async def _revision_head(
    conn: asyncpg.Connection, period: str, ruleset_id: str, revision: int
) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT revision, reason, actor, changes::text AS changes FROM ranking_rounds"
        " WHERE period = $1 AND ruleset_id = $2",
        period,
        ruleset_id,
    )
    if row is None or row["revision"] != revision:
        raise _fail("not_computed", f"{period} {ruleset_id} has no revision {revision}")
    return {
        "revision": revision,
        "reason": row["reason"],
        "actor": row["actor"],
        "changes": json.loads(row["changes"]) if row["changes"] else {},
    }


class RankingActivities:
    def __init__(self, pool: asyncpg.Pool, client: Client) -> None:
        self.pool = pool
        self.client = client
        # period → (snapshot, sha256) frozen by this process and not computed yet: the compute
        # step that follows uses it instead of parsing the stored body again.
        self._frozen: dict[str, tuple[Snapshot, str]] = {}

    @activity.defn(name=c.ACTIVITY_RANKING_FREEZE)
    async def freeze(self, data: FreezeInput) -> FreezeResult:
        try:
            parse_period(data.period)
        except PeriodError as err:
            raise _fail("bad_period", str(err)) from None
        if data.refreeze:
            return await self._refreeze(data)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext($1))", f"freeze:{data.period}"
            )
            frozen = await load_snapshot(conn, data.period)
            if frozen is not None:
                return FreezeResult(
                    period=data.period,
                    sha256=frozen[1],
                    projects=len(frozen[0].projects),
                    reused=True,
                )
            snapshot = await read_snapshot(conn, data.period, datetime.now(UTC))
            digest, reused = await store_snapshot(conn, snapshot)
        if not reused:
            while len(self._frozen) >= FROZEN_KEPT:
                self._frozen.pop(next(iter(self._frozen)))
            self._frozen[data.period] = (snapshot, digest)
        log.info(
            "ranking snapshot frozen",
            period=data.period,
            projects=len(snapshot.projects),
            sha256=digest[:12],
        )
        return FreezeResult(
            period=data.period, sha256=digest, projects=len(snapshot.projects), reused=reused
        )

    async def _refreeze(self, data: FreezeInput) -> FreezeResult:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext($1))", f"freeze:{data.period}"
            )
            snapshot, digest, revision, reused = await revisions.refreeze(
                conn,
                data.period,
                datetime.now(UTC),
                reason=data.reason,
                actor=data.actor,
                run_id=activity.info().workflow_run_id or "",
            )
        if snapshot is not None:
            while len(self._frozen) >= FROZEN_KEPT:
                self._frozen.pop(next(iter(self._frozen)))
            self._frozen[data.period] = (snapshot, digest)
        log.info(
            "ranking snapshot frozen again",
            period=data.period,
            revision=revision,
            sha256=digest[:12],
            reused=reused,
            reason=data.reason,
            actor=data.actor,
        )
        return FreezeResult(
            period=data.period,
            sha256=digest,
            reused=reused,
            revision=revision,
            projects=len(snapshot.projects) if snapshot is not None else 0,
        )

    @activity.defn(name=c.ACTIVITY_RANKING_COMPUTE)
    async def compute(self, data: ComputeInput) -> ComputeResult:
        revise = (
            Revise(
                data.snapshot_sha256, data.reason, data.actor, activity.info().workflow_run_id or ""
            )
            if data.refreeze
            else None
        )
        async with self.pool.acquire() as conn, conn.transaction():
            results, digest, reproduced, rules, revision = await compute_and_store(
                conn,
                data.period,
                data.ruleset_id,
                data.workflow_id,
                self._frozen.pop(data.period, None),
                revise,
            )
        bureaus = results.levels[Level.BUREAU]
        log.info(
            "ranking computed",
            period=data.period,
            ruleset=data.ruleset_id,
            sha256=digest[:12],
            reproduced=reproduced,
            red=bureaus.red_list,
            black=bureaus.black_list,
        )
        return ComputeResult(
            period=data.period,
            ruleset_id=data.ruleset_id,
            ruleset_version=rules.version,
            snapshot_sha256=results.snapshot_sha256,
            results_sha256=digest,
            reproduced=reproduced,
            outcomes=outcomes(results),
            ladder=rules.ladder,
            exemption=rules.exemption,
            red_list=bureaus.red_list,
            black_list=bureaus.black_list,
            exempted=bureaus.exempted,
            revision=revision,
            reason=data.reason if revise is not None else "",
            actor=data.actor if revise is not None else "",
        )

    @activity.defn(name=c.ACTIVITY_RANKING_FEED_LADDER)
    async def feed_ladder(self, data: FeedLadderInput) -> FeedLadderResult:
        o = data.outcome
        handle = await ensure_ladder(
            self.client,
            self.pool,
            o.bureau,
            task_queue=activity.info().task_queue,
            clock=data.clock,
            name_zh=o.name_zh,
            exemption_rules=data.exemption,
        )
        update_id = f"{c.UPDATE_RECORD_PERIOD}:{o.ruleset_id}:{o.period}"
        if data.revision > 1:
            update_id += f":r{data.revision}"
        try:
            result = await handle.execute_update(
                c.UPDATE_RECORD_PERIOD,
                RecordPeriodInput(
                    outcome=o,
                    ladder=data.ladder,
                    exemption=data.exemption,
                    revision=data.revision,
                    reason=data.reason,
                    actor=data.actor,
                ),
                id=update_id,
                result_type=RecordPeriodResult,
            )
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type == "InputRejected":
                log.warning(
                    "ladder refused a period",
                    bureau=o.bureau,
                    period=o.period,
                    reason=cause.message,
                )
                return FeedLadderResult(bureau=o.bureau, accepted=False, rejected=cause.message)
            raise
        return FeedLadderResult(
            bureau=o.bureau,
            accepted=True,
            duplicate=result.duplicate,
            level_before=result.level_before,
            level_after=result.level_after,
            decisions=result.decision_keys or [d.key for d in result.decisions],
            withdrawn=result.withdrawn,
        )

    @activity.defn(name=c.ACTIVITY_RANKING_NOTICES)
    async def round_notices(self, data: RoundNoticesInput) -> list[Notice]:
        async with self.pool.acquire() as conn, conn.transaction():
            published = await bureau_results(conn, data.period, data.ruleset_id)
            if published is None:
                raise _fail("not_computed", f"{data.period} {data.ruleset_id} has no results")
            if data.revision > 1:
                notices = revision_notices(
                    *published,
                    await _revision_head(conn, data.period, data.ruleset_id, data.revision),
                )
            else:
                notices = round_notices(*published)
            await insert_notices(conn, notices)
        return notices


async def insert_notices(conn: asyncpg.Connection, notices: list[Notice]) -> None:
    """Outbox rows, one per key: a retried write adds nothing."""
    await write_notifications(
        conn,
        [NotificationRow.of(n, blank_project_null=True) for n in notices],
        duplicates="skip",
    )


async def insert_audit(
    conn: asyncpg.Connection, entries: list[AuditEntry], project: str | None = None
) -> None:
    """Accepted inputs, one audit row per key: a retried write adds nothing."""
    await write_audit(
        conn, [AuditRow(**a.model_dump(), project=project) for a in entries], duplicates="skip"
    )
