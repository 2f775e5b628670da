"""The pure functions of 竞进比拼 and 激励奖惩: scores, ranks, lists and ladder steps.

Everything here is deterministic arithmetic over frozen inputs: no clock, no I/O, no
randomness. The compute activity, the BureauLadder workflow and the what-if replay call the
very same functions, so a replay under the same rule set reproduces a published ranking byte
for byte, and a replay under another rule set differs only by the rules.

Rounding (documented in config/rules/README.md): ratios to 4 decimals, points and scores to
2 decimals, each component rounded before it is added.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from guatu.core.clock import add_months, month_key, parse_month
from guatu.ranking.canonical import paused_gc
from guatu.ranking.models import (
    ACTION_ZH,
    ActionKind,
    Basis,
    BureauOutcome,
    Component,
    ComponentKey,
    LadderAction,
    LadderRules,
    LadderStanding,
    LadderState,
    LadderStep,
    Level,
    LevelResult,
    Line,
    ListKind,
    ListSize,
    PeriodStep,
    ProjectInput,
    RankedRow,
    RedProject,
    RoundContext,
    RoundResults,
    RuleSet,
    Snapshot,
    SupervisionOrder,
    TieKey,
    TrackState,
    TrackView,
    WeightBy,
    Window,
    trusted,
)
from guatu.ranking.periods import Period, parse_period, previous_period
from guatu.ranking.society_scoring import SOCIETY_KEYS, society_line

HISTORY_KEPT = 36
LIGHT_ZH = {"green": "绿灯", "yellow": "黄灯", "red": "红灯"}
TIE_ZH = {
    TieKey.SCORE: "得分",
    TieKey.INVESTMENT_RATIO: "序时完成率",
    TieKey.WEIGHT: "投资权重",
    TieKey.CODE: "编码",
}
BASIS_ZH = {
    Basis.CUMULATIVE: "累计",
    Basis.YEAR_TO_DATE: "本年",
    Basis.YEAR_PLAN: "本年（年度计划口径）",
}
BASIS_EN = {
    Basis.CUMULATIVE: "cumulative",
    Basis.YEAR_TO_DATE: "year-to-date",
    Basis.YEAR_PLAN: "year plan",
}


def wan(x: float) -> str:
    """万元 with thousands separators and 2 decimals: 12,345.60."""
    return f"{x:,.2f}"


def pct(ratio: float) -> str:
    return f"{ratio * 100:.2f}%"


def pts(x: float) -> str:
    return f"{x:.2f}"


def _line(
    key: str,
    text_zh: str,
    text_en: str,
    points: float | None = None,
    max_points: float | None = None,
    inputs: dict[str, Any] | None = None,
) -> Line:
    return {
        "key": key,
        "points": points,
        "max_points": max_points,
        "text_zh": text_zh,
        "text_en": text_en,
        "inputs": inputs if inputs is not None else {},
    }


# ---------------------------------------------------------------------------------------------
# Projects
# ---------------------------------------------------------------------------------------------


@dataclass
class Scored:
    """One unit scored for a period, before ranking."""

    level: Level
    code: str
    name_zh: str
    score: float
    investment_ratio: float
    weight: float
    target_met: bool
    lines: list[Line]
    members: int = 1
    bureau: str | None = None
    program: str | None = None
    red_projects: list[RedProject] = field(default_factory=list)


def investment(p: ProjectInput, basis: Basis) -> tuple[float, float]:
    """(actual, planned-to-date) on a basis, 万元."""
    if basis is Basis.YEAR_TO_DATE:
        return p.actual_ytd_wan, p.planned_ytd_wan
    if basis is Basis.YEAR_PLAN:
        return p.actual_ytd_wan, p.year_plan_to_date_wan
    return p.actual_cumulative_wan, p.planned_to_date_wan


def ratio_of(actual: float, planned: float) -> float:
    """actual ÷ planned, 4 decimals; nothing planned yet counts as on plan (1.0)."""
    if planned <= 0:
        return 1.0
    return round(actual / planned, 4)


@lru_cache(maxsize=64)
def _period_months(period: Period) -> frozenset[str]:
    return frozenset(period.months)


def red_streak(red_months: Iterable[str], last_month: str) -> int:
    """Consecutive red months ending with `last_month`."""
    reds = set(red_months)
    n = 0
    cursor = last_month
    while cursor in reds:
        n += 1
        cursor = month_key(add_months(parse_month(cursor), -1))
    return n


def _investment_ratio(p: ProjectInput, c: Component) -> Line:
    actual, planned = investment(p, c.basis)
    ratio = ratio_of(actual, planned)
    capped = min(ratio, c.cap)
    points = round(c.points * capped, 2)
    b_zh, b_en = BASIS_ZH[c.basis], BASIS_EN[c.basis]
    if planned <= 0:
        zh = f"{b_zh}序时计划投资为 0，按完成 100% 计 → {pts(points)} / {c.points:g} 分"
        en = f"nothing planned to date ({b_en}): counts as 100 % → {pts(points)} of {c.points:g}"
    elif c.basis is Basis.YEAR_PLAN:
        # The practice's words: 年度计划完成率 against 时间进度; their quotient is the ratio.
        done = ratio_of(actual, p.year_plan_wan)
        elapsed = ratio_of(planned, p.year_plan_wan)
        cap_zh = f"，封顶 {c.cap * 100:g}%" if ratio > c.cap else ""
        cap_en = f", capped at {c.cap * 100:g} %" if ratio > c.cap else ""
        zh = (
            f"本年累计完成投资 {wan(actual)} 万元，占年度计划 {wan(p.year_plan_wan)} 万元的 "
            f"{pct(done)}，时间进度 {pct(elapsed)}，完成序时计划 {wan(planned)} 万元的 "
            f"{pct(ratio)}{cap_zh} → {c.points:g} × {capped:.4f} = {pts(points)} / {c.points:g} 分"
        )
        en = (
            f"{pct(done)} of this year's plan ({wan(actual)} of {wan(p.year_plan_wan)} 万元) "
            f"against {pct(elapsed)} of the year elapsed: {pct(ratio)} of the 序时 plan "
            f"{wan(planned)} 万元{cap_en} → {c.points:g} × {capped:.4f} = {pts(points)} of "
            f"{c.points:g}"
        )
    else:
        cap_zh = f"，封顶 {c.cap * 100:g}%" if ratio > c.cap else ""
        cap_en = f", capped at {c.cap * 100:g} %" if ratio > c.cap else ""
        zh = (
            f"{b_zh}完成投资 {wan(actual)} 万元，为序时计划 {wan(planned)} 万元的 {pct(ratio)}"
            f"{cap_zh} → {c.points:g} × {capped:.4f} = {pts(points)} / {c.points:g} 分"
        )
        en = (
            f"investment {pct(ratio)} of 序时 plan ({b_en} {wan(actual)} of {wan(planned)} 万元"
            f"{cap_en}) → {c.points:g} × {capped:.4f} = {pts(points)} of {c.points:g}"
        )
    return _line(
        key=c.key.value,
        points=points,
        max_points=round(c.points * c.cap, 2),
        text_zh=zh,
        text_en=en,
        inputs={
            "basis": c.basis.value,
            "actual_wan": actual,
            "planned_wan": planned,
            "ratio": ratio,
            "cap": c.cap,
            "weight_points": c.points,
        },
    )


def _investment_light(p: ProjectInput, c: Component) -> Line:
    actual, planned = investment(p, c.basis)
    ratio = ratio_of(actual, planned)
    behind = round(1 - ratio, 4) if ratio < 1 else 0.0
    light: Literal["green", "yellow", "red"]
    if ratio >= 1:
        light = "green"
    elif behind <= c.red_behind:
        light = "yellow"
    else:
        light = "red"
    points = round(c.light_points.get(light, 0.0), 2)
    top = max(c.light_points.values(), default=c.points)
    b_zh, b_en = BASIS_ZH[c.basis], BASIS_EN[c.basis]
    zh = (
        f"{b_zh}完成投资 {wan(actual)} 万元，为序时计划 {wan(planned)} 万元的 {pct(ratio)}，"
        f"落后 {pct(behind)}（达到序时为绿，落后不超过 {c.red_behind * 100:g}% 为黄，超过为红）"
        f" → {LIGHT_ZH[light]} {pts(points)} / {top:g} 分"
    )
    en = (
        f"{b_en} investment {pct(ratio)} of 序时 plan ({wan(actual)} of {wan(planned)} 万元), "
        f"behind by {pct(behind)} (on plan green, behind ≤ {c.red_behind * 100:g} % yellow, "
        f"more red) → {light} {pts(points)} of {top:g}"
    )
    return _line(
        key=c.key.value,
        points=points,
        max_points=top,
        text_zh=zh,
        text_en=en,
        inputs={
            "basis": c.basis.value,
            "actual_wan": actual,
            "planned_wan": planned,
            "ratio": ratio,
            "behind": behind,
            "light": light,
            "red_behind": c.red_behind,
            "light_points": dict(c.light_points),
        },
    )


def _milestones(p: ProjectInput, c: Component, period: Period) -> Line:
    due = [m for m in p.milestones if m.planned < period.close]
    met = [m for m in due if m.actual is not None and m.actual <= m.planned]
    share = round(len(met) / len(due), 4) if due else 1.0
    points = round(c.points * share, 2)
    if due:
        late = [m.step for m in due if m not in met]
        late_zh = f"（未按期：{'、'.join(late)}）" if late else ""
        zh = (
            f"截至期末应完成节点 {len(due)} 个，按期完成 {len(met)} 个{late_zh} → "
            f"{c.points:g} × {len(met)}/{len(due)} = {pts(points)} / {c.points:g} 分"
        )
        en = (
            f"milestones due so far met on time: {len(met)} of {len(due)}"
            + (f" (late: {', '.join(late)})" if late else "")
            + f" → {pts(points)} of {c.points:g}"
        )
    else:
        zh = f"截至期末无到期节点，按 100% 计 → {pts(points)} / {c.points:g} 分"
        en = f"no milestone due yet: counts as 100 % → {pts(points)} of {c.points:g}"
    return _line(
        key=c.key.value,
        points=points,
        max_points=c.points,
        text_zh=zh,
        text_en=en,
        inputs={"due": [m.step for m in due], "met_on_time": [m.step for m in met], "share": share},
    )


def _reports(p: ProjectInput, c: Component, period: Period) -> Line:
    months = _period_months(period)
    expected = [r for r in p.reports if c.window is Window.TO_DATE or r.month in months]
    on_time = [r for r in expected if r.received and r.on_time]
    share = round(len(on_time) / len(expected), 4) if expected else 1.0
    points = round(c.points * share, 2)
    window_zh = "期内" if c.window is Window.PERIOD else "开工以来"
    if expected:
        missing = [r.month for r in expected if not r.received]
        late = [r.month for r in expected if r.received and not r.on_time]
        notes = ([f"逾期 {'、'.join(late)}"] if late else []) + (
            [f"未报 {'、'.join(missing)}"] if missing else []
        )
        note_zh = f"（{'；'.join(notes)}）" if notes else ""
        zh = (
            f"{window_zh}应报月报 {len(expected)} 期，按时报送 {len(on_time)} 期{note_zh} → "
            f"{c.points:g} × {len(on_time)}/{len(expected)} = {pts(points)} / {c.points:g} 分"
        )
        en = (
            f"monthly reports on time: {len(on_time)} of {len(expected)}"
            + (f" (late: {', '.join(late)})" if late else "")
            + (f" (missing: {', '.join(missing)})" if missing else "")
            + f" → {pts(points)} of {c.points:g}"
        )
    else:
        zh = f"{window_zh}无应报月报，按 100% 计 → {pts(points)} / {c.points:g} 分"
        en = f"no monthly report due: counts as 100 % → {pts(points)} of {c.points:g}"
    return _line(
        key=c.key.value,
        points=points,
        max_points=c.points,
        text_zh=zh,
        text_en=en,
        inputs={
            "expected": [r.month for r in expected],
            "on_time": [r.month for r in on_time],
            "share": share,
        },
    )


def _red_months(p: ProjectInput, c: Component, period: Period) -> Line:
    months = _period_months(period)
    red = sorted(m for m in p.red_months if m in months)
    points = round(-c.points * len(red), 2)
    if red:
        zh = f"期内红灯 {len(red)} 个月（{'、'.join(red)}）→ −{c.points:g} × {len(red)} = {pts(points)} 分"
        en = f"{len(red)} month(s) red in the period ({', '.join(red)}) → {pts(points)}"
    else:
        zh = "期内无红灯月份 → 不扣分"
        en = "no red month in the period → no deduction"
    return _line(
        key=c.key.value,
        points=points,
        max_points=0.0,
        text_zh=zh,
        text_en=en,
        inputs={"red_months": red, "per_month": c.points},
    )


def score_project(p: ProjectInput, rules: RuleSet, period: Period) -> Scored:
    lines: list[Line] = []
    for c in rules.components:
        if c.key is ComponentKey.INVESTMENT_RATIO:
            lines.append(_investment_ratio(p, c))
        elif c.key is ComponentKey.INVESTMENT_LIGHT:
            lines.append(_investment_light(p, c))
        elif c.key is ComponentKey.MILESTONES_ON_TIME:
            lines.append(_milestones(p, c, period))
        elif c.key is ComponentKey.REPORTS_ON_TIME:
            lines.append(_reports(p, c, period))
        elif c.key is ComponentKey.RED_MONTHS:
            lines.append(_red_months(p, c, period))
        elif c.key in SOCIETY_KEYS:
            lines.append(society_line(p, c, period))
    raw = round(sum(line["points"] or 0.0 for line in lines), 2)
    score = raw
    parts = " + ".join(pts(line["points"] or 0.0) for line in lines).replace("+ -", "− ")
    total_zh = f"合计 {parts} = {pts(raw)} 分"
    total_en = f"total {parts} = {pts(raw)}"
    if rules.score_floor is not None and raw < rules.score_floor:
        score = round(rules.score_floor, 2)
        total_zh += f"，不低于 {rules.score_floor:g} 分 → {pts(score)}"
        total_en += f", floored at {rules.score_floor:g} → {pts(score)}"
    lines.append(_line(key="total", points=score, text_zh=total_zh, text_en=total_en))
    actual, planned = investment(p, rules.target.basis)
    ratio = ratio_of(actual, planned)
    weight = (
        p.total_investment_wan
        if rules.weight_by is WeightBy.TOTAL_INVESTMENT
        else p.planned_to_date_wan
    )
    return Scored(
        Level.PROJECT,
        p.code,
        p.name_zh,
        score,
        ratio,
        round(weight, 2),
        ratio >= rules.target.ratio,
        lines,
        1,
        p.bureau,
        p.program,
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
        _line(
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
        _line(
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
        _line(
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
                out[s.code] = _line(
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
        return _line(
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
    return _line(
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
                    _line(
                        key="list",
                        text_zh=f"排名前 {size.red} 且完成序时目标 → 列入红榜",
                        text_en=f"in the top {size.red} and met the target → red list",
                    )
                )
            else:
                lines.append(
                    _line(
                        key="list",
                        text_zh=f"排名前 {size.red} 但未完成序时目标 → 不列入红榜",
                        text_en=f"in the top {size.red} but missed the target → not on the red list",
                    )
                )
        if i > black_from and size.black and listed is None:
            if s.target_met:
                lines.append(
                    _line(
                        key="list",
                        text_zh=f"排名后 {size.black} 但完成序时目标 → 不列入黑榜",
                        text_en=f"in the bottom {size.black} but met the target → not on the black list",
                    )
                )
            elif exemptions and s.code in context.exemptions:
                ex = context.exemptions[s.code]
                exempted = True
                lines.append(
                    _line(
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
                    _line(
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


# ---------------------------------------------------------------------------------------------
# Ladder
# ---------------------------------------------------------------------------------------------


def level_name(levels: Sequence[str], level: int) -> str:
    """The rung a ladder stands on, in Chinese (the action taken on reaching it)."""
    if level <= 0 or not levels:
        return "无"
    return ACTION_ZH[ActionKind(levels[min(level, len(levels)) - 1])]


def level_name_en(levels: Sequence[str], level: int) -> str:
    if level <= 0 or not levels:
        return "none"
    return levels[min(level, len(levels)) - 1]


def track_key(ruleset_id: str, kind: str) -> str:
    return f"{ruleset_id}:{kind}"


_BLACK_ZH = {
    ActionKind.NOTICE: "予以黑榜通报批评，请深刻分析原因、落实整改",
    ActionKind.SUMMONS: "由区领导约谈单位主要负责人，请做好约谈准备并形成整改措施",
    ActionKind.SUPERVISION: "实行区级督办，请于 {days} 日内报送整改方案，逾期将升级督办",
}
_BLACK_EN = {
    ActionKind.NOTICE: "public notice of criticism (通报); analyse the causes and correct",
    ActionKind.SUMMONS: "the head of the bureau is summoned by a district leader (约谈)",
    ActionKind.SUPERVISION: "district supervision (督办): a correction plan is due within {days} days; "
    "missing it escalates",
}


def ladder_step(
    track: TrackState,
    outcome: BureauOutcome,
    rules: LadderRules,
    open_project_orders: Iterable[str] = (),
    exempted_by_ladder: str | None = None,
) -> LadderStep:
    """Apply one period's outcome to one ladder track. Pure: returns the new track and actions.

    - black list (not exempted): one rung up (1 通报, 2 约谈, 3 督办 by default), the action of the
      new rung is taken; the top rung repeats its action every further black-listed period;
    - off the black list: `step_down` rungs down; the black-list streak resets;
    - exempted (force majeure): neutral, nothing moves, nothing resets;
    - red list: 通报表扬; `award_after` red lists running → recommended for award once per streak;
    - monthly: a project red `project_red_months` months running → 督办单 unless one is open; an
      open 督办单 whose project is no longer red is closed (整改销号).
    A period that does not follow the track's last period restarts both streaks (not the level).
    """
    t = track.model_copy(update={"levels": list(rules.levels), "history": list(track.history)})
    period = parse_period(outcome.period)
    actions: list[LadderAction] = []
    head_zh = f"{period.label_zh}（{outcome.ruleset_id} v{outcome.ruleset_version}）"
    rank_zh = f"竞进比拼第 {outcome.rank}/{outcome.of} 名，得分 {pts(outcome.score)}"
    rank_en = f"{outcome.period}: ranked {outcome.rank} of {outcome.of}, score {pts(outcome.score)}"
    consecutive = t.last_period is not None and previous_period(period).key == t.last_period
    restart_zh: list[str] = []
    if not consecutive:
        if t.last_period is not None and (t.black_streak or t.red_streak):
            restart_zh = [f"上一记录期为 {t.last_period}，非连续期间，连续计数重新开始"]
        t.black_streak = 0
        t.red_streak = 0
        t.awarded = False
    before = t.level
    exempt_reason = outcome.exemption_reason if outcome.exempted else (exempted_by_ladder or "")
    exempted = outcome.exempted or (
        exempted_by_ladder is not None and outcome.listed is ListKind.BLACK
    )
    if outcome.listed is ListKind.BLACK and not exempted:
        t.black_streak += 1
        t.level = min(t.level + 1, len(rules.levels))
        kind = ActionKind(rules.levels[t.level - 1])
        due = rules.correction_plan_days if kind is ActionKind.SUPERVISION else None
        actions.append(
            LadderAction(
                kind=kind,
                level_before=before,
                level_after=t.level,
                due_days=due,
                lines_zh=[
                    f"{head_zh}{rank_zh}，未完成序时目标，列入黑榜（连续第 {t.black_streak} 期）",
                    *outcome.reasons_zh,
                    *restart_zh,
                    f"督办等级：「{level_name(rules.levels, before)}」→「{level_name(rules.levels, t.level)}」",
                    f"处理：{_BLACK_ZH[kind].format(days=due)}",
                ],
                lines_en=[
                    f"{rank_en}; target missed; black list ({t.black_streak} running)",
                    *outcome.reasons_en,
                    f"ladder: {level_name_en(rules.levels, before)} → {level_name_en(rules.levels, t.level)}",
                    f"action: {_BLACK_EN[kind].format(days=due)}",
                ],
            )
        )
    elif exempted:
        actions.append(
            LadderAction(
                kind=ActionKind.EXEMPTED,
                level_before=before,
                level_after=t.level,
                lines_zh=[
                    f"{head_zh}{rank_zh}，未完成序时目标，但因不可抗力（{exempt_reason}）免于列入黑榜",
                    f"督办等级保持「{level_name(rules.levels, t.level)}」，连续计数不变",
                ],
                lines_en=[
                    f"{rank_en}; target missed but exempted for force majeure: {exempt_reason}",
                    "ladder and streaks unchanged",
                ],
            )
        )
    else:
        t.black_streak = 0
        if t.level > 0 and rules.step_down > 0:
            t.level = max(t.level - rules.step_down, 0)
            actions.append(
                LadderAction(
                    kind=ActionKind.STEP_DOWN,
                    level_before=before,
                    level_after=t.level,
                    lines_zh=[
                        f"{head_zh}{rank_zh}，未列入黑榜",
                        f"督办等级由「{level_name(rules.levels, before)}」降为「{level_name(rules.levels, t.level)}」",
                    ],
                    lines_en=[
                        f"{rank_en}; off the black list",
                        f"ladder steps down: {level_name_en(rules.levels, before)} → "
                        f"{level_name_en(rules.levels, t.level)}",
                    ],
                )
            )
    if outcome.listed is ListKind.RED:
        t.red_streak += 1
        actions.append(
            LadderAction(
                kind=ActionKind.COMMENDATION,
                level_before=before,
                level_after=t.level,
                lines_zh=[
                    f"{head_zh}{rank_zh}，完成序时目标，列入红榜（连续第 {t.red_streak} 期），予以通报表扬",
                    *outcome.reasons_zh,
                ],
                lines_en=[
                    f"{rank_en}; target met; red list ({t.red_streak} running): commended",
                    *outcome.reasons_en,
                ],
            )
        )
        if t.red_streak >= rules.award_after and not t.awarded:
            t.awarded = True
            actions.append(
                LadderAction(
                    kind=ActionKind.AWARD,
                    level_before=before,
                    level_after=t.level,
                    lines_zh=[f"连续 {t.red_streak} 期列入红榜，推荐评优评先"],
                    lines_en=[f"red list {t.red_streak} periods running: recommended for an award"],
                )
            )
    else:
        t.red_streak = 0
        t.awarded = False
    if period.kind.value in rules.project_order_periods:
        red_now = {rp.code: rp for rp in outcome.red_projects}
        open_orders = set(open_project_orders)
        for code in sorted(red_now):
            rp = red_now[code]
            if rp.streak >= rules.project_red_months and code not in open_orders:
                actions.append(
                    LadderAction(
                        kind=ActionKind.PROJECT_SUPERVISION,
                        level_before=t.level,
                        level_after=t.level,
                        project=code,
                        project_name=rp.name_zh,
                        due_days=rules.project_correction_days,
                        lines_zh=[
                            f"项目「{rp.name_zh}」（{code}）连续 {rp.streak} 个月红灯"
                            f"（{'、'.join(rp.red_months[-rp.streak :])}）",
                            f"下达督办单：请于 {rules.project_correction_days} 日内完成整改并报送整改方案",
                        ],
                        lines_en=[
                            f"project {code} red for {rp.streak} months running",
                            f"supervision order: correct and send a correction plan within "
                            f"{rules.project_correction_days} days",
                        ],
                    )
                )
        for code in sorted(open_orders - set(red_now)):
            actions.append(
                LadderAction(
                    kind=ActionKind.ORDER_CLOSED,
                    level_before=t.level,
                    level_after=t.level,
                    project=code,
                    lines_zh=[f"项目 {code} {period.label_zh}已不再红灯，督办单整改销号"],
                    lines_en=[f"project {code} no longer red in {outcome.period}: order closed"],
                )
            )
    t.last_period = period.key
    t.history = [
        *t.history,
        PeriodStep(
            period=period.key,
            rank=outcome.rank,
            of=outcome.of,
            score=outcome.score,
            listed=outcome.listed,
            exempted=exempted,
            level_before=before,
            level_after=t.level,
            actions=[a.kind for a in actions],
        ),
    ][-HISTORY_KEPT:]
    return LadderStep(track=t, actions=actions)


def standing_of(s: LadderState) -> LadderStanding:
    """The standing a leader reads, from a ladder's state (workflow query or stored state)."""
    return LadderStanding(
        bureau=s.bureau,
        name_zh=s.name_zh,
        tracks=[
            TrackView(
                track=k,
                ruleset_id=t.ruleset_id,
                kind=t.kind,
                level=t.level,
                level_zh=level_name(t.levels, t.level),
                black_streak=t.black_streak,
                red_streak=t.red_streak,
                last_period=t.last_period,
                history=t.history[-12:],
            )
            for k, t in sorted(s.tracks.items())
        ],
        open_orders=sorted(
            (o for o in s.orders.values() if not o.status.finished), key=lambda o: (o.due, o.id)
        ),
        exemptions=sorted(s.exemptions.values(), key=lambda e: e.period),
        decisions=s.decisions,
        version=s.version,
        runs=s.runs,
    )


def orders_to_forget(orders: Iterable[SupervisionOrder], keep: int) -> list[str]:
    """IDs of the finished orders (closed or withdrawn) beyond the `keep` most recently issued:
    a ladder carries no more of them across continue-as-new (PostgreSQL keeps them all)."""
    done = sorted((o for o in orders if o.status.finished), key=lambda o: o.issued_at)
    return [o.id for o in done[: max(len(done) - keep, 0)]]


__all__ = [
    "Scored",
    "aggregate",
    "compute_round",
    "ladder_step",
    "level_name",
    "orders_to_forget",
    "outcomes",
    "previous_ranks",
    "rank",
    "rank_level",
    "ratio_of",
    "red_streak",
    "score_project",
    "standing_of",
    "tie_lines",
    "track_key",
]
