"""`guatu notices …`: the outbox as an operator sees it (wired by guatu/cli/main.py)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from config.settings import get_settings
from guatu.cli.common import JsonOption, _client, _pool, _print_json, _run, command

notices_app: typer.Typer = typer.Typer(
    help="Notices to bureaus (通知): resend those whose delivery failed.", no_args_is_help=True
)


@notices_app.command("redeliver")
@command
def redeliver(
    bureau: Annotated[
        str | None, typer.Option("--bureau", help="Only this bureau's notices.")
    ] = None,
    key: Annotated[str | None, typer.Option("--key", help="Only the notice with this key.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Send the notices marked failed in the outbox again (an operator's command).

    Each is delivered by the same workflow and activity as the first time, under the same
    Idempotency-Key: a bureau that did get it after all receives it once.
    """
    from activities.notify import redeliver as resend

    settings = get_settings()

    async def run() -> list[dict[str, Any]]:
        client = await _client(settings)
        async with _pool(settings) as pool:
            return await resend(
                client, pool, bureau=bureau, key=key, task_queue=settings.task_queue
            )

    started = _run(run())
    if as_json:
        _print_json({"redelivered": started})
        return
    if not started:
        scope = f"（{bureau or key}）" if bureau or key else ""
        typer.echo(f"没有投递失败的通知{scope} / no failed notices{scope}")
        return
    for row in started:
        typer.echo(
            f"{row['bureau']}  {row['key']}  (已尝试 {row['attempts']} 次 / "
            f"{row['attempts']} attempts; {row['last_error'] or ''})"
        )
    typer.echo(f"已重新投递 {len(started)} 条通知 / {len(started)} notice(s) sent again")
