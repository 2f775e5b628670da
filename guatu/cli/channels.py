"""`guatu channels set|list|remove`: where a bureau's notices go (wired by guatu/cli/main.py).

An operator's tool on the server (direct PostgreSQL as the API's role, audited as
`cli:<user>`), the same as `PUT/GET/DELETE /api/v1/bureaus/{bureau}/channels`. A secret given
as `-` is read from the terminal without echo (or from stdin), so that it is not left in the
shell history; `env:NAME` stores a reference to the worker's environment instead.
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated, Any

import typer

from config.settings import get_settings
from guatu.cli.common import CliError, JsonOption, _actor, _pool, _print_json, _run, command

channels_app: typer.Typer = typer.Typer(
    help="Notice channels of a bureau (通知渠道): webhook, 企业微信 / 钉钉 robots, e-mail.",
    no_args_is_help=True,
)


SECRET_HELP = "Secret: the value, env:NAME (read by the worker), or - to type it unseen."


def _secret(name: str, value: str | None) -> str | None:
    if value != "-":
        return value
    if sys.stdin.isatty():
        return getpass.getpass(f"{name}: ")
    return sys.stdin.readline().rstrip("\r\n")


def _channel_error(err: Exception) -> CliError:
    return CliError(getattr(err, "zh", str(err)), getattr(err, "en", str(err)))


def _show(view: dict[str, Any]) -> None:
    settings = ", ".join(f"{k}={v}" for k, v in view["settings"].items())
    secrets = ", ".join(f"{k}={v}" for k, v in view["secrets"].items())
    source = "配置文件 / config" if view["source"] == "config" else (view["updated_by"] or "admin")
    typer.echo(
        f"{view['channel']:<9} {settings}" + (f"  [{secrets}]" if secrets else "") + f"  ({source})"
    )


@channels_app.command("set")
@command
def set_channel(
    bureau: Annotated[str, typer.Argument(help="Bureau code, e.g. sthjj.")],
    channel: Annotated[str, typer.Argument(help="webhook, wecom, dingtalk or email.")],
    url: Annotated[str | None, typer.Option(help="Webhook URL, or the robot's send URL.")] = None,
    key: Annotated[str | None, typer.Option(help=f"企业微信 robot key. {SECRET_HELP}")] = None,
    access_token: Annotated[
        str | None, typer.Option("--access-token", help=f"钉钉 robot access_token. {SECRET_HELP}")
    ] = None,
    secret: Annotated[str | None, typer.Option(help=f"钉钉 加签 secret. {SECRET_HELP}")] = None,
    to: Annotated[list[str] | None, typer.Option(help="E-mail recipient (repeat).")] = None,
    host: Annotated[str | None, typer.Option(help="SMTP server (else GUATU_SMTP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="SMTP port.")] = None,
    starttls: Annotated[
        bool | None, typer.Option("--starttls/--no-starttls", help="STARTTLS before login.")
    ] = None,
    username: Annotated[str | None, typer.Option(help="SMTP login.")] = None,
    password: Annotated[str | None, typer.Option(help=f"SMTP password. {SECRET_HELP}")] = None,
    sender: Annotated[str | None, typer.Option(help="From address (else GUATU_SMTP_FROM).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Set (replace) one channel of a bureau. Secrets are stored encrypted, never shown."""
    from guatu.channels import store
    from guatu.channels.models import ChannelError, channel_kind
    from guatu.channels.secrets import ChannelKeys

    settings = get_settings()
    given: dict[str, Any] = {
        "url": url,
        "key": _secret("key", key),
        "access_token": _secret("access_token", access_token),
        "secret": _secret("secret", secret),
        "to": to or None,
        "host": host,
        "port": port,
        "starttls": starttls,
        "username": username,
        "password": _secret("password", password),
        "sender": sender,
    }
    body = {k: v for k, v in given.items() if v is not None}

    async def run() -> dict[str, Any]:
        async with _pool(settings) as pool:
            saved = await store.set_channel(
                pool,
                ChannelKeys(settings),
                bureau,
                channel_kind(channel),
                body,
                actor=_actor(),
                door="cli",
            )
            return saved.view()

    try:
        view = _run(run())
    except ChannelError as err:
        raise _channel_error(err) from None
    if as_json:
        _print_json(view)
        return
    _show(view)
    typer.echo(
        f"已设置 {bureau} 的 {view['channel']} 渠道 / {bureau}'s {view['channel']} channel set"
    )


@channels_app.command("list")
@command
def list_channels(
    bureau: Annotated[str, typer.Argument(help="Bureau code, e.g. sthjj.")],
    as_json: JsonOption = False,
) -> None:
    """A bureau's channels (secrets only as set / env:NAME)."""
    from guatu.channels import store
    from guatu.channels.models import ChannelError

    settings = get_settings()

    async def run() -> list[dict[str, Any]]:
        async with _pool(settings) as pool:
            return [c.view() for c in await store.list_channels(pool, bureau)]

    try:
        views = _run(run())
    except ChannelError as err:
        raise _channel_error(err) from None
    if as_json:
        _print_json(views)
        return
    if not views:
        typer.echo(
            f"{bureau} 没有通知渠道，通知在收件箱中等待查阅 / {bureau} has no channel; "
            "its notices wait in the inbox"
        )
    for view in views:
        _show(view)


@channels_app.command("remove")
@command
def remove_channel(
    bureau: Annotated[str, typer.Argument(help="Bureau code, e.g. sthjj.")],
    channel: Annotated[str, typer.Argument(help="webhook, wecom, dingtalk or email.")],
) -> None:
    """Remove one channel of a bureau."""
    from guatu.channels import store
    from guatu.channels.models import ChannelError, channel_kind

    settings = get_settings()

    async def run() -> bool:
        async with _pool(settings) as pool:
            return (
                await store.remove_channel(
                    pool, bureau, channel_kind(channel), actor=_actor(), door="cli"
                )
                is not None
            )

    try:
        removed = _run(run())
    except ChannelError as err:
        raise _channel_error(err) from None
    if not removed:
        raise CliError(
            f"{bureau} 没有由管理员设置的 {channel} 渠道",
            f"{bureau} has no {channel} channel set by an administrator",
        )
    typer.echo(f"已删除 {bureau} 的 {channel} 渠道 / {bureau}'s {channel} channel removed")
