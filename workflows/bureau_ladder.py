"""BureauLadder: one long-running workflow per bureau holding its reward/penalty standing.

Messages
- Update `record_period` (from RankingRound, idempotent per rule set + period): applies one
  period's outcome with the pure `guatu.ladder.rules.ladder_step` — black list 1st → 通报,
  2nd consecutive → 约谈, 3rd → 督办 with a correction plan due in N days; off the black list →
  one rung down; red list → 通报表扬, 2 running → recommended for award; a project red 2 months
  running → 督办单 with a correction deadline.
- Update `grant_exemption`: an authorised leader exempts the bureau from one period's black
  list for force majeure, with a reason; validated and audited.
- Update `submit_correction_plan`: the bureau answers a 督办 or 督办单 before its deadline.
- Query `standing`: the ladder levels, open orders and exemptions.
- `record_period` of revision N > 1 of a round (a refreeze) decides the track's last period
  again from the standing before it: decisions the revision still supports stand untouched,
  new ones are made, and those it no longer supports are withdrawn once (撤销, audited, their
  orders withdrawn or reopened), each as a 更正通报. A revision of an earlier period than the
  track's last is refused: the periods decided since stand on what was published then.

Correction-plan deadlines are durable timers: the run keeps one timer armed for the earliest
open order and escalates (督办升级) an order whose plan is overdue, once. Every decision is
written to PostgreSQL with its explanation and rule version, and becomes notices (bureau and
leaders' office) delivered through the outbox, exactly once per decision key. The state is
bounded (PATCH_BOUNDED_STATE): it keeps decision keys and levels, the inputs of each period live
in PostgreSQL, and each write carries what changed.

The decisions themselves live in `guatu.ladder.book.LadderBook`; this module only makes them
durable.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from guatu.core import constants as c
    from guatu.core.delivery import PERSIST_RETRY
    from guatu.core.validator_guard import refuse_on
    from guatu.ladder.book import LadderBook
    from guatu.ladder.models import (
        CorrectionPlanInput,
        CorrectionPlanResult,
        ExemptionInput,
        ExemptionResult,
        LadderChanges,
        LadderInput,
        LadderStanding,
        LadderState,
        RecordPeriodInput,
        RecordPeriodResult,
    )
    from guatu.workdays import default_calendar
    from workflows.durable import Deliveries, continue_as_new_due, settle, wait_until

    default_calendar()  # built here, outside the sandbox: a run only reads the cached calendar

# Before continuing as new, overdue correction plans are escalated while deliveries drain
# (histories before it: the run waited for its deliveries first).
PATCH_ESCALATE_WHILE_DRAINING = "ladder-escalate-while-draining"
# A superseding revision of a period (made and withdrawn decisions) — new histories only.
PATCH_REVISIONS = "ladder-round-revisions"
# Withdrawn orders are forgotten at continue-as-new with the closed ones (histories before it
# carried every withdrawn order over).
PATCH_FORGET_WITHDRAWN = "ladder-forget-withdrawn-orders"
# Bounded state (issue 10): decision keys and levels in the state, inputs in PostgreSQL, writes of
# changes (`ladder_persist_changes`). Runs recorded before it keep writing their whole state; a
# state they carry over is upgraded once by the next run.
PATCH_BOUNDED_STATE = "ladder-bounded-state-2026-12"


@workflow.defn(name=c.LADDER_WORKFLOW)
class BureauLadder:
    @workflow.init
    def __init__(self, input: LadderInput) -> None:
        state = input.state or LadderState(
            bureau=input.bureau,
            name_zh=input.name_zh,
            exemption_rules=input.exemption_rules,
            clock=input.clock,
            continue_as_new_events=input.continue_as_new_events,
        )
        self.book = LadderBook(state, workflow.now)
        if input.state is None:
            # Anchored here, not in `run`: the round that starts a ladder sends its first
            # `record_period` at once, and that update can be handled before `run` begins; its
            # decisions and order deadlines must already be on the programme clock.
            self.book.anchor_clock()
        if workflow.patched(PATCH_BOUNDED_STATE):
            self.book.bound()
        self._lock = asyncio.Lock()
        self._deliveries = Deliveries(lambda: self.book.s)
        self._persisted = 0

    # -----------------------------------------------------------------------------------------
    # Main loop: deadlines of open orders, persistence, continue-as-new
    # -----------------------------------------------------------------------------------------

    @workflow.run
    async def run(self, input: LadderInput) -> None:
        book = self.book
        if input.state is None:
            book.start()
        self._deliveries.resume()
        while True:
            book.wake = False
            book.escalate_overdue()
            await self._flush()
            if continue_as_new_due(book.s.continue_as_new_events):
                await self._continue_as_new()
            await wait_until(
                book.s.clock, book.next_due(), lambda: book.wake, "correction plan deadline"
            )

    async def _continue_as_new(self) -> None:
        await settle(self._flush, self._drain_deliveries, lambda: self.book.dirty)
        s = self.book.s
        self.book.forget_finished(withdrawn_too=workflow.patched(PATCH_FORGET_WITHDRAWN))
        s.runs += 1
        workflow.logger.info("ladder continuing as new", extra={"bureau": s.bureau, "runs": s.runs})
        workflow.continue_as_new(LadderInput(bureau=s.bureau, state=s))

    async def _drain_deliveries(self) -> None:
        """Deliveries in flight finish in this run (they are bounded, see guatu.core.delivery), and
        correction plans falling overdue meanwhile are escalated on time. The wait's timer only
        wakes the run for a deadline; activities in flight are never abandoned. A run whose
        history keeps growing moves on, and its undelivered notices are carried over."""
        book = self.book

        def drained() -> bool:
            return (
                not self._deliveries
                or workflow.info().get_current_history_length() > 4 * book.s.continue_as_new_events
            )

        if not workflow.patched(PATCH_ESCALATE_WHILE_DRAINING):
            await workflow.wait_condition(drained)
            return
        while not drained():
            await wait_until(book.s.clock, book.next_due(), drained, "correction plan deadline")
            book.escalate_overdue()
            if book.dirty:
                return  # written (and its notices started) by the caller's next pass

    # -----------------------------------------------------------------------------------------
    # Persistence and notices
    # -----------------------------------------------------------------------------------------

    async def _flush(self) -> None:
        async with self._lock:
            batch = self.book.take_batch()
            if batch is None:
                return
            await workflow.execute_activity(
                c.ACTIVITY_LADDER_PERSIST_CHANGES
                if isinstance(batch, LadderChanges)
                else c.ACTIVITY_LADDER_PERSIST,
                batch,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=PERSIST_RETRY,
            )
            self._persisted = max(self._persisted, batch.version)
            for notice in batch.notices:
                self.book.s.pending_notices.append(notice)
                self._deliveries.send(notice)

    async def _persist(self) -> None:
        """Write what this handler changed; return only once it is in PostgreSQL (the main
        loop may have taken the batch already and still be writing it)."""
        target = self.book.s.version
        await self._flush()
        await workflow.wait_condition(lambda: self._persisted >= target)

    # -----------------------------------------------------------------------------------------
    # Updates: validators refuse before history, handlers apply
    # -----------------------------------------------------------------------------------------

    @workflow.update(name=c.UPDATE_RECORD_PERIOD)
    async def record_period(self, data: RecordPeriodInput) -> RecordPeriodResult:
        duplicate = self.book.seen_record(data)
        if duplicate is not None:
            return duplicate
        if self.book.supersedes(data):
            workflow.patched(PATCH_REVISIONS)
        result = self.book.record(data)
        await self._persist()
        return result

    @record_period.validator
    def _validate_record(self, data: RecordPeriodInput) -> None:
        refuse_on(self.book.check_record, data)

    @workflow.update(name=c.UPDATE_EXEMPTION)
    async def grant_exemption(self, data: ExemptionInput) -> ExemptionResult:
        duplicate = self.book.seen_exemption(data)
        if duplicate is not None:
            return duplicate
        result = self.book.grant_exemption(data)
        await self._persist()
        return result

    @grant_exemption.validator
    def _validate_exemption(self, data: ExemptionInput) -> None:
        refuse_on(self.book.check_exemption, data)

    @workflow.update(name=c.UPDATE_CORRECTION_PLAN)
    async def submit_correction_plan(self, data: CorrectionPlanInput) -> CorrectionPlanResult:
        duplicate = self.book.seen_plan(data)
        if duplicate is not None:
            return duplicate
        result = self.book.submit_plan(data)
        await self._persist()
        return result

    @submit_correction_plan.validator
    def _validate_plan(self, data: CorrectionPlanInput) -> None:
        refuse_on(self.book.check_plan, data)

    # -----------------------------------------------------------------------------------------
    # Query
    # -----------------------------------------------------------------------------------------

    @workflow.query(name=c.QUERY_STANDING)
    def standing(self) -> LadderStanding:
        return self.book.standing()


__all__ = ["BureauLadder"]
