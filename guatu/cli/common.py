"""The CLI's shared helpers: what every `guatu …` sub-command module uses.

Owns the one-line error contract (`CliError`, the `command` decorator and the messages of known
failures), output (`_console`, `_progress`, `jsonable`, `_print_json`, `_print_table`), connections to Temporal
and PostgreSQL (`_client`, `_pool`, `database_dsn`; a command's whole call on them:
`_with_pool`, `_with_services`), the options many commands share (`JsonOption`, `KeyOption`,
`LimitOption`) and how a list answers (`_page_done`), the audit actor and idempotency keys
(`_actor`, `_default_key`) and the labels tables print (`_light`, `_stage`, `_wan`). The names
with a leading underscore are private to the package `guatu.cli`, shared by its modules.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import getpass
import hashlib
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from urllib.parse import urlsplit

import typer
from pydantic import BaseModel, ValidationError

from config.settings import Settings, get_settings
from guatu.lifecycle.models import Stage

if TYPE_CHECKING:
    import asyncpg
    from rich.console import Console
    from rich.progress import Progress
    from temporalio.client import Client


T = TypeVar("T")

CONNECT_TIMEOUT_S = 15.0
CALL_TIMEOUT_S = 30.0
MAX_LIST_LIMIT = 1000

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
KeyOption = Annotated[
    str | None, typer.Option("--key", help="Idempotency key (default: derived from the content).")
]
LimitOption = Annotated[int, typer.Option("--limit", min=1, max=MAX_LIST_LIMIT)]


class CliError(Exception):
    """A failure to report as one line: Chinese first, then English."""

    def __init__(self, zh: str, en: str, code: int = 1) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en, self.code = zh, en, code


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"guatu: {_one_line(message)}", err=True)
    raise typer.Exit(code)


def _describe(err: BaseException) -> str:
    """An exception as one readable line (the innermost meaningful message)."""
    text = str(err) or type(err).__name__
    for marker in ('message: "', "message: '"):
        if marker in text:  # tonic transport errors: keep the OS message
            text = text.split(marker, 1)[1].split('"', 1)[0].split("'", 1)[0]
    return _one_line(text)


def _error_message(err: BaseException) -> tuple[str, int] | None:
    """The one-line message of a known failure, or None for an unexpected one."""
    from temporalio.client import WorkflowQueryFailedError, WorkflowUpdateFailedError
    from temporalio.service import RPCError, RPCStatusCode

    from guatu.lifecycle.service import Rejected
    from guatu.plan_file.results import PlanFileError

    if isinstance(err, CliError):
        return f"{err.zh} / {err.en}", err.code
    if isinstance(err, Rejected):
        return f"拒绝（{err.code}）：{err.zh} / rejected ({err.code}): {err.en}", 1
    if isinstance(err, PlanFileError):
        return f"{err.zh} / {err.en}", 1
    if isinstance(err, RPCError):
        if err.status == RPCStatusCode.NOT_FOUND:
            return f"找不到 / not found: {_describe(err)}", 1
        if err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            return f"Temporal 不可用 / Temporal unavailable: {_describe(err)}", 1
        return f"Temporal 错误 / Temporal error: {_describe(err)}", 1
    if isinstance(err, WorkflowQueryFailedError | WorkflowUpdateFailedError):
        cause = getattr(err, "cause", None) or err
        return f"工作流错误 / workflow error: {_describe(cause)}", 1
    if isinstance(err, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in err.errors()
        )
        return f"输入无效 / invalid input: {problems}", 1
    if isinstance(err, TimeoutError):
        return "等待超时 / timed out", 1
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        asyncpg = None
    if asyncpg is not None and isinstance(err, asyncpg.PostgresError):
        return f"数据库错误 / database error: {_describe(err)}", 1
    if isinstance(err, OSError):
        return f"连接或文件错误 / connection or file error: {_describe(err)}", 1
    return None


def command(func: Callable[..., T]) -> Callable[..., T]:
    """Turn every failure of a command into one line on stderr and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException, SystemExit):
            raise
        except KeyboardInterrupt:
            typer.echo("guatu: 已中断 / interrupted", err=True)
            raise typer.Exit(130) from None
        except Exception as err:
            known = _error_message(err)
            if known is None:
                if os.environ.get("GUATU_DEBUG"):
                    raise
                known = (
                    f"意外错误 / unexpected error: {type(err).__name__}: {_describe(err)}"
                    " (GUATU_DEBUG=1 shows the traceback)",
                    1,
                )
            _fail(*known)
            raise AssertionError("unreachable") from None

    return wrapper


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    console = Console(stderr=stderr, soft_wrap=True, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = max(console.width, 140)  # a file or a pipe: do not squeeze tables
    return console


def _progress() -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_console(stderr=True),
    )


def jsonable(value: Any) -> Any:
    """Plain JSON data from models, dataclasses, records, dates and enums."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if hasattr(value, "as_dict") and callable(value.as_dict):
        return jsonable(value.as_dict())
    if isinstance(value, dict) or (hasattr(value, "keys") and hasattr(value, "items")):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    return value


def _print_table(title: str, headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """A table on stdout: `title`, a column per header, the `rows` as given (text cells)."""
    from rich.table import Table

    table = Table(title=title)
    for header in headers:
        table.add_column(header)
    for row in rows:
        table.add_row(*row)
    _console().print(table)


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(jsonable(value), ensure_ascii=False, indent=2, default=str))


def database_dsn(settings: Settings) -> str:
    """The CLI connects as the API's role (GUATU_DATABASE_URL_API, DATABASE_URL, or the
    embedded server's with the password in the data directory)."""
    from guatu.runtime.dsns import role_dsns

    return role_dsns(settings).api


def _safe_dsn(dsn: str) -> str:
    """host:port/database of a DSN, without user or password."""
    try:
        parts = urlsplit(dsn)
        return f"{parts.hostname}:{parts.port or 5432}{parts.path}"
    except ValueError:
        return "?"


async def _client(settings: Settings) -> Client:
    from guatu.core.temporal_client import connect

    try:
        return await asyncio.wait_for(connect(settings, ready_timeout=2.0), CONNECT_TIMEOUT_S)
    except (RuntimeError, OSError, TimeoutError) as err:
        raise CliError(
            f"无法连接 Temporal（{settings.temporal_target}），请确认 guatu up 已运行或设置 "
            "GUATU_TEMPORAL_ADDRESS",
            f"cannot reach Temporal at {settings.temporal_target}: {_describe(err)}",
        ) from None


@asynccontextmanager
async def _pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    import asyncpg

    from guatu.core import db

    dsn = database_dsn(settings)
    try:
        pool = await asyncio.wait_for(db.create_pool(dsn, 1, 4), CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError) as err:
        raise CliError(
            f"无法连接数据库（{_safe_dsn(dsn)}），请确认 guatu up 已运行或设置 DATABASE_URL",
            f"cannot reach PostgreSQL at {_safe_dsn(dsn)}: {_describe(err)}",
        ) from None
    try:
        yield pool
    finally:
        await pool.close()


def _with_pool(call: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    """A command's reads: `call(pool)` on the configured database, the pool closed after."""
    settings = get_settings()

    async def go() -> T:
        async with _pool(settings) as pool:
            return await call(pool)

    return _run(go())


def _with_services(call: Callable[[Client, asyncpg.Pool], Awaitable[T]]) -> T:
    """A command's call of a feature's service: connect to Temporal, then the database, and run
    `call(client, pool)` (the pool closed after). A failure is the `command` decorator's."""
    settings = get_settings()

    async def go() -> T:
        client = await _client(settings)
        async with _pool(settings) as pool:
            return await call(client, pool)

    return _run(go())


def _page_done(page: dict[str, Any], as_json: bool, empty: str) -> bool:
    """Print a list's `page` as JSON (--json), or `empty` (中文 / English) when it holds no items:
    True if that was all there is to print, False if the caller prints the items."""
    if as_json:
        _print_json(page)
        return True
    if not page["items"]:
        typer.echo(empty)
        return True
    return False


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


LIGHT_ZH = {"green": "[green]● 绿[/]", "yellow": "[yellow]● 黄[/]", "red": "[red]● 红[/]"}


def _light(value: str) -> str:
    return LIGHT_ZH.get(value, value)


def _stage(value: str) -> str:
    from guatu.lifecycle.rules.stages import STAGE_ZH

    try:
        return f"{STAGE_ZH[Stage(value)]} {value}"
    except ValueError:
        return value


def _wan(value: Any) -> str:
    return f"{float(value):,.2f}" if value is not None else "—"


def _default_key(kind: str, code: str, body: dict[str, Any]) -> str:
    """A key derived from the content: running the same command twice submits it once."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return f"cli-{kind}-{code}-{digest[:16]}"
