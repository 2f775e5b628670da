"""Messages to bureaus (通知), Chinese first. Each has a key unique to the decision it reports."""

from __future__ import annotations

from datetime import date, datetime

from guatu.lifecycle.models import Explanation, Notice, ProjectPlan, Step
from guatu.lifecycle.rules.lights import LIGHT_ZH
from guatu.lifecycle.rules.stages import STEP_ZH


def _notice(
    plan: ProjectPlan,
    key: str,
    kind: str,
    title: str,
    body: str,
    body_en: str,
    at: datetime,
    deadline: date | None = None,
) -> Notice:
    return Notice(
        key=f"{plan.code}:{key}",
        bureau=plan.bureau,
        project=plan.code,
        kind=kind,
        title_zh=title,
        body_zh=body,
        body_en=body_en,
        created_at=at,
        deadline=deadline,
    )


def milestone_reminder(plan: ProjectPlan, step: Step, planned: date, at: datetime) -> Notice:
    return _notice(
        plan,
        f"milestone_reminder:{step.value}:{planned.isoformat()}",
        "milestone_reminder",
        f"【节点提醒】{plan.name_zh}",
        f"项目「{plan.name_zh}」（{plan.code}）节点「{STEP_ZH[step]}」计划于 {planned.isoformat()} 完成，"
        "请按期推进并及时报送。",
        f"Milestone '{step.value}' of {plan.code} is due on {planned.isoformat()}.",
        at,
        planned,
    )


def milestone_missed(
    plan: ProjectPlan,
    step: Step,
    planned: date,
    escalated: bool,
    explanation: Explanation,
    at: datetime,
) -> Notice:
    kind = "milestone_escalated" if escalated else "milestone_missed"
    light = LIGHT_ZH[explanation.light]
    return _notice(
        plan,
        f"{kind}:{step.value}:{planned.isoformat()}",
        kind,
        f"【{light}预警】{plan.name_zh}",
        f"项目「{plan.name_zh}」（{plan.code}）{explanation.text_zh}。请立即说明原因并报送整改措施。",
        explanation.text_en,
        at,
        planned,
    )


def report_reminder(plan: ProjectPlan, month: str, due: date, at: datetime) -> Notice:
    return _notice(
        plan,
        f"report_reminder:{month}",
        "report_reminder",
        f"【月报提醒】{plan.name_zh}",
        f"项目「{plan.name_zh}」（{plan.code}）{month} 月度进展请于 {due.isoformat()} 前报送。",
        f"The {month} progress report of {plan.code} is due on {due.isoformat()}.",
        at,
        due,
    )


def report_late(plan: ProjectPlan, month: str, due: date, at: datetime) -> Notice:
    return _notice(
        plan,
        f"report_late:{month}",
        "report_late",
        f"【月报逾期】{plan.name_zh}",
        f"项目「{plan.name_zh}」（{plan.code}）{month} 月度进展应于 {due.isoformat()} 前报送，至今未报，"
        "已记为逾期，请尽快补报。",
        f"The {month} progress report of {plan.code} was due on {due.isoformat()} and is late.",
        at,
        due,
    )


def progress_light(plan: ProjectPlan, explanation: Explanation, at: datetime) -> Notice:
    month = explanation.inputs.get("month", "")
    light = LIGHT_ZH[explanation.light]
    return _notice(
        plan,
        f"progress:{month}:{explanation.light.value}",
        "progress_light",
        f"【序时进度{light}】{plan.name_zh}",
        f"项目「{plan.name_zh}」（{plan.code}）{explanation.text_zh}。",
        explanation.text_en,
        at,
    )
