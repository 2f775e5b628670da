"""Bureaus and programs scored from their projects, then ranked: ties, movement, red and black
lists (竞进比拼 排名与红黑榜). Pure: no clock, no I/O, no randomness.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from guatu.ranking.models import (
    Level,
    LevelResult,
    Line,
    ListKind,
    ListSize,
    ProjectInput,
    RankedRow,
    RoundContext,
    RuleSet,
    TieKey,
    WeightBy,
    trusted,
)
from guatu.ranking.scoring import (
    BASIS_EN,
    BASIS_ZH,
    TIE_ZH,
    Scored,
    explain_line,
    investment,
    pct,
    pts,
    ratio_of,
    wan,
)

# ---------------------------------------------------------------------------------------------
# Bureaus and programs
# ---------------------------------------------------------------------------------------------


def aggregate(
    level: Level,
    code: str,
    name_zh: str,
    members: Sequence[Scored],
    inputs: Sequence[ProjectInput],
    rules: RuleSet,
) -> Scored:
    """Investment-weighted mean of the members' scores, and the group's own target."""
    total_w = round(sum(m.weight for m in members), 2)
    weighted = round(sum(m.score * m.weight for m in members), 4)
    if total_w > 0:
        score = round(weighted / total_w, 2)
    else:
        score = round(sum(m.score for m in members) / len(members), 2)
    w_zh = "总投资" if rules.weight_by is WeightBy.TOTAL_INVESTMENT else "序时计划投资"
    w_en = (
        "total investment"
        if rules.weight_by is WeightBy.TOTAL_INVESTMENT
        else "planned-to-date investment"
    )
    lines = [
        explain_line(
            key="member",
            points=m.score,
            text_zh=f"· {m.code} {m.name_zh}：{pts(m.score)} 分 × 权重 {wan(m.weight)} 万元",
            text_en=f"· {m.code}: {pts(m.score)} × weight {wan(m.weight)} 万元",
            inputs={"code": m.code, "score": m.score, "weight": m.weight},
        )
        for m in members
    ]
    if total_w > 0:
        zh = (
            f"按{w_zh}加权平均 {len(members)} 个项目得分：Σ(得分×权重) {weighted:,.4f} ÷ "
            f"Σ权重 {wan(total_w)} = {pts(score)} 分"
        )
        en = (
            f"{w_en}-weighted mean of {len(members)} project scores: {weighted:,.4f} ÷ "
            f"{wan(total_w)} = {pts(score)}"
        )
    else:
        zh = f"权重合计为 0，取 {len(members)} 个项目得分的算术平均 = {pts(score)} 分"
        en = f"weights sum to 0: plain mean of {len(members)} project scores = {pts(score)}"
    lines.append(
        explain_line(
            key="total",
            points=score,
            text_zh=zh,
            text_en=en,
            inputs={"weighted_sum": weighted, "weight_sum": total_w},
        )
    )
    basis = rules.target.basis
    actual = round(sum(investment(p, basis)[0] for p in inputs), 2)
    planned = round(sum(investment(p, basis)[1] for p in inputs), 2)
    ratio = ratio_of(actual, planned)
    met = ratio >= rules.target.ratio
    lines.append(
        explain_line(
            key="target",
            text_zh=(
                f"序时目标：{BASIS_ZH[basis]}完成投资 {wan(actual)} 万元 ÷ 序时计划 {wan(planned)} 万元"
                f" = {pct(ratio)}，目标 {rules.target.ratio * 100:g}% → {'完成' if met else '未完成'}"
            ),
            text_en=(
                f"period target: {BASIS_EN[basis]} {wan(actual)} ÷ planned {wan(planned)} 万元 = "
                f"{pct(ratio)} against {rules.target.ratio * 100:g} % → {'met' if met else 'missed'}"
            ),
            inputs={
                "basis": basis.value,
                "actual_wan": actual,
                "planned_wan": planned,
                "ratio": ratio,
                "target_ratio": rules.target.ratio,
                "met": met,
            },
        )
    )
    return Scored(level, code, name_zh, score, ratio, total_w, met, lines, len(members))


# ---------------------------------------------------------------------------------------------
# Ranking, ties and lists
# ---------------------------------------------------------------------------------------------


def _key_value(s: Scored, key: TieKey) -> float | str:
    if key is TieKey.SCORE:
        return s.score
    if key is TieKey.INVESTMENT_RATIO:
        return s.investment_ratio
    if key is TieKey.WEIGHT:
        return s.weight
    return s.code


def _sort_key_of(chain: Sequence[TieKey]) -> Any:
    """The sort key for a tie-break chain that already ends with the code."""
    getters: list[Any] = []
    for key in chain:
        if key is TieKey.SCORE:
            getters.append(lambda s: -float(s.score))
        elif key is TieKey.INVESTMENT_RATIO:
            getters.append(lambda s: -float(s.investment_ratio))
        elif key is TieKey.WEIGHT:
            getters.append(lambda s: -float(s.weight))
        else:
            getters.append(lambda s: s.code)
    return lambda s: tuple([g(s) for g in getters])


def sort_key(s: Scored, tie_break: Sequence[TieKey]) -> tuple[object, ...]:
    """Higher score, ratio and weight first; codes A→Z. The code always ends the chain."""
    return _sort_key_of(list(dict.fromkeys([*tie_break, TieKey.CODE])))(s)  # type: ignore[no-any-return]


def rank(items: Sequence[Scored], tie_break: Sequence[TieKey]) -> list[Scored]:
    return sorted(items, key=_sort_key_of(list(dict.fromkeys([*tie_break, TieKey.CODE]))))


def _fmt_key(key: TieKey, value: float | str) -> str:
    if key is TieKey.INVESTMENT_RATIO and isinstance(value, float):
        return pct(value)
    if key is TieKey.WEIGHT and isinstance(value, float):
        return f"{wan(value)} 万元"
    return str(value)


def tie_lines(ranked: Sequence[Scored], tie_break: Sequence[TieKey]) -> dict[str, Line]:
    """For every unit that shares its score with another, the line saying how the tie broke:
    the first key of the chain on which it differs from the unit just above it (for the first
    of the tied group, from the unit just below it)."""
    out: dict[str, Line] = {}
    chain = [k for k in dict.fromkeys([*tie_break, TieKey.CODE]) if k is not TieKey.SCORE]
    start = 0
    while start < len(ranked):
        end = start
        while end + 1 < len(ranked) and ranked[end + 1].score == ranked[start].score:
            end += 1
        if end > start:
            group = ranked[start : end + 1]
            for i, s in enumerate(group):
                # Why it stands below the unit just above it (the first: above the next one).
                other = group[i - 1] if i > 0 else group[1]
                neighbours = [other]
                decider = next(
                    (k for k in chain if _key_value(other, k) != _key_value(s, k)), TieKey.CODE
                )
                value = _fmt_key(decider, _key_value(s, decider))
                # The first five others: they are all among the group's first six (not O(n²)).
                shown = [o.code for o in group[:6] if o is not s][:5]
                more = len(group) - 1 - len(shown)
                names = "、".join(shown) + (f" 等 {len(group) - 1} 个" if more else " ")
                out[s.code] = explain_line(
                    key="tie_break",
                    points=None,
                    max_points=None,
                    text_zh=(
                        f"与 {names}同为 {pts(s.score)} 分，按「{TIE_ZH[decider]}」排序"
                        f"（本单位 {value}；次序：{' → '.join(TIE_ZH[k] for k in chain)}）"
                    ),
                    text_en=(
                        f"tied on {pts(s.score)} with {len(group) - 1} other(s); ordered by "
                        f"{decider.value} (here {value}; chain: "
                        f"{' → '.join(k.value for k in chain)})"
                    ),
                    inputs={
                        "tied": len(group),
                        "neighbours": [o.code for o in neighbours],
                        "decided_by": decider.value,
                    },
                )
        start = end + 1
    return out


def _movement_line(previous_period: str | None, previous: int | None, rank_now: int) -> Line:
    if previous is None:
        return explain_line(
            key="movement",
            text_zh="上期未参与排名",
            text_en="not ranked last period",
            inputs={"previous_period": previous_period},
        )
    move = previous - rank_now
    if move > 0:
        zh, en = (
            f"较上期（{previous_period} 第 {previous} 名）上升 {move} 位",
            f"up {move} from #{previous}",
        )
    elif move < 0:
        zh, en = (
            f"较上期（{previous_period} 第 {previous} 名）下降 {-move} 位",
            f"down {-move} from #{previous}",
        )
    else:
        zh, en = f"与上期（{previous_period}）持平，第 {previous} 名", f"unchanged at #{previous}"
    return explain_line(
        key="movement",
        text_zh=zh,
        text_en=en,
        inputs={"previous_period": previous_period, "previous_rank": previous, "movement": move},
    )


def rank_level(
    level: Level, scored: Sequence[Scored], rules: RuleSet, context: RoundContext, exemptions: bool
) -> LevelResult:
    ranked = rank(scored, rules.tie_break)
    ties = tie_lines(ranked, rules.tie_break)
    size = rules.lists.get(level, ListSize(red=0, black=0))
    n = len(ranked)
    red_cut = min(size.red, n)
    black_from = n - min(size.black, n)
    previous = context.previous_ranks.get(level.value, {})
    result = LevelResult()
    for i, s in enumerate(ranked, start=1):
        lines = list(s.lines)
        if s.code in ties:
            lines.append(ties[s.code])
        prev = previous.get(s.code)
        lines.append(_movement_line(context.previous_period, prev, i))
        listed: ListKind | None = None
        exempted = False
        if i <= red_cut and size.red:
            if s.target_met:
                listed = ListKind.RED
                lines.append(
                    explain_line(
                        key="list",
                        text_zh=f"排名前 {size.red} 且完成序时目标 → 列入红榜",
                        text_en=f"in the top {size.red} and met the target → red list",
                    )
                )
            else:
                lines.append(
                    explain_line(
                        key="list",
                        text_zh=f"排名前 {size.red} 但未完成序时目标 → 不列入红榜",
                        text_en=f"in the top {size.red} but missed the target → not on the red list",
                    )
                )
        if i > black_from and size.black and listed is None:
            if s.target_met:
                lines.append(
                    explain_line(
                        key="list",
                        text_zh=f"排名后 {size.black} 但完成序时目标 → 不列入黑榜",
                        text_en=f"in the bottom {size.black} but met the target → not on the black list",
                    )
                )
            elif exemptions and s.code in context.exemptions:
                ex = context.exemptions[s.code]
                exempted = True
                lines.append(
                    explain_line(
                        key="list",
                        text_zh=(
                            f"排名后 {size.black} 且未完成序时目标，但因不可抗力（{ex.reason}）"
                            f"经 {ex.actor} 批准免于列入黑榜"
                        ),
                        text_en=(
                            f"in the bottom {size.black} and missed the target, exempted for force "
                            f"majeure by {ex.actor}: {ex.reason}"
                        ),
                        inputs={"exemption": ex.model_dump(mode="json")},
                    )
                )
            else:
                listed = ListKind.BLACK
                lines.append(
                    explain_line(
                        key="list",
                        text_zh=f"排名后 {size.black} 且未完成序时目标 → 列入黑榜",
                        text_en=f"in the bottom {size.black} and missed the target → black list",
                    )
                )
        row = trusted(
            RankedRow,
            {
                "level": level,
                "code": s.code,
                "name_zh": s.name_zh,
                "rank": i,
                "of": n,
                "score": s.score,
                "previous_rank": prev,
                "movement": None if prev is None else prev - i,
                "listed": listed,
                "target_met": s.target_met,
                "exempted": exempted,
                "investment_ratio": s.investment_ratio,
                "weight": s.weight,
                "members": s.members,
                "bureau": s.bureau,
                "program": s.program,
                "breakdown": lines,
                "red_projects": s.red_projects,
            },
        )
        result.rows.append(row)
        if listed is ListKind.RED:
            result.red_list.append(s.code)
        elif listed is ListKind.BLACK:
            result.black_list.append(s.code)
        if exempted:
            result.exempted.append(s.code)
    return result
