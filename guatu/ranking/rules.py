"""The pure functions of 竞进比拼: one round computed from a frozen snapshot, and what each
bureau's ladder needs from it.

Everything here is deterministic arithmetic over frozen inputs: no clock, no I/O, no
randomness. The compute activity and the what-if replay call the very same functions, so a replay
under the same rule set reproduces a published ranking byte for byte, and a replay under another
rule set differs only by the rules. The steps live in `guatu.ranking.scoring` (one project) and
`guatu.ranking.ranks` (bureaus, programs, ties and lists); the ladder's steps in
`guatu.ladder.rules`.

Rounding (documented in config/rules/README.md): ratios to 4 decimals, points and scores to
2 decimals, each component rounded before it is added.
"""

from __future__ import annotations

from guatu.ranking.canonical import paused_gc
from guatu.ranking.messages import BureauOutcome
from guatu.ranking.models import (
    Level,
    ProjectInput,
    RedProject,
    RoundContext,
    RoundResults,
    RuleSet,
    Snapshot,
)
from guatu.ranking.periods import parse_period
from guatu.ranking.ranks import aggregate, rank_level
from guatu.ranking.scoring import Scored, red_streak, score_project


def in_scope(snapshot: Snapshot) -> list[ProjectInput]:
    return sorted(snapshot.projects, key=lambda p: p.code)


def compute_round(
    snapshot: Snapshot,
    rules: RuleSet,
    context: RoundContext,
    *,
    ruleset_sha256: str = "",
    snapshot_sha256: str = "",
) -> RoundResults:
    """Score, rank and list every project, program and bureau of a frozen period."""
    with paused_gc():
        return _compute_round(snapshot, rules, context, ruleset_sha256, snapshot_sha256)


def _compute_round(
    snapshot: Snapshot,
    rules: RuleSet,
    context: RoundContext,
    ruleset_sha256: str,
    snapshot_sha256: str,
) -> RoundResults:
    period = parse_period(snapshot.period)
    projects = in_scope(snapshot)
    scored = [score_project(p, rules, period) for p in projects]
    by_code = {p.code: p for p in projects}
    streaks = {p.code: red_streak(p.red_months, period.last_month) for p in projects}

    def groups(attr: str) -> dict[str, list[Scored]]:
        out: dict[str, list[Scored]] = {}
        for s in scored:
            out.setdefault(getattr(by_code[s.code], attr), []).append(s)
        return dict(sorted(out.items()))

    bureaus: list[Scored] = []
    for code, members in groups("bureau").items():
        unit = aggregate(
            Level.BUREAU,
            code,
            snapshot.bureaus.get(code, code),
            members,
            [by_code[m.code] for m in members],
            rules,
        )
        unit.red_projects = [
            RedProject(
                code=m.code,
                name_zh=m.name_zh,
                streak=streaks[m.code],
                red_months=sorted(x for x in by_code[m.code].red_months if x <= period.last_month)[
                    -12:
                ],
            )
            for m in members
            if streaks[m.code] > 0
        ]
        bureaus.append(unit)
    programs = [
        aggregate(
            Level.PROGRAM,
            code,
            snapshot.programs.get(code, code),
            members,
            [by_code[m.code] for m in members],
            rules,
        )
        for code, members in groups("program").items()
    ]
    return RoundResults(
        period=snapshot.period,
        kind=snapshot.kind,
        close=snapshot.close,
        ruleset_id=rules.id,
        ruleset_version=rules.version,
        ruleset_sha256=ruleset_sha256,
        snapshot_sha256=snapshot_sha256,
        context=context,
        levels={
            Level.BUREAU: rank_level(Level.BUREAU, bureaus, rules, context, exemptions=True),
            Level.PROGRAM: rank_level(Level.PROGRAM, programs, rules, context, exemptions=False),
            Level.PROJECT: rank_level(Level.PROJECT, scored, rules, context, exemptions=False),
        },
    )


def previous_ranks(results: RoundResults | None) -> dict[str, dict[str, int]]:
    if results is None:
        return {}
    return {level.value: {r.code: r.rank for r in lr.rows} for level, lr in results.levels.items()}


def outcomes(results: RoundResults) -> list[BureauOutcome]:
    """What each bureau's ladder needs from a round."""
    out: list[BureauOutcome] = []
    for row in results.levels[Level.BUREAU].rows:
        ex = results.context.exemptions.get(row.code) if row.exempted else None
        reasons = [line for line in row.breakdown if line["key"] in ("total", "target", "list")]
        out.append(
            BureauOutcome(
                bureau=row.code,
                name_zh=row.name_zh,
                period=results.period,
                kind=results.kind,
                ruleset_id=results.ruleset_id,
                ruleset_version=results.ruleset_version,
                rank=row.rank,
                of=row.of,
                score=row.score,
                movement=row.movement,
                listed=row.listed,
                target_met=row.target_met,
                exempted=row.exempted,
                exemption_reason=ex.reason if ex else "",
                investment_ratio=row.investment_ratio,
                reasons_zh=[line["text_zh"] for line in reasons],
                reasons_en=[line["text_en"] for line in reasons],
                red_projects=row.red_projects,
            )
        )
    return out


__all__ = ["compute_round", "in_scope", "outcomes", "previous_ranks"]
