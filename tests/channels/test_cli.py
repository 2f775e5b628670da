"""`guatu channels set|list|remove` against the real PostgreSQL, as an operator uses it.

The CLI reaches the database through its ordinary settings (`DATABASE_URL`) and seals secrets
with `GUATU_CHANNEL_KEYS`; a secret typed at `-` comes from stdin and is never printed.
"""

from __future__ import annotations

import asyncio
import json

import asyncpg
from typer.testing import CliRunner, Result

from config.settings import get_settings
from guatu.channels.secrets import ChannelKeys, context_of
from guatu.cli.main import app
from tests.channels.conftest import KEYS, channel_settings, new_bureau

runner = CliRunner()
SECRET = "SECc0ffee0123456789abcdef"


def _invoke(args: list[str], env: dict[str, str], stdin: str | None = None) -> Result:
    get_settings.cache_clear()
    try:
        return runner.invoke(app, args, env=env, input=stdin)
    finally:
        get_settings.cache_clear()


async def cli(args: list[str], env: dict[str, str], stdin: str | None = None) -> Result:
    return await asyncio.to_thread(_invoke, args, env, stdin)


async def test_set_list_remove(pg_dsn: str, pool: asyncpg.Pool) -> None:
    bureau = await new_bureau(pool)
    env = {"DATABASE_URL": pg_dsn, "GUATU_CHANNEL_KEYS": KEYS}
    done = await cli(
        [
            "channels",
            "set",
            bureau,
            "dingtalk",
            "--access-token",
            "env:DING_TOK",
            "--secret",
            "-",
            "--json",
        ],
        env,
        stdin=f"{SECRET}\n",
    )
    assert done.exit_code == 0, done.output
    assert SECRET not in done.output
    view = json.loads(done.stdout)
    assert view["secrets"] == {"access_token": "env:DING_TOK", "secret": "set"}
    assert view["updated_by"].startswith("cli")
    # The secret typed at "-" is the one sealed.
    stored = await pool.fetchval(
        "SELECT secrets->>'secret' FROM bureau_channels WHERE bureau = $1 AND channel = 'dingtalk'",
        bureau,
    )
    assert (
        ChannelKeys(channel_settings()).reveal(stored, context_of(bureau, "dingtalk", "secret"))
        == SECRET
    )

    mail = await cli(
        [
            "channels",
            "set",
            bureau,
            "email",
            "--to",
            "a@wenjiang.example",
            "--to",
            "b@wenjiang.example",
        ],
        env,
    )
    assert mail.exit_code == 0, mail.output
    assert mail.stdout.splitlines()[-1] == (
        f"已设置 {bureau} 的 email 渠道 / {bureau}'s email channel set"
    )

    listed = await cli(["channels", "list", bureau, "--json"], env)
    assert [(c["channel"], c["settings"]) for c in json.loads(listed.stdout)] == [
        ("dingtalk", {"url": "https://oapi.dingtalk.com/robot/send"}),
        ("email", {"to": ["a@wenjiang.example", "b@wenjiang.example"]}),
    ]
    assert SECRET not in listed.output

    removed = await cli(["channels", "remove", bureau, "dingtalk"], env)
    assert removed.exit_code == 0, removed.output
    again = await cli(["channels", "remove", bureau, "dingtalk"], env)
    assert again.exit_code == 1
    assert again.stderr.startswith(f"guatu: {bureau} 没有由管理员设置的 dingtalk 渠道")


async def test_refusals_are_one_line_and_nothing_is_written(
    pg_dsn: str, pool: asyncpg.Pool
) -> None:
    bureau = await new_bureau(pool)
    env = {"DATABASE_URL": pg_dsn, "GUATU_CHANNEL_KEYS": KEYS}
    for args, start in [
        (
            ["channels", "set", bureau, "sms", "--url", "https://x.example"],
            "guatu: 未知的渠道类型「sms」",
        ),
        (
            ["channels", "set", bureau, "webhook", "--url", "ftp://x.example"],
            "guatu: 系统接口（Webhook）设置无效：url：地址必须是",
        ),
        (
            ["channels", "set", "no_such_bureau", "webhook", "--url", "https://x.example"],
            "guatu: 单位「no_such_bureau」不存在",
        ),
    ]:
        result = await cli(args, env)
        assert result.exit_code == 1, result.output
        [line] = result.stderr.splitlines()
        assert line.startswith(start), line
    assert (
        await pool.fetchval("SELECT count(*) FROM bureau_channels WHERE bureau = $1", bureau) == 0
    )
