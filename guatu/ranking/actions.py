"""What a ranking leads to (激励奖惩), by name: the ladders' actions and their orders' states.

The vocabulary the round's 通报 document, the leaders' queries, the notice cards and the ladders
(`guatu.ladder`, which decide them) share; defined here, below the ladders, so that the
ranking's reads need nothing from them.
"""

from __future__ import annotations

from enum import StrEnum


class ActionKind(StrEnum):
    NOTICE = "notice"  # 黑榜通报
    SUMMONS = "summons"  # 约谈
    SUPERVISION = "supervision"  # 督办 (correction plan due)
    STEP_DOWN = "step_down"  # 降级
    COMMENDATION = "commendation"  # 通报表扬
    AWARD = "award_recommendation"  # 推荐评优
    PROJECT_SUPERVISION = "project_supervision"  # 督办单
    ORDER_CLOSED = "order_closed"  # 整改销号
    EXEMPTED = "exempted"  # 不可抗力免于黑榜
    EXEMPTION_GRANTED = "exemption_granted"
    ESCALATION = "escalation"  # 逾期升级
    PLAN_SUBMITTED = "plan_submitted"
    WITHDRAWN = "withdrawn"  # 撤销: a revision of the round no longer supports a decision


ACTION_ZH = {
    ActionKind.NOTICE: "黑榜通报",
    ActionKind.SUMMONS: "约谈",
    ActionKind.SUPERVISION: "督办",
    ActionKind.STEP_DOWN: "降级",
    ActionKind.COMMENDATION: "通报表扬",
    ActionKind.AWARD: "推荐评优",
    ActionKind.PROJECT_SUPERVISION: "督办单",
    ActionKind.ORDER_CLOSED: "整改销号",
    ActionKind.EXEMPTED: "免于黑榜",
    ActionKind.EXEMPTION_GRANTED: "不可抗力豁免",
    ActionKind.ESCALATION: "督办升级",
    ActionKind.PLAN_SUBMITTED: "整改方案已报送",
    ActionKind.WITHDRAWN: "撤销决定",
}


class OrderStatus(StrEnum):
    OPEN = "open"  # correction plan awaited
    ESCALATED = "escalated"  # plan overdue, escalated
    PLAN_SUBMITTED = "plan_submitted"  # project order: plan in, project still to come off red
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"  # its decision was withdrawn by a revision of the round

    @property
    def finished(self) -> bool:
        """Nothing more is awaited: not open, not escalated, not counted; kept as history."""
        return self in (OrderStatus.CLOSED, OrderStatus.WITHDRAWN)
