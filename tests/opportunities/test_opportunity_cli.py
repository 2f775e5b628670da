"""`guatu opportunity …` against the dev server and PostgreSQL, as a manager and a bureau clerk
use it (the CLI runs in a thread with its ordinary settings, as tests/cli/test_cli_live.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner, Result

from config.settings import Settings, get_settings
from guatu.cli.main import app
from guatu.core.clock import local_date
from guatu.opportunities import service
from guatu.opportunities.book import interest_workflow_id, listing_workflow_id
from guatu.opportunities.models import InterestSubmission
from tests.helpers import add_bureau, eventually, running_worker

runner = CliRunner()
CLOSES = local_date(datetime.now(UTC)) + timedelta(days=100)


def invoke(args: list[str], env: dict[str, str]) -> Result:
    get_settings.cache_clear()
    try:
        return runner.invoke(app, args, env=env)
    finally:
        get_settings.cache_clear()


async def cli(args: list[str], env: dict[str, str]) -> Result:
    return await asyncio.to_thread(invoke, args, env)


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest_asyncio.fixture
async def live(
    dev_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    settings: Settings,
    pg_dsn: str,
) -> AsyncIterator[tuple[dict[str, str], str, str]]:
    bureau = await add_bureau(pool, None)
    scene = f"C{uuid.uuid4().hex[:8].upper()}"
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO scenes (code, name_zh, program, lead_bureau) VALUES ($1, $2, $3, $4)",
            scene,
            "命令行测试场景",
            "P10",
            bureau,
        )
    client = dev_env.client
    async with running_worker(client, pool, http, settings) as task_queue:
        env = {
            "GUATU_TEMPORAL_ADDRESS": client.service_client.config.target_host,
            "GUATU_TEMPORAL_NAMESPACE": client.namespace,
            "GUATU_TASK_QUEUE": task_queue,
            "DATABASE_URL": pg_dsn,
        }
        yield env, bureau, scene
        oid = f"{scene}.investment.{CLOSES:%Y%m%d}"
        for workflow_id in (
            listing_workflow_id(oid),
            interest_workflow_id(f"{oid}.914403001922038216"),
        ):
            with contextlib.suppress(RPCError):
                await client.get_workflow_handle(workflow_id).terminate("test over")


async def test_publish_list_answer_and_refusals(
    live: tuple[dict[str, str], str, str], dev_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    env, bureau, scene = live
    published = as_json(
        await cli(
            [
                "opportunity", "publish", "--subject-kind", "scene", "--subject", scene,
                "--kind", "investment", "--title", "社区商业配套投资合作",
                "--closes-on", CLOSES.isoformat(), "--amount", "5000", "--json",
            ],
            env,
        )
    )  # fmt: skip
    oid = published["id"]
    assert (oid, published["bureau"]) == (f"{scene}.investment.{CLOSES:%Y%m%d}", bureau)
    listed = await eventually(
        lambda: _listed(["opportunity", "list", "--bureau", bureau, "--json"], env)
    )
    assert [r["id"] for r in listed] == [oid]
    public = as_json(await cli(["opportunity", "public", "--json"], env))
    mine = [o for o in public if o["id"] == oid]
    assert mine[0]["kind_zh"] == "投资合作" and "interests" not in mine[0]

    receipt = await service.express_interest(
        dev_env.client,
        pool,
        oid,
        InterestSubmission(
            company_name="示例科技有限公司",
            uscc="914403001922038216",
            contact_name="张经理",
            contact_phone="028-82710000",
        ),
    )
    iid = receipt.interest_id
    rows = await eventually(
        lambda: _listed(["opportunity", "interests", "--opportunity", oid, "--json"], env)
    )
    assert rows[0]["id"] == iid and rows[0]["status"] == "waiting"

    # Another bureau's clerk is refused in one line, Chinese first; nothing changes.
    other = await cli(
        ["opportunity", "respond", iid, "--bureau", "fgj", "--reply", "已收到意向，请来电"], env
    )
    assert other.exit_code != 0
    assert "不是本单位" in other.output and len(other.output.strip().splitlines()) == 1
    answered = as_json(
        await cli(
            ["opportunity", "respond", iid, "--bureau", bureau, "--reply", "已收到意向，请来电", "--json"],
            env,
        )
    )  # fmt: skip
    assert answered["status"] == "responded"
    no_reason = await cli(
        ["opportunity", "outcome", iid, "--bureau", bureau, "--outcome", "not_concluded"], env
    )
    assert no_reason.exit_code != 0 and "须写明原因" in no_reason.output
    closed = await cli(["opportunity", "close", oid, "--reason", "已确定投资方", "--json"], env)
    assert as_json(closed)["status"] == "closed"


async def _listed(args: list[str], env: dict[str, str]) -> list[dict[str, Any]]:
    return as_json(await cli(args, env))["items"]
