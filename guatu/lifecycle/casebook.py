"""What every durable request's decision class shares: `CaseBook`.

申诉 appeals (`guatu.appeals.book.AppealBook`), 市民观察 observations
(`guatu.society.book.ObservationBook`) and 机会清单 listings and interests
(`guatu.opportunities.book.ListingBook`, `InterestBook`) are each one workflow's request with a
deadline; their books decide, and this base owns the bookkeeping those decisions write through:

- the business time (`bnow`, on the request's programme clock, from the `now` it is given);
- the version bump that marks the book dirty and wakes the run loop (`_changed`);
- the deadline loop: `next_due` and `process_due` over the book's own `_next_step` (when the
  next deadline step falls due and what it does: a reminder, an overdue notice, an
  escalation), each step fired once, in order;
- the notices and audit entries of the pending batch, keyed `<prefix>:<id>:<suffix>`
  (`_notify`, `_audit_entry`) and handed over by `take_batch`;
- the idempotency memory of the request's Updates: the first answer to a key, kept for
  `SEEN_KEPT` keys (`_first`, `_remember`, `remember`);
- the shapes of a request's durable state and of the batch one persist writes (`CaseState`,
  `CaseBatch`: each request's own models are these with its input and view).

What differs stays in each book: the deadline steps and their texts, the checks, the decisions.
Nothing here reads a clock or a database: deterministic, so a book runs inside a workflow.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, Field

from guatu.core.clock import business_now
from guatu.lifecycle.models import AuditEntry, Notice, ProgrammeClock

SEEN_KEPT = 50  # Update answers a request remembers (the state carries them)

Log = Callable[[str, dict[str, Any]], None]
V = TypeVar("V", bound=BaseModel)
B = TypeVar("B", bound=BaseModel)
I = TypeVar("I", bound=BaseModel)  # noqa: E741
A = TypeVar("A")


class CaseState(BaseModel, Generic[I, V]):
    """A request's durable state: its input, its view (the read model's row), the answers it
    remembers by idempotency key, and notices not yet handed to the outbox."""

    input: I
    view: V
    seen: dict[str, dict[str, Any]] = Field(default_factory=dict)
    pending_notices: list[Notice] = Field(default_factory=list)


class CaseBatch(BaseModel, Generic[V]):
    """What one persist of a request writes: its row, its audit entries and its notices."""

    view: V
    audit: list[AuditEntry] = Field(default_factory=list)
    notices: list[Notice] = Field(default_factory=list)


def remember(seen: dict[str, A], key: str, value: A, kept: int = SEEN_KEPT) -> None:
    """Keep `value` as the answer to `key`, forgetting the oldest answers beyond `kept` (every
    book's idempotency memory: the requests', the ladder's, a project's)."""
    seen[key] = value
    if len(seen) > kept:
        for old in list(seen)[: len(seen) - kept]:
            del seen[old]


class CaseBook(Generic[V, B]):
    """One request's state (`s`: its `view`, its `seen` answers, its `input.clock`) and the
    batch its decisions fill (see the module docstring).

    A subclass names `key_prefix` (the first part of its notice and audit keys) and
    `batch_type` (the batch model: `view`, `audit`, `notices`).
    """

    key_prefix: ClassVar[str]
    batch_type: ClassVar[type[BaseModel]]
    s: Any

    def __init__(self, state: Any, now: Callable[[], datetime], log: Log) -> None:
        self.s = state
        self._now = now
        self._log = log
        self.wake = False
        self.dirty = False
        self._audit: list[AuditEntry] = []
        self._notices: list[Notice] = []

    @property
    def v(self) -> V:
        view: V = self.s.view
        return view

    @property
    def clock(self) -> ProgrammeClock:
        clock: ProgrammeClock = self.s.input.clock
        return clock

    def bnow(self) -> datetime:
        return business_now(self.clock, self._now())

    def _changed(self) -> None:
        self.s.view.version += 1
        self.dirty = True
        self.wake = True

    def _next_step(self) -> tuple[datetime, Callable[[], None]] | None:
        """The next deadline step still to fire: when it falls due and what it does (None: no
        more). A step records that it fired, so the next call answers the step after it."""
        return None

    def next_due(self) -> datetime | None:
        """When the run's timer should next wake this book (None: no deadline left)."""
        step = self._next_step()
        return step[0] if step else None

    def process_due(self) -> None:
        """Fire every deadline step that has come, each once, in order."""
        while (step := self._next_step()) is not None and step[0] <= self.bnow():
            step[1]()
            self._changed()

    def _key(self, suffix: str) -> str:
        return f"{self.key_prefix}:{self.s.view.id}:{suffix}"

    def _notice_project(self) -> str:
        """The project a notice of this request is about ("" for none)."""
        return ""

    def _notify(
        self,
        suffix: str,
        bureau: str,
        kind: str,
        title: str,
        body: list[str],
        body_en: str,
        deadline: date | None = None,
        project: str | None = None,
    ) -> None:
        self._notices.append(
            Notice(
                key=self._key(suffix),
                bureau=bureau,
                project=self._notice_project() if project is None else project,
                kind=kind,
                title_zh=title,
                body_zh="\n".join(body),
                body_en=body_en,
                created_at=self.bnow(),
                deadline=deadline,
            )
        )

    def _audit_entry(
        self,
        suffix: str,
        actor: str,
        action: str,
        key: str,
        before: dict[str, Any],
        after: dict[str, Any],
        reason: str = "",
    ) -> None:
        self._audit.append(
            AuditEntry(
                key=self._key(suffix),
                at=self.bnow(),
                actor=actor,
                bureau=self.s.view.bureau,
                action=action,
                idempotency_key=key,
                accepted=True,
                before=before,
                after=after,
                reason=reason,
            )
        )

    def _first(self, key: str) -> V | None:
        """The first answer to an Update's `key`, marked `duplicate`; None if it is new."""
        first = self.s.seen.get(key)
        if not first:
            return None
        view: V = type(self.v).model_validate(first).model_copy(update={"duplicate": True})
        return view

    def _remember(self, key: str) -> V:
        """The answer to an Update's `key` (the view as it is now), kept for a repeat."""
        result: V = self.v.model_copy()
        remember(self.s.seen, key, result.model_dump(mode="json"))
        return result

    def take_batch(self) -> B | None:
        """The pending batch for persistence (None if nothing changed), emptied."""
        if not self.dirty:
            return None
        batch: B = self.batch_type(  # type: ignore[assignment]
            view=self.v.model_copy(), audit=self._audit, notices=self._notices
        )
        self._audit, self._notices = [], []
        self.dirty = False
        return batch
