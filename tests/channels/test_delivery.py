"""Notices through every channel, on the real dev server and PostgreSQL (issue 13, deliverable 3).

A bureau wired to all four channels (webhook, 企业微信 robot, 钉钉 robot, SMTP), each a local
service that checks the wire format its real counterpart documents (tests/channels/receivers.py).

- Each service fails the first attempt (HTTP 503, errcode 45009 and 130101 rate limits, SMTP
  451); the retry delivers: each service took exactly one message, in its own format.
- One channel fails for good (refused at once, or retried to the bound): the others took the
  notice once, the notice is `failed`; redelivery sends it to that channel only, once.
"""

from __future__ import annotations

from datetime import date

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.notify import redeliver
from config.settings import Settings
from guatu.channels.models import ChannelKind
from tests.channels.conftest import (
    SENDER,
    SMTP_LOGIN,
    Services,
    deliver,
    new_bureau,
    notice_row,
    outbox,
    statuses,
    supervision_notice,
    wire,
)
from tests.channels.receivers import FakeService, Mailbox
from tests.helpers import eventually, running_worker

# The fake SMTP server asks for a login without TLS (loopback only); aiosmtpd warns about it.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

ATTEMPTS = 2  # the worker's cap: a delivery that keeps failing ends within seconds

WECOM_CARD = """## 【督办通知】区生态环境局
> 事项：**督办**
> 单位：区生态环境局
> 期限：<font color="warning">2031-05-15</font>

区生态环境局：
连续三个月列入黑榜，启动督办。
要求：请于 2031-05-15 前报送整改方案；逾期未报将升级督办。

<font color="comment">通知编号：{key}</font>"""

DINGTALK_CARD = """### 【督办通知】区生态环境局

> **事项**：督办

> **单位**：区生态环境局

> **期限**：2031-05-15

区生态环境局：

连续三个月列入黑榜，启动督办。

要求：请于 2031-05-15 前报送整改方案；逾期未报将升级督办。

###### 通知编号：{key}"""


async def test_every_channel_gets_one_message_per_decision_also_after_a_retry(
    dev_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    settings: Settings,
    services: Services,
) -> None:
    bureau = await new_bureau(pool)
    await wire(pool, settings, bureau, services)
    services.webhook.fail_first = (503, None)
    services.wecom.fail_first = (200, {"errcode": 45009, "errmsg": "api freq out of limit"})
    services.dingtalk.fail_first = (
        200,
        {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"},
    )
    services.mail.fail_first = "451 4.3.0 try again later"
    notice = supervision_notice(bureau)
    await outbox(pool, notice)
    async with running_worker(dev_env.client, pool, http, settings) as tq:
        assert await deliver(dev_env.client, tq, notice) is True

    key = notice.key
    # Two requests each (the refused first, the retry); one message taken by each service.
    for svc in (services.webhook, services.wecom, services.dingtalk):
        assert svc.invalid == []
        assert len(svc.requests) == 2
        assert svc.keys() == [key]
    assert services.mail.attempts == [key, key]
    assert services.mail.keys() == [key]
    assert await statuses(pool, key) == {k.value: ("delivered", 2) for k in ChannelKind}
    row = await notice_row(pool, key)
    assert (row["status"], row["attempts"], row["last_error"]) == ("delivered", 2, None)

    # 企业微信: the markdown card exactly, under the robot's key.
    [(_, wecom)] = services.wecom.accepted
    assert wecom.query == {"key": [f"wk-{bureau}"]}
    assert wecom.json() == {
        "msgtype": "markdown",
        "markdown": {"content": WECOM_CARD.format(key=key)},
    }
    # 钉钉: title and text exactly; the receiver recomputed the signature (else 310000).
    [(_, ding)] = services.dingtalk.accepted
    assert set(ding.query) == {"access_token", "timestamp", "sign"}
    assert ding.json() == {
        "msgtype": "markdown",
        "markdown": {"title": "【督办通知】区生态环境局", "text": DINGTALK_CARD.format(key=key)},
    }
    # Webhook: the notice itself, its key as Idempotency-Key.
    [(_, hook)] = services.webhook.accepted
    assert hook.headers["idempotency-key"] == key
    assert hook.json() == notice.model_dump(mode="json")
    # E-mail: logged in with the (decrypted) password; Chinese subject RFC 2047-encoded;
    # a text and an HTML part, both UTF-8 and both the card.
    assert services.mail.logins[-1] == SMTP_LOGIN.encode()
    [(_, mail, raw, rcpts)] = services.mail.accepted
    assert rcpts == [f"{bureau}@wenjiang.example", "office@wenjiang.example"]
    raw_subject = next(line for line in raw.split(b"\r\n") if line.startswith(b"Subject:"))
    assert raw_subject.isascii() and b"=?utf-8?" in raw_subject.lower()
    assert mail["Subject"] == "【督办通知】区生态环境局"
    assert mail["From"] == SENDER
    assert mail.get_content_type() == "multipart/alternative"
    plain = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content_charset() == "utf-8" and html.get_content_charset() == "utf-8"
    # MIME text is canonical with CRLF line breaks (RFC 2045), inside the base64 too.
    assert plain.get_content().replace("\r\n", "\n") == (
        "【督办通知】区生态环境局\n\n事项：督办\n单位：区生态环境局\n期限：2031-05-15\n\n"
        "区生态环境局：\n连续三个月列入黑榜，启动督办。\n"
        "要求：请于 2031-05-15 前报送整改方案；逾期未报将升级督办。\n\n"
        f"通知编号：{key}\n"
    )
    html_text = html.get_content()
    assert "<h2>【督办通知】区生态环境局</h2>" in html_text
    assert '<tr><th align="left">期限</th><td>2031-05-15</td></tr>' in html_text
    assert "<p>要求：请于 2031-05-15 前报送整改方案；逾期未报将升级督办。</p>" in html_text


async def test_a_delivered_notice_is_not_sent_again(
    dev_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    settings: Settings,
    services: Services,
) -> None:
    """The same decision delivered twice (a workflow retried from its start, a second
    redelivery): the services still have one message each."""
    bureau = await new_bureau(pool)
    await wire(pool, settings, bureau, services)
    notice = supervision_notice(bureau, deadline=None)
    await outbox(pool, notice)
    async with running_worker(dev_env.client, pool, http, settings) as tq:
        assert await deliver(dev_env.client, tq, notice) is True
        assert await deliver(dev_env.client, tq, notice) is True
    for svc in (services.webhook, services.wecom, services.dingtalk, services.mail):
        assert svc.keys() == [notice.key]
    # No deadline: the card has no 期限 line.
    [(_, wecom)] = services.wecom.accepted
    assert "期限" not in wecom.json()["markdown"]["content"]


def _fail(svc: FakeService | Mailbox, answer: object) -> None:
    svc.always = answer  # type: ignore[assignment]


@pytest.mark.parametrize(
    "kind, answer, requests, error",
    [
        # Refused at once: not retried.
        (ChannelKind.WEBHOOK, (404, None), 1, "webhook: HTTP 404"),
        (
            ChannelKind.WECOM,
            (200, {"errcode": 93000, "errmsg": "invalid webhook url"}),
            1,
            "wecom: errcode 93000",
        ),
        (ChannelKind.EMAIL, "550 5.1.1 mailbox unavailable", 1, "email: SMTP 550"),
        # Rate-limited / transient every time: retried up to the bound, then failed.
        (
            ChannelKind.DINGTALK,
            (200, {"errcode": 130101, "errmsg": "send too fast"}),
            ATTEMPTS,
            "dingtalk: errcode 130101",
        ),
        (ChannelKind.EMAIL, "451 4.3.0 try again later", ATTEMPTS, "email: SMTP 451"),
    ],
    ids=["webhook-404", "wecom-93000", "email-550", "dingtalk-rate-limit", "email-451"],
)
async def test_a_failing_channel_is_failed_and_redelivered_to_it_alone(
    dev_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    settings: Settings,
    services: Services,
    kind: ChannelKind,
    answer: object,
    requests: int,
    error: str,
) -> None:
    bureau = await new_bureau(pool)
    await wire(pool, settings, bureau, services)
    failing = services.of(kind)
    _fail(failing, answer)
    notice = supervision_notice(bureau, deadline=date(2031, 5, 15))
    await outbox(pool, notice)
    others = [k for k in ChannelKind if k is not kind]
    client = dev_env.client
    async with running_worker(client, pool, http, settings, delivery_attempts=ATTEMPTS) as tq:
        assert await deliver(client, tq, notice) is False
        # The others took it once; the failing channel saw `requests` attempts, took nothing.
        for other in others:
            assert services.of(other).keys() == [notice.key]
        tried = failing.attempts if isinstance(failing, Mailbox) else failing.requests
        assert len(tried) == requests
        assert failing.keys() == []
        row = await notice_row(pool, notice.key)
        assert row["status"] == "failed"
        assert row["last_error"].startswith(error), row["last_error"]
        assert await statuses(pool, notice.key) == {
            kind.value: ("failed", requests),
            **{o.value: ("delivered", 1) for o in others},
        }

        # Fixed: redelivery sends it once more — to the failing channel only.
        _fail(failing, None)
        started = await redeliver(client, pool, key=notice.key, task_queue=tq)
        assert [r["key"] for r in started] == [notice.key]
        await eventually(lambda: _delivered(pool, notice.key), timeout=30)
    for k in ChannelKind:
        assert services.of(k).keys() == [notice.key], k
    assert await statuses(pool, notice.key) == {
        kind.value: ("delivered", requests + 1),
        **{o.value: ("delivered", 1) for o in others},
    }
    assert await redeliver(client, pool, key=notice.key) == []


async def _delivered(pool: asyncpg.Pool, key: str) -> bool:
    return (await notice_row(pool, key))["status"] == "delivered"
