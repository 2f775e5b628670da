"""The ladder's decision records (`LadderDecision`): what was decided, on which rule version,
explained in Chinese and English, with the inputs it was decided on. Pure builders: the book
(`guatu.ladder.book.LadderBook`) decides, these write the decision down.
"""

from __future__ import annotations

from datetime import date, datetime

from guatu.ladder.models import (
    DecisionRef,
    ExemptionInput,
    LadderAction,
    LadderDecision,
    RecordPeriodInput,
    SupervisionOrder,
)
from guatu.ranking.actions import ActionKind
from guatu.ranking.models import Exemption
from guatu.ranking.periods import parse_period


def order_what(order: SupervisionOrder) -> str:
    if order.project:
        return f"项目「{order.project_name}」（{order.project}）督办单"
    return "督办事项"


_ORDER_KEY = {ActionKind.ESCALATION: "escalated", ActionKind.PLAN_SUBMITTED: "plan"}


def _on_order(
    bureau: str,
    order: SupervisionOrder,
    kind: ActionKind,
    level: int,
    lines: tuple[list[str], list[str]],
    at: datetime,
) -> LadderDecision:
    return LadderDecision(
        key=f"ladder:{bureau}:order:{order.id}:{_ORDER_KEY[kind]}",
        bureau=bureau,
        period=order.period,
        ruleset_id=order.ruleset_id,
        ruleset_version=order.ruleset_version,
        track=order.track,
        kind=kind,
        level_before=level,
        level_after=level,
        project=order.project,
        order_id=order.id,
        deadline=order.due,
        lines_zh=lines[0],
        lines_en=lines[1],
        inputs={"order": order.model_dump(mode="json")},
        decided_at=at,
    )


def escalation(bureau: str, order: SupervisionOrder, level: int, at: datetime) -> LadderDecision:
    """督办升级: the order's correction plan is overdue."""
    due = order.due.isoformat()
    zh = [
        f"{order_what(order)}（{order.period}）要求于 {due} 前报送整改方案，逾期未报",
        "升级由区领导督办，并抄送区幸福办",
    ]
    en = [
        f"correction plan of order {order.id} was due on {due} and is overdue",
        "escalated to a district leader",
    ]
    return _on_order(bureau, order, ActionKind.ESCALATION, level, (zh, en), at)


def plan_received(
    bureau: str, order: SupervisionOrder, level: int, today: date, on_time: bool, at: datetime
) -> LadderDecision:
    """整改方案已报送: the bureau's correction plan for an order."""
    zh = [
        f"{order_what(order)}（{order.period}）整改方案已于 {today.isoformat()} 报送"
        + ("（按期）" if on_time else f"（逾期，期限 {order.due.isoformat()}）"),
        f"整改方案：{order.plan[:500]}",
    ]
    en = [
        f"correction plan for order {order.id} received "
        + ("on time" if on_time else f"late (due {order.due.isoformat()})")
    ]
    return _on_order(bureau, order, ActionKind.PLAN_SUBMITTED, level, (zh, en), at)


def exemption_granted(bureau: str, exemption: Exemption, data: ExemptionInput) -> LadderDecision:
    """不可抗力豁免: a leader exempts the bureau from one period's black list."""
    return LadderDecision(
        key=f"ladder:{bureau}:exemption:{data.period}",
        bureau=bureau,
        period=data.period,
        ruleset_id="*",
        ruleset_version=0,
        track="*",
        kind=ActionKind.EXEMPTION_GRANTED,
        level_before=0,
        level_after=0,
        lines_zh=[
            f"{parse_period(data.period).label_zh}因不可抗力免于列入黑榜",
            f"理由：{exemption.reason}",
            f"批准人：{data.actor}（{data.role}）",
        ],
        lines_en=[
            f"exempted from the {data.period} black list for force majeure",
            f"reason: {exemption.reason}",
            f"granted by {data.actor} ({data.role})",
        ],
        inputs={"exemption": exemption.model_dump(mode="json")},
        decided_at=exemption.granted_at,
    )


def withdrawal(
    bureau: str,
    ref: DecisionRef,
    data: RecordPeriodInput,
    track: str,
    level: int,
    lines: tuple[list[str], list[str]],
    at: datetime,
) -> LadderDecision:
    """撤销决定: a revision of the round no longer supports decision `ref`."""
    o = data.outcome
    return LadderDecision(
        key=f"{ref.key}:withdrawn",
        bureau=bureau,
        period=o.period,
        ruleset_id=o.ruleset_id,
        ruleset_version=o.ruleset_version,
        track=track,
        kind=ActionKind.WITHDRAWN,
        level_before=level,
        level_after=level,
        project=ref.project,
        order_id=ref.order_id,
        lines_zh=lines[0],
        lines_en=lines[1],
        inputs={
            "revision": data.revision,
            "reason": data.reason,
            "actor": data.actor,
            "withdraws": ref.key,
            "withdraws_kind": ref.kind.value,
        },
        decided_at=at,
    )


def of_period(
    bureau: str,
    key: str,
    action: LadderAction,
    data: RecordPeriodInput,
    track: str,
    order_id: str | None,
    deadline: date | None,
    lines: tuple[list[str], list[str]],
    at: datetime,
    input_key: str | None = None,
) -> LadderDecision:
    """One action a period's outcome takes (通报, 约谈, 督办, 督办单, 表扬, …). Its inputs: the
    outcome and the ladder rules, or (a bounded ladder) the key of the period input that holds
    them in PostgreSQL."""
    o = data.outcome
    decided_on: dict[str, object] = (
        {"input": input_key}
        if input_key is not None
        else {"outcome": o.model_dump(mode="json"), "ladder": data.ladder.model_dump(mode="json")}
    )
    return LadderDecision(
        key=key,
        bureau=bureau,
        period=o.period,
        ruleset_id=o.ruleset_id,
        ruleset_version=o.ruleset_version,
        track=track,
        kind=action.kind,
        level_before=action.level_before,
        level_after=action.level_after,
        project=action.project,
        order_id=order_id,
        deadline=deadline,
        lines_zh=lines[0],
        lines_en=lines[1],
        inputs={
            **decided_on,
            **(
                {"revision": data.revision, "reason": data.reason, "actor": data.actor}
                if data.revision > 1
                else {}
            ),
        },
        decided_at=at,
    )
