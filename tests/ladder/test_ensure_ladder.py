"""One way to start or restart a bureau's ladder (`guatu.ladder.service.ensure_ladder`), for the
round's feed activity and an exemption granted before any round alike: a new ladder keeps the
programme clock it is given (the exemption path used to start it on real time), a ladder that
ran before comes back from its state in PostgreSQL, and a running one is left as it is."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.ladder import LadderActivities
from guatu.ladder.book import LadderBook
from guatu.ladder.models import LadderChanges, LadderInput, LadderState, RecordPeriodInput
from guatu.ladder.service import ensure_ladder
from guatu.lifecycle.models import ProgrammeClock
from guatu.ranking.messages import BureauOutcome
from guatu.ranking.models import LadderRules, ListKind

AT = datetime(2031, 5, 1, 1, 0, tzinfo=UTC)


async def _input(client: Client, workflow_id: str) -> LadderInput:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    payload = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    [decoded] = pydantic_data_converter.payload_converter.from_payloads([payload], [LadderInput])
    assert isinstance(decoded, LadderInput)
    return decoded


async def test_new_ladder_keeps_the_clock_and_a_stored_one_comes_back(
    ts_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    client = ts_env.client
    stamp = datetime.now(UTC).strftime("%H%M%S%f")
    clock = ProgrammeClock(scale=720.0, anchor_business=AT)
    # Nothing stored: a new ladder on the clock given, named from PostgreSQL.
    new = f"t_new_{stamp}"
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO bureaus (code, name_zh, name_en) VALUES ($1, '新局', 'new')", new
        )
    fresh = await ensure_ladder(client, pool, new, task_queue=f"tq-none-{stamp}", clock=clock)
    started = await _input(client, fresh.id)
    assert started.state is None and started.clock == clock
    assert started.name_zh == "新局"
    again = await ensure_ladder(client, pool, new, task_queue=f"tq-none-{stamp}")
    assert again.result_run_id == fresh.result_run_id  # running: left as it is
    await fresh.terminate()

    # A ladder that ran before: its stored (bounded) state is the new run's.
    bureau = f"t_ensure_{stamp}"
    book = LadderBook(LadderState(bureau=bureau, name_zh="测试局"), lambda: AT)
    book.bound()
    book.start()
    book.record(
        RecordPeriodInput(
            outcome=BureauOutcome(
                bureau=bureau,
                name_zh="测试局",
                period="2031-04",
                kind="month",
                ruleset_id="default",
                ruleset_version=1,
                rank=8,
                of=8,
                score=20.0,
                listed=ListKind.BLACK,
                target_met=False,
                investment_ratio=0.5,
            ),
            ladder=LadderRules(),
        )
    )
    batch = book.take_batch()
    assert isinstance(batch, LadderChanges)
    await LadderActivities(pool).persist_changes(batch)
    handle = await ensure_ladder(client, pool, bureau, task_queue=f"tq-none-{stamp}", clock=clock)
    restored = await _input(client, handle.id)
    assert restored.state is not None
    assert restored.state.tracks == book.s.tracks
    assert restored.state.seen == book.s.seen and restored.state.version == book.s.version
    await handle.terminate()
