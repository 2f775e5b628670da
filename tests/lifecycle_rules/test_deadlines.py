"""Deadline events: which are pending and when each falls due (Wenjiang midnight, UTC+8).

The plan: start 2030-03-10, 前期 planned 2030-05-20; the default policy (reminder 7 days before
a milestone, 30 days' grace, reports due the 25th with a reminder 3 days before, 序时 check on
the 1st of the next month).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from guatu.lifecycle.models import (
    MilestoneWatch,
    ReportWatch,
    RunStatus,
    Stage,
    Step,
    TimerPolicy,
)
from guatu.lifecycle.rules.deadlines import (
    DueEvent,
    DueKind,
    backfill_until,
    next_due,
    pending_events,
    progress_check_day,
    report_due_day,
)
from tests.lifecycle_rules.support import plan, report, reports, state

POLICY = TimerPolicy()
PLAN = plan(
    start=date(2030, 3, 10),
    finish=date(2031, 6, 1),
    milestones={Step.PRELIMINARY: date(2030, 5, 20)},
)


def at(y: int, m: int, d: int) -> datetime:
    """Midnight in Wenjiang = 16:00 UTC the day before."""
    return datetime(y, m, d, tzinfo=UTC) - timedelta(hours=8)


def test_a_fresh_project_has_one_event_per_chain_earliest_first() -> None:
    events = pending_events(state(PLAN))
    assert events == [
        # March report due 25 March: reminder 3 days before, late as 26 March begins.
        DueEvent(
            at(2030, 3, 22), DueKind.REPORT_REMINDER, month="2030-03", deadline=date(2030, 3, 25)
        ),
        DueEvent(at(2030, 3, 26), DueKind.REPORT_DUE, month="2030-03", deadline=date(2030, 3, 25)),
        # March's 序时 check on 1 April.
        DueEvent(at(2030, 4, 1), DueKind.PROGRESS_CHECK, month="2030-03"),
        # 前期 on 20 May: reminder 7 days before, missed as 21 May begins.
        DueEvent(
            at(2030, 5, 13),
            DueKind.MILESTONE_REMINDER,
            step=Step.PRELIMINARY,
            deadline=date(2030, 5, 20),
        ),
        DueEvent(
            at(2030, 5, 21),
            DueKind.MILESTONE_DUE,
            step=Step.PRELIMINARY,
            deadline=date(2030, 5, 20),
        ),
    ]
    assert events[0].at.utcoffset() == timedelta(hours=8)
    assert next_due(state(PLAN)) == events[0]


def test_what_has_fired_or_arrived_moves_each_chain_on() -> None:
    s = state(
        PLAN,
        reports=reports(m2030_03=100.0),
        report_watch={"2030-04": ReportWatch(reminded=True)},
        milestone_watch={Step.PRELIMINARY: MilestoneWatch(reminded=True, missed=True)},
        progress_checked=["2030-03", "2030-04"],
    )
    kinds = {(e.kind, e.month or e.step): e.at for e in pending_events(s)}
    assert kinds == {
        # March is in; April was reminded, so the next reminder is May's (22 May) ...
        (DueKind.REPORT_REMINDER, "2030-05"): at(2030, 5, 22),
        # ... while April is still to be marked late (26 April).
        (DueKind.REPORT_DUE, "2030-04"): at(2030, 4, 26),
        (DueKind.PROGRESS_CHECK, "2030-05"): at(2030, 6, 1),
        # Missed on 21 May → red after 30 days' grace: 21 May + 30 days = 20 June.
        (DueKind.MILESTONE_ESCALATION, Step.PRELIMINARY): at(2030, 6, 20),
    }


def test_a_reached_or_escalated_milestone_has_no_more_events() -> None:
    reached = state(PLAN, steps_done={Step.PRELIMINARY: date(2030, 5, 1)})
    escalated = state(
        PLAN,
        milestone_watch={
            Step.PRELIMINARY: MilestoneWatch(reminded=True, missed=True, escalated=True)
        },
    )
    for s in (reached, escalated):
        assert not [e for e in pending_events(s) if e.step is not None]


def test_only_an_active_project_is_watched() -> None:
    for status in (RunStatus.SUSPENDED, RunStatus.CANCELLED, RunStatus.CLOSED):
        assert pending_events(state(PLAN, status=status)) == []
        assert next_due(state(PLAN, status=status)) is None


def test_a_delivered_project_has_no_report_or_progress_events() -> None:
    events = pending_events(state(PLAN, stage=Stage.COMPLETED))
    assert [e.kind for e in events] == [DueKind.MILESTONE_REMINDER, DueKind.MILESTONE_DUE]


def test_the_backfill_window_closes_the_day_after_its_last_day() -> None:
    s = state(PLAN, rules_revision=1, backfill_until=date(2030, 4, 25))
    close = [e for e in pending_events(s) if e.kind is DueKind.BACKFILL_CLOSE]
    assert close == [DueEvent(at(2030, 4, 26), DueKind.BACKFILL_CLOSE, deadline=date(2030, 4, 25))]
    closed = state(PLAN, rules_revision=1, backfill_until=date(2030, 4, 25), backfill_closed=True)
    assert not [e for e in pending_events(closed) if e.kind is DueKind.BACKFILL_CLOSE]
    # Histories from before the back-fill rules (revision 0) never get the event.
    old = state(PLAN, rules_revision=0, backfill_until=date(2030, 4, 25))
    assert not [e for e in pending_events(old) if e.kind is DueKind.BACKFILL_CLOSE]


def test_due_days_are_clamped_to_the_month_and_the_check_runs_next_month() -> None:
    late_day = TimerPolicy(report_due_day=31)
    assert report_due_day("2030-02", late_day) == date(2030, 2, 28)
    assert report_due_day("2032-02", late_day) == date(2032, 2, 29)  # leap year
    assert report_due_day("2030-04", late_day) == date(2030, 4, 30)
    assert report_due_day("2030-04", POLICY) == date(2030, 4, 25)
    assert progress_check_day("2030-12", POLICY) == date(2031, 1, 1)
    assert progress_check_day("2030-01", TimerPolicy(progress_check_day=5)) == date(2030, 2, 5)


def test_the_backfill_window_ends_on_a_due_day_strictly_after_loading() -> None:
    assert backfill_until(date(2030, 3, 24), POLICY) == date(2030, 3, 25)
    # Loaded on a due day: that day does not count, the next month's does.
    assert backfill_until(date(2030, 3, 25), POLICY) == date(2030, 4, 25)
    assert backfill_until(date(2030, 12, 26), POLICY) == date(2031, 1, 25)
    assert backfill_until(date(2030, 3, 24), TimerPolicy(backfill_report_dues=2)) == date(
        2030, 4, 25
    )
    assert backfill_until(date(2030, 3, 24), TimerPolicy(backfill_report_dues=0)) is None


def test_a_plan_loaded_decades_late_still_finds_its_first_unreported_month() -> None:
    # Months past the 1,300 cached from the start are generated on.
    old = plan(start=date(1950, 1, 1), finish=date(2100, 1, 1))
    done = [f"{y:04d}-{m:02d}" for y in range(1950, 2060) for m in range(1, 13)]
    s = state(old, reports={k: report(k, 1.0) for k in done})
    due = [e for e in pending_events(s) if e.kind is DueKind.REPORT_DUE]
    assert [(e.month, e.deadline) for e in due] == [("2060-01", date(2060, 1, 25))]
