"""红黄绿灯: how a project's light follows from its milestones and its 序时进度, with reasons.

Each rule returns an Explanation holding the rule id, its inputs and the formula, in words a
leader reads. The project's light is the worst light of its explanations.
"""

from __future__ import annotations

from datetime import date, timedelta

from guatu.core.clock import local_date, month_end, parse_month
from guatu.lifecycle.models import (
    Explanation,
    Light,
    MilestonePlan,
    MonthCheck,
    ProjectPlan,
    ProjectState,
    ReportRecord,
    Step,
    TimerPolicy,
)
from guatu.lifecycle.rules.deadlines import progress_check_day, report_due_day
from guatu.lifecycle.rules.progress import (
    actual_investment_wan,
    months_through,
    planned_fraction,
    year_actual_wan,
    year_elapsed_share,
    year_plan_wan,
)
from guatu.lifecycle.rules.stages import STEP_ZH

SEVERITY = {Light.GREEN: 0, Light.YELLOW: 1, Light.RED: 2}
LIGHT_ZH = {Light.GREEN: "绿灯", Light.YELLOW: "黄灯", Light.RED: "红灯"}


def worst(lights: list[Light]) -> Light:
    return max(lights, key=SEVERITY.__getitem__, default=Light.GREEN)


def points(x: float) -> float:
    """A figure to print, 1 decimal: rounded first, then negative zero normalised (never "-0")."""
    return round(x, 1) + 0.0


def _gap_words(gap: float) -> tuple[str, str]:
    if gap > 0:
        return f"落后序时进度 {gap:g} 个百分点", f"{gap:g} points behind plan"
    if gap < 0:
        return f"超前序时进度 {-gap:g} 个百分点", f"{-gap:g} points ahead of plan"
    return "与序时进度持平", "on plan"


def progress_check(
    plan: ProjectPlan,
    reports: dict[str, ReportRecord],
    month: str,
    policy: TimerPolicy,
    basis: str = "total",
) -> Explanation:
    """Yinchuan rule: behind the 序时 curve by 10–30 points → yellow, more than 30 → red.

    `basis` "total": cumulative investment against the whole-span curve, in points of the total.
    `basis` "year_plan": 本年累计完成 ÷ 年度计划 against 时间进度 (elapsed share of the year's plan
    span, whole months), in points of the year's plan — the published practice.
    """
    if basis == "year_plan":
        year_plan = year_plan_wan(plan, parse_month(month).year)
        actual = year_actual_wan(reports, month)
        planned_pct = points(100 * year_elapsed_share(plan, month)) if year_plan > 0 else 0.0
        actual_pct = points(100 * actual / year_plan) if year_plan > 0 else 0.0
        base_wan, base_key = year_plan, "year_plan_wan"
    else:
        planned_pct = points(100 * planned_fraction(plan, month_end(month)))
        actual = actual_investment_wan(reports, month)
        actual_pct = (
            points(100 * actual / plan.total_investment_wan) if plan.total_investment_wan else 0.0
        )
        base_wan, base_key = plan.total_investment_wan, "total_investment_wan"
    gap = points(planned_pct - actual_pct)
    if gap > policy.progress_red_points:
        light = Light.RED
    elif gap >= policy.progress_yellow_points:
        light = Light.YELLOW
    else:
        light = Light.GREEN
    inputs = {
        "month": month,
        "basis": basis,
        "planned_pct": planned_pct,
        "actual_pct": actual_pct,
        "actual_investment_wan": round(actual, 2),
        base_key: round(base_wan, 2),
        "gap_points": gap,
        "yellow_points": policy.progress_yellow_points,
        "red_points": policy.progress_red_points,
    }
    formula = (
        f"gap = planned {planned_pct}% − actual {actual_pct}% = {gap} points; "
        f"yellow ≥ {policy.progress_yellow_points:g}, red > {policy.progress_red_points:g}"
    )
    zh_state, en_state = _gap_words(gap)
    if basis == "year_plan":
        text_zh = (
            f"{month} 序时进度检查（年度计划口径）：本年累计完成投资 {round(actual, 2):g} 万元，"
            f"占年度计划 {round(base_wan, 2):g} 万元的 {actual_pct:g}%，时间进度 "
            f"{planned_pct:g}%，{zh_state} → {LIGHT_ZH[light]}"
        )
        text_en = (
            f"{month} progress check (year plan): {actual_pct:g}% of this year's plan done "
            f"against {planned_pct:g}% of the year's plan span elapsed, {en_state} → "
            f"{light.value}"
        )
    else:
        text_zh = (
            f"{month} 序时进度检查：计划累计完成投资 {planned_pct:g}%，实际 {actual_pct:g}%，"
            f"{zh_state} → {LIGHT_ZH[light]}"
        )
        text_en = (
            f"{month} progress check: planned {planned_pct:g}% of investment, actual "
            f"{actual_pct:g}%, {en_state} → {light.value}"
        )
    return Explanation(
        rule="progress.yinchuan",
        light=light,
        inputs=inputs,
        formula=formula,
        text_zh=text_zh,
        text_en=text_en,
    )


def awaiting_backfill(
    month: str | None, missing: list[str], step: Step | None, until: date
) -> Explanation:
    """待补报: a deadline that passed before the project was loaded, with no data yet.

    Not a colour of its own: it keeps the light it explains from turning yellow or red until
    the back-fill window closes (the light is green unless something else is wrong).
    """
    if step is not None:
        what_zh, what_en = f"节点「{STEP_ZH[step]}」", f"milestone '{step.value}'"
    else:
        what_zh = f"{month} 序时进度（缺 {'、'.join(missing)} 月报）"
        what_en = f"the {month} progress check (reports missing: {', '.join(missing)})"
    return Explanation(
        rule="backfill.pending",
        light=Light.GREEN,
        inputs={
            "month": month,
            "missing_reports": missing,
            "step": step.value if step else None,
            "backfill_until": until.isoformat(),
        },
        formula="deadline passed before the project was loaded: no data yet until the back-fill "
        "window closes; then what is still missing counts",
        text_zh=f"待补报：{what_zh}的期限早于项目录入，尚无数据，补报截止 {until.isoformat()}",
        text_en=f"no data yet: {what_en} fell due before the project was loaded; back-fill "
        f"by {until.isoformat()}",
    )


def milestone_explanation(
    step: Step, planned: date, today: date, escalated: bool, policy: TimerPolicy
) -> Explanation:
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


def load_day(state: ProjectState) -> date | None:
    return local_date(state.started_at) if state.started_at else None


def backfill_open(state: ProjectState, today: date) -> bool:
    """Inside the 待补报 window: deadlines that passed before loading read "no data yet"."""
    return bool(
        state.rules_revision
        and state.backfill_until
        and not state.backfill_closed
        and today <= state.backfill_until
    )


def _before_load(state: ProjectState, deadline: date) -> bool:
    loaded = load_day(state)
    return loaded is not None and deadline < loaded


def milestone_result(state: ProjectState, m: MilestonePlan, today: date) -> str:
    """met (reached on or before its planned date) / missed (reached late, or its date passed)
    / pending (not due yet) / awaiting_backfill (due before loading, window open)."""
    reached = state.steps_done.get(m.step)
    if reached is not None:
        return "met" if reached <= m.planned else "missed"
    if m.planned >= today:
        return "pending"
    if backfill_open(state, today) and _before_load(state, m.planned):
        return "awaiting_backfill"
    return "missed"


def month_check(state: ProjectState, month: str, today: date) -> tuple[MonthCheck, Explanation]:
    """The light of `month`'s check, recomputed from what is known now (late data included):
    the 序时 check on the policy's basis, and every milestone overdue on the check day that was
    not reached before it. Inside the back-fill window, reports and milestones that fell due
    before loading and are still missing read 待补报 instead of counting."""
    policy = state.policy
    basis = policy.progress_basis
    checked_on = progress_check_day(month, policy)
    pending = backfill_open(state, today)
    until = state.backfill_until or today
    missing = [
        m
        for m in months_through(state.plan, month, basis)
        if m not in state.reports and _before_load(state, report_due_day(m, policy))
    ]
    if pending and missing:
        progress = awaiting_backfill(month, missing, None, until)
    else:
        progress = progress_check(state.plan, state.reports, month, policy, basis)
    found = [progress.light]
    rules = [progress.rule]
    for m in state.plan.milestones:
        reached = state.steps_done.get(m.step)
        if m.planned >= checked_on or (reached is not None and reached < checked_on):
            continue
        if pending and _before_load(state, m.planned):
            rules.append("backfill.pending")
            continue
        escalated = checked_on >= m.planned + timedelta(days=1 + policy.milestone_grace_days)
        found.append(Light.RED if escalated else Light.YELLOW)
        rules.append("milestone.escalated" if escalated else "milestone.missed")
    awaiting = progress.rule == "backfill.pending"
    return MonthCheck(light=worst(found), rules=rules, awaiting_backfill=awaiting), progress


def evaluate(state: ProjectState, today: date) -> tuple[Light, list[Explanation]]:
    """The project's light now, with every non-green reason (or the one green reason).

    A milestone that fell due before loading and is still missing reads 待补报 while the
    back-fill window is open (rules_revision ≥ 1): it is listed, but does not colour the light.
    """
    reasons: list[Explanation] = []
    notes: list[Explanation] = []
    pending = backfill_open(state, today)
    for m in state.plan.milestones:
        watch = state.milestone_watch.get(m.step)
        if watch and watch.missed and m.step not in state.steps_done:
            if pending and _before_load(state, m.planned):
                notes.append(awaiting_backfill(None, [], m.step, state.backfill_until or today))
                continue
            reasons.append(
                milestone_explanation(m.step, m.planned, today, watch.escalated, state.policy)
            )
    progress = state.progress_explanation
    if progress and progress.rule == "backfill.pending":
        notes.insert(0, progress)
    elif progress and progress.light is not Light.GREEN:
        reasons.append(progress)
    if not reasons:
        return Light.GREEN, notes or [progress or on_track()]
    return worst([r.light for r in reasons]), reasons + notes
