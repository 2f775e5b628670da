"""Scenarios run INSIDE an older checkout (see scripts/record_prepatch.py): record histories of
the code as it was before a patch, so the replay guard holds the old branch too.

Runs with the old tree first on `sys.path` and imports only what the trees before the package
reorganisation (commit "One package per concept") had: `guatu.constants`, `guatu.db`,
`guatu.stack`, `guatu.ranking.*`, `tests.helpers`, `tests.ranking.fixture`. It writes
`<scenario>.json` histories and `ids.json` (file → workflow ID and type) into `--out`.

    python prepatch_driver.py --root /tmp/old-tree --out /tmp/out --scenario round --scenario ladder
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any


def _load(root: Path) -> None:
    sys.path.insert(0, str(root))


async def main(root: Path, out: Path, scenarios: list[str]) -> None:
    _load(root)
    import httpx
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from config.settings import Settings
    from guatu import constants as c
    from guatu import db
    from guatu.clock import CST
    from guatu.ladder.models import (
        CorrectionPlanInput,
        ExemptionInput,
        LadderInput,
        RecordPeriodInput,
        RecordPeriodResult,
    )
    from guatu.models import ProgrammeClock
    from guatu.ranking import service as ranking
    from guatu.ranking.messages import BureauOutcome, RankingRoundInput
    from guatu.ranking.models import LadderRules, ListKind
    from guatu.ranking.periods import parse_period
    from guatu.stack import EmbeddedPostgres, temporal_binary, test_server_binary
    from tests.helpers import WebhookReceiver, add_bureau, running_worker
    from tests.ranking import fixture

    settings = Settings(graceful_shutdown_seconds=1)
    ids: dict[str, dict[str, str]] = {}
    revisions = "revision" in RecordPeriodInput.model_fields

    async def save(client: Client, workflow_id: str, name: str, run_id: str | None = None) -> None:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        history = await handle.fetch_history()
        desc = await handle.describe()
        (out / f"{name}.json").write_text(history.to_json(), encoding="utf-8")
        ids[f"{name}.json"] = {"workflow_id": workflow_id, "workflow_type": desc.workflow_type}
        print(f"recorded {name}: {len(history.events)} events", flush=True)

    async def save_runs(client: Client, workflow_id: str, first_run_id: str, name: str) -> None:
        run_id: str | None = first_run_id
        n = 0
        while run_id:
            n += 1
            handle = client.get_workflow_handle(workflow_id, run_id=run_id)
            history = await handle.fetch_history()
            await save(client, workflow_id, f"{name}_run{n}", run_id=run_id)
            last = history.events[-1]
            run_id = (
                last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
                if last.HasField("workflow_execution_continued_as_new_event_attributes")
                else None
            )

    async def quiet(client: Client, workflow_id: str) -> None:
        handle = client.get_workflow_handle(workflow_id)
        last: tuple[str, int] | None = None
        for _ in range(240):
            d = (await handle.describe()).raw_description
            now = (
                d.workflow_execution_info.execution.run_id,
                d.workflow_execution_info.history_length,
            )
            if not d.pending_activities and not d.HasField("pending_workflow_task"):
                if now == last:
                    return
            last = now
            await asyncio.sleep(0.5)
        raise TimeoutError(workflow_id)

    def outcome(bureau: str, period: str, listed: Any) -> Any:
        return BureauOutcome(
            bureau=bureau,
            name_zh="测试局",
            period=period,
            kind=parse_period(period).kind.value,
            ruleset_id="default",
            ruleset_version=1,
            rank=7,
            of=8,
            score=42.5,
            listed=listed,
            target_met=listed is ListKind.RED,
            investment_ratio=0.81,
            reasons_zh=["合计 42.50 分"],
            reasons_en=["total 42.50"],
            red_projects=[],
        )

    async def ladder(env: WorkflowEnvironment, pool: Any, url: str) -> None:
        client = env.client
        bureau = await add_bureau(pool, url)
        wid = c.bureau_ladder_workflow_id(bureau)
        async with httpx.AsyncClient() as http, running_worker(client, pool, http, settings) as tq:
            handle = await client.start_workflow(
                c.LADDER_WORKFLOW,
                LadderInput(bureau=bureau, name_zh="测试局", continue_as_new_events=90),
                id=wid,
                task_queue=tq,
            )

            async def record(period: str, listed: Any, revision: int = 1) -> Any:
                extra: dict[str, Any] = {}
                if revisions:
                    extra = {
                        "revision": revision,
                        "reason": "补报数据后重新冻结" if revision > 1 else "",
                        "actor": "王区长" if revision > 1 else "",
                    }
                return await client.get_workflow_handle(wid).execute_update(
                    c.UPDATE_RECORD_PERIOD,
                    RecordPeriodInput(
                        outcome=outcome(bureau, period, listed), ladder=LadderRules(), **extra
                    ),
                    id=f"record_period:default:{period}:r{revision}",
                    result_type=RecordPeriodResult,
                )

            for period in ("2031-01", "2031-02"):
                await record(period, ListKind.BLACK)
            third = await record("2031-03", ListKind.BLACK)
            await env.sleep(timedelta(days=17))
            await asyncio.sleep(0.3)
            await ranking.submit_correction_plan(
                client,
                bureau,
                CorrectionPlanInput(
                    order_id=third.decisions[0].order_id,
                    plan="倒排工期，增加施工班组，每周报送进度。",
                    actor="局长",
                    idempotency_key="plan-1",
                ),
            )
            await ranking.grant_exemption(
                client,
                bureau,
                ExemptionInput(
                    period="2031-05",
                    reason="特大暴雨引发洪灾，全部工地依令停工（不可抗力）",
                    actor="王区长",
                    role="district_leader",
                    idempotency_key="ex-1",
                ),
                pool=pool,
                task_queue=tq,
            )
            await record("2031-04", ListKind.BLACK)
            if revisions:
                await record("2031-04", None, revision=2)  # the 督办 is withdrawn
            await record("2031-05", ListKind.BLACK)
            for period, listed in (
                ("2031-06", None),
                ("2031-07", ListKind.RED),
                ("2031-08", ListKind.RED),
                ("2031-09", None),
            ):
                await record(period, listed)
            await env.sleep(timedelta(days=20))
            await asyncio.sleep(0.3)
            await quiet(client, wid)
            await save_runs(client, wid, handle.first_execution_run_id, "ladder_steps")
            await handle.terminate()

    async def round_(env: WorkflowEnvironment, pool: Any, url: str) -> None:
        """A round started without a period (as a schedule starts it): it ranks the period of
        its programme clock's date and hands over to the business-key round."""
        client = env.client
        px = f"r{uuid.uuid4().hex[:6]}"
        bureaus = await fixture.add_bureaus(pool, px, url)
        await fixture.insert(pool, px)
        async with httpx.AsyncClient() as http, running_worker(client, pool, http, settings) as tq:
            clock = ProgrammeClock(
                anchor_real=datetime.now(CST), anchor_business=datetime(2031, 4, 2, 10, tzinfo=CST)
            )
            parent_id = f"ranking-ondemand-{px}"
            handle = await client.start_workflow(
                c.RANKING_WORKFLOW,
                RankingRoundInput(kind="month", ruleset_id="default", clock=clock),
                id=parent_id,
                task_queue=tq,
            )
            await handle.result()
            round_id = c.ranking_round_workflow_id("2031-03", "default")
            await save(client, parent_id, "round_delegating_parent")
            await save(client, round_id, "round_2031_03")
            for name, bureau in zip("abcd", bureaus, strict=True):
                await quiet(client, c.bureau_ladder_workflow_id(bureau))
                await save(client, c.bureau_ladder_workflow_id(bureau), f"round_ladder_{name}")
            for bureau in bureaus:
                with contextlib.suppress(Exception):
                    await client.get_workflow_handle(
                        c.bureau_ladder_workflow_id(bureau)
                    ).terminate()

    out.mkdir(parents=True, exist_ok=True)
    port = 56000 + uuid.uuid4().int % 900
    pg = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="guatu-prepatch-")), port=port)
    pg.start()
    receiver = WebhookReceiver()
    await receiver.start()
    pool = await db.create_pool(pg.dsn)
    try:
        await db.migrate(pool)
        with contextlib.suppress(ImportError):
            from activities.read_model import upsert_reference
            from guatu.programme import load_bureaus, load_programs

            await upsert_reference(pool, load_bureaus(), load_programs())
        if "ladder" in scenarios:
            ts = await WorkflowEnvironment.start_time_skipping(
                data_converter=pydantic_data_converter,
                test_server_existing_path=test_server_binary(),
            )
            try:
                await ladder(ts, pool, receiver.url)
            finally:
                await ts.shutdown()
        if "round" in scenarios:
            dev = await WorkflowEnvironment.start_local(
                data_converter=pydantic_data_converter,
                dev_server_existing_path=temporal_binary(),
                search_attributes=c.SEARCH_ATTRIBUTES,
            )
            try:
                await round_(dev, pool, receiver.url)
            finally:
                await dev.shutdown()
    finally:
        (out / "ids.json").write_text(json.dumps(ids, indent=1), encoding="utf-8")
        await pool.close()
        await receiver.stop()
        pg.stop("immediate")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--scenario", action="append", choices=["ladder", "round"], required=True)
    args = parser.parse_args()
    asyncio.run(main(args.root, args.out, args.scenario))
