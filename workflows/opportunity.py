"""机会清单: OpportunityListing (one per published opportunity) and OpportunityInterest (one per
expression of interest, started by its listing).

OpportunityListing, started by `guatu.opportunities.service.publish` (its ID is the
opportunity's business key):
- a durable timer closes the list at the end of its closing day; Update `close` (validated:
  managers only, with a reason) closes it earlier; either way the bureau is told how many
  interests came;
- Update `express_interest` (validated: the list is open, the code passes its check digit)
  starts the interest as a child workflow that outlives the list (ParentClosePolicy.ABANDON) and
  answers the enterprise's receipt; the same enterprise again gets its first receipt back. The
  closing and the interests go through this one run, so none is taken after the close.

OpportunityInterest: a durable timer for the bureau's answer deadline (counted by the door in
working days): a reminder before it, 催办 (copied to 区幸福办) once it has passed, escalation to
区幸福办 `escalation_days` after that; Updates `respond` and `record_outcome` (签约 / 未成;
validated: the responsible bureau only). It ends with its outcome.

Every decision comes from `guatu.opportunities.book`; this module only makes it durable.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from guatu.core import constants as c
    from guatu.core.clock import business_now, real_delay
    from guatu.core.delivery import PERSIST_RETRY, deliver
    from guatu.lifecycle.models import Notice, ProgrammeClock
    from guatu.lifecycle.rules.validation import InputRejected
    from guatu.opportunities.book import (
        InterestBook,
        ListingBook,
        interest_workflow_id,
        new_interest_view,
        new_listing_view,
    )
    from guatu.opportunities.models import (
        CloseInput,
        InterestInput,
        InterestReceipt,
        InterestRequest,
        InterestState,
        InterestView,
        ListingInput,
        ListingState,
        OpportunityView,
        OutcomeInput,
        RespondInput,
    )


def _log(message: str, extra: dict[str, Any]) -> None:
    workflow.logger.info(message, extra=extra)


def _started(clock: ProgrammeClock) -> ProgrammeClock:
    """Business time starts at the anchor when the run starts (tests, simulations)."""
    if clock.anchor_real is None and (clock.scale != 1.0 or clock.anchor_business):
        return clock.model_copy(
            update={
                "anchor_real": workflow.now(),
                "anchor_business": clock.anchor_business or workflow.now(),
            }
        )
    return clock


class _Durable:
    """Persistence and notice delivery shared by both workflows (not a workflow itself)."""

    book: Any
    activity_name: str

    def _setup(self) -> None:
        self._lock = asyncio.Lock()
        self._persisted = 0
        self._deliveries: dict[str, asyncio.Task[None]] = {}

    async def _flush(self) -> None:
        async with self._lock:
            batch = self.book.take_batch()
            if batch is None:
                return
            await workflow.execute_activity(
                self.activity_name,
                batch,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=PERSIST_RETRY,
            )
            self._persisted = max(self._persisted, batch.view.version)
            for notice in batch.notices:
                self.book.s.pending_notices.append(notice)
                self._deliver(notice)

    async def _flushed(self) -> None:
        """Return once the book's current version is in PostgreSQL."""
        target = self.book.v.version
        await self._flush()
        await workflow.wait_condition(lambda: self._persisted >= target)

    def _deliver(self, notice: Notice) -> None:
        if notice.key in self._deliveries:
            return

        async def deliver_one() -> None:
            # Bounded: a dead webhook leaves the notice `failed` in the outbox (redeliverable).
            await deliver(notice)
            s = self.book.s
            s.pending_notices = [n for n in s.pending_notices if n.key != notice.key]
            del self._deliveries[notice.key]

        self._deliveries[notice.key] = asyncio.create_task(deliver_one())

    async def _wait(self, done: Any, summary: str) -> None:
        book = self.book
        book.wake = False
        book.process_due()
        await self._flush()
        due = book.next_due()
        timeout = real_delay(book.clock, workflow.now(), due) if due else None
        if timeout is not None and timeout <= timedelta(0):
            return
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: book.wake or done(), timeout=timeout, timeout_summary=summary
            )

    async def _finish(self) -> None:
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._flush()
        await workflow.wait_condition(lambda: not self._deliveries)


@workflow.defn(name=c.OPPORTUNITY_WORKFLOW)
class OpportunityListing(_Durable):
    activity_name = c.ACTIVITY_OPPORTUNITY_PERSIST

    @workflow.init
    def __init__(self, input: ListingInput) -> None:
        input = input.model_copy(update={"clock": _started(input.clock)})
        published_at = business_now(input.clock, workflow.now())
        self.book = ListingBook(
            ListingState(input=input, view=new_listing_view(input, published_at)),
            workflow.now,
            _log,
        )
        self._setup()

    @workflow.run
    async def run(self, input: ListingInput) -> OpportunityView:
        book = self.book
        book.start()
        while not book.closed:
            await self._wait(lambda: book.closed, "opportunity closing date")
        await self._finish()
        return book.v

    @workflow.update(name=c.UPDATE_OPPORTUNITY_INTEREST)
    async def express_interest(self, req: InterestRequest) -> InterestReceipt:
        child, receipt = self.book.register(req)
        if child is not None:
            await workflow.start_child_workflow(
                OpportunityInterest.run,
                child,
                id=interest_workflow_id(child.interest_id),
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
            await self._flushed()
        return receipt

    @express_interest.validator
    def _validate_interest(self, req: InterestRequest) -> None:
        try:
            self.book.check_interest(req)
        except InputRejected as err:
            raise err.as_application_error() from None

    @workflow.update(name=c.UPDATE_OPPORTUNITY_CLOSE)
    async def close(self, data: CloseInput) -> OpportunityView:
        result = self.book.close(data)
        if not result.duplicate:
            await self._flushed()
        return result

    @close.validator
    def _validate_close(self, data: CloseInput) -> None:
        try:
            self.book.check_close(data)
        except InputRejected as err:
            raise err.as_application_error() from None

    @workflow.query(name=c.QUERY_OPPORTUNITY)
    def opportunity(self) -> OpportunityView:
        return self.book.v


@workflow.defn(name=c.INTEREST_WORKFLOW)
class OpportunityInterest(_Durable):
    activity_name = c.ACTIVITY_INTEREST_PERSIST

    @workflow.init
    def __init__(self, input: InterestInput) -> None:
        input = input.model_copy(update={"clock": _started(input.clock)})
        submitted_at = business_now(input.clock, workflow.now())
        self.book = InterestBook(
            InterestState(input=input, view=new_interest_view(input, submitted_at)),
            workflow.now,
            _log,
        )
        self._setup()

    @workflow.run
    async def run(self, input: InterestInput) -> InterestView:
        book = self.book
        book.start()
        while not book.concluded:
            await self._wait(lambda: book.concluded, "answer deadline of an interest")
        await self._finish()
        return book.v

    @workflow.update(name=c.UPDATE_INTEREST_RESPOND)
    async def respond(self, data: RespondInput) -> InterestView:
        result = self.book.respond(data)
        if not result.duplicate:
            await self._flushed()
        return result

    @respond.validator
    def _validate_respond(self, data: RespondInput) -> None:
        try:
            self.book.check_respond(data)
        except InputRejected as err:
            raise err.as_application_error() from None

    @workflow.update(name=c.UPDATE_INTEREST_OUTCOME)
    async def record_outcome(self, data: OutcomeInput) -> InterestView:
        result = self.book.record_outcome(data)
        if not result.duplicate:
            await self._flushed()
        return result

    @record_outcome.validator
    def _validate_outcome(self, data: OutcomeInput) -> None:
        try:
            self.book.check_outcome(data)
        except InputRejected as err:
            raise err.as_application_error() from None

    @workflow.query(name=c.QUERY_INTEREST)
    def interest(self) -> InterestView:
        return self.book.v
