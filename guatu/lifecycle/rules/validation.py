"""Checks on bureau and manager input, as pure functions.

Each check raises `InputRejected` with a code and a message a clerk can act on, Chinese first.
The lifecycle's Update validators call these, so a rejected input never reaches history, and the
API calls the same functions only through the workflow: there is one source of truth.
"""

from __future__ import annotations

from datetime import date

from guatu.core.clock import month_key
from guatu.core.refusal import InputRejected as InputRejected
from guatu.lifecycle.models import (
    PlanChangeInput,
    ProgressReportInput,
    ProjectState,
    RunStatus,
    StageTransitionInput,
)
from guatu.lifecycle.rules.stages import STAGE_ZH, STEP_ZH, legal_next_steps

STATUS_ZH = {
    RunStatus.ACTIVE: "进行中",
    RunStatus.SUSPENDED: "已暂停",
    RunStatus.CANCELLED: "已撤销",
    RunStatus.CLOSED: "已关闭",
}


def check_owner(state: ProjectState, bureau: str) -> None:
    if bureau != state.plan.bureau:
        raise InputRejected(
            "not_owner",
            f"项目 {state.plan.code} 由 {state.plan.bureau} 负责，{bureau} 无权报送",
            f"project {state.plan.code} belongs to bureau {state.plan.bureau}; "
            f"{bureau} may not report on it",
        )


def check_active(state: ProjectState) -> None:
    if state.status is not RunStatus.ACTIVE:
        raise InputRejected(
            f"project_{state.status.value}",
            f"项目 {state.plan.code} {STATUS_ZH[state.status]}，不接受报送",
            f"project {state.plan.code} is {state.status.value} and accepts no input",
        )


def check_transition(state: ProjectState, data: StageTransitionInput, today: date) -> None:
    check_owner(state, data.bureau)
    check_active(state)
    allowed = legal_next_steps(state.plan.kind, state.stage, state.steps_done)
    if data.step not in allowed:
        allowed_zh = "、".join(STEP_ZH[s] for s in allowed) or "无"
        allowed_en = ", ".join(s.value for s in allowed) or "none"
        raise InputRejected(
            "illegal_transition",
            f"当前阶段为「{STAGE_ZH[state.stage]}」，不能报送「{STEP_ZH[data.step]}」；"
            f"下一步只能是：{allowed_zh}",
            f"the project is at stage '{state.stage.value}' and cannot go to "
            f"'{data.step.value}'; allowed next: {allowed_en}",
        )
    on = data.on or today
    if on > today:
        raise InputRejected(
            "future_date",
            f"日期 {on.isoformat()} 晚于今天 {today.isoformat()}，不能预报",
            f"date {on.isoformat()} is after today {today.isoformat()}",
        )
    last = max(state.steps_done.values(), default=None)
    if last is not None and on < last:
        raise InputRejected(
            "date_before_previous_step",
            f"日期 {on.isoformat()} 早于上一节点日期 {last.isoformat()}",
            f"date {on.isoformat()} is before the previous step's date {last.isoformat()}",
        )


def check_report(state: ProjectState, data: ProgressReportInput, today: date) -> None:
    check_owner(state, data.bureau)
    check_active(state)
    if data.investment_wan < 0:
        raise InputRejected(
            "negative_amount",
            f"本月完成投资不能为负数（收到 {data.investment_wan:g} 万元）",
            f"investment completed in the month cannot be negative (got {data.investment_wan:g})",
        )
    if not 0 <= data.physical_progress_pct <= 100:
        raise InputRejected(
            "progress_out_of_range",
            f"累计形象进度必须在 0–100% 之间（收到 {data.physical_progress_pct:g}%）",
            f"cumulative physical progress must be between 0 and 100 % "
            f"(got {data.physical_progress_pct:g})",
        )
    current = month_key(today)
    if data.month > current:
        raise InputRejected(
            "future_month",
            f"不能报送未来月份 {data.month}（当前月份 {current}）",
            f"cannot report for a future month {data.month} (current month {current})",
        )
    first = month_key(state.plan.start)
    if data.month < first:
        raise InputRejected(
            "before_start",
            f"{data.month} 早于项目开始月份 {first}",
            f"{data.month} is before the project's first month {first}",
        )
    existing = state.reports.get(data.month)
    if existing and not data.correction:
        raise InputRejected(
            "duplicate_month",
            f"{data.month} 月报已于 {existing.received_at.date().isoformat()} 报送；"
            "如需更正请标记为更正（correction=true）",
            f"a report for {data.month} was already received; send it as a correction "
            "(correction=true) to replace it",
        )
    if data.correction and not existing:
        raise InputRejected(
            "nothing_to_correct",
            f"{data.month} 尚无月报，无法更正",
            f"there is no report for {data.month} to correct",
        )
    earlier = [r for k, r in state.reports.items() if k < data.month]
    later = [r for k, r in state.reports.items() if k > data.month]
    floor = max((r.physical_progress_pct for r in earlier), default=0.0)
    ceiling = min((r.physical_progress_pct for r in later), default=100.0)
    if data.physical_progress_pct < floor:
        raise InputRejected(
            "progress_decreased",
            f"累计形象进度不能下降：上月已报 {floor:g}%，本次 {data.physical_progress_pct:g}%",
            f"cumulative physical progress cannot go down: {floor:g} % reported before, "
            f"{data.physical_progress_pct:g} % now",
        )
    if data.physical_progress_pct > ceiling:
        raise InputRejected(
            "progress_above_later",
            f"更正后的累计形象进度 {data.physical_progress_pct:g}% 高于之后月份已报的 {ceiling:g}%",
            f"corrected progress {data.physical_progress_pct:g} % exceeds the {ceiling:g} % "
            "reported for a later month",
        )
    open_ids = set(state.open_issues)
    raised = {i.id for i in data.issues_raised}
    unknown = [i for i in data.issues_resolved if i not in open_ids and i not in raised]
    if unknown:
        raise InputRejected(
            "unknown_issue",
            f"要销号的问题不存在或已销号：{', '.join(unknown)}",
            f"issues to resolve are not open: {', '.join(unknown)}",
        )


def check_plan_change(state: ProjectState, data: PlanChangeInput) -> None:
    if state.status in (RunStatus.CANCELLED, RunStatus.CLOSED):
        check_active(state)
    if data.total_investment_wan is not None and data.total_investment_wan < 0:
        raise InputRejected(
            "negative_amount", "总投资不能为负数", "total investment cannot be negative"
        )
    if data.yearly_investment_wan and any(v < 0 for v in data.yearly_investment_wan.values()):
        raise InputRejected(
            "negative_amount", "年度计划投资不能为负数", "yearly investment cannot be negative"
        )
    if not (
        data.milestones
        or data.total_investment_wan is not None
        or data.yearly_investment_wan
        or data.finish
    ):
        raise InputRejected(
            "empty_change", "计划调整未包含任何变更内容", "the plan change changes nothing"
        )
    steps = [m.step for m in data.milestones]
    if len(steps) != len(set(steps)):
        raise InputRejected(
            "duplicate_milestone", "同一节点不能出现两次", "a milestone appears twice"
        )
    finish = data.finish or state.plan.finish
    if finish < state.plan.start:
        raise InputRejected(
            "finish_before_start",
            f"完工日期 {finish.isoformat()} 早于开始日期 {state.plan.start.isoformat()}",
            f"finish {finish.isoformat()} is before start {state.plan.start.isoformat()}",
        )
