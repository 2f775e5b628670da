"""Notices of 激励奖惩, Chinese first: one per ladder decision. Pure: the ladder's book builds them.

Each notice's key is the decision's key, so the outbox row is written once and the bureau's
webhook receives it once (the key travels as the Idempotency-Key header). Every decision also
goes to the leaders' office (`xfb`) under the decision key + ":xfb".
"""

from __future__ import annotations

from datetime import datetime

from guatu.ladder.models import LadderDecision
from guatu.lifecycle.models import Notice
from guatu.ranking.actions import ACTION_ZH, ActionKind
from guatu.ranking.notices import CORRECTION, OFFICE
from guatu.ranking.periods import parse_period

_TITLE = {
    ActionKind.NOTICE: "【黑榜通报】",
    ActionKind.SUMMONS: "【约谈通知】",
    ActionKind.SUPERVISION: "【督办通知】",
    ActionKind.STEP_DOWN: "【督办降级】",
    ActionKind.COMMENDATION: "【通报表扬】",
    ActionKind.AWARD: "【推荐评优】",
    ActionKind.PROJECT_SUPERVISION: "【督办单】",
    ActionKind.ORDER_CLOSED: "【整改销号】",
    ActionKind.EXEMPTED: "【免于黑榜】",
    ActionKind.EXEMPTION_GRANTED: "【不可抗力豁免】",
    ActionKind.ESCALATION: "【督办升级】",
    ActionKind.PLAN_SUBMITTED: "【整改方案已报送】",
    ActionKind.WITHDRAWN: "【撤销决定】",
}

_REQUIRED = {
    ActionKind.NOTICE: "请深刻分析落后原因，落实整改措施。",
    ActionKind.SUMMONS: "请单位主要负责人按通知参加区领导约谈，并带整改措施。",
    ActionKind.SUPERVISION: "请于 {deadline} 前报送整改方案；逾期未报将升级督办。",
    ActionKind.PROJECT_SUPERVISION: "请于 {deadline} 前完成整改并报送整改方案；逾期未报将升级督办。",
    ActionKind.ESCALATION: "已升级由区领导督办，请立即报送整改方案。",
}


def decision_notices(
    decision: LadderDecision, bureau_name: str, at: datetime, notify_office: bool = True
) -> list[Notice]:
    """The bureau's notice of one ladder decision, and the leaders' office copy."""
    deadline = decision.deadline.isoformat() if decision.deadline else ""
    required = _REQUIRED.get(decision.kind, "").format(deadline=deadline)
    subject = decision.project and next(
        (line for line in decision.lines_zh if decision.project in line), decision.project
    )
    title = f"{_TITLE[decision.kind]}{bureau_name}"
    if (
        decision.kind in (ActionKind.PROJECT_SUPERVISION, ActionKind.ORDER_CLOSED)
        and decision.project
    ):
        title += f" · {decision.project}"
    revision = int(decision.inputs.get("revision") or 1)
    correction: list[str] = []
    if revision > 1:
        # A decision a revision of the round made or withdrew: the bureau reads it as a correction.
        title = CORRECTION + title
        correction = [
            f"更正通报：{parse_period(decision.period).label_zh}竞进比拼结果已更正为"
            f"第 {revision} 版（更正原因：{decision.inputs.get('reason') or '未说明'}），"
            "以下决定据此作出或撤销："
        ]
    body_lines = [f"{bureau_name}：", *correction, *decision.lines_zh]
    if required:
        body_lines.append(f"要求：{required}")
    body_lines.append(
        f"（依据规则 {decision.ruleset_id} v{decision.ruleset_version}；决定编号 {decision.key}）"
    )
    body = "\n".join(body_lines)
    body_en = "\n".join(
        [
            *decision.lines_en,
            f"(rule set {decision.ruleset_id} "
            f"v{decision.ruleset_version}; decision {decision.key})",
        ]
    )
    notices = [
        Notice(
            key=decision.key,
            bureau=decision.bureau,
            project=decision.project or "",
            kind=f"ladder_{decision.kind.value}",
            title_zh=title,
            body_zh=body,
            body_en=body_en,
            created_at=at,
            deadline=decision.deadline,
        )
    ]
    if notify_office and decision.bureau != OFFICE:
        notices.append(
            Notice(
                key=f"{decision.key}:{OFFICE}",
                bureau=OFFICE,
                project=decision.project or "",
                kind=f"ladder_{decision.kind.value}",
                title_zh=f"【抄送】{title}",
                body_zh=f"【抄送区幸福办】{ACTION_ZH[decision.kind]}：{bureau_name}"
                + (f"（{subject}）" if decision.project and subject != decision.project else "")
                + "\n"
                + body,
                body_en=body_en,
                created_at=at,
                deadline=decision.deadline,
            )
        )
    return notices
