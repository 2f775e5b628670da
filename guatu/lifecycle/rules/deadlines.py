"""Which deadline events a project has, and when each falls due (MilestoneDue, ReportDue, …).

The lifecycle keeps one durable timer armed for the earliest pending event; on waking it
processes every event due by then. What already fired is recorded in the state, so a restart,
a replay or a continue-as-new never fires an event twice, and a plan change re-arms everything
from the new dates simply because the events are recomputed from the plan.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from guatu.core.clock import (
    add_months,
    day_in_month,
    local_start,
    month_key,
    parse_month,
    past_due_at,
)
from guatu.lifecycle.models import ProjectState, RunStatus, Step, TimerPolicy
from guatu.lifecycle.rules.stages import DELIVERED


class DueKind(StrEnum):
    MILESTONE_REMINDER = "milestone_reminder"
    MILESTONE_DUE = "milestone_due"  # missed → yellow
    MILESTONE_ESCALATION = "milestone_escalation"  # still missed after grace → red
    REPORT_REMINDER = "report_reminder"
    REPORT_DUE = "report_due"  # not received → late
    PROGRESS_CHECK = "progress_check"  # monthly 序时进度 check
    BACKFILL_CLOSE = "backfill_close"  # 待补报 window over: what is still missing counts


@dataclass(frozen=True, order=True)
class DueEvent:
    at: datetime
    kind: DueKind
    step: Step | None = None
    month: str | None = None
    deadline: date | None = None


def _milestone_events(state: ProjectState) -> Iterator[DueEvent]:
    policy = state.policy
    for m in state.plan.milestones:
        if m.step in state.steps_done:
            continue
        watch = state.milestone_watch.get(m.step)
        reminded = watch.reminded if watch else False
        missed = watch.missed if watch else False
        escalated = watch.escalated if watch else False
        if not reminded and not missed:
            at = local_start(m.planned - timedelta(days=policy.milestone_reminder_days))
            yield DueEvent(at, DueKind.MILESTONE_REMINDER, step=m.step, deadline=m.planned)
        if not missed:
            yield DueEvent(
                past_due_at(m.planned),
                DueKind.MILESTONE_DUE,
                step=m.step,
                deadline=m.planned,
            )
        elif not escalated:
            at = local_start(m.planned + timedelta(days=1 + policy.milestone_grace_days))
            yield DueEvent(at, DueKind.MILESTONE_ESCALATION, step=m.step, deadline=m.planned)


# Month keys from a plan's start, computed once per start month (a pure, bounded cache): the
# chains below walk every month since the start on each wake-up, and a plan loaded decades after
# its start catches up ~1,000 events in one workflow activation, which must stay far below the
# SDK's 2-second deadlock limit. 1,300 months cover any plan the doors accept (2000–2100).
_CACHED_MONTHS = 1300


@lru_cache(maxsize=512)
def _month_keys(year: int, month: int) -> tuple[str, ...]:
    index = year * 12 + month - 1
    return tuple(f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index, index + _CACHED_MONTHS))


def _months_from(start: date) -> Iterator[str]:
    yield from _month_keys(start.year, start.month)
    index = start.year * 12 + start.month - 1 + _CACHED_MONTHS
    while True:
        yield f"{index // 12:04d}-{index % 12 + 1:02d}"
        index += 1


def _first_report_events(state: ProjectState) -> Iterator[DueEvent]:
    """The earliest pending reminder and late-marking among the monthly reports."""
    policy = state.policy
    late = {k for k, w in state.report_watch.items() if w.late}
    reminded = late | {k for k, w in state.report_watch.items() if w.reminded}
    want_reminder = want_due = True
    for key in _months_from(state.plan.start):
        if not (want_reminder or want_due):
            return
        if key in state.reports:
            continue
        if want_reminder and key not in reminded:
            want_reminder = False
            due_day = day_in_month(key, policy.report_due_day)
            at = local_start(due_day - timedelta(days=policy.report_reminder_days))
            yield DueEvent(at, DueKind.REPORT_REMINDER, month=key, deadline=due_day)
        if want_due and key not in late:
            want_due = False
            due_day = day_in_month(key, policy.report_due_day)
            yield DueEvent(
                past_due_at(due_day),
                DueKind.REPORT_DUE,
                month=key,
                deadline=due_day,
            )


def _first_progress_check(state: ProjectState) -> DueEvent:
    checked = set(state.progress_checked)
    for key in _months_from(state.plan.start):
        if key not in checked:
            at = local_start(
                day_in_month(
                    month_key(add_months(parse_month(key), 1)), state.policy.progress_check_day
                )
            )
            return DueEvent(at, DueKind.PROGRESS_CHECK, month=key)
    raise AssertionError("unreachable: months are unbounded")


def report_due_day(month: str, policy: TimerPolicy) -> date:
    return day_in_month(month, policy.report_due_day)


def progress_check_day(month: str, policy: TimerPolicy) -> date:
    """The day a month's 序时 check runs (it runs as that day begins)."""
    return day_in_month(month_key(add_months(parse_month(month), 1)), policy.progress_check_day)


def backfill_until(load_day: date, policy: TimerPolicy) -> date | None:
    """The last day of the back-fill window: the `backfill_report_dues`-th monthly report due
    day strictly after the load day (None: no window)."""
    left = policy.backfill_report_dues
    if left <= 0:
        return None
    for key in _months_from(load_day):
        due = report_due_day(key, policy)
        if due > load_day:
            left -= 1
            if left == 0:
                return due
    raise AssertionError("unreachable: months are unbounded")


def pending_events(state: ProjectState) -> list[DueEvent]:
    """The next pending event of each chain, earliest first. Empty when nothing is watched."""
    if state.status is not RunStatus.ACTIVE:
        return []
    events = list(_milestone_events(state))
    if state.rules_revision and state.backfill_until and not state.backfill_closed:
        events.append(
            DueEvent(
                past_due_at(state.backfill_until),
                DueKind.BACKFILL_CLOSE,
                deadline=state.backfill_until,
            )
        )
    if state.stage not in DELIVERED:
        events.extend(_first_report_events(state))
        events.append(_first_progress_check(state))
    return sorted(events)


def next_due(state: ProjectState) -> DueEvent | None:
    events = pending_events(state)
    return events[0] if events else None
