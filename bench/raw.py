"""The raw platform: minimal workflows for the same work Guatu does, as the baseline."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity, workflow


class RawInput(BaseModel):
    label: str = ""


@activity.defn(name="raw_noop")
async def raw_noop(data: RawInput) -> str:
    return data.label


@workflow.defn(name="RawTimer")
class RawTimer:
    """A workflow that waits on one long timer: a started, open, cached execution."""

    def __init__(self) -> None:
        self.updates = 0
        self.done = False

    @workflow.run
    async def run(self, data: RawInput) -> int:
        try:
            await workflow.wait_condition(lambda: self.done, timeout=timedelta(days=30))
        except TimeoutError:
            pass
        return self.updates

    @workflow.update(name="bump")
    def bump(self, data: RawInput) -> int:
        self.updates += 1
        return self.updates

    @bump.validator
    def _check(self, data: RawInput) -> None:
        if data.label == "bad":
            raise ValueError("bad")

    @workflow.signal(name="finish")
    def finish(self) -> None:
        self.done = True


@workflow.defn(name="RawOneActivity")
class RawOneActivity:
    @workflow.run
    async def run(self, data: RawInput) -> str:
        return await workflow.execute_activity(
            raw_noop, data, start_to_close_timeout=timedelta(seconds=30)
        )


@workflow.defn(name="RawNoOp")
class RawNoOp:
    @workflow.run
    async def run(self, data: RawInput) -> str:
        return data.label
