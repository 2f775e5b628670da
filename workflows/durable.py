"""What the two long-running workflows (ProjectLifecycle, BureauLadder) do alike to stay durable:
deliver their notices, wait for the next business-time deadline, and continue as new.

- `Deliveries`: the notices being delivered from workflow code (bounded: `guatu.core.delivery`),
  one task per notice key; a delivered (or finally failed) notice leaves the state's
  `pending_notices`, so only the undelivered ones travel into the next run.
- `wait_until`: sleep until a condition holds or a deadline on the programme clock comes (one
  durable timer; none when there is no deadline, no wait when it has come).
- `continue_as_new_due` and `settle`: when a run should continue as new, and the last pass
  before it (handlers finished, changes written, deliveries drained — again while input came).

Workflow code only (through the sandbox, passed through): no I/O here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from temporalio import workflow

from guatu.core.clock import real_delay
from guatu.core.delivery import deliver
from guatu.lifecycle.models import Notice, ProgrammeClock


class _HasPending(Protocol):
    pending_notices: list[Notice]


class Deliveries:
    """Notices in delivery, by key. `state()` is the workflow's state (its `pending_notices`)."""

    def __init__(self, state: Callable[[], _HasPending]) -> None:
        self._state = state
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    def __contains__(self, key: object) -> bool:
        return key in self._tasks

    def send(self, notice: Notice) -> None:
        """Deliver `notice` unless it is being delivered already."""
        if notice.key in self._tasks:
            return

        async def send() -> None:
            # Bounded (guatu.core.delivery): a notice that finally fails stays in the outbox as
            # failed, to be redelivered, and is not carried into the next run.
            await deliver(notice)
            s = self._state()
            s.pending_notices = [n for n in s.pending_notices if n.key != notice.key]
            del self._tasks[notice.key]

        self._tasks[notice.key] = asyncio.create_task(send())

    def resume(self) -> None:
        """Deliver what a previous run left undelivered."""
        for notice in list(self._state().pending_notices):
            self.send(notice)

    async def drain(self, timeout: timedelta) -> None:
        """Let deliveries in flight finish, for at most `timeout`."""
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: not self._tasks, timeout=timeout)


async def wait_until(
    clock: ProgrammeClock,
    due: datetime | None,
    condition: Callable[[], bool],
    summary: str | None,
) -> None:
    """Wait until `condition` holds or business time `due` (on `clock`) comes. No deadline: wait
    for the condition alone; a deadline already come: return at once."""
    timeout = real_delay(clock, workflow.now(), due) if due else None
    if timeout is not None and timeout <= timedelta(0):
        return
    with contextlib.suppress(TimeoutError):
        await workflow.wait_condition(condition, timeout=timeout, timeout_summary=summary)


def continue_as_new_due(max_events: int) -> bool:
    """The server suggests it, or the run's history is longer than `max_events`."""
    info = workflow.info()
    return info.is_continue_as_new_suggested() or info.get_current_history_length() > max_events


async def settle(
    flush: Callable[[], Awaitable[None]],
    drain: Callable[[], Awaitable[None]],
    dirty: Callable[[], bool],
) -> None:
    """The last pass of a run before it continues as new: every handler finished, its changes
    written, deliveries drained. Input can arrive during any of these awaits: repeat until a
    pass finds nothing new, so no accepted update is left behind in this run."""
    while True:
        await workflow.wait_condition(workflow.all_handlers_finished)
        await flush()
        await drain()
        if workflow.all_handlers_finished() and not dirty():
            return


__all__ = ["Deliveries", "continue_as_new_due", "settle", "wait_until"]
