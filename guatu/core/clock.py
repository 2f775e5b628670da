"""The one clock helper: programme (business) time, local dates and timer durations.

Every deadline in Guatu is computed here. In production the programme clock runs at scale 1 and
business time equals real time. Simulations and fault tests set a larger scale so that a month
of the programme passes in seconds, without a single deadline rule changing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

from pydantic import BaseModel, Field

# China Standard Time has no daylight saving: a fixed offset is exact and needs no tz database,
# which keeps workflow code free of file reads.
CST = timezone(timedelta(hours=8), name="Asia/Shanghai")


class ProgrammeClock(BaseModel):
    """Maps real time to programme (business) time.

    Production runs at scale 1. Simulations and fault tests run the programme faster: one real
    second stands for `scale` business seconds, anchored at the moment the clock was set.
    """

    scale: float = Field(default=1.0, gt=0)
    anchor_real: datetime | None = None
    anchor_business: datetime | None = None


def business_now(clock: ProgrammeClock, real_now: datetime) -> datetime:
    if clock.anchor_real is None or clock.anchor_business is None:
        return real_now
    return clock.anchor_business + (real_now - clock.anchor_real) * clock.scale


def real_delay(clock: ProgrammeClock, real_now: datetime, business_due: datetime) -> timedelta:
    """How long to sleep in real time until `business_due` on the programme clock."""
    remaining = business_due - business_now(clock, real_now)
    if remaining <= timedelta(0):
        return timedelta(0)
    return remaining / clock.scale


def local_date(moment: datetime) -> date:
    return moment.astimezone(CST).date()


def local_start(day: date) -> datetime:
    """Midnight at the start of `day` in Wenjiang, as an aware datetime."""
    return datetime.combine(day, time(0, 0), tzinfo=CST)


def past_due_at(day: date) -> datetime:
    """The moment a deadline day has passed: midnight at the start of the next day in Wenjiang
    (a deadline day counts whole; overdue, escalation and closing begin after it)."""
    return local_start(day + timedelta(days=1))


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def parse_month(key: str) -> date:
    year, month = key.split("-")
    return date(int(year), int(month), 1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(key: str) -> date:
    """The first day after the month: the moment its figures close."""
    return add_months(parse_month(key), 1)


def months_between(first: date, last: date) -> list[str]:
    """Month keys from the month of `first` to the month of `last`, inclusive."""
    keys: list[str] = []
    cursor = date(first.year, first.month, 1)
    end = date(last.year, last.month, 1)
    while cursor <= end:
        keys.append(month_key(cursor))
        cursor = add_months(cursor, 1)
    return keys


def day_in_month(key: str, day: int) -> date:
    """Day `day` of the month, clamped to the month's last day (the 31st of February is the 28th)."""
    first = parse_month(key)
    last = add_months(first, 1) - timedelta(days=1)
    return first.replace(day=min(max(day, 1), last.day))


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
