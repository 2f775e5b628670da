"""LifecycleBook without Temporal: the decisions the workflow makes durable, on a hand clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from guatu.lifecycle.book import LifecycleBook
from guatu.lifecycle.models import (
    ProgrammeClock,
    ProgressReportInput,
    ProjectState,
    RunControlInput,
    RunStatus,
    Stage,
    StageTransitionInput,
    Step,
)
from guatu.lifecycle.rules.validation import InputRejected
from tests.helpers import POLICY, make_plan


class HandClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def book_at(at: datetime, start: date) -> tuple[LifecycleBook, HandClock, list[tuple[str, Any]]]:
    clock = HandClock(at)
    logged: list[tuple[str, Any]] = []
    plan = make_plan(start=start, bureau="fgj", code="BOOK-1")
    book = LifecycleBook(
        ProjectState(plan=plan, policy=POLICY, clock=ProgrammeClock()),
        clock,
        lambda message, extra: logged.append((message, extra)),
    )
    book.start("manager")
    return book, clock, logged


def report(key: str, month: str, wan: float, **extra: Any) -> ProgressReportInput:
    return ProgressReportInput(
        bureau="fgj",
        idempotency_key=key,
        month=month,
        investment_wan=wan,
        physical_progress_pct=10.0,
        **extra,
    )


def test_start_records_approval_and_hands_over_one_batch() -> None:
    book, _, _ = book_at(datetime(2031, 3, 2, 2, tzinfo=UTC), date(2031, 3, 1))
    batch = book.take_batch()
    assert batch is not None
    assert [c.stage for c in batch.stage_changes] == [Stage.APPROVED]
    assert batch.snapshot["code"] == "BOOK-1" and batch.snapshot["version"] == 1
    assert book.take_batch() is None  # nothing changed since


def test_a_report_key_applies_once() -> None:
    book, clock, _ = book_at(datetime(2031, 3, 2, 2, tzinfo=UTC), date(2031, 3, 1))
    book.take_batch()
    first = book.report(report("r-1", "2031-03", 40.0))
    clock.at += timedelta(hours=1)
    again = book.report(report("r-1", "2031-03", 99.0))
    assert not first.duplicate and again.duplicate
    assert book.s.reports["2031-03"].investment_wan == 40.0
    batch = book.take_batch()
    assert batch is not None and len(batch.audit) == 1 and len(batch.reports) == 1
    # The validator lets a seen key through (the handler answers it) and checks new ones.
    book.check_report(report("r-1", "2031-03", 99.0))
    with pytest.raises(InputRejected):
        book.check_report(report("r-2", "2031-09", 1.0))


def test_control_refusals_carry_a_code_and_both_languages() -> None:
    book, _, _ = book_at(datetime(2031, 3, 2, 2, tzinfo=UTC), date(2031, 3, 1))
    with pytest.raises(InputRejected) as refused:
        book.check_control("suspend", RunControlInput(idempotency_key="s-1", reason="  "))
    assert refused.value.code == "reason_required" and refused.value.zh and refused.value.en
    with pytest.raises(InputRejected) as refused:
        book.check_control("resume", RunControlInput(idempotency_key="s-2"))
    assert refused.value.code == "project_active"
    book.control("suspend", RunControlInput(idempotency_key="s-3", reason="flood"))
    assert book.s.status is RunStatus.SUSPENDED
    error = refused.value.as_application_error()
    assert error.type == "InputRejected" and error.non_retryable


def test_a_missed_milestone_turns_the_light_and_notifies_once() -> None:
    start = date(2031, 3, 1)
    book, clock, logged = book_at(datetime(2031, 3, 2, 2, tzinfo=UTC), start)
    book.take_batch()
    first = book.s.plan.milestones[0]
    clock.at = datetime.combine(first.planned + timedelta(days=3), datetime.min.time(), UTC)
    book.process_due()
    batch = book.take_batch()
    assert batch is not None
    assert book.s.milestone_watch[first.step].missed
    assert any(n.kind == "milestone_missed" for n in batch.notices)
    assert batch.light_changes and book.s.light.value != "green"
    assert logged and logged[-1][0] == "light changed"
    book.process_due()
    assert book.take_batch() is None  # an event handled is not handled again
    # The step reported late still counts; its transition is recorded with the plan's date.
    result = book.transition(
        StageTransitionInput(bureau="fgj", idempotency_key="t-1", step=Step.LAND_USE)
    )
    assert result.stage is Stage.PRELIMINARY
    assert book.take_batch().stage_changes[0].planned == first.planned  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "today", [date(2026, 12, 1), date(2026, 12, 31), date(2028, 2, 29), date(2025, 10, 11)]
)
def test_a_replayed_key_answers_with_the_light_now(today: date) -> None:
    # Plan started 40 days before `today`: its first milestone (30 days in) is 10 days overdue.
    start = today - timedelta(days=40)
    book, clock, _ = book_at(datetime(today.year, today.month, today.day, 4, tzinfo=UTC), start)
    book.process_due()
    assert book.s.light.value == "yellow"
    book.transition(
        StageTransitionInput(
            bureau="fgj",
            idempotency_key="t-0",
            step=Step.PRELIMINARY,
            on=start + timedelta(days=10),
        )
    )
    first = book.transition(
        StageTransitionInput(
            bureau="fgj", idempotency_key="t-1", step=Step.LAND_USE, on=start + timedelta(days=20)
        )
    )
    # 用地 (the first milestone, day 30) reached on day 20: no milestone reason is left.
    assert not first.duplicate
    assert not [e for e in book.s.explanations if e.rule.startswith("milestone.")]
    book.take_batch()
    version = book.s.version
    book.s.light = book.s.light.__class__("red")  # the light moved on since (any cause)
    again = book.transition(
        StageTransitionInput(bureau="fgj", idempotency_key="t-1", step=Step.LAND_USE)
    )
    assert (again.duplicate, again.light.value, again.stage) == (True, "red", Stage.PRELIMINARY)
    assert book.s.version == version and book.take_batch() is None  # nothing changed
    assert book.status().milestones[0]["result"] == "met"
