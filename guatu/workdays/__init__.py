"""Chinese working-day calendar (工作日历): statutory holidays, 调休 make-up days, weekends.

`default_calendar()` is the one every deadline uses; `WorkCalendar.add(start, n, unit)` is the
n-th day of `unit` ("working" or "calendar") after `start`, and `explain` says which day and why.
See `guatu.workdays.calendar` for the sources and the counting rule.
"""

from guatu.workdays.calendar import (
    CalendarFileError,
    CalendarYearFile,
    WorkCalendar,
    default_calendar,
)
from guatu.workdays.units import UNIT_EN, UNIT_ZH, UNITS, Unit

__all__ = [
    "UNITS",
    "UNIT_EN",
    "UNIT_ZH",
    "CalendarFileError",
    "CalendarYearFile",
    "Unit",
    "WorkCalendar",
    "default_calendar",
]
