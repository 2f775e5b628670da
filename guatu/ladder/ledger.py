"""The bookkeeping of one bureau's ladder, without Temporal: its clock, what the next write to
PostgreSQL carries, the idempotency results it remembers, and what it forgets before continuing
as new. `guatu.ladder.book.LadderBook` makes the decisions on top of it.

Only reads time through the `now` it is given (`workflow.now` in a run): deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from guatu.core.clock import business_now, local_date, past_due_at
from guatu.ladder.checks import record_key
from guatu.ladder.models import (
    HEAD_FIELDS,
    LadderBatch,
    LadderChanges,
    LadderDecision,
    LadderStanding,
    LadderState,
    PeriodInput,
    RecordPeriodInput,
)
from guatu.ladder.notices import decision_notices
from guatu.ladder.rules import orders_to_forget, standing_of
from guatu.lifecycle.casebook import remember
from guatu.lifecycle.models import AuditEntry
from guatu.ranking.actions import OrderStatus

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
        # Bounded ladders write changes: what changed since the last write besides the batch.
        self._tracks: set[str] = set()
        self._seen: list[str] = []
        self._inputs: list[PeriodInput] = []
        self._full = False

    def bound(self) -> None:
        """Keep the state bounded from now on (patch ladder-bounded-state-2026-12): remembered
        results shrink to keys and levels, decisions refer to their inputs in PostgreSQL, writes
        carry changes. A state carried over from a run before it is upgraded once, and its next
        write is whole."""
        s = self.s
        if s.bounded:
            return
        s.bounded = True
        for key, result in list(s.seen.items()):
            s.seen[key] = compact_result(key, result)
        self._full = True
        if s.version:
            self.changed()

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

    def take_batch(self) -> LadderBatch | LadderChanges | None:
        """What changed since the last write; None if nothing. A ladder not yet bounded writes
        its whole state with it (`LadderBatch`), a bounded one its changes (`LadderChanges`)."""
        if not self.dirty:
            return None
        batch = self.batch
        self.batch = self._new_batch()
        self.dirty = False
        s = self.s
        if not s.bounded:
            batch.version = s.version
            batch.state = s.model_dump(mode="json", exclude={"pending_notices"})
            return batch
        full = self._full
        tracks = set(s.tracks) if full else self._tracks
        seen = list(s.seen) if full else self._seen
        changes = LadderChanges(
            bureau=s.bureau,
            version=s.version,
            full=full,
            head=s.model_dump(mode="json", include=set(HEAD_FIELDS)),
            tracks={k: s.tracks[k] for k in sorted(tracks) if k in s.tracks},
            last_records={k: s.last_records[k] for k in sorted(tracks) if k in s.last_records},
            seen={k: s.seen[k] for k in seen if k in s.seen},
            inputs=self._inputs,
            decisions=batch.decisions,
            orders=list(s.orders.values()) if full else batch.orders,
            exemptions=list(s.exemptions.values()) if full else batch.exemptions,
            audit=batch.audit,
            notices=batch.notices,
        )
        self._tracks, self._seen, self._inputs, self._full = set(), [], [], False
        return changes

    def _remember(self, key: str, result: dict[str, Any]) -> None:
        seen = self.s.seen
        if self.s.bounded:
            result = compact_result(key, result)
            self._seen.append(key)
        remember(seen, key, result, SEEN_KEPT)

    def _input_key(self, data: RecordPeriodInput) -> str:
        o = data.outcome
        return f"{self.s.bureau}:{record_key(o.ruleset_id, o.period, data.revision)}"

    def _keep_input(self, data: RecordPeriodInput) -> None:
        """A bounded ladder writes what a period was decided on once (`ladder_inputs`)."""
        if self.s.bounded:
            o = data.outcome
            self._inputs.append(
                PeriodInput(
                    key=self._input_key(data),
                    bureau=self.s.bureau,
                    period=o.period,
                    ruleset_id=o.ruleset_id,
                    revision=data.revision,
                    outcome=o,
                    ladder=data.ladder,
                    recorded_at=self.bnow(),
                )
            )

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
        if self.s.bounded:
            # Nothing more is awaited of a finished order: its plan (up to 10,000 characters)
            # stays in PostgreSQL, not in the state carried over.
            for order in self.s.orders.values():
                if order.status.finished:
                    order.plan = ""
                    order.plan_actor = ""

    def next_due(self) -> datetime | None:
        """When the earliest open order falls overdue (the start of the day after its due)."""
        dues = [past_due_at(o.due) for o in self.s.orders.values() if o.status is OrderStatus.OPEN]
        return min(dues, default=None)


def compact_result(key: str, result: dict[str, Any]) -> dict[str, Any]:
    """A remembered record_period result as a bounded ladder keeps it: levels and decision keys,
    not the decisions (each with its explanation; PostgreSQL has them)."""
    if not key.startswith("record:") or not result.get("decisions"):
        return result
    return {
        **result,
        "decision_keys": result.get("decision_keys") or [d["key"] for d in result["decisions"]],
        "decisions": [],
    }
