"""`guatu token create|list|revoke`: API tokens (printed once, stored only as a hash)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from config.settings import get_settings
from guatu.cli.common import (
    CliError,
    JsonOption,
    _console,
    _pool,
    _print_json,
    _run,
    _with_pool,
    command,
    jsonable,
)

token_app = typer.Typer(help="API tokens: create, list, revoke.", no_args_is_help=True)


class RoleOption(StrEnum):
    bureau = "bureau"
    manager = "manager"
    leader = "leader"
    admin = "admin"
    observer = "observer"
    evaluator = "evaluator"


@token_app.command("create")
@command
def token_create(
    role: Annotated[
        RoleOption,
        typer.Option("--role", help="bureau, manager, leader, admin, observer or evaluator."),
    ],
    bureau: Annotated[
        str | None, typer.Option("--bureau", help="The bureau a bureau token acts for.")
    ] = None,
    label: Annotated[str, typer.Option("--label", help="Who or what uses the token.")] = "",
    program: Annotated[
        list[str] | None,
        typer.Option("--program", help="An evaluator's program (repeat for several)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an API token. It is printed once and stored only as a hash."""
    from guatu.core import tokens

    settings = get_settings()

    async def create() -> str:
        async with _pool(settings) as pool:
            try:
                return str(
                    await tokens.create_token(
                        pool, role.value, bureau=bureau, label=label, programs=program or []
                    )
                )
            except ValueError as err:  # tokens.TokenError
                raise CliError("无法创建令牌", f"cannot create the token: {err}") from None

    raw = _run(create())
    token_id = tokens.token_id_of(raw)
    if as_json:
        _print_json(
            {"token": raw, "id": token_id, "role": role.value, "bureau": bureau, "label": label}
        )
        return
    typer.echo(raw)
    typer.echo(
        f"令牌 {token_id} 已创建（{role.value}{' · ' + bureau if bureau else ''}）；它只显示"
        "这一次，请妥善保存 / token created; it is shown only once, keep it safe",
        err=True,
    )


@token_app.command("list")
@command
def token_list(
    include_revoked: Annotated[bool, typer.Option("--all", help="Include revoked tokens.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List API tokens (never their secrets)."""
    from guatu.core import tokens

    rows = jsonable(
        _with_pool(lambda pool: tokens.list_tokens(pool, include_revoked=include_revoked))
    )
    if as_json:
        _print_json(rows)
        return
    from rich.table import Table

    table = Table(title="令牌 / tokens")
    columns = ("id", "role", "bureau", "label", "created_at", "last_used_at", "revoked_at")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    _console().print(table)


@token_app.command("revoke")
@command
def token_revoke(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id (gt_<id>_…).")],
) -> None:
    """Revoke an API token by its id."""
    from guatu.core import tokens

    settings = get_settings()

    async def revoke() -> bool:
        async with _pool(settings) as pool:
            try:
                return bool(await tokens.revoke_token(pool, token_id))
            except tokens.RevokeRefused as err:
                raise CliError(err.zh, err.en) from None

    if not _run(revoke()):
        raise CliError(f"没有 id 为 {token_id} 的有效令牌", f"no live token with id {token_id}")
    typer.echo(f"令牌 {token_id} 已吊销 / token {token_id} revoked")
