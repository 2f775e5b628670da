"""What a ladder refuses, before anything is recorded: the checks behind BureauLadder's update
validators (`LadderBook.check_*`). Pure: they read the state and raise `InputRejected` with a
stable code and a message a bureau clerk or a leader can act on, Chinese first.
"""

from __future__ import annotations

from guatu.ladder.models import CorrectionPlanInput, ExemptionInput, LadderState, RecordPeriodInput
from guatu.ladder.rules import track_key
from guatu.lifecycle.rules.validation import InputRejected
from guatu.ranking.actions import OrderStatus
from guatu.ranking.periods import PeriodError, parse_period


def record_key(ruleset_id: str, period: str, revision: int) -> str:
    """The idempotency key of one period (and revision) recorded on a ladder."""
    key = f"record:{ruleset_id}:{period}"
    return key if revision <= 1 else f"{key}:r{revision}"


def supersedes(s: LadderState, data: RecordPeriodInput) -> bool:
    """Whether `data` is a revision of the period its track recorded last."""
    o = data.outcome
    tk = track_key(o.ruleset_id, o.kind)
    track = s.tracks.get(tk)
    return (
        data.revision > 1
        and track is not None
        and track.last_period == o.period
        and tk in s.last_records
        and s.last_records[tk].period == o.period
    )


def check_record(s: LadderState, data: RecordPeriodInput, seen: bool) -> None:
    o = data.outcome
    if seen:
        return
    if o.bureau == s.bureau and supersedes(s, data):
        return
    if o.bureau != s.bureau:
        raise InputRejected(
            "wrong_bureau",
            f"排名结果属于 {o.bureau}，不是 {s.bureau}",
            f"outcome is for {o.bureau}, this ladder is {s.bureau}",
        )
    try:
        period = parse_period(o.period)
    except PeriodError as err:
        raise InputRejected("bad_period", str(err).split(" / ")[0], str(err)) from None
    if period.kind.value != o.kind:
        raise InputRejected(
            "bad_period", f"期间 {o.period} 不是{o.kind}", f"{o.period} is not a {o.kind}"
        )
    track = s.tracks.get(track_key(o.ruleset_id, o.kind))
    if (
        data.revision > 1
        and track
        and track.last_period
        and parse_period(track.last_period).start >= period.start
    ):
        raise InputRejected(
            "revision_not_last_period",
            f"{o.period} 第 {data.revision} 版不能改变督办台账：本台账最近记录的是 "
            f"{track.last_period}，此后的决定以当时发布的结果为准",
            f"revision {data.revision} of {o.period} cannot change this ladder: its last "
            f"recorded period is {track.last_period} (or it predates revisions)",
        )
    if track and track.last_period and parse_period(track.last_period).start >= period.start:
        raise InputRejected(
            "period_out_of_order",
            f"{o.period} 不晚于已记录的 {track.last_period}，不能倒序记录",
            f"{o.period} is not after {track.last_period}, already recorded on this ladder",
        )


def check_exemption(s: LadderState, data: ExemptionInput, seen: bool) -> None:
    if seen:
        return
    rules = s.exemption_rules
    if data.role not in rules.roles:
        raise InputRejected(
            "not_authorised",
            f"角色「{data.role}」无权批准豁免，须由 {'、'.join(rules.roles)} 批准",
            f"role {data.role!r} may not grant exemptions; allowed: {', '.join(rules.roles)}",
        )
    if not data.actor.strip():
        raise InputRejected(
            "actor_required", "请填写批准人", "the approving leader (actor) is required"
        )
    if len(data.reason.strip()) < rules.min_reason_chars:
        raise InputRejected(
            "reason_required",
            f"请写明不可抗力理由（至少 {rules.min_reason_chars} 个字）",
            f"state the force-majeure reason (at least {rules.min_reason_chars} characters)",
        )
    if data.period in s.exemptions:
        raise InputRejected(
            "already_exempted", f"{data.period} 已豁免", f"{data.period} is already exempted"
        )
    period = parse_period(data.period)
    for track in s.tracks.values():
        if (
            track.kind == period.kind.value
            and track.last_period
            and parse_period(track.last_period).start >= period.start
        ):
            raise InputRejected(
                "period_already_ranked",
                f"{data.period} 的排名已记入督办台账（{track.ruleset_id}），豁免须在排名前批准",
                f"{data.period} was already recorded on this ladder ({track.ruleset_id}); "
                "exemptions must be granted before the round",
            )


def check_plan(s: LadderState, data: CorrectionPlanInput, seen: bool) -> None:
    if seen:
        return
    order = s.orders.get(data.order_id)
    if order is None:
        raise InputRejected(
            "unknown_order",
            f"没有督办事项 {data.order_id}",
            f"no supervision order {data.order_id} for {s.bureau}",
        )
    if order.status is OrderStatus.WITHDRAWN:
        raise InputRejected(
            "order_withdrawn",
            f"督办事项 {data.order_id} 已随排名更正撤销，无需报送整改方案",
            f"order {data.order_id} was withdrawn by a revision of its round: "
            "no correction plan is due",
        )
    if order.status not in (OrderStatus.OPEN, OrderStatus.ESCALATED):
        raise InputRejected(
            "plan_already_submitted",
            f"督办事项 {data.order_id} 已报送整改方案",
            f"order {data.order_id} already has its correction plan",
        )
    if len(data.plan.strip()) < 10:
        raise InputRejected(
            "plan_too_short",
            "整改方案内容过短（至少 10 个字）",
            "the correction plan is too short (at least 10 characters)",
        )


__all__ = ["check_exemption", "check_plan", "check_record", "record_key", "supersedes"]
