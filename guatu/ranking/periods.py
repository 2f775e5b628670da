"""Ranking periods: a month "2026-11", a quarter "2026-Q4" or a year "2026".

A period closes at the start of the first day after it (`close`), the moment its figures are
frozen. Pure functions only: the workflow sandbox imports this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from guatu.core.clock import add_months, month_key


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


KIND_ZH = {PeriodKind.MONTH: "月度", PeriodKind.QUARTER: "季度", PeriodKind.YEAR: "年度"}

_MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^([0-9]{4})-Q([1-4])$")
_YEAR = re.compile(r"^([0-9]{4})$")


class PeriodError(ValueError):
    """Not a period key; the message is bilingual."""


@dataclass(frozen=True)
class Period:
    key: str
    kind: PeriodKind
    start: date  # first day inside the period
    close: date  # first day after the period: figures close at its start

    @property
    def months(self) -> list[str]:
        keys: list[str] = []
        cursor = self.start
        while cursor < self.close:
            keys.append(month_key(cursor))
            cursor = add_months(cursor, 1)
        return keys

    @property
    def last_month(self) -> str:
        return month_key(add_months(self.close, -1))

    @property
    def label_zh(self) -> str:
        if self.kind is PeriodKind.MONTH:
            return f"{self.start.year}年{self.start.month}月"
        if self.kind is PeriodKind.QUARTER:
            return f"{self.start.year}年第{(self.start.month - 1) // 3 + 1}季度"
        return f"{self.start.year}年度"


# The doors accept periods of 2000–2100 (plan dates); arithmetic around them (the period before
# 2000-01 is 1999-12) stays inside 1900–2200. Year 0 or 9999 would only make date arithmetic
# fail deep inside a query: refused here as a bad period instead.
FIRST_YEAR, LAST_YEAR = 1900, 2200


def _year(text: str, key: str) -> int:
    year = int(text)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PeriodError(
            f"期间 {key!r} 超出范围（{FIRST_YEAR}–{LAST_YEAR} 年） / "
            f"period {key!r} is out of range ({FIRST_YEAR}–{LAST_YEAR})"
        )
    return year


def parse_period(key: str) -> Period:
    if m := _MONTH.match(key):
        start = date(_year(m[1], key), int(m[2]), 1)
        return Period(key, PeriodKind.MONTH, start, add_months(start, 1))
    if m := _QUARTER.match(key):
        start = date(_year(m[1], key), 3 * (int(m[2]) - 1) + 1, 1)
        return Period(key, PeriodKind.QUARTER, start, add_months(start, 3))
    if m := _YEAR.match(key):
        start = date(_year(m[1], key), 1, 1)
        return Period(key, PeriodKind.YEAR, start, date(start.year + 1, 1, 1))
    raise PeriodError(
        f"期间格式错误：{key!r}（应为 2026-11、2026-Q4 或 2026） / "
        f"bad period {key!r} (expected 2026-11, 2026-Q4 or 2026)"
    )


def is_period(key: str) -> bool:
    try:
        parse_period(key)
    except PeriodError:
        return False
    return True


def period_containing(kind: PeriodKind | str, day: date) -> Period:
    kind = PeriodKind(kind)
    if kind is PeriodKind.MONTH:
        return parse_period(month_key(day))
    if kind is PeriodKind.QUARTER:
        return parse_period(f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}")
    return parse_period(f"{day.year:04d}")


def previous_period(period: Period | str) -> Period:
    p = parse_period(period) if isinstance(period, str) else period
    if p.kind is PeriodKind.MONTH:
        return period_containing(p.kind, add_months(p.start, -1))
    if p.kind is PeriodKind.QUARTER:
        return period_containing(p.kind, add_months(p.start, -3))
    return period_containing(p.kind, date(p.start.year - 1, 1, 1))


def last_closed(kind: PeriodKind | str, today: date) -> Period:
    """The most recent period of `kind` that has closed by `today` (the one a round ranks)."""
    return previous_period(period_containing(kind, today))


def periods_between(kind: PeriodKind | str, first: str, last: str) -> list[str]:
    """Period keys of one kind from `first` to `last` inclusive."""
    keys: list[str] = []
    cursor = parse_period(last)
    start = parse_period(first)
    if cursor.kind is not PeriodKind(kind) or start.kind is not PeriodKind(kind):
        raise PeriodError(f"期间类型不一致 / period kinds differ: {first}, {last}")
    while cursor.start >= start.start:
        keys.append(cursor.key)
        if cursor.start == start.start:
            break  # not one step further: the period before 2000-01 does not exist
        cursor = previous_period(cursor)
    return keys[::-1]
