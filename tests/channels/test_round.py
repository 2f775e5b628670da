"""A ranking round's decisions through the robots and e-mail (issue 13, deliverable 3, "Done
when"): each bureau's rank notice and ladder decisions reach its 企业微信 robot, its 钉钉 robot
and its mailbox exactly once each, although every service refused the first attempt of each.

The fixture's period (2031-03) is fixed, far from today: nothing depends on the day it runs.
"""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from guatu.channels.models import ChannelKind
from guatu.ranking import service
from tests.channels.conftest import Services, channel_settings, wire
from tests.helpers import eventually, running_worker
from tests.ranking import fixture
from tests.ranking.conftest import end_ladders, prefix

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

KINDS = (ChannelKind.WECOM, ChannelKind.DINGTALK, ChannelKind.EMAIL)


async def _outbox(pool: asyncpg.Pool, bureaus: list[str]) -> dict[str, str]:
    rows = await pool.fetch(
        "SELECT key, status FROM notifications WHERE bureau = ANY($1::text[])", bureaus
    )
    return {r["key"]: r["status"] for r in rows}


async def test_a_rounds_decisions_reach_each_channel_once(
    dev_env: WorkflowEnvironment,
    fresh_pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    services: Services,
) -> None:
    px = prefix()
    bureaus = await fixture.add_bureaus(fresh_pool, px, None)
    await fixture.insert(fresh_pool, px)
    settings = channel_settings()
    for bureau in bureaus:
        await wire(fresh_pool, settings, bureau, services, KINDS)
    services.wecom.fail_first = (200, {"errcode": 45009, "errmsg": "api freq out of limit"})
    services.dingtalk.fail_first = (500, None)
    services.mail.fail_first = "421 4.7.0 try again later"
    client = dev_env.client
    async with running_worker(client, fresh_pool, http, settings) as tq:
        try:
            handle = await service.trigger_round(client, "2031-03", "default", task_queue=tq)
            result = await asyncio.wait_for(handle.result(), timeout=90)
            assert result.bureaus == 4

            async def all_delivered() -> dict[str, str]:
                found = await _outbox(fresh_pool, bureaus)
                # 4 rank notices at least, and the ladders' decisions; all delivered.
                done = len(found) >= 4 and set(found.values()) == {"delivered"}
                return found if done else {}

            outbox = await eventually(all_delivered, timeout=120)
        finally:
            await end_ladders(client, bureaus)
    keys = set(outbox)
    assert {f"ranking:default:2031-03:{b}" for b in bureaus} <= keys
    for svc in (services.wecom, services.dingtalk, services.mail):
        # Exactly one message per decision and service; each was refused once first.
        assert sorted(svc.keys()) == sorted(keys)
        assert svc.failed_once == keys
    assert services.wecom.invalid == [] and services.dingtalk.invalid == []
    assert len(services.wecom.requests) == len(services.dingtalk.requests) == 2 * len(keys)
    rows = await fresh_pool.fetch(
        "SELECT status, attempts FROM notice_deliveries WHERE notice_key = ANY($1::text[])",
        list(keys),
    )
    assert len(rows) == 3 * len(keys)
    assert {(r["status"], r["attempts"]) for r in rows} == {("delivered", 2)}
