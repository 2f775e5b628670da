"""CitizenObservation: one durable workflow per 市民观察 observation.

Started by a door (`guatu.society.service.submit_observation`) once the filing passed its
checks (target, text, photos, daily limit); its ID is the observation's business key. An
observation that does not ask for an answer is recorded and the run ends. One that does:

- a durable timer for the bureau's reply deadline (working days, rule data): a reminder before
  it, overdue and escalation to 区幸福办 after it (with the office's own deadline), a last notice
  when that one passes too;
- Updates `reply` (the responsible bureau), `rate` (the observer: 满意 / 不满意; 不满意
  escalates to 区幸福办) and `resolve` (区幸福办 closes an escalated one), each validated before
  history;
- Query `observation`: the observation as the doors show it.

Every decision comes from `guatu.society.book.ObservationBook`; this module only makes it
durable. Deadlines are counted on the working days carried in the input (`table_add`).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from guatu.core import constants as c
    from guatu.core.clock import business_now, real_delay
    from guatu.core.delivery import PERSIST_RETRY, deliver
    from guatu.core.validator_guard import refuse_on
    from guatu.lifecycle.models import Notice
    from guatu.society.book import ObservationBook, new_view, table_add
    from guatu.society.models import (
        ObservationInput,
        ObservationState,
        ObservationView,
        RateInput,
        ReplyInput,
        ResolveInput,
    )


def _log(message: str, extra: dict[str, Any]) -> None:
    workflow.logger.info(message, extra=extra)


@workflow.defn(name=c.OBSERVATION_WORKFLOW)
class CitizenObservation:
    @workflow.init
    def __init__(self, input: ObservationInput) -> None:
        clock = input.clock
        if clock.anchor_real is None and (clock.scale != 1.0 or clock.anchor_business):
            clock = clock.model_copy(
                update={
                    "anchor_real": workflow.now(),
                    "anchor_business": clock.anchor_business or workflow.now(),
                }
            )
            input = input.model_copy(update={"clock": clock})
        add = table_add(input.working_days)
        filed_at = business_now(clock, workflow.now())
        self.book = ObservationBook(
            ObservationState(input=input, view=new_view(input, filed_at, add)),
            workflow.now,
            add,
            _log,
        )
        self._lock = asyncio.Lock()
        self._persisted = 0
        self._deliveries: dict[str, asyncio.Task[None]] = {}

    @workflow.run
    async def run(self, input: ObservationInput) -> ObservationView:
        book = self.book
        book.start()
        while not book.finished:
            book.wake = False
            book.process_due()
            await self._flush()
            due = book.next_due()
            timeout = real_delay(book.s.input.clock, workflow.now(), due) if due else None
            if timeout is not None and timeout <= timedelta(0):
                continue
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: book.wake or book.finished,
                    timeout=timeout,
                    timeout_summary="observation deadline",
                )
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._flush()
        await workflow.wait_condition(lambda: not self._deliveries)
        return book.v

    async def _flush(self) -> None:
        async with self._lock:
            batch = self.book.take_batch()
            if batch is None:
                return
            await workflow.execute_activity(
                c.ACTIVITY_OBSERVATION_PERSIST,
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
            await deliver(notice)
            s = self.book.s
            s.pending_notices = [n for n in s.pending_notices if n.key != notice.key]
            del self._deliveries[notice.key]

        self._deliveries[notice.key] = asyncio.create_task(deliver_one())

    async def _persisted_now(self, result: ObservationView) -> ObservationView:
        if not result.duplicate:
            # Answer once the change is in PostgreSQL (the main loop may be writing it).
            target = self.book.v.version
            await self._flush()
            await workflow.wait_condition(lambda: self._persisted >= target)
        return result

    @workflow.update(name=c.UPDATE_OBSERVATION_REPLY)
    async def reply(self, data: ReplyInput) -> ObservationView:
        return await self._persisted_now(self.book.reply(data))

    @reply.validator
    def _validate_reply(self, data: ReplyInput) -> None:
        refuse_on(self.book.check_reply, data)

    @workflow.update(name=c.UPDATE_OBSERVATION_RATE)
    async def rate(self, data: RateInput) -> ObservationView:
        return await self._persisted_now(self.book.rate(data))

    @rate.validator
    def _validate_rate(self, data: RateInput) -> None:
        refuse_on(self.book.check_rate, data)

    @workflow.update(name=c.UPDATE_OBSERVATION_RESOLVE)
    async def resolve(self, data: ResolveInput) -> ObservationView:
        return await self._persisted_now(self.book.resolve(data))

    @resolve.validator
    def _validate_resolve(self, data: ResolveInput) -> None:
        refuse_on(self.book.check_resolve, data)

    @workflow.query(name=c.QUERY_OBSERVATION)
    def observation(self) -> ObservationView:
        return self.book.v
