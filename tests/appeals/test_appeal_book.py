"""AppealBook and the filing checks without Temporal, on a hand clock. Every expected date is
counted by hand from a fixed anchor (comments show the count); `default` rule terms: window 7,
decision 10, reminder 3, escalation 5 calendar days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from guatu.appeals.book import (
    AppealBook,
    appeal_id,
    check_filing_text,
    check_window,
    deadlines,
    new_view,
)
from guatu.appeals.models import (
    AppealFiling,
    AppealInput,
    AppealItem,
    AppealState,
    AppealStatus,
    DecideInput,
    Decision,
)
from guatu.core.clock import CST
from guatu.lifecycle.rules.validation import InputRejected
from guatu.ranking.models import AppealRules, RuleSet
from guatu.ranking.rulesets import load_ruleset, ruleset_canonical

RULES = AppealRules(window_days=7, decision_days=10, reminder_days=3, escalation_days=5)
REASON = "三月月报已按期报送，系统误记为逾期，请予复核"


class HandClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def filing(**kw: object) -> AppealFiling:
    values: dict[str, object] = {
        "bureau": "swj",
        "period": "2026-11",
        "item": AppealItem.SCORE,
        "reason": REASON,
        "actor": "bureau:swj",
        "idempotency_key": "f1",
    }
    values.update(kw)
    return AppealFiling(**values)  # type: ignore[arg-type]


def book_at(at: datetime) -> tuple[AppealBook, HandClock]:
    clock = HandClock(at)
    f = filing()
    data = AppealInput(
        appeal_id=appeal_id(f, 1),
        filing=f,
        rules=RULES,
        published_at=datetime(2026, 12, 1, 9, tzinfo=CST),
        subject_zh="2026年11月竞进比拼得分（第 7/8 名，42.50 分）",
        bureau_name="水务局",
    )
    book = AppealBook(AppealState(input=data, view=new_view(data, at)), clock, lambda m, e: None)
    book.start()
    return book, clock


def decide(
    key: str = "d1",
    decision: Decision = Decision.REJECT,
    role: str = "leader",
    reason: str = "经核查，三月月报确于 3 月 27 日报送，逾期属实",
) -> DecideInput:
    return DecideInput(
        decision=decision, reason=reason, actor="leader:王区长", role=role, idempotency_key=key
    )


def test_deadlines_counted_in_local_calendar_days() -> None:
    # Filed 2026-12-31 10:00 in Wenjiang: due 2026-12-31 + 10 = 2027-01-10 (end of day);
    # reminder at the start of 01-10 − 3 = 01-07; escalation at the start of 01-11;
    # the office has until 01-10 + 5 = 01-15, overdue from the start of 01-16.
    d = deadlines(datetime(2026, 12, 31, 10, tzinfo=CST), RULES)
    assert (d.filed_on, d.decision_due, d.office_due) == (
        date(2026, 12, 31),
        date(2027, 1, 10),
        date(2027, 1, 15),
    )
    assert d.remind_at == datetime(2027, 1, 7, tzinfo=CST)
    assert d.escalate_at == datetime(2027, 1, 11, tzinfo=CST)
    assert d.office_overdue_at == datetime(2027, 1, 16, tzinfo=CST)
    # 29 February 2028, 23:30 local: 29 Feb + 10 days = 10 March (2028 is a leap year).
    leap = deadlines(datetime(2028, 2, 29, 23, 30, tzinfo=CST), RULES)
    assert (leap.filed_on, leap.decision_due, leap.office_due) == (
        date(2028, 2, 29),
        date(2028, 3, 10),
        date(2028, 3, 15),
    )
    # 31 December 20:00 UTC is already 1 January 04:00 in Wenjiang: due 01-01 + 10 = 01-11.
    utc_eve = deadlines(datetime(2026, 12, 31, 20, tzinfo=UTC), RULES)
    assert (utc_eve.filed_on, utc_eve.decision_due) == (date(2027, 1, 1), date(2027, 1, 11))
    # No reminder when reminder_days is 0.
    assert (
        deadlines(
            datetime(2026, 12, 31, 10, tzinfo=CST), RULES.model_copy(update={"reminder_days": 0})
        ).remind_at
        is None
    )


def test_window_is_publication_day_plus_n_inclusive() -> None:
    # Published 2026-12-01 09:00: the last day to appeal is 12-01 + 7 = 12-08.
    published = datetime(2026, 12, 1, 9, tzinfo=CST)
    check_window(published, datetime(2026, 12, 8, 23, 59, tzinfo=CST), RULES, "2026-11")
    with pytest.raises(InputRejected) as err:
        check_window(published, datetime(2026, 12, 9, 0, 0, tzinfo=CST), RULES, "2026-11")
    assert err.value.code == "window_closed"
    assert "2026-12-08" in err.value.zh and "2026-12-08" in err.value.en
    # Published 2026-11-30 20:00 UTC = 12-01 04:00 local: the same last day, 12-08.
    with pytest.raises(InputRejected):
        check_window(
            datetime(2026, 11, 30, 20, tzinfo=UTC),
            datetime(2026, 12, 9, 0, 0, tzinfo=CST),
            RULES,
            "2026-11",
        )


def test_filing_texts_and_references() -> None:
    check_filing_text(filing(), RULES)
    cases = {
        "reason_too_short": filing(reason="  不公平  "),  # 3 characters once stripped, < 10
        "reason_too_long": filing(reason="理" * 2001),
        "evidence_too_long": filing(evidence="证" * 10_001),
        "order_required": filing(item=AppealItem.ORDER),
        "order_not_expected": filing(order_id="swj:default:2026-11:supervision"),
        "project_not_expected": filing(item=AppealItem.LIST, project="WJ-1"),
    }
    for code, f in cases.items():
        with pytest.raises(InputRejected) as err:
            check_filing_text(f, RULES)
        assert err.value.code == code, code


def test_appeal_ids_name_round_bureau_item_and_revision() -> None:
    assert appeal_id(filing(), 1) == "default-2026-11-swj-score-r1"
    assert (
        appeal_id(filing(project="WJ2021-P06-001"), 2)
        == "default-2026-11-swj-score.WJ2021-P06-001-r2"
    )
    assert appeal_id(filing(item=AppealItem.LIST), 1) == "default-2026-11-swj-list-r1"
    assert (
        appeal_id(filing(item=AppealItem.ORDER, order_id="swj:default:2026-11:project:WJ-9"), 1)
        == "default-2026-11-swj-order.project.WJ-9-r1"
    )


def test_undecided_appeal_is_reminded_escalated_and_flagged_once_each() -> None:
    book, clock = book_at(datetime(2026, 12, 31, 10, tzinfo=CST))
    first = book.take_batch()
    assert first is not None
    assert [(n.key, n.bureau) for n in first.notices] == [
        ("appeal:default-2026-11-swj-score-r1:filed", "swj"),
        ("appeal:default-2026-11-swj-score-r1:filed:xfb", "xfb"),
    ]
    assert first.notices[0].body_zh.startswith("水务局：")
    assert "2027-01-10 前作出决定" in first.notices[0].body_zh
    assert [a.action for a in first.audit] == ["appeal:file:score"]
    assert book.next_due() == datetime(2027, 1, 7, tzinfo=CST)

    clock.at = datetime(2027, 1, 6, 23, 59, tzinfo=CST)  # a minute before the reminder
    book.process_due()
    assert book.take_batch() is None and book.v.status is AppealStatus.OPEN

    clock.at = datetime(2027, 1, 7, tzinfo=CST)
    book.process_due()
    batch = book.take_batch()
    assert batch is not None and book.v.status is AppealStatus.REMINDED
    assert [(n.kind, n.bureau) for n in batch.notices] == [("appeal_reminder", "xfb")]
    assert book.next_due() == datetime(2027, 1, 11, tzinfo=CST)

    clock.at = datetime(2027, 1, 11, 8, tzinfo=CST)
    book.process_due()
    batch = book.take_batch()
    assert batch is not None and book.v.status is AppealStatus.ESCALATED
    assert [(n.kind, n.bureau, n.deadline) for n in batch.notices] == [
        ("appeal_escalated", "xfb", date(2027, 1, 15)),
        ("appeal_escalated", "swj", date(2027, 1, 15)),
    ]
    assert "2027-01-15 前办结" in batch.notices[0].body_zh

    clock.at = datetime(2027, 1, 16, tzinfo=CST)
    book.process_due()
    batch = book.take_batch()
    assert batch is not None and [n.kind for n in batch.notices] == ["appeal_office_overdue"]
    assert book.next_due() is None
    clock.at += timedelta(days=30)
    book.process_due()
    assert book.take_batch() is None  # nothing fires twice


def test_late_start_fires_reminder_and_escalation_in_order() -> None:
    book, clock = book_at(datetime(2026, 12, 31, 10, tzinfo=CST))
    book.take_batch()
    clock.at = datetime(2027, 1, 12, tzinfo=CST)  # past the reminder and the deadline
    book.process_due()
    batch = book.take_batch()
    assert batch is not None
    assert [n.kind for n in batch.notices] == [
        "appeal_reminder",
        "appeal_escalated",
        "appeal_escalated",
    ]


def test_decision_checks_and_idempotency() -> None:
    book, clock = book_at(datetime(2026, 12, 31, 10, tzinfo=CST))
    book.take_batch()
    for data, code in (
        (decide(role="bureau"), "not_authorised"),
        (decide(reason="不行"), "reason_too_short"),
        (decide(reason="理" * 2001), "reason_too_long"),
    ):
        with pytest.raises(InputRejected) as err:
            book.check_decide(data)
        assert err.value.code == code
    clock.at = datetime(2027, 1, 3, 15, tzinfo=CST)
    book.check_decide(decide())
    view = book.decide(decide())
    assert (view.status, view.decision, view.decided_by) == (
        AppealStatus.REJECTED,
        Decision.REJECT,
        "leader:王区长",
    )
    assert book.next_due() is None and not book.needs_revision
    batch = book.take_batch()
    assert batch is not None
    assert [(n.kind, n.bureau) for n in batch.notices] == [
        ("appeal_rejected", "swj"),
        ("appeal_rejected", "xfb"),
    ]
    assert batch.notices[0].title_zh.startswith("【申诉不成立】")
    assert "理由：经核查" in batch.notices[0].body_zh
    [audit] = batch.audit
    assert (
        audit.action,
        audit.reason,
        audit.before,
        audit.after["status"],
        audit.after["late"],
    ) == (
        "appeal:reject",
        "经核查，三月月报确于 3 月 27 日报送，逾期属实",
        {"status": "open"},
        "rejected",
        False,
    )
    # The same key again: the first answer, changing nothing; another key: already decided.
    book.check_decide(decide())
    again = book.decide(decide())
    assert again.duplicate and again.decided_at == view.decided_at
    assert book.take_batch() is None
    with pytest.raises(InputRejected) as err:
        book.check_decide(decide(key="d2", decision=Decision.ACCEPT))
    assert err.value.code == "already_decided"


def test_acceptance_asks_for_a_revision_with_the_appeal_as_reason() -> None:
    book, clock = book_at(datetime(2026, 12, 31, 10, tzinfo=CST))
    clock.at = datetime(2027, 1, 12, tzinfo=CST)  # after the deadline: a late decision
    book.decide(decide(decision=Decision.ACCEPT, reason="月报按期报送属实，应予更正排名"))
    assert book.needs_revision
    assert book.revision_reason().startswith("申诉 default-2026-11-swj-score-r1 成立")
    batch = book.take_batch()
    assert batch is not None and batch.audit[-1].after["late"] is True
    assert "（逾期决定）" in batch.notices[-1].body_zh and batch.notices[-1].bureau == "xfb"


def test_rule_sets_carry_appeal_terms_outside_the_ranking_hash() -> None:
    default = load_ruleset("default")
    assert (
        default.appeal.window_days,
        default.appeal.decision_days,
        default.appeal.reminder_days,
        default.appeal.escalation_days,
    ) == (7, 10, 3, 5)
    assert load_ruleset("sanya").appeal.day_unit == "calendar"
    assert default.appeal.day_unit == "working"
    assert '"appeal"' not in ruleset_canonical(default)
    # An old rule set without the section still loads, with the default terms.
    body = default.model_dump(mode="json")
    assert RuleSet.model_validate(body).appeal == AppealRules()
    assert AppealRules(day_unit="working").day_unit == "working"
    with pytest.raises(ValidationError, match="工作日"):
        AppealRules(day_unit="weeks")
    with pytest.raises(ValidationError, match="reminder_days"):
        AppealRules(decision_days=3, reminder_days=3)


WORKING = RULES.model_copy(update={"day_unit": "working"})


def test_deadlines_in_working_days_across_spring_festival() -> None:
    # Filed Thursday 2026-02-12 15:00. 2026: 春节 15–23 Feb off; Saturdays 14 and 28 Feb 调休.
    # Decision, 10 working days: Fri 13 (1), Sat 14 (2), 24, 25, 26, 27 (3–6), Sat 28 (7),
    # 2, 3, 4 Mar (8–10) → 2026-03-04. Reminder 3 working days before: 3 Mar, 2 Mar, Sat 28 Feb
    # → start of 28 Feb. Office, 5 working days after 4 Mar: 5, 6, 9, 10, 11 Mar → 2026-03-11.
    d = deadlines(datetime(2026, 2, 12, 15, tzinfo=CST), WORKING)
    assert (d.filed_on, d.decision_due, d.office_due) == (
        date(2026, 2, 12),
        date(2026, 3, 4),
        date(2026, 3, 11),
    )
    assert d.remind_at == datetime(2026, 2, 28, tzinfo=CST)
    assert d.escalate_at == datetime(2026, 3, 5, tzinfo=CST)
    assert "春节假期 2月15日至2月23日（9 天）" in d.explain
    assert "2月14日（星期六）（春节调休）" in d.explain
    # Calendar terms say nothing and count plainly.
    assert deadlines(datetime(2026, 2, 12, 15, tzinfo=CST), RULES).explain == ""


def test_window_in_working_days() -> None:
    # Published Wednesday 2026-09-30: 7 working days are 8, 9, Sat 10, 12, 13, 14, 15 Oct.
    published = datetime(2026, 9, 30, 9, tzinfo=CST)
    check_window(published, datetime(2026, 10, 15, 23, tzinfo=CST), WORKING, "2026-09")
    with pytest.raises(InputRejected) as err:
        check_window(published, datetime(2026, 10, 16, 0, 30, tzinfo=CST), WORKING, "2026-09")
    assert "7 个工作日内（2026-10-15 前）" in err.value.zh
    assert "7 working days" in err.value.en
