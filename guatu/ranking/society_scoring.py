"""The ranking components of 市民观察 and 第三方评估: pure, one explanation line each.

Called by `guatu.ranking.rules.score_project` for the component keys `citizen_satisfaction`,
`response_timeliness` and `third_party_score`, on the frozen `ProjectInput.society`. Same
conventions as the other components (config/rules/README.md): ratios to 4 decimals, points to 2;
nothing to judge yet counts as 100 % (no rated reply, no reply due, no evaluation), as "no
milestone due" does.

- citizen_satisfaction = points × 满意 ÷ (满意 + 不满意), ratings given in the window;
- response_timeliness = points × replies on time ÷ replies due, deadlines in the window;
- third_party_score = points × score ÷ 100 of the project's latest evaluation submitted before
  the close, or else its program's evaluation of the year.

The window is the period's months (`window: period`) or every month up to its last
(`window: to_date`).
"""

from __future__ import annotations

from guatu.ranking.models import Component, ComponentKey, Line, ProjectInput, SocietyInput, Window
from guatu.ranking.periods import Period

SOCIETY_KEYS = (
    ComponentKey.CITIZEN_SATISFACTION,
    ComponentKey.RESPONSE_TIMELINESS,
    ComponentKey.THIRD_PARTY_SCORE,
)


def _line(c: Component, points: float, zh: str, en: str, inputs: dict[str, object]) -> Line:
    return {
        "key": c.key.value,
        "points": points,
        "max_points": c.points,
        "text_zh": zh,
        "text_en": en,
        "inputs": inputs,
    }


def _sum(by_month: dict[str, int], c: Component, period: Period) -> int:
    if c.window is Window.TO_DATE:
        return sum(n for m, n in by_month.items() if m <= period.last_month)
    months = set(period.months)
    return sum(n for m, n in by_month.items() if m in months)


def _window_zh(c: Component) -> str:
    return "期内" if c.window is Window.PERIOD else "累计"


def _satisfaction(s: SocietyInput, c: Component, period: Period) -> Line:
    good = _sum(s.satisfied, c, period)
    bad = _sum(s.unsatisfied, c, period)
    rated = good + bad
    share = round(good / rated, 4) if rated else 1.0
    points = round(c.points * share, 2)
    if rated:
        zh = (
            f"{_window_zh(c)}市民观察员评价答复 {rated} 次，满意 {good} 次（满意率 {share * 100:.2f}%）"
            f" → {c.points:g} × {good}/{rated} = {points:.2f} / {c.points:g} 分"
        )
        en = (
            f"citizen observers rated {rated} replies, {good} satisfied ({share * 100:.2f} %) → "
            f"{points:.2f} of {c.points:g}"
        )
    else:
        zh = f"{_window_zh(c)}无市民观察员评价，按 100% 计 → {points:.2f} / {c.points:g} 分"
        en = f"no rated reply: counts as 100 % → {points:.2f} of {c.points:g}"
    return _line(c, points, zh, en, {"satisfied": good, "unsatisfied": bad, "share": share})


def _timeliness(s: SocietyInput, c: Component, period: Period) -> Line:
    due = _sum(s.replies_due, c, period)
    on_time = _sum(s.replies_on_time, c, period)
    share = round(on_time / due, 4) if due else 1.0
    points = round(c.points * share, 2)
    if due:
        zh = (
            f"{_window_zh(c)}到期应答复市民观察 {due} 条，按期答复 {on_time} 条 → "
            f"{c.points:g} × {on_time}/{due} = {points:.2f} / {c.points:g} 分"
        )
        en = (
            f"citizen observations answered on time: {on_time} of {due} due → "
            f"{points:.2f} of {c.points:g}"
        )
    else:
        zh = f"{_window_zh(c)}无到期应答复的市民观察，按 100% 计 → {points:.2f} / {c.points:g} 分"
        en = f"no observation reply due: counts as 100 % → {points:.2f} of {c.points:g}"
    return _line(c, points, zh, en, {"due": due, "on_time": on_time, "share": share})


def _third_party(s: SocietyInput, c: Component) -> Line:
    e = s.evaluation
    if e is None:
        points = round(c.points, 2)
        zh = f"尚无第三方评估，按 100% 计 → {points:.2f} / {c.points:g} 分"
        en = f"no third-party evaluation yet: counts as 100 % → {points:.2f} of {c.points:g}"
        return _line(c, points, zh, en, {"evaluation": None})
    share = round(e.score / 100, 4)
    points = round(c.points * share, 2)
    whose = "本项目" if e.subject == "project" else f"所属工程 {e.year} 年度"
    zh = (
        f"{whose}第三方评估（{e.id}）得分 {e.score:.2f} → {c.points:g} × {share:.4f} = "
        f"{points:.2f} / {c.points:g} 分"
    )
    en = (
        f"third-party evaluation {e.id} ({e.subject}) scored {e.score:.2f} → "
        f"{c.points:g} × {share:.4f} = {points:.2f} of {c.points:g}"
    )
    return _line(c, points, zh, en, {"evaluation": e.id, "score": e.score, "subject": e.subject})


def society_line(p: ProjectInput, c: Component, period: Period) -> Line:
    s = p.society or SocietyInput()
    if c.key is ComponentKey.CITIZEN_SATISFACTION:
        return _satisfaction(s, c, period)
    if c.key is ComponentKey.RESPONSE_TIMELINESS:
        return _timeliness(s, c, period)
    return _third_party(s, c)
