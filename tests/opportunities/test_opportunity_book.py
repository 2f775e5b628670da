"""ListingBook and InterestBook without Temporal: deadlines on working days across 国庆 2026
(holidays 10-01…10-07, 调休 Saturday 10-10 a working day), closing, refusals in Chinese first.

By hand, an interest submitted on Tuesday 2026-09-29 with the rule data (5 working days to
answer, reminder 1 working day before, escalation 5 working days after the due day):
working days after 09-29: 09-30 (1), [10-01…10-07 国庆], 10-08 (2), 10-09 (3), Saturday 10-10
(4, 调休), [Sunday 10-11], Monday 10-12 (5) → due 2026-10-12; reminder on the working day before,
Saturday 10-10; overdue from 10-13 00:00; escalation due 10-13, 10-14, 10-15, 10-16, 10-19 →
2026-10-19, escalated from 10-20 00:00.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from guatu.core.clock import CST
from guatu.lifecycle.models import ProgrammeClock
from guatu.lifecycle.rules.validation import InputRejected
from guatu.opportunities.book import (
    InterestBook,
    ListingBook,
    check_publish,
    interest_deadlines,
    new_interest_view,
    new_listing_view,
)
from guatu.opportunities.models import (
    CloseInput,
    InterestRequest,
    InterestState,
    InterestStatus,
    InterestSubmission,
    ListingInput,
    ListingState,
    ListingStatus,
    OpportunityKind,
    OpportunityRules,
    Outcome,
    OutcomeInput,
    PublishInput,
    RespondInput,
    SubjectKind,
    load_rules,
)

SUBMITTED = datetime(2026, 9, 29, 10, tzinfo=CST)
HUAWEI = "914403001922038216"


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _log(message: str, extra: dict[str, object]) -> None:
    pass


def submission(uscc: str = HUAWEI) -> InterestSubmission:
    return InterestSubmission(
        company_name="  示例科技有限公司 ",
        uscc=uscc,
        contact_name="张经理",
        contact_phone="028-8271 0000",
        message="拟投资建设社区养老综合体的运营部分",
    )


def publish(closes_on: date = date(2026, 10, 9)) -> PublishInput:
    return PublishInput(
        subject_kind=SubjectKind.SCENE,
        subject="JQJA",
        kind=OpportunityKind.OPERATION,
        title_zh="红桥社区养老综合体运营合作",
        amount_wan=1200,
        conditions="具备养老服务运营经验",
        closes_on=closes_on,
        actor="manager:李",
        idempotency_key="pub-1",
    )


def listing(now: Clock, closes_on: date = date(2026, 10, 9)) -> ListingBook:
    data = ListingInput(
        opportunity_id="JQJA.operation.20261009",
        publish=publish(closes_on),
        bureau="mzj",
        bureau_name="区民政局",
        subject_name_zh="九曲江安·十里光华",
        rules=OpportunityRules(),
        clock=ProgrammeClock(),
    )
    book = ListingBook(ListingState(input=data, view=new_listing_view(data, now())), now, _log)
    book.start()
    return book


def request(at: datetime = SUBMITTED, uscc: str = HUAWEI) -> InterestRequest:
    return InterestRequest(
        submission=submission(uscc), deadlines=interest_deadlines(at, OpportunityRules())
    )


def test_rule_data_file_is_the_documented_one() -> None:
    rules = load_rules()
    assert (rules.day_unit, rules.response_days, rules.reminder_days, rules.escalation_days) == (
        "working",
        5,
        1,
        5,
    )


def test_deadlines_across_national_day_and_its_make_up_saturday() -> None:
    d = interest_deadlines(SUBMITTED, OpportunityRules())
    assert d.submitted_on == date(2026, 9, 29)
    assert d.respond_due == date(2026, 10, 12)
    assert d.remind_at == datetime(2026, 10, 10, tzinfo=CST)  # the 调休 Saturday
    assert d.overdue_at == datetime(2026, 10, 13, tzinfo=CST)
    assert d.office_due == date(2026, 10, 19)
    assert d.escalate_at == datetime(2026, 10, 20, tzinfo=CST)
    assert "国庆" in d.explain and "10月10日（星期六）" in d.explain


def test_calendar_days_when_the_rule_says_so() -> None:
    rules = OpportunityRules(day_unit="calendar")
    d = interest_deadlines(SUBMITTED, rules)
    # 09-29 + 5 = 10-04 (a holiday, counted: calendar days); reminder 10-03; office 10-09.
    assert (d.respond_due, d.office_due) == (date(2026, 10, 4), date(2026, 10, 9))
    assert d.remind_at == datetime(2026, 10, 3, tzinfo=CST)


def test_publishing_with_a_closing_date_in_the_past_or_too_far_is_refused() -> None:
    with pytest.raises(InputRejected) as err:
        check_publish(publish(date(2026, 9, 28)), date(2026, 9, 29), OpportunityRules())
    assert err.value.code == "closing_in_past" and "早于今天" in err.value.zh
    check_publish(publish(date(2026, 9, 29)), date(2026, 9, 29), OpportunityRules())  # today
    # At most 730 days ahead: 2026-09-29 + 730 = 2028-09-28 (2027 has 365 days, 2028 is leap).
    check_publish(publish(date(2028, 9, 28)), date(2026, 9, 29), OpportunityRules())
    with pytest.raises(InputRejected) as err:
        check_publish(publish(date(2028, 9, 29)), date(2026, 9, 29), OpportunityRules())
    assert err.value.code == "closing_too_far" and "最晚可设为 2028-09-28" in err.value.zh


def test_listing_takes_interest_until_the_end_of_its_closing_day() -> None:
    now = Clock(SUBMITTED)
    book = listing(now)
    child, receipt = book.register(request())
    assert child is not None and child.interest_id == f"JQJA.operation.20261009.{HUAWEI}"
    assert child.submission.company_name == "示例科技有限公司"  # trimmed
    assert receipt.respond_due == date(2026, 10, 12) and not receipt.duplicate
    assert "区民政局将于 2026-10-12 前答复" in receipt.message_zh
    assert "张经理" not in receipt.model_dump_json()  # the receipt carries no contact
    # The same enterprise again: its first receipt, no second interest.
    book.check_interest(request())
    again, second = book.register(request())
    assert again is None and second.duplicate and second.interest_id == receipt.interest_id
    assert book.v.interests == 1
    # The last second of the closing day (10-09 23:59:59) still takes a new enterprise.
    now.at = datetime(2026, 10, 9, 23, 59, 59, tzinfo=CST)
    other = "9144030071526726XG"
    book.check_interest(request(uscc=other))
    assert book.next_due() == datetime(2026, 10, 10, tzinfo=CST)
    # From 10-10 00:00 the list is closed, even before its timer has fired.
    now.at = datetime(2026, 10, 10, tzinfo=CST)
    with pytest.raises(InputRejected) as err:
        book.check_interest(request(uscc="91350100M000100Y43"))
    assert err.value.code == "opportunity_closed" and "2026-10-09 截止" in err.value.zh
    book.process_due()
    assert book.closed and book.v.close_reason == "deadline" and book.next_due() is None
    batch = book.take_batch()
    assert batch is not None
    assert [n.key.rsplit(":", 1)[1] for n in batch.notices] == ["published", "closed"]
    assert "共收到 1 份合作意向" in batch.notices[1].body_zh


def test_a_bad_credit_code_is_refused_by_the_listing() -> None:
    book = listing(Clock(SUBMITTED))
    with pytest.raises(InputRejected) as err:
        book.check_interest(request(uscc="914403001922038217"))
    assert err.value.code == "uscc_check_digit"


def test_only_a_manager_closes_early_and_only_once() -> None:
    book = listing(Clock(SUBMITTED))
    close = CloseInput(
        reason="项目已引入运营方", actor="leader:王", role="leader", idempotency_key="c1"
    )
    with pytest.raises(InputRejected) as err:
        book.check_close(close)
    assert err.value.code == "not_authorised"
    close = close.model_copy(update={"role": "manager", "reason": " "})
    with pytest.raises(InputRejected) as err:
        book.check_close(close)
    assert err.value.code == "reason_required"
    close = close.model_copy(update={"reason": "项目已引入运营方"})
    book.check_close(close)
    view = book.close(close)
    assert view.status is ListingStatus.CLOSED and view.close_reason == "manager: 项目已引入运营方"
    assert book.close(close).duplicate  # the same request again
    book.check_close(close)  # … is not refused
    with pytest.raises(InputRejected) as err:
        book.check_close(close.model_copy(update={"idempotency_key": "c2"}))
    assert err.value.code == "already_closed"
    with pytest.raises(InputRejected) as err:
        book.check_interest(request())
    assert "已提前截止" in err.value.zh


def interest(now: Clock) -> InterestBook:
    book = listing(Clock(SUBMITTED))
    child, _ = book.register(request())
    assert child is not None
    ib = InterestBook(InterestState(input=child, view=new_interest_view(child, now())), now, _log)
    ib.start()
    return ib


def answer(key: str = "r1", bureau: str = "mzj", role: str = "bureau") -> RespondInput:
    return RespondInput(
        reply="已收到，请于下周到区民政局面谈",
        actor="bureau:刘",
        role=role,
        bureau=bureau,
        idempotency_key=key,
    )


def test_interest_reminder_overdue_and_escalation_each_once_in_order() -> None:
    now = Clock(SUBMITTED)
    book = interest(now)
    assert book.next_due() == datetime(2026, 10, 10, tzinfo=CST)
    now.at = datetime(2026, 10, 9, 23, 59, tzinfo=CST)
    book.process_due()
    assert book.v.status is InterestStatus.WAITING
    now.at = datetime(2026, 10, 10, 0, 0, tzinfo=CST)  # the 调休 Saturday
    book.process_due()
    assert book.v.status is InterestStatus.REMINDED
    assert book.next_due() == datetime(2026, 10, 13, tzinfo=CST)
    now.at = datetime(2026, 10, 25, tzinfo=CST)  # long after: both remaining events, in order
    book.process_due()
    assert book.v.status is InterestStatus.ESCALATED and book.next_due() is None
    batch = book.take_batch()
    assert batch is not None
    assert [n.key.split(":")[-1] for n in batch.notices] == [
        "submitted",
        "reminder",
        "overdue",
        "xfb",
        "escalated",
        "bureau",
    ]
    assert [n.bureau for n in batch.notices] == ["mzj", "mzj", "mzj", "xfb", "xfb", "mzj"]
    kinds = [n.kind for n in batch.notices]
    assert kinds == [
        "interest_submitted",
        "interest_reminder",
        "interest_overdue",
        "interest_overdue",
        "interest_escalated",
        "interest_escalated",
    ]
    assert "请于 2026-10-12 前答复企业（5 个工作日）" in batch.notices[0].body_zh
    assert batch.notices[2].deadline == date(2026, 10, 19)  # 催办 names the office's date
    assert "期限说明" in batch.notices[0].body_zh
    # A late answer is recorded as late, and the office hears of it.
    book.respond(answer())
    assert book.v.replied_late and book.v.status is InterestStatus.RESPONDED
    assert [n.kind for n in book.take_batch().notices] == ["interest_replied"]  # type: ignore[union-attr]


def test_answer_in_time_stops_every_deadline() -> None:
    now = Clock(datetime(2026, 10, 12, 17, tzinfo=CST))  # the due day itself
    book = interest(Clock(SUBMITTED))
    book._now = now
    book.check_respond(answer())
    view = book.respond(answer())
    assert view.status is InterestStatus.RESPONDED and not view.replied_late
    assert book.next_due() is None


def test_answers_and_outcomes_are_the_responsible_bureaus() -> None:
    book = interest(Clock(SUBMITTED))
    for data, code in (
        (answer(role="manager", bureau=""), "not_authorised"),
        (answer(bureau="fgj"), "not_your_interest"),
        (answer().model_copy(update={"reply": "好"}), "reply_too_short"),
    ):
        with pytest.raises(InputRejected) as err:
            book.check_respond(data)
        assert err.value.code == code
        if code == "not_your_interest":
            assert "由区民政局负责" in err.value.zh
    book.respond(answer())
    with pytest.raises(InputRejected) as err:
        book.check_respond(answer("r2"))
    assert err.value.code == "already_answered"
    assert book.respond(answer()).duplicate  # the same answer retried
    nope = OutcomeInput(
        outcome=Outcome.NOT_CONCLUDED,
        note="",
        actor="bureau:刘",
        role="bureau",
        bureau="mzj",
        idempotency_key="o1",
    )
    with pytest.raises(InputRejected) as err:
        book.check_outcome(nope)
    assert err.value.code == "note_required" and "未成" in err.value.zh
    with pytest.raises(InputRejected) as err:
        book.check_outcome(nope.model_copy(update={"note": "企业资质不符", "amount_wan": 10}))
    assert err.value.code == "amount_not_expected"
    signed = nope.model_copy(update={"outcome": Outcome.SIGNED, "amount_wan": 800.0})
    book.check_outcome(signed)
    view = book.record_outcome(signed)
    assert view.status is InterestStatus.SIGNED and view.outcome_amount_wan == 800.0
    assert book.concluded and book.next_due() is None
    with pytest.raises(InputRejected) as err:
        book.check_outcome(signed.model_copy(update={"idempotency_key": "o2"}))
    assert err.value.code == "already_concluded" and "签约" in err.value.zh


def test_an_outcome_without_an_answer_is_the_answer() -> None:
    now = Clock(SUBMITTED + timedelta(days=1))
    book = interest(Clock(SUBMITTED))
    book._now = now
    view = book.record_outcome(
        OutcomeInput(
            outcome=Outcome.NOT_CONCLUDED,
            note="企业资质不符合招商条件",
            actor="bureau:刘",
            role="bureau",
            bureau="mzj",
            idempotency_key="o1",
        )
    )
    assert view.replied_at is not None and view.reply == "企业资质不符合招商条件"
    assert view.status is InterestStatus.NOT_CONCLUDED
