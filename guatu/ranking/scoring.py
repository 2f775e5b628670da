"""Scoring one project for a period (竞进比拼 得分), and the number formats every explanation uses.

Pure arithmetic over frozen inputs: no clock, no I/O, no randomness. Each component of a rule set
becomes one explained line (Chinese and English, with its inputs); rounding as documented in
config/rules/README.md: ratios to 4 decimals, points and scores to 2, each component rounded before
it is added.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from guatu.core.clock import add_months, month_key, parse_month
from guatu.ranking.models import (
    Basis,
    Component,
    ComponentKey,
    Level,
    Line,
    ProjectInput,
    RedProject,
    RuleSet,
    TieKey,
    WeightBy,
    Window,
)
from guatu.ranking.periods import Period
from guatu.ranking.society_scoring import SOCIETY_KEYS, society_line

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


def explain_line(
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
    return explain_line(
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
    return explain_line(
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
    return explain_line(
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
    return explain_line(
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
    return explain_line(
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
    lines.append(explain_line(key="total", points=score, text_zh=total_zh, text_en=total_en))
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
