"""LadderBook without Temporal: every decision of a bureau's ladder, on a clock the test moves.

The book's clock is injected (`now`); expected levels, deadlines, keys and notices are worked out
by hand from the default rules (通报 → 约谈 → 督办, plan due in 15 days, 督办单 after 2 red months
with 30 days, award after 2 red lists, one rung down off the black list).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from guatu.ladder.book import CLOSED_ORDERS_KEPT, LadderBook
from guatu.ladder.models import (
    CorrectionPlanInput,
    ExemptionInput,
    LadderChanges,
    LadderState,
    RecordPeriodInput,
    SupervisionOrder,
)
from guatu.lifecycle.rules.validation import InputRejected
from guatu.ranking.actions import ActionKind, OrderStatus
from guatu.ranking.messages import BureauOutcome
from guatu.ranking.models import LadderRules, ListKind, RedProject

B = "t_book"
# 09:00 in Asia/Shanghai on 1 March 2031.
START = datetime(2031, 3, 1, 1, 0, tzinfo=UTC)
REASON = "特大暴雨引发洪灾，全部工地依令停工（不可抗力）"


class Clock:
    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> datetime:
        return self.at


def new_book() -> tuple[LadderBook, Clock]:
    """A new ladder as BureauLadder starts one today: bounded (see test_bounded_state.py)."""
    clock = Clock()
    book = LadderBook(LadderState(bureau=B, name_zh="测试局"), clock)
    book.anchor_clock()
    book.bound()
    book.start()
    book.take_batch()
    return book, clock


def outcome(
    period: str, listed: ListKind | None, reds: list[RedProject] | None = None
) -> BureauOutcome:
    return BureauOutcome(
        bureau=B,
        name_zh="测试局",
        period=period,
        kind="quarter" if "Q" in period else "month",
        ruleset_id="default",
        ruleset_version=1,
        rank=7,
        of=8,
        score=42.5,
        listed=listed,
        target_met=listed is ListKind.RED,
        investment_ratio=0.81,
        reasons_zh=["合计 42.50 分"],
        reasons_en=["total 42.50"],
        red_projects=reds or [],
    )


def rec(
    period: str,
    listed: ListKind | None,
    reds: list[RedProject] | None = None,
    revision: int = 1,
) -> RecordPeriodInput:
    return RecordPeriodInput(
        outcome=outcome(period, listed, reds),
        ladder=LadderRules(),
        revision=revision,
        reason="补报数据后重新冻结" if revision > 1 else "",
        actor="王区长" if revision > 1 else "",
    )


def kinds(book: LadderBook, data: RecordPeriodInput) -> tuple[int, int, list[str]]:
    book.check_record(data)
    r = book.record(data)
    return r.level_before, r.level_after, [d.kind.value for d in r.decisions]


def refusal(check: object, data: object) -> str:
    with pytest.raises(InputRejected) as err:
        check(data)  # type: ignore[operator]
    return err.value.code


def test_black_list_climbs_the_rungs_and_supervision_is_due_in_15_days() -> None:
    book, _ = new_book()
    assert kinds(book, rec("2031-01", ListKind.BLACK)) == (0, 1, ["notice"])
    assert kinds(book, rec("2031-02", ListKind.BLACK)) == (1, 2, ["summons"])
    third = book.record(rec("2031-03", ListKind.BLACK))
    assert (third.level_before, third.level_after) == (2, 3)
    [decision] = third.decisions
    # Decided on 2031-03-01 (Asia/Shanghai): due 15 days later.
    assert decision.deadline == date(2031, 3, 16)
    assert decision.key == f"ladder:{B}:default:2031-03:supervision"
    order = book.s.orders[f"{B}:default:2031-03:supervision"]
    assert (order.status, order.due, order.decision_key) == (
        OrderStatus.OPEN,
        date(2031, 3, 16),
        decision.key,
    )
    # A 4th black list stays on the top rung and supervises again.
    assert kinds(book, rec("2031-04", ListKind.BLACK)) == (3, 3, ["supervision"])
    assert book.s.tracks["default:month"].black_streak == 4

    batch = book.take_batch()
    assert batch is not None
    assert [d.kind.value for d in batch.decisions] == ["notice", "summons", "supervision"] + [
        "supervision"
    ]
    # Each decision: the bureau's notice and the leaders' office copy, keyed by the decision.
    assert [n.key for n in batch.notices[:2]] == [
        f"ladder:{B}:default:2031-01:notice",
        f"ladder:{B}:default:2031-01:notice:xfb",
    ]
    assert batch.notices[0].title_zh == "【黑榜通报】测试局"
    assert len(batch.notices) == 8
    assert [o.id for o in batch.orders] == [
        f"{B}:default:2031-03:supervision",
        f"{B}:default:2031-04:supervision",
    ]
    assert isinstance(batch, LadderChanges) and batch.version == book.s.version
    assert batch.head["version"] == book.s.version and "pending_notices" not in batch.head
    assert list(batch.tracks) == ["default:month"]
    assert [i.key for i in batch.inputs] == [f"{B}:record:default:2031-0{m}" for m in (1, 2, 3, 4)]
    assert book.take_batch() is None  # nothing changed since


def test_off_the_black_list_steps_down_and_red_lists_commend_then_award_once() -> None:
    book, _ = new_book()
    for period in ("2031-01", "2031-02"):
        book.record(rec(period, ListKind.BLACK))
    assert kinds(book, rec("2031-03", None)) == (2, 1, ["step_down"])
    assert kinds(book, rec("2031-04", ListKind.RED)) == (1, 0, ["step_down", "commendation"])
    assert kinds(book, rec("2031-05", ListKind.RED)) == (
        0,
        0,
        ["commendation", "award_recommendation"],
    )
    # Award once per red streak.
    assert kinds(book, rec("2031-06", ListKind.RED)) == (0, 0, ["commendation"])
    # A gap (no 2031-07) restarts the streaks, not the level.
    assert kinds(book, rec("2031-08", ListKind.BLACK)) == (0, 1, ["notice"])
    assert book.s.tracks["default:month"].black_streak == 1


def test_overdue_plan_is_escalated_once_at_the_start_of_the_day_after_its_due() -> None:
    book, clock = new_book()
    for period in ("2031-01", "2031-02", "2031-03"):
        book.record(rec(period, ListKind.BLACK))
    book.take_batch()
    # Due 2031-03-16: overdue from 2031-03-17 00:00 in Asia/Shanghai = 2031-03-16 16:00 UTC.
    assert book.next_due() == datetime(2031, 3, 16, 16, 0, tzinfo=UTC)
    clock.at = datetime(2031, 3, 16, 15, 59, tzinfo=UTC)
    book.escalate_overdue()
    assert book.take_batch() is None
    clock.at = datetime(2031, 3, 16, 16, 0, tzinfo=UTC)
    book.escalate_overdue()
    order_id = f"{B}:default:2031-03:supervision"
    assert book.s.orders[order_id].status is OrderStatus.ESCALATED
    assert book.next_due() is None
    batch = book.take_batch()
    assert batch is not None
    [decision] = batch.decisions
    assert decision.key == f"ladder:{B}:order:{order_id}:escalated"
    assert decision.kind is ActionKind.ESCALATION
    assert decision.lines_zh[0] == "督办事项（2031-03）要求于 2031-03-16 前报送整改方案，逾期未报"
    book.escalate_overdue()
    assert book.take_batch() is None  # once

    # An escalated order still takes its plan, late.
    clock.at += timedelta(days=2)
    plan = CorrectionPlanInput(
        order_id=order_id, plan="成立专班，逐项销号，月底前完成整改。", idempotency_key="p-1"
    )
    book.check_plan(plan)
    result = book.submit_plan(plan)
    assert (result.status, result.on_time) == (OrderStatus.CLOSED, False)
    batch = book.take_batch()
    assert batch is not None
    assert batch.decisions[0].lines_zh[0] == (
        "督办事项（2031-03）整改方案已于 2031-03-19 报送（逾期，期限 2031-03-16）"
    )
    assert [a.action for a in batch.audit] == [f"correction_plan:{order_id}"]
    # The same key again: the first answer, nothing changed; another key: refused.
    version = book.s.version
    again = book.seen_plan(plan)
    assert again is not None and again.duplicate and again.on_time is False
    assert book.s.version == version
    other = plan.model_copy(update={"idempotency_key": "p-2"})
    assert refusal(book.check_plan, other) == "plan_already_submitted"
    short = plan.model_copy(update={"idempotency_key": "p-3", "order_id": "nope"})
    assert refusal(book.check_plan, short) == "unknown_order"


def test_project_red_two_months_gets_an_order_closed_when_it_is_off_red() -> None:
    book, clock = new_book()
    red1 = RedProject(code="P-1", name_zh="一号项目", streak=1, red_months=["2031-02"])
    assert kinds(book, rec("2031-02", None, [red1])) == (0, 0, [])
    red2 = red1.model_copy(update={"streak": 2, "red_months": ["2031-02", "2031-03"]})
    r = book.record(rec("2031-03", None, [red2]))
    [d] = r.decisions
    assert (d.kind, d.project, d.deadline) == (
        ActionKind.PROJECT_SUPERVISION,
        "P-1",
        date(2031, 3, 31),
    )
    order_id = f"{B}:default:2031-03:project:P-1"
    # Still red with the order open: no second order.
    red3 = red1.model_copy(update={"streak": 3})
    assert kinds(book, rec("2031-04", None, [red3])) == (0, 0, [])
    # A plan on a 督办单 leaves it awaiting the project's recovery.
    clock.at += timedelta(days=3)
    plan = CorrectionPlanInput(
        order_id=order_id, plan="增派施工力量，倒排工期。", idempotency_key="k"
    )
    assert book.submit_plan(plan).status is OrderStatus.PLAN_SUBMITTED
    assert kinds(book, rec("2031-05", None)) == (0, 0, ["order_closed"])
    assert book.s.orders[order_id].status is OrderStatus.CLOSED


def test_exemption_is_checked_granted_and_keeps_the_ladder_still() -> None:
    book, _ = new_book()
    book.record(rec("2031-01", ListKind.BLACK))
    ask = ExemptionInput(
        period="2031-02",
        reason=REASON,
        actor="王区长",
        role="district_leader",
        idempotency_key="e1",
    )
    assert refusal(book.check_exemption, ask.model_copy(update={"role": "bureau"})) == (
        "not_authorised"
    )
    assert refusal(book.check_exemption, ask.model_copy(update={"reason": "下雨"})) == (
        "reason_required"
    )
    assert refusal(book.check_exemption, ask.model_copy(update={"period": "2031-01"})) == (
        "period_already_ranked"
    )
    book.check_exemption(ask)
    granted = book.grant_exemption(ask)
    assert granted.decision_key == f"ladder:{B}:exemption:2031-02"
    assert refusal(book.check_exemption, ask.model_copy(update={"idempotency_key": "e2"})) == (
        "already_exempted"
    )
    dup = book.seen_exemption(ask)
    assert dup is not None and dup.duplicate
    # Black-listed in the exempted period: nothing moves, the streak holds.
    assert kinds(book, rec("2031-02", ListKind.BLACK)) == (1, 1, ["exempted"])
    assert kinds(book, rec("2031-03", ListKind.BLACK)) == (1, 2, ["summons"])


def test_record_checks_and_duplicates() -> None:
    book, _ = new_book()
    first = book.record(rec("2031-02", ListKind.BLACK))
    version = book.s.version
    dup = book.seen_record(rec("2031-02", ListKind.BLACK))
    assert dup is not None and dup.duplicate
    assert dup.decision_keys == [d.key for d in first.decisions] != []
    assert book.s.version == version
    book.check_record(rec("2031-02", ListKind.BLACK))  # a duplicate passes the validator
    assert book.seen_record(rec("2031-03", ListKind.BLACK)) is None
    assert refusal(book.check_record, rec("2031-01", ListKind.BLACK)) == "period_out_of_order"
    wrong = rec("2031-03", None)
    wrong.outcome.bureau = "t_other"
    assert refusal(book.check_record, wrong) == "wrong_bureau"
    bad = rec("2031-03", None)
    bad.outcome.kind = "quarter"
    assert refusal(book.check_record, bad) == "bad_period"
    # A revision of an earlier period than the track's last is refused.
    book.record(rec("2031-03", None))
    assert refusal(book.check_record, rec("2031-02", None, revision=2)) == (
        "revision_not_last_period"
    )


def test_revision_withdraws_what_it_no_longer_supports_and_makes_what_is_new() -> None:
    book, _ = new_book()
    book.record(rec("2031-01", ListKind.BLACK))
    book.record(rec("2031-02", ListKind.BLACK))
    book.take_batch()
    revised = rec("2031-02", ListKind.RED, revision=2)
    assert book.supersedes(revised)
    book.check_record(revised)
    r = book.record(revised)
    # From the standing before 2031-02 (level 1): off the black list → down to 0, and commended.
    assert (r.level_before, r.level_after) == (1, 0)
    assert r.withdrawn == [f"ladder:{B}:default:2031-02:summons:withdrawn"]
    assert [d.key for d in r.decisions] == [
        f"ladder:{B}:default:2031-02:r2:step_down",
        f"ladder:{B}:default:2031-02:r2:commendation",
    ]
    batch = book.take_batch()
    assert batch is not None
    assert [d.kind.value for d in batch.decisions] == ["withdrawn", "step_down", "commendation"]
    assert batch.notices[0].title_zh.startswith("【更正通报】【撤销决定】")
    assert [a.action for a in batch.audit] == ["ladder_withdraw:2031-02"]
    assert book.s.tracks["default:month"].level == 0


def test_continue_as_new_forgets_finished_orders_beyond_the_kept_ones() -> None:
    book, _ = new_book()
    for i in range(CLOSED_ORDERS_KEPT + 5):
        oid = f"o{i:03d}"
        book.s.orders[oid] = SupervisionOrder(
            id=oid,
            bureau=B,
            kind=ActionKind.SUPERVISION,
            period="2031-01",
            ruleset_id="default",
            track="default:month",
            issued_at=START + timedelta(days=i),
            due=date(2031, 4, 1),
            status=OrderStatus.WITHDRAWN if i < 3 else OrderStatus.CLOSED,
        )
    book.s.orders["open"] = book.s.orders["o000"].model_copy(
        update={"id": "open", "status": OrderStatus.OPEN}
    )
    # Closed ones only (runs recorded before withdrawn orders were forgotten): 52 closed → 50.
    book.forget_finished(withdrawn_too=False)
    assert sorted(book.s.orders)[:5] == ["o000", "o001", "o002", "o005", "o006"]
    book.forget_finished(withdrawn_too=True)
    assert len(book.s.orders) == CLOSED_ORDERS_KEPT + 1
    assert "open" in book.s.orders and "o000" not in book.s.orders
