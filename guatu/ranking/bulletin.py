"""The monthly 通报 (关于…竞进比拼情况的通报): what it says, read from a published round.

`load` reads one revision of a period's round — its results document and frozen snapshot
(latest or archived, byte for byte as published), the rule set version it was ranked under,
and the ladder decisions that revision made for the period — never live project data, so the
document downloaded today and next year says the same thing. `build` renders it
(`guatu.ranking.bulletin_doc`) off the event loop. The API (`GET /api/v1/rankings/bulletin`)
and the CLI (`guatu ranking bulletin`) both call `build`.

Ladder decisions that follow a round later (a correction plan sent, a missed deadline escalated)
belong to later documents: only the decisions a round's ladders took for its period are read,
and order deadlines come from the decision, not from the order's current state.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg

from guatu.ranking import queries
from guatu.ranking.actions import ACTION_ZH, ActionKind
from guatu.ranking.canonical import paused_gc
from guatu.ranking.models import Level, LevelResult, RankedRow, RoundResults, RuleSet, Snapshot
from guatu.ranking.periods import KIND_ZH, PeriodKind, parse_period
from guatu.ranking.scoring import BASIS_ZH, investment

# The coordinating office that circulates the 通报 (config/bureaus.json `xfb`).
ISSUER_ZH = "区幸福办"

_NONE = LevelResult()

# Decisions a round's ladders take for its period, in the order the 通报 tells them. Later
# steps of an order (plan submitted, escalation) and exemptions granted by hand are not part of
# a round: the exemptions it honoured are in its results.
TOLD = (
    ActionKind.COMMENDATION,
    ActionKind.AWARD,
    ActionKind.NOTICE,
    ActionKind.SUMMONS,
    ActionKind.SUPERVISION,
    ActionKind.PROJECT_SUPERVISION,
    ActionKind.STEP_DOWN,
    ActionKind.ORDER_CLOSED,
    ActionKind.EXEMPTED,
)


@dataclass(frozen=True)
class Decision:
    """One ladder decision of the period as the 通报 tells it."""

    key: str
    kind: ActionKind
    kind_zh: str
    bureau: str
    bureau_name: str
    project: str | None
    project_name: str
    deadline: date | None
    lines_zh: list[str]
    revision: int  # the round revision that made (or, for a withdrawal, withdrew) it


@dataclass(frozen=True)
class Investment:
    """Completed investment against the 序时 plan of one program (万元)."""

    code: str
    name_zh: str
    actual_wan: float
    planned_wan: float


@dataclass(frozen=True)
class Bulletin:
    period: str
    label_zh: str
    kind_zh: str
    close: date
    published_at: datetime  # when this revision was published
    ruleset_id: str
    ruleset_version: int
    ruleset_name_zh: str
    basis_zh: str
    revision: int
    reason: str
    actor: str
    results_sha256: str
    bureaus: list[RankedRow]
    programs: list[RankedRow]
    projects: int
    red_list: list[RankedRow]
    black_list: list[RankedRow]
    program_red_list: list[RankedRow]
    program_black_list: list[RankedRow]
    exempted: list[tuple[RankedRow, str]]  # (bureau, reason)
    decisions: list[Decision]  # standing in this revision
    withdrawn: list[Decision] = field(default_factory=list)  # withdrawn by this revision
    changes: dict[str, Any] | None = None  # what this revision changed (stored with it)
    investment: list[Investment] = field(default_factory=list)

    @property
    def filename(self) -> str:
        rev = f"-第{self.revision}版" if self.revision > 1 else ""
        return f"通报-{self.period}{rev}.docx"


async def _head(
    conn: asyncpg.Connection, period: str, ruleset_id: str, revision: int | None
) -> asyncpg.Record | None:
    """The stored round of `revision` (None: the latest), latest or archived."""
    columns = (
        "revision, ruleset_version, kind, close_date, snapshot_sha256, results,"
        " results_sha256, reason, actor, computed_at, changes::text AS changes"
    )
    latest = await conn.fetchrow(
        f"SELECT {columns} FROM ranking_rounds WHERE period = $1 AND ruleset_id = $2",
        period,
        ruleset_id,
    )
    if latest is None:
        return None
    if revision is None or revision == latest["revision"]:
        return latest
    old = await conn.fetchrow(
        f"SELECT {columns} FROM ranking_round_archive WHERE period = $1"
        " AND ruleset_id = $2 AND revision = $3",
        period,
        ruleset_id,
        revision,
    )
    return old


async def _decisions(
    conn: asyncpg.Connection,
    period: str,
    ruleset_id: str,
    revision: int,
    names: dict[str, str],
    projects: dict[str, str],
) -> tuple[list[Decision], list[Decision]]:
    """(standing, withdrawn by `revision`): what revision `revision` of the round decided.

    A decision belongs to the revision that made it (revision 1 records none in its inputs)
    and stands in every later one until a revision withdraws it.
    """
    rows = await conn.fetch(
        "SELECT key, bureau, kind, project, deadline, lines_zh,"
        " coalesce((inputs->>'revision')::int, 1) AS revision,"
        " inputs->>'withdraws' AS withdraws, inputs->>'withdraws_kind' AS withdraws_kind"
        " FROM ladder_decisions WHERE period = $1 AND ruleset_id = $2"
        " AND coalesce((inputs->>'revision')::int, 1) <= $3 ORDER BY key",
        period,
        ruleset_id,
        revision,
    )

    def decision(r: asyncpg.Record, kind: ActionKind) -> Decision:
        project = r["project"]
        lines = r["lines_zh"]
        return Decision(
            key=r["key"],
            kind=kind,
            kind_zh=ACTION_ZH[kind],
            bureau=r["bureau"],
            bureau_name=names.get(r["bureau"], r["bureau"]),
            project=project,
            project_name=projects.get(project, "") if project else "",
            deadline=r["deadline"],
            lines_zh=json.loads(lines) if isinstance(lines, str) else list(lines),
            revision=r["revision"],
        )

    gone = {r["withdraws"] for r in rows if r["kind"] == ActionKind.WITHDRAWN.value}
    told = {k.value for k in TOLD}
    standing = [
        decision(r, ActionKind(r["kind"]))
        for r in rows
        if r["kind"] in told and r["key"] not in gone
    ]
    withdrawn = [
        decision(r, ActionKind(r["withdraws_kind"]))
        for r in rows
        if r["kind"] == ActionKind.WITHDRAWN.value
        and r["revision"] == revision
        and r["withdraws_kind"] in told
    ]
    return _ordered(standing, names), _ordered(withdrawn, names)


def _ordered(items: list[Decision], names: dict[str, str]) -> list[Decision]:
    rank = {code: i for i, code in enumerate(names)}
    return sorted(
        items,
        key=lambda d: (TOLD.index(d.kind), rank.get(d.bureau, len(rank)), d.project or "", d.key),
    )


def _investment(snapshot: Snapshot, results: RoundResults, rules: RuleSet) -> list[Investment]:
    """Per program, the ranked projects' completed investment against their 序时 plan on the
    basis of the rule set's target (the year's plan under `default` v2)."""
    ranked = {r.code for r in results.levels.get(Level.PROJECT, _NONE).rows}
    sums: dict[str, list[float]] = {}
    for p in snapshot.projects:
        if ranked and p.code not in ranked:
            continue
        actual, planned = investment(p, rules.target.basis)
        acc = sums.setdefault(p.program, [0.0, 0.0])
        acc[0] += actual
        acc[1] += planned
    order = [r.code for r in results.levels.get(Level.PROGRAM, _NONE).rows]
    codes = sorted(sums, key=lambda c: (order.index(c) if c in order else len(order), c))
    return [
        Investment(
            code=c,
            name_zh=snapshot.programs.get(c, c),
            actual_wan=round(sums[c][0], 2),
            planned_wan=round(sums[c][1], 2),
        )
        for c in codes
    ]


def _parse(results: str, snapshot_body: str | None) -> tuple[RoundResults, Snapshot | None]:
    with paused_gc():
        return (
            RoundResults.model_validate_json(results),
            Snapshot.model_validate_json(snapshot_body) if snapshot_body else None,
        )


async def load(
    pool: asyncpg.Pool, period: str, *, revision: int | None = None, ruleset_id: str | None = None
) -> Bulletin | None:
    """What the 通报 of `period` (revision `revision`, default the latest) says; None when the
    period (or that revision) was never published."""
    parse_period(period)
    async with pool.acquire() as conn:
        rs = await queries._ruleset(conn, ruleset_id)
        if rs is None:
            return None
        head = await _head(conn, period, rs, revision)
        if head is None:
            return None
        body = await conn.fetchval(
            "SELECT body FROM ranking_rulesets WHERE id = $1 AND version = $2",
            rs,
            head["ruleset_version"],
        )
        # The snapshot this revision ranked (archived when a later revision refroze it).
        snapshot_body = await conn.fetchval(
            "SELECT body FROM ranking_snapshots WHERE period = $1 AND sha256 = $2",
            period,
            head["snapshot_sha256"],
        ) or await conn.fetchval(
            "SELECT body FROM ranking_snapshot_archive WHERE period = $1 AND sha256 = $2"
            " ORDER BY revision DESC LIMIT 1",
            period,
            head["snapshot_sha256"],
        )
        # A results document is megabytes at 10,000 projects: parsed off the event loop.
        results, snapshot = await asyncio.to_thread(_parse, head["results"], snapshot_body)
        bureaus = results.levels.get(Level.BUREAU, _NONE)
        names = {r.code: r.name_zh for r in bureaus.rows}
        project_names = {p.code: p.name_zh for p in snapshot.projects} if snapshot else {}
        for level in results.levels.values():
            for red in (rp for row in level.rows for rp in row.red_projects):
                project_names.setdefault(red.code, red.name_zh)
        decisions, withdrawn = await _decisions(
            conn, period, rs, head["revision"], names, project_names
        )
    rules = RuleSet.model_validate_json(body if isinstance(body, str) else json.dumps(body))
    programs = results.levels.get(Level.PROGRAM, _NONE)
    by_code = {r.code: r for r in bureaus.rows}
    by_program = {r.code: r for r in programs.rows}
    exemptions = results.context.exemptions
    parsed = parse_period(period)
    return Bulletin(
        period=period,
        label_zh=parsed.label_zh,
        kind_zh=KIND_ZH[PeriodKind(head["kind"])],
        close=head["close_date"],
        published_at=head["computed_at"],
        ruleset_id=rs,
        ruleset_version=head["ruleset_version"],
        ruleset_name_zh=rules.name_zh,
        basis_zh=BASIS_ZH[rules.target.basis],
        revision=head["revision"],
        reason=head["reason"],
        actor=head["actor"],
        results_sha256=head["results_sha256"],
        bureaus=list(bureaus.rows),
        programs=list(programs.rows),
        projects=len(results.levels.get(Level.PROJECT, _NONE).rows),
        red_list=[by_code[c] for c in bureaus.red_list if c in by_code],
        black_list=[by_code[c] for c in bureaus.black_list if c in by_code],
        program_red_list=[by_program[c] for c in programs.red_list if c in by_program],
        program_black_list=[by_program[c] for c in programs.black_list if c in by_program],
        exempted=[
            (by_code[c], exemptions[c].reason if c in exemptions else "")
            for c in bureaus.exempted
            if c in by_code
        ],
        decisions=decisions,
        withdrawn=withdrawn,
        changes=json.loads(head["changes"]) if head["changes"] else None,
        investment=_investment(snapshot, results, rules) if snapshot else [],
    )


async def build(
    pool: asyncpg.Pool, period: str, *, revision: int | None = None, ruleset_id: str | None = None
) -> tuple[Bulletin, bytes] | None:
    """The 通报 of a published round as a Word document: (what it says, the .docx bytes)."""
    data = await load(pool, period, revision=revision, ruleset_id=ruleset_id)
    if data is None:
        return None
    return data, await render(data)


async def render(data: Bulletin) -> bytes:
    """The .docx bytes of a loaded 通报 (python-docx and matplotlib: CPU work, off the loop)."""
    from guatu.ranking import bulletin_doc

    return await asyncio.to_thread(bulletin_doc.render, data)


__all__ = ["ISSUER_ZH", "Bulletin", "Decision", "Investment", "build", "load", "render"]
