"""The working-day calendar: which dates a Chinese government office works.

A date is a working day (工作日) when it is a Monday–Friday that is not a statutory holiday, or a
weekend day the State Council has made a working day (调休上班). The days come from two sources:

1. the maintained `chinese-calendar` package, which encodes every State Council announcement
   (国务院办公厅关于某年部分节假日安排的通知) up to its release;
2. override files `config/calendar/<year>.json` for a year the package does not cover yet (or to
   correct one it does): the announced holidays and make-up working days of that year. A file
   replaces the package's days for its year entirely.

A year neither source covers falls back to weekends only (Saturday and Sunday off, nothing else);
that is logged once per year and said in every explanation that crosses the year.

Counting (`add`): "n working days after start" does not count the start day itself: the due date
is the n-th working day after it (a request received on Friday with 1 working day is due on the
next working day). A negative n counts back (the n-th working day before start), for reminders.
Calendar days are plain date arithmetic.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import structlog
from chinese_calendar import constants as _package
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from config.settings import CONFIG_DIR
from guatu.workdays.units import Unit

log = structlog.get_logger("guatu.workdays")

CALENDAR_DIR = CONFIG_DIR / "calendar"
WEEKDAY_ZH = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
WEEKDAY_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# The package names its holidays in English; what a Wenjiang reader sees is the Chinese name.
HOLIDAY_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


@dataclass(frozen=True)
class DayName:
    zh: str
    en: str


class CalendarFileError(ValueError):
    """An override file that cannot be read: names the file and what is wrong, Chinese first."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _HolidayRange(_Strict):
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> _HolidayRange:
        if self.end < self.start:
            raise ValueError(f"holiday {self.name_en}: end {self.end} is before start {self.start}")
        return self


class _MakeUpDay(_Strict):
    date: date
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)


class CalendarYearFile(_Strict):
    """`config/calendar/<year>.json`: one year's announced holidays and 调休 working days."""

    year: int = Field(ge=2000, le=2100)
    source: str = Field(min_length=1, description="the announcement the days are copied from")
    holidays: list[_HolidayRange]
    workdays: list[_MakeUpDay] = Field(default_factory=list)

    @model_validator(mode="after")
    def _inside_year(self) -> CalendarYearFile:
        for h in self.holidays:
            if h.start.year != self.year or h.end.year != self.year:
                raise ValueError(f"holiday {h.name_en} ({h.start}–{h.end}) is not in {self.year}")
        for w in self.workdays:
            if w.date.year != self.year:
                raise ValueError(f"make-up working day {w.date} is not in {self.year}")
            if w.date.weekday() < 5:
                raise ValueError(
                    f"make-up working day {w.date} is a {WEEKDAY_EN[w.date.weekday()]}, "
                    "not a weekend day"
                )
        return self


def load_year_file(path: Path) -> CalendarYearFile:
    try:
        body = CalendarYearFile.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, ValidationError) as exc:
        raise CalendarFileError(
            f"节假日文件 {path.name} 无法读取或格式不对：{exc} / "
            f"calendar file {path} is unreadable or malformed: {exc}"
        ) from exc
    if path.stem != str(body.year):
        raise CalendarFileError(
            f"节假日文件 {path.name} 写的是 {body.year} 年，文件名须为 {body.year}.json / "
            f"calendar file {path.name} is for {body.year}; name it {body.year}.json"
        )
    return body


def _package_days() -> tuple[dict[date, DayName], dict[date, DayName], set[int]]:
    def name(value: object) -> DayName:
        en = getattr(value, "value", str(value))
        return DayName(HOLIDAY_ZH.get(en, en), en)

    holidays = {d: name(v) for d, v in _package.holidays.items()}
    workdays = {d: name(v) for d, v in _package.workdays.items()}
    years = {d.year for d in holidays}
    return holidays, workdays, years


def _fmt_day(d: date) -> tuple[str, str]:
    return (
        f"{d.month}月{d.day}日（{WEEKDAY_ZH[d.weekday()]}）",
        f"{WEEKDAY_EN[d.weekday()]} {d.day} {d.strftime('%b')}",
    )


def _weekday(d: date) -> tuple[str, str]:
    return f"（{WEEKDAY_ZH[d.weekday()]}）", WEEKDAY_EN[d.weekday()]


def _fmt_run(first: date, last: date) -> tuple[str, str]:
    if first == last:
        return f"{first.month}月{first.day}日", f"{first.day} {first.strftime('%b')}"
    return (
        f"{first.month}月{first.day}日至{last.month}月{last.day}日",
        f"{first.day} {first.strftime('%b')}–{last.day} {last.strftime('%b')}",
    )


@dataclass
class WorkCalendar:
    """Working days from statutory holidays, 调休 make-up days and weekends.

    `holidays` and `workdays` map a date to the holiday it belongs to (a make-up working day
    names the holiday it makes up for); `covered` is the set of years whose days are known;
    `sources` says where each covered year came from (for explanations).
    """

    holidays: dict[date, DayName] = field(default_factory=dict)
    workdays: dict[date, DayName] = field(default_factory=dict)
    covered: set[int] = field(default_factory=set)
    sources: dict[int, str] = field(default_factory=dict)
    _warned: set[int] = field(default_factory=set, repr=False)

    # ------------------------------------------------------------------ building

    @classmethod
    def build(
        cls, *, use_package: bool = True, override_dir: Path | None = CALENDAR_DIR
    ) -> WorkCalendar:
        cal = cls()
        if use_package:
            holidays, workdays, years = _package_days()
            cal.holidays.update(holidays)
            cal.workdays.update(workdays)
            cal.covered |= years
            for y in years:
                cal.sources[y] = "chinese-calendar"
        if override_dir is not None and override_dir.is_dir():
            for path in sorted(override_dir.glob("*.json")):
                cal.apply(load_year_file(path), origin=f"config/calendar/{path.name}")
        return cal

    def apply(self, body: CalendarYearFile, origin: str = "override") -> None:
        """Replace the days of `body.year` with the file's."""
        y = body.year
        for days in (self.holidays, self.workdays):
            for d in [d for d in days if d.year == y]:
                del days[d]
        for h in body.holidays:
            d = h.start
            while d <= h.end:
                self.holidays[d] = DayName(h.name_zh, h.name_en)
                d += timedelta(days=1)
        for w in body.workdays:
            if w.date in self.holidays:
                raise CalendarFileError(
                    f"{origin}：{w.date} 既是假日又是调休上班日 / {origin}: {w.date} is both a "
                    "holiday and a make-up working day"
                )
            self.workdays[w.date] = DayName(w.name_zh, w.name_en)
        self.covered.add(y)
        self.sources[y] = f"{origin}（{body.source}）"

    # ------------------------------------------------------------------ the API

    def is_working_day(self, d: date) -> bool:
        if d.year not in self.covered:
            self._warn(d.year)
        if d in self.workdays:
            return True
        if d in self.holidays:
            return False
        return d.weekday() < 5

    def add(self, start: date, n: int, unit: Unit) -> date:
        """`n` days of `unit` after `start` (before it when n < 0); the start day does not count."""
        if unit == "calendar":
            return start + timedelta(days=n)
        if unit != "working":
            raise ValueError(f"期限单位只能是 working 或 calendar / unknown day unit {unit!r}")
        step = 1 if n >= 0 else -1
        left = abs(n)
        d = start
        while left:
            d += timedelta(days=step)
            if self.is_working_day(d):
                left -= 1
        return d

    def coverage_note(self, year: int) -> str | None:
        if year in self.covered:
            return None
        return (
            f"{year} 年的法定节假日与调休安排尚未收录（chinese-calendar 未覆盖，也没有 "
            f"config/calendar/{year}.json），该年按仅双休日计算，节假日可能算作工作日。 / "
            f"The statutory holidays and make-up days of {year} are not known yet (the "
            f"chinese-calendar package does not cover it and there is no "
            f"config/calendar/{year}.json): {year} is counted with weekends only, so holidays "
            "may be counted as working days."
        )

    def explain(self, start: date, n: int, unit: Unit) -> str:
        """Which day `add(start, n, unit)` gives and why, Chinese first, then English."""
        due = self.add(start, n, unit)
        # The days between the start (excluded) and the due date (included), either way round.
        if due >= start:
            days = [start + timedelta(days=i) for i in range(1, (due - start).days + 1)]
        else:
            days = [due + timedelta(days=i) for i in range((start - due).days)]
        due_zh, due_en = _weekday(due)
        start_zh, start_en = _weekday(start)
        zh: list[str] = []
        en: list[str] = []
        if unit == "calendar":
            where_zh = "后" if n >= 0 else "前"
            zh.append(
                f"{start.isoformat()}{start_zh}{where_zh} {abs(n)} 个自然日为 {due.isoformat()}"
                f"{due_zh}；自然日期限连同周末和节假日一起计算。"
            )
            en.append(
                f"{abs(n)} calendar days {'after' if n >= 0 else 'before'} {start.isoformat()} "
                f"({start_en}) is {due.isoformat()} ({due_en}); calendar days count weekends "
                "and holidays alike."
            )
        else:
            where_zh = "起第" if n >= 0 else "前第"
            zh.append(
                f"{start.isoformat()}{start_zh}{where_zh} {abs(n)} 个工作日为 {due.isoformat()}"
                f"{due_zh}（起算日当天不计）。"
            )
            en.append(
                f"The {_ordinal(abs(n))} working day {'after' if n >= 0 else 'before'} "
                f"{start.isoformat()} ({start_en}) is {due.isoformat()} ({due_en}); the start "
                "day itself does not count."
            )
            runs = list(self._holiday_runs(days))
            if runs:
                zh.append(
                    "不计的法定假日："
                    + "；".join(
                        f"{name.zh}假期 {_fmt_run(a, b)[0]}（{(b - a).days + 1} 天）"
                        for name, a, b in runs
                    )
                    + "。"
                )
                en.append(
                    "Holidays not counted: "
                    + "; ".join(
                        f"{name.en} {_fmt_run(a, b)[1]} ({(b - a).days + 1} days)"
                        for name, a, b in runs
                    )
                    + "."
                )
            made = [d for d in days if d in self.workdays]
            if made:
                zh.append(
                    "计入的调休上班日："
                    + "、".join(f"{_fmt_day(d)[0]}（{self.workdays[d].zh}调休）" for d in made)
                    + "。"
                )
                en.append(
                    "Make-up working days (调休) counted: "
                    + ", ".join(f"{_fmt_day(d)[1]} (for {self.workdays[d].en})" for d in made)
                    + "."
                )
            weekend = sum(
                1
                for d in days
                if d.weekday() >= 5 and d not in self.holidays and d not in self.workdays
            )
            if weekend:
                zh.append(f"另有 {weekend} 个周末日不计。")
                en.append(f"{weekend} weekend day{'s' if weekend > 1 else ''} not counted either.")
        for y in sorted({d.year for d in days} | {start.year, due.year}):
            note = self.coverage_note(y)
            if note is not None:
                z, _, e = note.partition(" / ")
                zh.append(z)
                en.append(e)
        return "".join(zh) + " / " + " ".join(en)

    # ------------------------------------------------------------------ helpers

    def _holiday_runs(self, days: Iterable[date]) -> Iterable[tuple[DayName, date, date]]:
        """Consecutive holiday dates among `days`, one entry per run with the names joined."""
        run: list[date] = []
        for d in days:
            if d in self.holidays and (not run or (d - run[-1]).days == 1):
                run.append(d)
                continue
            if run:
                yield self._run_name(run), run[0], run[-1]
            run = [d] if d in self.holidays else []
        if run:
            yield self._run_name(run), run[0], run[-1]

    def _run_name(self, run: list[date]) -> DayName:
        names: list[DayName] = []
        for d in run:
            if self.holidays[d] not in names:
                names.append(self.holidays[d])
        return DayName("、".join(x.zh for x in names), " and ".join(x.en for x in names))

    def _warn(self, year: int) -> None:
        if year in self._warned:
            return
        self._warned.add(year)
        log.warning(
            "workdays.year_not_covered",
            year=year,
            fallback="weekends_only",
            fix=f"add config/calendar/{year}.json or upgrade chinese-calendar",
        )


def _ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@lru_cache(maxsize=1)
def default_calendar() -> WorkCalendar:
    """The calendar every deadline uses: chinese-calendar plus `config/calendar/*.json`.

    Built once per process (it reads files): workflow modules call it at import, outside the
    sandbox, so a workflow only ever reads the cached calendar.
    """
    return WorkCalendar.build()
