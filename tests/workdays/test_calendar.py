"""The working-day calendar against the State Council's announcements, checked by hand.

2026 (国务院办公厅关于2026年部分节假日安排的通知): 春节 2月15日至23日放假调休，共9天，2月14日（星期六）、2月28日（星期六）
上班; 中秋节 9月25日至27日; 国庆节 10月1日至7日放假调休，共7天，9月20日（星期日）、10月10日（星期六）上班.
2025 (国务院办公厅关于2025年部分节假日安排的通知): 春节 1月28日至2月4日，1月26日（星期日）、2月8日（星期六）上班;
国庆节、中秋节 10月1日至8日，9月28日（星期日）、10月11日（星期六）上班.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from guatu.workdays import CalendarFileError, WorkCalendar, default_calendar


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.build(override_dir=None)


def test_default_calendar_is_cached() -> None:
    assert default_calendar() is default_calendar()


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 2, 13), True),  # Friday before the break
        (date(2026, 2, 14), True),  # 调休 Saturday
        (date(2026, 2, 16), False),  # Monday inside 春节
        (date(2026, 2, 23), False),  # last day of 春节, a Monday
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),  # 调休 Saturday
        (date(2026, 3, 7), False),  # an ordinary Saturday
        (date(2026, 9, 20), True),  # 调休 Sunday before 国庆
        (date(2026, 9, 25), False),  # 中秋, a Friday
        (date(2026, 10, 1), False),
        (date(2026, 10, 7), False),  # Wednesday inside 国庆
        (date(2026, 10, 8), True),
        (date(2026, 10, 10), True),  # 调休 Saturday
        (date(2026, 10, 11), False),
        (date(2025, 1, 26), True),  # 调休 Sunday before 春节 2025
        (date(2025, 2, 4), False),
        (date(2025, 2, 8), True),
        (date(2025, 10, 8), False),
        (date(2025, 10, 11), True),
    ],
)
def test_days_of_the_announcements(cal: WorkCalendar, day: date, working: bool) -> None:
    assert cal.is_working_day(day) is working


def test_correction_plan_15_working_days_across_national_day(cal: WorkCalendar) -> None:
    # Issued Friday 25 Sep 2026 (中秋). Working days after it: 28, 29, 30 Sep (1–3); 1–7 Oct off;
    # 8, 9 Oct (4, 5); Saturday 10 Oct 调休 (6); 12–16 Oct (7–11); 19, 20, 21, 22 Oct (12–15).
    assert cal.add(date(2026, 9, 25), 15, "working") == date(2026, 10, 22)
    text = cal.explain(date(2026, 9, 25), 15, "working")
    zh, _, en = text.partition(" / ")
    assert "2026-10-22（星期四）" in zh
    assert "国庆节假期 10月1日至10月7日（7 天）" in zh
    assert "中秋节假期 9月26日至9月27日（2 天）" in zh
    assert "10月10日（星期六）（国庆节调休）" in zh
    assert "起算日当天不计" in zh
    assert "National Day 1 Oct–7 Oct (7 days)" in en
    assert "Saturday 10 Oct" in en
    # Without the calendar (weekends only) it would have been 15 Oct: the holidays matter.
    weekends = WorkCalendar.build(use_package=False, override_dir=None)
    assert weekends.add(date(2026, 9, 25), 15, "working") == date(2026, 10, 16)


def test_calendar_days_ignore_holidays(cal: WorkCalendar) -> None:
    assert cal.add(date(2026, 9, 25), 15, "calendar") == date(2026, 10, 10)
    assert "自然日" in cal.explain(date(2026, 9, 25), 15, "calendar")


def test_spring_festival_2026_with_both_make_up_saturdays(cal: WorkCalendar) -> None:
    # From Friday 13 Feb: Sat 14 (1, 调休); 15–23 off; 24, 25, 26, 27 (2–5); Sat 28 (6, 调休);
    # Mon 2 Mar (7).
    assert cal.add(date(2026, 2, 13), 5, "working") == date(2026, 2, 27)
    assert cal.add(date(2026, 2, 13), 6, "working") == date(2026, 2, 28)
    assert cal.add(date(2026, 2, 13), 7, "working") == date(2026, 3, 2)
    zh = cal.explain(date(2026, 2, 13), 7, "working").partition(" / ")[0]
    assert "春节假期 2月15日至2月23日（9 天）" in zh
    assert "2月14日（星期六）（春节调休）" in zh and "2月28日（星期六）（春节调休）" in zh


def test_spring_festival_2025_make_up_sunday(cal: WorkCalendar) -> None:
    # From Friday 24 Jan 2025: Sun 26 (1, 调休); Mon 27 (2); 28 Jan–4 Feb off; 5, 6, 7 Feb (3–5);
    # Sat 8 Feb (6, 调休); Mon 10 Feb (7).
    assert cal.add(date(2025, 1, 24), 5, "working") == date(2025, 2, 7)
    assert cal.add(date(2025, 1, 24), 6, "working") == date(2025, 2, 8)
    assert cal.add(date(2025, 1, 24), 7, "working") == date(2025, 2, 10)


def test_counting_back_for_reminders(cal: WorkCalendar) -> None:
    # 3 working days before Monday 12 Oct 2026: Sat 10 (调休), Fri 9, Thu 8.
    assert cal.add(date(2026, 10, 12), -3, "working") == date(2026, 10, 8)
    assert cal.add(date(2026, 10, 8), -1, "working") == date(2026, 9, 30)
    assert cal.add(date(2026, 10, 8), 0, "working") == date(2026, 10, 8)


def test_unknown_unit_refused(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="期限单位"):
        cal.add(date(2026, 1, 5), 1, "weeks")  # type: ignore[arg-type]


def test_fallback_year_weekends_only_and_says_so(cal: WorkCalendar) -> None:
    assert cal.coverage_note(2026) is None
    note = cal.coverage_note(2099)
    assert note is not None and "2099" in note and "仅双休日" in note
    # 2099-10-01 is a Thursday: with no announcement it counts as a working day.
    assert cal.is_working_day(date(2099, 10, 1)) is True
    assert cal.add(date(2099, 9, 30), 3, "working") == date(2099, 10, 5)
    text = cal.explain(date(2099, 9, 30), 3, "working")
    assert text.startswith("2099-09-30（星期三）起第 3 个工作日为 2099-10-05（星期一）")
    assert "2099 年的法定节假日与调休安排尚未收录" in text
    assert "weekends only" in text


def test_override_file_covers_a_new_year(tmp_path: Path) -> None:
    # An illustrative override (made-up days for 2099, not an announcement).
    (tmp_path / "2099.json").write_text(
        json.dumps(
            {
                "year": 2099,
                "source": "test fixture",
                "holidays": [
                    {
                        "name_zh": "国庆节",
                        "name_en": "National Day",
                        "start": "2099-10-01",
                        "end": "2099-10-07",
                    }
                ],
                "workdays": [
                    {"date": "2099-10-10", "name_zh": "国庆节", "name_en": "National Day"}
                ],
            }
        ),
        encoding="utf-8",
    )
    cal = WorkCalendar.build(override_dir=tmp_path)
    assert cal.coverage_note(2099) is None
    assert cal.is_working_day(date(2099, 10, 1)) is False
    assert cal.is_working_day(date(2099, 10, 10)) is True  # a Saturday
    # From Wed 30 Sep 2099: 1–7 Oct off; Thu 8 (1), Fri 9 (2), Sat 10 调休 (3).
    assert cal.add(date(2099, 9, 30), 3, "working") == date(2099, 10, 10)
    assert "config/calendar/2099.json" not in cal.explain(date(2099, 9, 30), 3, "working")


def test_bad_override_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "2099.json").write_text(
        json.dumps(
            {
                "year": 2099,
                "source": "x",
                "holidays": [],
                "workdays": [
                    {"date": "2099-10-08", "name_zh": "国庆节", "name_en": "National Day"}
                ],
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(CalendarFileError, match="2099.json"):
        WorkCalendar.build(override_dir=tmp_path)
    (tmp_path / "2099.json").write_text('{"year": 2098, "source": "x", "holidays": []}')
    with pytest.raises(CalendarFileError, match="2098.json"):
        WorkCalendar.build(override_dir=tmp_path)
