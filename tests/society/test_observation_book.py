"""ObservationBook without Temporal, on the real working-day calendar around 国庆 2026.

By hand (2026: 中秋 25 Sept, 国庆 1–7 Oct; 调休 working days Sunday 20 Sept and Saturday 10 Oct).
Filed Tuesday 2026-09-29 with 5 working days to reply, a reminder 2 working days before, and 3
working days for 区幸福办:
  working days after 09-29: 09-30 (1), [10-01…10-07 holiday], 10-08 (2), 10-09 (3),
  10-10 Saturday make-up (4), [10-11 Sunday], 10-12 (5)          → reply due 2026-10-12
  reminder: 5 − 2 = 3rd working day                              → 2026-10-09
  unanswered: overdue from the start of 10-13; office due 10-12 + 3 working days
  (10-13, 10-14, 10-15)                                          → 2026-10-15
A reply on Saturday 10-10 (a 调休 working day) is on time; the observer then has 5 working days to
rate it: 10-12, 10-13, 10-14, 10-15, 10-16                       → rating due 2026-10-16.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from guatu.core.clock import CST
from guatu.lifecycle.rules.validation import InputRejected
from guatu.society.book import ObservationBook, new_view, table_add
from guatu.society.models import (
    Category,
    ObservationInput,
    ObservationRules,
    ObservationState,
    ObservationStatus,
    RateInput,
    ReplyInput,
    ResolveInput,
    Satisfaction,
    TargetKind,
)
from guatu.society.service import check_photos, photo_type, working_days
from guatu.workdays import default_calendar

FILED = datetime(2026, 9, 29, 10, tzinfo=CST)
RULES = ObservationRules(reply_days=5, reminder_days=2, rating_days=5, escalation_days=3)


class Clock:
    def __init__(self) -> None:
        self.at = FILED

    def __call__(self) -> datetime:
        return self.at


def book(clock: Clock) -> ObservationBook:
    data = ObservationInput(
        observation_id="P-1-20260929-ob1-1",
        target_kind=TargetKind.PROJECT,
        target="P-1",
        target_name="红桥社区养老综合体",
        bureau="mzj",
        bureau_name="区民政局",
        observer="ob1",
        category=Category.NUISANCE,
        rating=2,
        text="夜间施工噪声大，22点后仍在作业",
        wants_reply=True,
        rules=RULES,
        working_days=working_days(default_calendar(), FILED.date()),
        idempotency_key="k1",
    )
    add = table_add(data.working_days)
    b = ObservationBook(
        ObservationState(input=data, view=new_view(data, FILED, add)), clock, add, lambda *a: None
    )
    b.start()
    return b


def reply(b: ObservationBook, key: str = "r1", bureau: str = "mzj", role: str = "bureau") -> None:
    data = ReplyInput(
        text="已责令施工单位22点后停止高噪声作业",
        bureau=bureau,
        actor="bureau:x",
        role=role,
        idempotency_key=key,
    )
    b.check_reply(data)
    b.reply(data)


def test_deadlines_count_working_days_across_national_day() -> None:
    b = book(Clock())
    assert b.v.reply_due == date(2026, 10, 12)
    assert b.v.remind_on == date(2026, 10, 9)
    assert b.next_due() == datetime(2026, 10, 9, tzinfo=CST)
    assert b.v.status is ObservationStatus.OPEN


def test_unanswered_is_reminded_then_overdue_and_escalated_then_office_overdue() -> None:
    clock = Clock()
    b = book(clock)
    clock.at = datetime(2026, 10, 9, 0, 0, tzinfo=CST)
    b.process_due()
    assert b.v.status is ObservationStatus.REMINDED
    assert b.next_due() == datetime(2026, 10, 13, tzinfo=CST)
    clock.at = datetime(2026, 10, 12, 23, 59, tzinfo=CST)  # the last minute of the due day
    b.process_due()
    assert b.v.status is ObservationStatus.REMINDED
    clock.at = datetime(2026, 10, 13, 0, 0, tzinfo=CST)
    b.process_due()
    assert b.v.status is ObservationStatus.ESCALATED
    assert (b.v.escalation_reason, b.v.office_due) == ("unanswered", date(2026, 10, 15))
    clock.at = datetime(2026, 10, 16, 0, 0, tzinfo=CST)
    b.process_due()
    assert b.v.office_overdue_at == clock.at
    batch = b.take_batch()
    assert batch is not None
    assert [n.key.split(":", 2)[2] for n in batch.notices] == [
        "filed",
        "reminder",
        "overdue",
        "escalated:unanswered",
        "office_overdue",
    ]
    overdue = next(n for n in batch.notices if n.key.endswith(":overdue"))
    assert (overdue.bureau, overdue.project, overdue.deadline) == ("mzj", "P-1", date(2026, 10, 15))
    # A late reply is still taken (and marked late); only 区幸福办 closes an escalated one.
    clock.at = datetime(2026, 10, 16, 9, tzinfo=CST)
    reply(b)
    assert b.v.reply_on_time is False and b.v.status is ObservationStatus.ESCALATED
    resolve = ResolveInput(
        text="经督办，施工单位已调整作业时间", actor="leader:x", role="leader", idempotency_key="s1"
    )
    b.check_resolve(resolve)
    b.resolve(resolve)
    assert b.v.status is ObservationStatus.CLOSED and b.finished


def test_reply_on_a_make_up_saturday_is_on_time_and_unsatisfied_escalates() -> None:
    clock = Clock()
    b = book(clock)
    clock.at = datetime(2026, 10, 10, 15, tzinfo=CST)  # Saturday, a 调休 working day
    b.process_due()  # the reminder of 10-09 fires first
    reply(b)
    assert b.v.reply_on_time is True
    assert (b.v.status, b.v.rating_due) == (ObservationStatus.REPLIED, date(2026, 10, 16))
    # A second reply, the observer replying, another bureau: refused before anything changes.
    with pytest.raises(InputRejected) as err:
        reply(b, key="r2")
    assert err.value.code == "already_replied"
    with pytest.raises(InputRejected) as err:
        reply(b, key="r3", bureau="ob1", role="observer")
    assert err.value.code == "not_responsible"
    reply(b, key="r1")  # the same key again: the first answer, nothing changes
    version = b.v.version
    rate = RateInput(
        satisfaction=Satisfaction.UNSATISFIED,
        comment="仍有噪声",
        observer="ob1",
        role="observer",
        idempotency_key="t1",
    )
    with pytest.raises(InputRejected) as err:
        b.check_rate(rate.model_copy(update={"observer": "ob2"}))
    assert err.value.code == "not_observer"
    clock.at = datetime(2026, 10, 12, 9, tzinfo=CST)
    b.check_rate(rate)
    b.rate(rate)
    assert b.v.version == version + 1
    assert (b.v.status, b.v.escalation_reason) == (ObservationStatus.ESCALATED, "unsatisfied")
    assert b.v.office_due == date(2026, 10, 15)  # 10-13, 10-14, 10-15
    with pytest.raises(InputRejected) as err:
        b.check_rate(rate.model_copy(update={"idempotency_key": "t2"}))
    assert err.value.code == "already_rated"


def test_unrated_reply_closes_after_the_rating_window() -> None:
    clock = Clock()
    b = book(clock)
    clock.at = datetime(2026, 9, 30, 9, tzinfo=CST)
    reply(b)
    # Replied 09-30: 10-08 (1), 10-09 (2), 10-10 Saturday make-up (3), 10-12 (4), 10-13 (5).
    assert b.v.rating_due == date(2026, 10, 13)
    clock.at = datetime(2026, 10, 13, 23, 59, tzinfo=CST)
    b.process_due()
    assert b.v.status is ObservationStatus.REPLIED
    clock.at = datetime(2026, 10, 14, tzinfo=CST)
    b.process_due()
    assert b.v.status is ObservationStatus.CLOSED and b.v.satisfaction is None


def test_table_add_falls_back_to_weekdays_past_its_end() -> None:
    add = table_add([date(2026, 10, 8), date(2026, 10, 9)])
    assert add(date(2026, 10, 7), 2, "working") == date(2026, 10, 9)
    assert add(date(2026, 10, 7), 3, "working") == date(2026, 10, 12)  # Monday after the table
    assert add(date(2026, 10, 7), 3, "calendar") == date(2026, 10, 10)


def test_photos_are_checked_by_magic_bytes_and_size() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
    jpeg = b"\xff\xd8\xff\xe0" + b"\0" * 100
    assert photo_type(png) == "image/png" and photo_type(jpeg) == "image/jpeg"
    assert photo_type(b"GIF89a") is None
    refs = check_photos([jpeg, png], RULES)
    assert [(r.seq, r.content_type, r.size) for r in refs] == [
        (1, "image/jpeg", 104),
        (2, "image/png", 108),
    ]
    with pytest.raises(InputRejected) as err:
        check_photos([jpeg, b"%PDF-1.4"], RULES)
    assert err.value.code == "photo_not_image" and "第 2 张" in err.value.zh
    big = jpeg + b"\0" * RULES.photo_max_bytes
    with pytest.raises(InputRejected) as err:
        check_photos([big], RULES)
    assert err.value.code == "photo_too_large"
    with pytest.raises(InputRejected) as err:
        check_photos([jpeg] * (RULES.photos_max + 1), RULES)
    assert err.value.code == "too_many_photos"
