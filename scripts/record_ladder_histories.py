"""Record BureauLadder histories for tests/ladder/test_ladder_replay.py.

    .venv/bin/python scripts/record_ladder_histories.py CODE_ROOT OUT_DIR TAG PG_PORT

CODE_ROOT is the tree whose workflow code runs (a worktree of an older commit records the
histories of runs from before a patch). Scenario: black list 1-2-3 (督办), escalations, a plan,
an exemption, a 督办单 of a red project, a revision, several continue-as-new (80 events); the first
and the last run are written as OUT_DIR/ladder_first_TAG.json and ladder_last_TAG.json.
"""

import asyncio
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(sys.argv[1]).resolve()))

import httpx
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.core import constants as c
from guatu.core import db
from guatu.runtime.stack import EmbeddedPostgres, test_server_binary
from tests.helpers import WebhookReceiver, add_bureau, running_worker

try:  # the package layout since guatu/ladder, or the one before
    from guatu.ladder.models import (
        CorrectionPlanInput,
        ExemptionInput,
        LadderInput,
        RecordPeriodInput,
        RecordPeriodResult,
    )
    from guatu.ranking.messages import BureauOutcome
except ImportError:
    from guatu.ladder.models import (
        CorrectionPlanInput,
        ExemptionInput,
        LadderInput,
        RecordPeriodInput,
        RecordPeriodResult,
    )
    from guatu.ranking.messages import BureauOutcome
from guatu.ranking.models import LadderRules, ListKind, RedProject
from guatu.ranking.periods import parse_period

OUT = Path(sys.argv[2])
TAG = sys.argv[3]


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    pg = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="ladder-record-")), port=int(sys.argv[4]))
    pg.start()
    receiver = WebhookReceiver()
    await receiver.start()
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=test_server_binary()
    )
    pool = await db.create_pool(pg.dsn)
    try:
        await db.migrate(pool)
        bureau = await add_bureau(pool, receiver.url)
        wid = c.bureau_ladder_workflow_id(bureau)
        async with (
            httpx.AsyncClient() as http,
            running_worker(env.client, pool, http, Settings(graceful_shutdown_seconds=1)) as tq,
        ):
            h = await env.client.start_workflow(
                c.LADDER_WORKFLOW,
                LadderInput(bureau=bureau, name_zh="测试局", continue_as_new_events=80),
                id=wid,
                task_queue=tq,
            )
            first_run = h.result_run_id

            def outcome(period, listed, reds=None):
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
                    red_projects=reds or [],
                )

            async def record(period, listed, reds=None, revision=1):
                hh = env.client.get_workflow_handle(wid)
                return await hh.execute_update(
                    c.UPDATE_RECORD_PERIOD,
                    RecordPeriodInput(
                        outcome=outcome(period, listed, reds),
                        ladder=LadderRules(),
                        revision=revision,
                        reason="补报数据后重新冻结" if revision > 1 else "",
                        actor="王区长" if revision > 1 else "",
                    ),
                    id=f"record_period:default:{period}:r{revision}",
                    result_type=RecordPeriodResult,
                )

            async def skip(days):
                await env.sleep(timedelta(days=days))
                await asyncio.sleep(0.3)

            def red(streak: int, months: list[str]) -> RedProject:
                return RedProject(code="P-1", name_zh="红灯项目", streak=streak, red_months=months)

            await record("2031-01", ListKind.BLACK)
            await record("2031-02", ListKind.BLACK, [red(1, ["2031-02"])])
            r3 = await record("2031-03", ListKind.BLACK, [red(2, ["2031-02", "2031-03"])])
            await skip(20)  # 督办 and 督办单 overdue: escalated
            hh = env.client.get_workflow_handle(wid)
            sup = next(d.order_id for d in r3.decisions if d.kind.value == "supervision")
            await hh.execute_update(
                c.UPDATE_CORRECTION_PLAN,
                CorrectionPlanInput(
                    order_id=sup,
                    plan="成立专班，逐项销号，月底前完成整改。",
                    idempotency_key="plan-1",
                ),
                id="plan-1",
            )
            await hh.execute_update(
                c.UPDATE_EXEMPTION,
                ExemptionInput(
                    period="2031-05",
                    reason="特大暴雨引发洪灾，全部工地依令停工（不可抗力）",
                    actor="王区长",
                    role="district_leader",
                    idempotency_key="ex-1",
                ),
                id="ex-1",
            )
            await record("2031-04", None)
            await record("2031-05", ListKind.BLACK)
            await record("2031-06", ListKind.BLACK, [red(1, ["2031-06"])])
            await record("2031-06", None, revision=2)
            for m in range(7, 13):
                await record(f"2031-{m:02d}", ListKind.RED if m % 3 else ListKind.BLACK)
                await skip(10)
            await record("2031-Q4", ListKind.BLACK)
            await skip(40)
            await record("2032-01", ListKind.BLACK, [red(3, ["2031-11", "2031-12", "2032-01"])])
            await skip(5)
            desc = await hh.describe()
            for name, run in (("first", first_run), ("last", desc.run_id)):
                history = await env.client.get_workflow_handle(wid, run_id=run).fetch_history()
                (OUT / f"ladder_{name}_{TAG}.json").write_text(history.to_json(), encoding="utf-8")
                print(name, len(history.events))
            await hh.terminate("recorded")
    finally:
        await pool.close()
        await env.shutdown()
        await receiver.stop()
        pg.stop()


asyncio.run(main())
