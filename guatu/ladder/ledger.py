"""The bookkeeping of one bureau's ladder, without Temporal: its clock, what the next write to
PostgreSQL carries, the idempotency results it remembers, and what it forgets before continuing
as new. `guatu.ladder.book.LadderBook` makes the decisions on top of it.

Only reads time through the `now` it is given (`workflow.now` in a run): deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from guatu.core.clock import business_now, local_date, local_start
from guatu.ladder.models import (
    LadderBatch,
    LadderDecision,
    LadderStanding,
    LadderState,
    OrderStatus,
)
from guatu.ladder.notices import decision_notices
from guatu.ladder.rules import orders_to_forget, standing_of
from guatu.lifecycle.models import AuditEntry

SEEN_KEPT = 150  # idempotency results remembered (they travel in the continue-as-new input)
CLOSED_ORDERS_KEPT = 50  # finished orders carried across continue-as-new (PostgreSQL has all)


class LadderLedger:
    """A ladder's state and what changed in it since the last write.

    Every change goes into `batch` (what PostgreSQL and the bureaus must learn) and marks the
    ledger `dirty`; `take_batch` hands the batch over to be written. `wake` tells the run loop
    that something changed and the next deadline must be recomputed.
    """

    def __init__(self, state: LadderState, now: Callable[[], datetime]) -> None:
        self.s = state
        self._now = now
        self.wake = False
        self.dirty = False
        self.batch = self._new_batch()

    # -- time and bookkeeping -----------------------------------------------------------------

    def bnow(self) -> datetime:
        return business_now(self.s.clock, self._now())

    def today(self) -> date:
        return local_date(self.bnow())

    def changed(self) -> None:
        self.s.version += 1
        self.s.updated_at = self.bnow()
        self.dirty = True
        self.wake = True

    def anchor_clock(self) -> None:
        """A new ladder's programme clock starts now (a simulated clock, or a given business
        time): before any update is handled, so its decisions and deadlines are on it."""
        clock = self.s.clock
        if clock.anchor_real is None and (clock.scale != 1.0 or clock.anchor_business):
            now = self._now()
            clock.anchor_real = now
            clock.anchor_business = clock.anchor_business or now

    def start(self) -> None:
        self.s.started_at = self.bnow()
        self.changed()

    def level(self, track: str) -> int:
        t = self.s.tracks.get(track)
        return t.level if t else 0

    def _new_batch(self) -> LadderBatch:
        return LadderBatch(bureau=self.s.bureau, version=0, state={})

    def take_batch(self) -> LadderBatch | None:
        """What changed since the last write, with the state as of now; None if nothing."""
        if not self.dirty:
            return None
        batch = self.batch
        self.batch = self._new_batch()
        self.dirty = False
        batch.version = self.s.version
        batch.state = self.s.model_dump(mode="json", exclude={"pending_notices"})
        return batch

    def _remember(self, key: str, result: dict[str, Any]) -> None:
        seen = self.s.seen
        seen[key] = result
        if len(seen) > SEEN_KEPT:
            for old in list(seen)[: len(seen) - SEEN_KEPT]:
                del seen[old]

    def _record_decision(self, decision: LadderDecision, notify_office: bool) -> None:
        self.s.decisions += 1
        self.batch.decisions.append(decision)
        self.batch.notices.extend(
            decision_notices(
                decision, self.s.name_zh or self.s.bureau, decision.decided_at, notify_office
            )
        )

    def _audit(
        self,
        key: str,
        actor: str,
        action: str,
        idempotency_key: str,
        before: dict[str, object],
        after: dict[str, object],
        reason: str,
    ) -> None:
        self.batch.audit.append(
            AuditEntry(
                key=f"ladder:{self.s.bureau}:{key}",
                at=self.bnow(),
                actor=actor,
                bureau=self.s.bureau,
                action=action,
                idempotency_key=idempotency_key,
                accepted=True,
                before=before,
                after=after,
                reason=reason,
            )
        )

    def standing(self) -> LadderStanding:
        return standing_of(self.s)

    def forget_finished(self, withdrawn_too: bool) -> None:
        """Before continuing as new: drop the finished orders beyond the most recent ones (with
        `withdrawn_too` False, as runs recorded before it did: closed ones only)."""
        kept = list(self.s.orders.values())
        if not withdrawn_too:
            kept = [o for o in kept if o.status is OrderStatus.CLOSED]
        for order_id in orders_to_forget(kept, CLOSED_ORDERS_KEPT):
            del self.s.orders[order_id]

    def next_due(self) -> datetime | None:
        """When the earliest open order falls overdue (the start of the day after its due)."""
        dues = [
            local_start(o.due + timedelta(days=1))
            for o in self.s.orders.values()
            if o.status is OrderStatus.OPEN
        ]
        return min(dues, default=None)
