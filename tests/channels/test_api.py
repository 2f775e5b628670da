"""The channels of a bureau through the admin API: admin only, secrets in and never out.

`PUT/GET/DELETE /api/v1/bureaus/{bureau}/channels[/{channel}]` on the real app and PostgreSQL.
Secrets are sealed with the channel keys (AES-GCM) in the table, shown as "set" (or their
env:NAME), and absent from every answer and from the audit log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from guatu.api.app import create_app
from guatu.api.deps import ApiOptions
from guatu.channels.secrets import ChannelKeys, context_of
from guatu.core.tokens import create_token
from tests.channels.conftest import channel_settings, new_bureau

OPTIONS = ApiOptions(rate_per_second=1000, rate_burst=10_000, failed_auth_burst=10_000)
ROBOT_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
DING_TOKEN, DING_SECRET = "b4a1c0ffee0123456789", "SEC3f1a0d9c8b7e6a5f4e3d2c1b0a99887766"
SMTP_PASSWORD = "邮件口令-Pa55"
SECRETS = (ROBOT_KEY, DING_TOKEN, DING_SECRET, SMTP_PASSWORD)


class Api:
    def __init__(self, client: httpx.AsyncClient, tokens: dict[str, str], bureau: str) -> None:
        self.client, self.tokens, self.bureau = client, tokens, bureau

    def path(self, channel: str = "", bureau: str | None = None) -> str:
        tail = f"/{channel}" if channel else ""
        return f"/api/v1/bureaus/{bureau or self.bureau}/channels{tail}"

    async def call(
        self,
        method: str,
        channel: str = "",
        body: Any = None,
        who: str = "admin",
        bureau: str | None = None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return await self.client.request(
            method, self.path(channel, bureau), headers=headers, json=body
        )


@pytest_asyncio.fixture
async def api(dev_env: WorkflowEnvironment, pool: asyncpg.Pool) -> AsyncIterator[Api]:
    app = create_app(dev_env.client, pool, channel_settings(), task_queue="unused", options=OPTIONS)
    bureau = await new_bureau(pool)
    tokens = {
        "admin": await create_token(pool, "admin"),
        "leader": await create_token(pool, "leader"),
        "manager": await create_token(pool, "manager"),
        "bureau": await create_token(pool, "bureau", bureau),
    }
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://guatu.test"
    ) as client:
        yield Api(client, tokens, bureau)


def _no_secret_in(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


async def test_secrets_go_in_encrypted_and_never_come_out(api: Api, pool: asyncpg.Pool) -> None:
    wecom = await api.call(
        "PUT", "wecom", {"url": f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={ROBOT_KEY}"}
    )
    assert wecom.status_code == 200, wecom.text
    # The key pasted in the URL is split off: the URL is stored without it.
    assert wecom.json()["settings"] == {"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"}
    assert wecom.json()["secrets"] == {"key": "set"}
    ding = await api.call("PUT", "dingtalk", {"access_token": DING_TOKEN, "secret": DING_SECRET})
    mail = await api.call(
        "PUT",
        "email",
        {"to": ["office@wenjiang.example"], "username": "office", "password": SMTP_PASSWORD},
    )
    env = await api.call("PUT", "webhook", {"url": "https://bureau.example/notify"})
    assert [r.status_code for r in (ding, mail, env)] == [200, 200, 200]
    listed = await api.call("GET")
    assert listed.status_code == 200
    assert [(c["channel"], c["secrets"], c["source"]) for c in listed.json()] == [
        ("webhook", {}, "admin"),
        ("wecom", {"key": "set"}, "admin"),
        ("dingtalk", {"access_token": "set", "secret": "set"}, "admin"),
        ("email", {"password": "set"}, "admin"),
    ]
    for answer in (wecom, ding, mail, env, listed):
        _no_secret_in(answer.text)

    # At rest: sealed under key id t1, bound to (bureau, channel, field), opened by the keys.
    rows = await pool.fetch(
        "SELECT channel, secrets FROM bureau_channels WHERE bureau = $1", api.bureau
    )
    stored = {(r["channel"], k): v for r in rows for k, v in r["secrets"].items()}
    _no_secret_in(" ".join(stored.values()))
    assert all(v.startswith("enc:t1:") for v in stored.values())
    keys = ChannelKeys(channel_settings())
    assert (
        keys.reveal(stored[("dingtalk", "secret")], context_of(api.bureau, "dingtalk", "secret"))
        == DING_SECRET
    )
    assert (
        keys.reveal(stored[("email", "password")], context_of(api.bureau, "email", "password"))
        == SMTP_PASSWORD
    )
    # The audit log has who changed what, with the secrets masked.
    audit = await pool.fetch(
        "SELECT action, actor, after::text AS after, channel FROM audit_log"
        " WHERE bureau = $1 ORDER BY id",
        api.bureau,
    )
    assert [(a["action"], a["channel"]) for a in audit] == [("channel_set", "api")] * 4
    _no_secret_in(" ".join(a["after"] for a in audit))


async def test_env_references_are_shown_by_name(api: Api, pool: asyncpg.Pool) -> None:
    answer = await api.call(
        "PUT", "dingtalk", {"access_token": "env:DING_TOKEN_X", "secret": "env:DING_SECRET_X"}
    )
    assert answer.status_code == 200
    assert answer.json()["secrets"] == {
        "access_token": "env:DING_TOKEN_X",
        "secret": "env:DING_SECRET_X",
    }
    stored = await pool.fetchval(
        "SELECT secrets FROM bureau_channels WHERE bureau = $1", api.bureau
    )
    assert stored == {"access_token": "env:DING_TOKEN_X", "secret": "env:DING_SECRET_X"}


@pytest.mark.parametrize(
    "who, status", [("leader", 403), ("manager", 403), ("bureau", 403), ("", 401)]
)
async def test_admin_only(api: Api, pool: asyncpg.Pool, who: str, status: int) -> None:
    for method, body in (("GET", None), ("PUT", {"url": "https://x.example/n"}), ("DELETE", None)):
        answer = await api.call(method, "" if method == "GET" else "webhook", body, who=who)
        assert answer.status_code == status, (method, answer.text)
        assert set(answer.json()) >= {"code", "zh", "en"}
    assert (
        await pool.fetchval("SELECT count(*) FROM bureau_channels WHERE bureau = $1", api.bureau)
        == 0
    )


@pytest.mark.parametrize(
    "channel, body, status, code, words",
    [
        ("sms", {"to": ["a@b.cn"]}, 422, "unknown_channel", "webhook, wecom, dingtalk, email"),
        ("webhook", {"url": "ftp://bureau.example/notify"}, 422, "invalid_channel", "http(s)"),
        ("webhook", {"url": "https://user:pw@bureau.example/n"}, 422, "invalid_channel", "http(s)"),
        ("webhook", {}, 422, "invalid_channel", "url"),
        (
            "wecom",
            {"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"},
            422,
            "invalid_channel",
            "key",
        ),
        ("dingtalk", {"access_token": "has space"}, 422, "invalid_channel", "access_token"),
        ("dingtalk", {"access_token": "env:1BAD"}, 422, "invalid_channel", "env:NAME"),
        ("email", {"to": ["not-an-address"]}, 422, "invalid_channel", "not-an-address"),
        ("email", {"to": ["a@b.cn"], "port": 70000}, 422, "invalid_channel", "port"),
        ("email", {"to": ["a@b.cn"], "colour": "red"}, 422, "invalid_channel", "colour"),
        ("email", ["a@b.cn"], 422, "invalid_input", "does not match the API"),
    ],
)
async def test_bad_settings_are_refused_clearly_and_nothing_is_written(
    api: Api, pool: asyncpg.Pool, channel: str, body: Any, status: int, code: str, words: str
) -> None:
    answer = await api.call("PUT", channel, body)
    assert answer.status_code == status, answer.text
    error = answer.json()
    assert error["code"] == code
    assert words in error["en"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["zh"])  # a Chinese message
    assert (
        await pool.fetchval("SELECT count(*) FROM bureau_channels WHERE bureau = $1", api.bureau)
        == 0
    )


async def test_unknown_bureau_and_removal(api: Api, pool: asyncpg.Pool) -> None:
    missing = await api.call(
        "PUT", "webhook", {"url": "https://x.example/n"}, bureau="no_such_bureau"
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "bureau_not_found")
    assert (await api.call("GET", bureau="no_such_bureau")).status_code == 404

    assert (await api.call("PUT", "webhook", {"url": "https://x.example/n"})).status_code == 200
    assert (await api.call("DELETE", "webhook")).status_code == 204
    assert (await api.call("GET")).json() == []
    again = await api.call("DELETE", "webhook")
    assert (again.status_code, again.json()["code"]) == (404, "channel_not_set")


async def test_the_config_webhook_is_listed_and_an_admin_webhook_replaces_it(
    api: Api, pool: asyncpg.Pool
) -> None:
    await pool.execute(
        "UPDATE bureaus SET webhook_url = 'https://config.example/n' WHERE code = $1", api.bureau
    )
    listed = (await api.call("GET")).json()
    assert [(c["channel"], c["settings"], c["source"]) for c in listed] == [
        ("webhook", {"url": "https://config.example/n"}, "config")
    ]
    await api.call("PUT", "webhook", {"url": "https://admin.example/n"})
    listed = (await api.call("GET")).json()
    assert [(c["channel"], c["settings"], c["source"]) for c in listed] == [
        ("webhook", {"url": "https://admin.example/n"}, "admin")
    ]
