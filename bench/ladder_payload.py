"""The largest BureauLadder payload after ten simulated years (issue 10, target ≤ 256 KiB).

A real BureauLadder on the time-skipping server with a real worker and PostgreSQL: one bureau on
the black list every month for ten years (120 rounds), eight of its projects red all along, and
no correction plan ever answered — each month's 督办 escalates, and the ladder continues as new
as its history grows (the default 2,000 events). Then every run's history is read back and the
largest single payload (an update's input or result, an activity's input, the continue-as-new
input) is reported with where it was.

    .venv/bin/python -m bench.ladder_payload [--years N]   (standalone: embedded PostgreSQL)

`bench/run.py` runs it as the `ladder` step on its own PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from google.protobuf.message import Message
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.core import constants as c
from guatu.core import db
from guatu.core.clock import add_months, month_key
from guatu.ladder.models import LadderInput, RecordPeriodInput, RecordPeriodResult
from guatu.ranking.messages import BureauOutcome
from guatu.ranking.models import LadderRules, ListKind, RedProject
from guatu.runtime.stack import EmbeddedPostgres, test_server_binary
from worker import build_worker

TARGET_KIB = 256
RED_PROJECTS = 8
FIRST = date(2031, 1, 1)


def _outcome(bureau: str, m: int) -> BureauOutcome:
    months = [month_key(add_months(FIRST, i)) for i in range(m + 1)]
    return BureauOutcome(
        bureau=bureau,
        name_zh="基准测试局",
        period=months[-1],
        kind="month",
        ruleset_id="default",
        ruleset_version=1,
        rank=16,
        of=16,
        score=12.5,
        listed=ListKind.BLACK,
        target_met=False,
        investment_ratio=0.31,
        reasons_zh=["合计 12.50 分", "序时目标：未完成"],
        reasons_en=["total 12.50", "period target missed"],
        red_projects=[
            RedProject(
                code=f"BENCH-{i:04d}",
                name_zh=f"基准项目第{i}号（道路及配套管网工程）",
                streak=m + 1,
                red_months=months[-12:],
            )
            for i in range(RED_PROJECTS)
        ],
    )


def _payloads(message: Message, where: str, out: list[tuple[int, str]]) -> None:
    """Every Payload inside a history event, with its size in bytes."""
    if message.DESCRIPTOR.full_name == "temporal.api.common.v1.Payload":
        out.append((message.ByteSize(), where))
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            for item in value.values():
                if isinstance(item, Message):
                    _payloads(item, where, out)
        elif isinstance(value, Message):
            _payloads(value, where, out)
        else:  # a repeated field
            for item in value:
                _payloads(item, where, out)


def _where(event: HistoryEvent) -> str:
    name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower()
    attrs = event.activity_task_scheduled_event_attributes
    if event.HasField("activity_task_scheduled_event_attributes"):
        name += f" {attrs.activity_type.name}"
    return name


async def _runs(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """Every run of a workflow, last first (back along continued_execution_run_id)."""
    histories = []
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        histories.append(history)
        started = history.events[0].workflow_execution_started_event_attributes
        if not started.continued_execution_run_id:
            return histories
        run_id = started.continued_execution_run_id


async def measure(pool: asyncpg.Pool, years: int = 10) -> dict[str, Any]:
    bureau = f"bench_ladder_{uuid.uuid4().hex[:6]}"
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO bureaus (code, name_zh, name_en) VALUES ($1, $2, $3)"
            " ON CONFLICT (code) DO NOTHING",
            bureau,
            "基准测试局",
            "bench bureau",
        )
    started = time.perf_counter()
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=test_server_binary()
    )
    workflow_id = c.bureau_ladder_workflow_id(bureau)
    try:
        settings = Settings(graceful_shutdown_seconds=1)
        async with httpx.AsyncClient() as http:
            task_queue = f"bench-ladder-{uuid.uuid4().hex[:6]}"
            async with build_worker(env.client, pool, http, settings, task_queue=task_queue):
                await env.client.start_workflow(
                    c.LADDER_WORKFLOW,
                    LadderInput(bureau=bureau, name_zh="基准测试局"),
                    id=workflow_id,
                    task_queue=task_queue,
                )
                for m in range(years * 12):
                    outcome = _outcome(bureau, m)
                    await env.client.get_workflow_handle(workflow_id).execute_update(
                        c.UPDATE_RECORD_PERIOD,
                        RecordPeriodInput(outcome=outcome, ladder=LadderRules()),
                        id=f"record_period:default:{outcome.period}",
                        result_type=RecordPeriodResult,
                    )
                    await env.sleep(timedelta(days=30))
                runs = await _runs(env.client, workflow_id)
                await env.client.get_workflow_handle(workflow_id).terminate("measured")
    finally:
        await env.shutdown()
    sizes: list[tuple[int, str]] = []
    for history in runs:
        for event in history.events:
            _payloads(event, _where(event), sizes)
    largest, where = max(sizes)
    async with pool.acquire() as conn:
        orders = await conn.fetchval(
            "SELECT count(*) FROM ladder_orders WHERE bureau = $1 AND status = 'escalated'",
            bureau,
        )
    return {
        "years": years,
        "rounds": years * 12,
        "red_projects": RED_PROJECTS,
        "runs": len(runs),
        "escalated_orders": orders,
        "largest_payload_kib": round(largest / 1024, 1),
        "largest_payload_in": where,
        "seconds": round(time.perf_counter() - started, 1),
        "target": f"≤ {TARGET_KIB} KiB",
        "met": largest <= TARGET_KIB * 1024,
    }


async def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--years", type=int, default=10)
    args = parser.parse_args()
    pg = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="guatu-bench-ladder-")), port=55987)
    await asyncio.to_thread(pg.start)
    try:
        pool = await db.create_pool(pg.dsn, 2, 10)
        await db.migrate(pool)
        print(await measure(pool, args.years), flush=True)
        await pool.close()
    finally:
        pg.stop("immediate")


if __name__ == "__main__":
    asyncio.run(_main())
