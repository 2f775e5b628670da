"""Fixtures of the channel tests: the fake services, one bureau wired to all of them."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg
import pytest
import pytest_asyncio
from pydantic import SecretStr
from temporalio.client import Client

from config.settings import Settings
from guatu.channels import store
from guatu.channels.models import ChannelKind
from guatu.channels.secrets import ChannelKeys
from guatu.core import constants as c
from guatu.core.delivery import NoticeDeliveryInput
from guatu.core.payload_codec import PayloadKey
from guatu.lifecycle.models import Notice
from tests.channels.receivers import FakeService, Mailbox

# One key list for the session: what the API/CLI seal, the worker opens.
KEYS = json.dumps([PayloadKey.generate("t1").to_json()])
SMTP_LOGIN, SMTP_PASSWORD = "notices@wenjiang.example", "smtp-口令-1"
SENDER = "guatu@wenjiang.example"


def channel_settings(**extra: object) -> Settings:
    return Settings(
        graceful_shutdown_seconds=2, channel_keys=SecretStr(KEYS), smtp_timeout_seconds=5, **extra
    )  # type: ignore[arg-type]


@dataclass
class Services:
    webhook: FakeService
    wecom: FakeService
    dingtalk: FakeService
    mail: Mailbox

    def of(self, kind: ChannelKind) -> FakeService | Mailbox:
        return {
            ChannelKind.WEBHOOK: self.webhook,
            ChannelKind.WECOM: self.wecom,
            ChannelKind.DINGTALK: self.dingtalk,
            ChannelKind.EMAIL: self.mail,
        }[kind]


@pytest_asyncio.fixture
async def services() -> AsyncIterator[Services]:
    found = Services(
        await FakeService("webhook").start(),
        await FakeService("wecom").start(),
        await FakeService("dingtalk").start(),
        Mailbox(SMTP_LOGIN, SMTP_PASSWORD).start(),
    )
    yield found
    for svc in (found.webhook, found.wecom, found.dingtalk):
        await svc.stop()
    found.mail.stop()


@pytest.fixture
def settings() -> Settings:
    return channel_settings()


async def new_bureau(pool: asyncpg.Pool, name_zh: str = "区生态环境局") -> str:
    code = f"cb_{uuid.uuid4().hex[:8]}"
    await pool.execute(
        "INSERT INTO bureaus (code, name_zh, name_en, webhook_url)"
        " VALUES ($1, $2, 'test bureau', NULL)",
        code,
        name_zh,
    )
    return code


async def wire(
    pool: asyncpg.Pool,
    settings: Settings,
    bureau: str,
    services: Services,
    kinds: tuple[ChannelKind, ...] = tuple(ChannelKind),
) -> None:
    """Give `bureau` the channels `kinds`, each pointing at its fake service, with its own
    credentials (the robot accepts only those)."""
    keys = ChannelKeys(settings)
    for kind in kinds:
        if kind is ChannelKind.WEBHOOK:
            body: dict[str, object] = {"url": services.webhook.url}
        elif kind is ChannelKind.WECOM:
            key = f"wk-{bureau}"
            services.wecom.credentials[key] = ""
            body = {"url": f"{services.wecom.url}?key={key}"}
        elif kind is ChannelKind.DINGTALK:
            token, secret = f"dt-{bureau}", f"SEC{uuid.uuid4().hex}+/="
            services.dingtalk.credentials[token] = secret
            body = {"url": services.dingtalk.url, "access_token": token, "secret": secret}
        else:
            body = {
                "to": [f"{bureau}@wenjiang.example", "office@wenjiang.example"],
                "host": "127.0.0.1",
                "port": services.mail.port,
                "starttls": False,
                "username": SMTP_LOGIN,
                "password": SMTP_PASSWORD,
                "sender": SENDER,
            }
        await store.set_channel(pool, keys, bureau, kind, body, actor="test")


def supervision_notice(bureau: str, deadline: date | None = date(2031, 5, 15)) -> Notice:
    """A 督办 decision's notice, as the ladder writes one."""
    key = f"ladder:test:{uuid.uuid4().hex[:10]}"
    return Notice(
        key=key,
        bureau=bureau,
        project="",
        kind="ladder_supervision",
        title_zh="【督办通知】区生态环境局",
        body_zh="区生态环境局：\n连续三个月列入黑榜，启动督办。\n要求：请于 2031-05-15 前报送整改方案；"
        "逾期未报将升级督办。",
        body_en="Supervision: correction plan due 2031-05-15.",
        created_at=datetime(2031, 4, 1, 9, 0, tzinfo=UTC),
        deadline=deadline,
    )


async def outbox(pool: asyncpg.Pool, notice: Notice) -> None:
    """Write the notice into the outbox, as the read-model projection does."""
    await pool.execute(
        "INSERT INTO notifications (key, bureau, project, kind, title_zh, body_zh, body_en,"
        " created_at, deadline) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
        notice.key,
        notice.bureau,
        notice.project or None,
        notice.kind,
        notice.title_zh,
        notice.body_zh,
        notice.body_en,
        notice.created_at,
        notice.deadline,
    )


async def deliver(client: Client, task_queue: str, notice: Notice) -> bool:
    """Deliver through the NoticeDelivery workflow (the path of a round and of redelivery)."""
    return bool(
        await client.execute_workflow(
            c.NOTICE_WORKFLOW,
            NoticeDeliveryInput(notice=notice),
            id=c.notice_delivery_workflow_id(notice.key),
            task_queue=task_queue,
            result_type=bool,
        )
    )


async def statuses(pool: asyncpg.Pool, key: str) -> dict[str, tuple[str, int]]:
    rows = await pool.fetch(
        "SELECT channel, status, attempts FROM notice_deliveries WHERE notice_key = $1", key
    )
    return {r["channel"]: (r["status"], r["attempts"]) for r in rows}


async def notice_row(pool: asyncpg.Pool, key: str) -> asyncpg.Record:
    row = await pool.fetchrow(
        "SELECT status, attempts, last_error FROM notifications WHERE key = $1", key
    )
    assert row is not None
    return row
