"""红黄绿灯: how a project's light follows from its milestones and its 序时进度, with reasons.

Each rule returns an Explanation holding the rule id, its inputs and the formula, in words a
leader reads. The project's light is the worst light of its explanations.
"""

from __future__ import annotations

from datetime import date

from guatu.clock import month_end
from guatu.models import (
    Explanation,
    Light,
    ProjectPlan,
    ProjectState,
    ReportRecord,
    Step,
    TimerPolicy,
)
from guatu.rules.progress import actual_investment_wan, planned_fraction
from guatu.rules.stages import STEP_ZH

SEVERITY = {Light.GREEN: 0, Light.YELLOW: 1, Light.RED: 2}
LIGHT_ZH = {Light.GREEN: "绿灯", Light.YELLOW: "黄灯", Light.RED: "红灯"}


def worst(lights: list[Light]) -> Light:
    return max(lights, key=SEVERITY.__getitem__, default=Light.GREEN)


def progress_check(plan: ProjectPlan, reports: dict[str, ReportRecord], month: str,
                   policy: TimerPolicy) -> Explanation:
    """Yinchuan rule: behind the 序时 curve by 10–30 points → yellow, more than 30 → red."""
    closes = month_end(month)
    planned_pct = round(100 * planned_fraction(plan, closes), 1)
    actual = actual_investment_wan(reports, month)
    actual_pct = round(100 * actual / plan.total_investment_wan, 1) if plan.total_investment_wan else 0.0
    gap = round(planned_pct - actual_pct, 1)
    if gap > policy.progress_red_points:
        light = Light.RED
    elif gap >= policy.progress_yellow_points:
        light = Light.YELLOW
    else:
        light = Light.GREEN
    inputs = {
        "month": month,
        "planned_pct": planned_pct,
        "actual_pct": actual_pct,
        "actual_investment_wan": round(actual, 2),
        "total_investment_wan": plan.total_investment_wan,
        "gap_points": gap,
        "yellow_points": policy.progress_yellow_points,
        "red_points": policy.progress_red_points,
    }
    formula = (
        f"gap = planned {planned_pct}% − actual {actual_pct}% = {gap} points; "
        f"yellow ≥ {policy.progress_yellow_points:g}, red > {policy.progress_red_points:g}"
    )
    if gap <= 0:
        zh_state, en_state = f"超前序时进度 {-gap:g} 个百分点", f"{-gap:g} points ahead of plan"
    else:
        zh_state, en_state = f"落后序时进度 {gap:g} 个百分点", f"{gap:g} points behind plan"
    return Explanation(
        rule="progress.yinchuan",
        light=light,
        inputs=inputs,
        formula=formula,
        text_zh=(
            f"{month} 序时进度检查：计划累计完成投资 {planned_pct:g}%，实际 {actual_pct:g}%，"
            f"{zh_state} → {LIGHT_ZH[light]}"
        ),
        text_en=(
            f"{month} progress check: planned {planned_pct:g}% of investment, actual "
            f"{actual_pct:g}%, {en_state} → {light.value}"
        ),
    )


def milestone_explanation(step: Step, planned: date, today: date, escalated: bool,
                          policy: TimerPolicy) -> Explanation:
    overdue = (today - planned).days
    light = Light.RED if escalated else Light.YELLOW
    return Explanation(
        rule="milestone.escalated" if escalated else "milestone.missed",
        light=light,
        inputs={
            "step": step.value,
            "planned": planned.isoformat(),
            "days_overdue": overdue,
            "grace_days": policy.milestone_grace_days,
        },
        formula=(
            f"not reached by {planned.isoformat()}: missed → yellow; "
            f"still missed after {policy.milestone_grace_days} days grace → red"
        ),
        text_zh=(
            f"节点「{STEP_ZH[step]}」计划 {planned.isoformat()} 完成，已逾期 {overdue} 天"
            + (f"（超过 {policy.milestone_grace_days} 天宽限期）" if escalated else "")
            + f" → {LIGHT_ZH[light]}"
        ),
        text_en=(
            f"milestone '{step.value}' planned {planned.isoformat()} is {overdue} days overdue"
            + (f" (beyond the {policy.milestone_grace_days}-day grace)" if escalated else "")
            + f" → {light.value}"
        ),
    )


def on_track() -> Explanation:
    return Explanation(
        rule="on_track",
        light=Light.GREEN,
        formula="no missed milestone and within 10 points of the 序时 curve",
        text_zh="节点按期、投资符合序时进度 → 绿灯",
        text_en="milestones on time and investment on the planned curve → green",
    )


def evaluate(state: ProjectState, today: date) -> tuple[Light, list[Explanation]]:
    """The project's light now, with every non-green reason (or the one green reason)."""
    reasons: list[Explanation] = []
    for m in state.plan.milestones:
        watch = state.milestone_watch.get(m.step)
        if watch and watch.missed and m.step not in state.steps_done:
            reasons.append(milestone_explanation(m.step, m.planned, today, watch.escalated,
                                                 state.policy))
    if state.progress_explanation and state.progress_explanation.light is not Light.GREEN:
        reasons.append(state.progress_explanation)
    if not reasons:
        return Light.GREEN, [state.progress_explanation or on_track()]
    return worst([r.light for r in reasons]), reasons
