"""The days of a request's deadline ladder: when the answer is due, when to remind, and when the
coordinating office's own deadline falls.

Owns the arithmetic an appeal (`guatu.appeals.book.deadlines`) and an expression of interest
(`guatu.opportunities.book.interest_deadlines`) share: the due day `days` after the start day
(not counted), the reminder `reminder_days` before the due day, the office's deadline
`escalation_days` after it, all in one unit. What each request makes of these days (the moment a
reminder fires, the explanation it prints) stays with it. A 市民观察 counts its reminder forward
from the filing on a table of working days carried in its input (`guatu.society.book`): another
rule, kept there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from guatu.workdays.calendar import WorkCalendar, default_calendar
from guatu.workdays.units import Unit


@dataclass(frozen=True)
class DeadlineDays:
    due: date
    remind_on: date | None  # None: no reminder (reminder_days is 0)
    office_due: date


def deadline_days(
    start: date,
    days: int,
    reminder_days: int,
    escalation_days: int,
    unit: Unit,
    cal: WorkCalendar | None = None,
) -> DeadlineDays:
    """The ladder's days from `start` in `unit`; working days on `cal` (the default calendar if
    None), calendar days by plain date arithmetic."""

    def add(day: date, n: int) -> date:
        if unit == "calendar":
            return day + timedelta(days=n)
        return (cal or default_calendar()).add(day, n, unit)

    due = add(start, days)
    return DeadlineDays(
        due=due,
        remind_on=add(due, -reminder_days) if reminder_days else None,
        office_due=add(due, escalation_days),
    )
