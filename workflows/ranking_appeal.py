"""RankingAppeal: one durable workflow per 申诉 (appeal) against a published ranking round.

Started by a door (`guatu.appeals.service.file_appeal`) once the filing passed its checks
(window, round, item, lengths); its ID is the appeal's business key, so a second appeal on the
same item while this one is open cannot start. Then:

- a durable timer for the leaders' decision deadline: a reminder before it (区领导, through the
  leaders' office inbox), escalation to 区幸福办 once it has passed (with the office's own
  deadline), a last notice when that one passes too;
- Update `decide` (validated: leaders only, a reason of the rule set's length; refused before
  history): accept or reject, audited and notified to the bureau (and the office);
- on acceptance, an activity publishes a superseding revision of the round with the appeal as
  its reason (`guatu.ranking.service.revise_round`), and the bureau is told which revision;
- Query `appeal`: the appeal as the doors show it.

Every decision comes from `guatu.appeals.book.AppealBook`; this module only makes it durable.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from guatu.appeals.book import AppealBook, new_view
    from guatu.appeals.models import (
        AppealInput,
        AppealState,
        AppealView,
        DecideInput,
        ReviseInput,
        ReviseResult,
    )
    from guatu.core import constants as c
    from guatu.core.clock import business_now, real_delay
    from guatu.core.delivery import PERSIST_RETRY, deliver
    from guatu.lifecycle.models import Notice
    from guatu.lifecycle.rules.validation import InputRejected

# A revision freezes and ranks a whole period again: minutes, not seconds, on a large programme.
REVISE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=20,
)


def _log(message: str, extra: dict[str, Any]) -> None:
    workflow.logger.info(message, extra=extra)


@workflow.defn(name=c.APPEAL_WORKFLOW)
class RankingAppeal:
    @workflow.init
    def __init__(self, input: AppealInput) -> None:
        clock = input.clock
        if clock.anchor_real is None and (clock.scale != 1.0 or clock.anchor_business):
            # Business time starts at the anchor when the run starts (tests, simulations).
            clock = clock.model_copy(
                update={
                    "anchor_real": workflow.now(),
                    "anchor_business": clock.anchor_business or workflow.now(),
                }
            )
            input = input.model_copy(update={"clock": clock})
        filed_at = business_now(clock, workflow.now())
        self.book = AppealBook(
            AppealState(input=input, view=new_view(input, filed_at)), workflow.now, _log
        )
        self._lock = asyncio.Lock()
        self._persisted = 0
        self._deliveries: dict[str, asyncio.Task[None]] = {}

    @workflow.run
    async def run(self, input: AppealInput) -> AppealView:
        book = self.book
        book.start()
        while not book.decided:
            book.wake = False
            book.process_due()
            await self._flush()
            due = book.next_due()
            timeout = real_delay(book.s.input.clock, workflow.now(), due) if due else None
            if timeout is not None and timeout <= timedelta(0):
                continue
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: book.wake or book.decided,
                    timeout=timeout,
                    timeout_summary="appeal decision deadline",
                )
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._flush()
        if book.needs_revision:
            revised: ReviseResult = await workflow.execute_activity(
                c.ACTIVITY_APPEAL_REVISE,
                ReviseInput(
                    appeal_id=book.v.id,
                    period=book.v.period,
                    ruleset_id=book.v.ruleset_id,
                    reason=book.revision_reason(),
                    actor=book.v.decided_by,
                ),
                result_type=ReviseResult,
                start_to_close_timeout=timedelta(minutes=30),
                heartbeat_timeout=timedelta(minutes=2),
                retry_policy=REVISE_RETRY,
            )
            book.record_revision(revised)
            await self._flush()
        # The bureau hears the outcome before the appeal closes.
        await workflow.wait_condition(lambda: not self._deliveries)
        return book.v

    # -- persistence and notices --------------------------------------------------------------

    async def _flush(self) -> None:
        async with self._lock:
            batch = self.book.take_batch()
            if batch is None:
                return
            await workflow.execute_activity(
                c.ACTIVITY_APPEAL_PERSIST,
                batch,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=PERSIST_RETRY,
            )
            self._persisted = max(self._persisted, batch.view.version)
            for notice in batch.notices:
                self.book.s.pending_notices.append(notice)
                self._deliver(notice)

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

    # -- decide: the validator refuses before history, the handler applies ------------------------

    @workflow.update(name=c.UPDATE_APPEAL_DECIDE)
    async def decide(self, data: DecideInput) -> AppealView:
        result = self.book.decide(data)
        if not result.duplicate:
            # Answer once the decision is in PostgreSQL (the main loop may be writing it).
            target = self.book.v.version
            await self._flush()
            await workflow.wait_condition(lambda: self._persisted >= target)
        return result

    @decide.validator
    def _validate_decide(self, data: DecideInput) -> None:
        try:
            self.book.check_decide(data)
        except InputRejected as err:
            raise err.as_application_error() from None

    @workflow.query(name=c.QUERY_APPEAL)
    def appeal(self) -> AppealView:
        return self.book.v
