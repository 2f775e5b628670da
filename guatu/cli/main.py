"""`guatu`: the command line for project managers and operators.

Every command reads its settings from the environment (`GUATU_*`, `DATABASE_URL`, `.env`), like
`guatu up`: by default it talks to the stack that `guatu up` runs on this machine (Temporal on
127.0.0.1:7233, the embedded PostgreSQL on 127.0.0.1:55432).

- Every read command takes `--json`: then stdout holds exactly one JSON document, and progress
  bars and notes go to stderr.
- Every error is one line on stderr ("guatu: 中文 / English") and a non-zero exit: 1 for a
  failure or a refusal, 2 for a usage mistake. Set `GUATU_DEBUG=1` for the full traceback of an
  unexpected error.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import getpass
import hashlib
import json
import os
import re
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from urllib.parse import urlsplit

import typer
from pydantic import BaseModel, ValidationError
from typer._click.exceptions import NoArgsIsHelpError
from typer.core import TyperGroup

from config.settings import Settings, get_settings
from guatu.cli.appeal import appeal_app
from guatu.cli.society import evaluation_app, observation_app
from guatu.core import logs
from guatu.lifecycle.models import Light, Stage, Step

if TYPE_CHECKING:
    import asyncpg
    from rich.console import Console
    from rich.progress import Progress
    from temporalio.client import Client

    from guatu.lifecycle.models import ProjectPlan

T = TypeVar("T")

CONNECT_TIMEOUT_S = 15.0
CALL_TIMEOUT_S = 30.0
MAX_LIST_LIMIT = 1000


class OneLineErrors(TyperGroup):
    """Usage mistakes as one line on stderr (exit 2), like every other error of the CLI."""

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(
                args,
                prog_name,
                complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        try:
            code = super().main(
                args,
                prog_name,
                complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        except NoArgsIsHelpError as err:
            err.show()
            sys.exit(err.exit_code)
        except typer.TyperException as err:  # a usage mistake: unknown option, bad value …
            ctx = getattr(err, "ctx", None)
            where = f" — {ctx.command_path} --help" if ctx is not None else ""
            typer.echo(f"guatu: {_one_line(err.format_message())}{where}", err=True)
            sys.exit(err.exit_code)
        except typer.Abort:
            typer.echo("guatu: 已中断 / aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    help="Guatu (挂图): the wall-chart engine for a district's key projects.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    cls=OneLineErrors,
)
plan_app = typer.Typer(
    help="The project plan: import from Excel / CSV, template, sample.", no_args_is_help=True
)
project_app = typer.Typer(help="Projects: list, show, start one.", no_args_is_help=True)
report_app = typer.Typer(
    help="Report as a bureau: monthly progress, lifecycle steps.", no_args_is_help=True
)
ranking_app = typer.Typer(help="Rankings of bureaus, programs and projects.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens: create, list, revoke.", no_args_is_help=True)
app.add_typer(plan_app, name="plan")
app.add_typer(project_app, name="project")
app.add_typer(report_app, name="report")
app.add_typer(ranking_app, name="ranking")
app.add_typer(token_app, name="token")
app.add_typer(appeal_app, name="appeal")
app.add_typer(observation_app, name="observation")
app.add_typer(evaluation_app, name="evaluation")


@app.callback()
def main() -> None:
    """Guatu (挂图): the wall-chart engine for a district's key projects."""
    _cli_logging()


def _cli_logging() -> None:
    """Library logs go to stderr, warnings and above: stdout holds only the command's output
    (with --json, exactly one JSON document). `guatu up` configures its own logging."""
    import logging

    import structlog

    if structlog.is_configured():
        return
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        # Resolved at each use, so that a redirected stderr (a pipe, a test runner) is honoured.
        logger_factory=lambda *_: structlog.PrintLogger(sys.stderr),
        cache_logger_on_first_use=False,
    )


@app.command()
def up(
    sample: Annotated[
        bool | None,
        typer.Option(
            "--sample/--no-sample",
            help="Load the sample programme (243 projects). Default: the setting GUATU_LOAD_SAMPLE "
            "(environment or .env; true unless set).",
        ),
    ] = None,
    simulate: Annotated[
        bool,
        typer.Option(
            help="Instead of the live sample, run a simulated year of it (seeded bureaus, ranking "
            "rounds each month) in its own data directory, and keep serving the dashboard.",
        ),
    ] = False,
    year_seconds: Annotated[
        float,
        typer.Option(min=30.0, help="With --simulate: real seconds one simulated year takes."),
    ] = 120.0,
) -> None:
    """Start the embedded stack, the worker, the sample programme and the API; Ctrl-C stops all."""
    from guatu.runtime.up import run_forever

    settings = up_settings(get_settings(), sample=sample, simulate=simulate)
    logs.configure_from(settings)
    run_forever(settings, simulate_year_seconds=year_seconds if simulate else None)


def up_settings(settings: Settings, *, sample: bool | None, simulate: bool) -> Settings:
    """The settings `guatu up` runs with: the flags override the settings only when given."""
    if simulate:
        # Its own data: a simulated programme never mixes with the live one.
        return settings.model_copy(
            update={"load_sample": False, "data_dir": settings.data_dir / "simulation"}
        )
    if sample is None:
        return settings
    return settings.model_copy(update={"load_sample": sample})


# ---------------------------------------------------------------------------------------------
# Errors, output and connections
# ---------------------------------------------------------------------------------------------


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
    from guatu.plan_file.sheet import PlanFileError

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


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


LIGHT_ZH = {"green": "[green]● 绿[/]", "yellow": "[yellow]● 黄[/]", "red": "[red]● 红[/]"}


def _light(value: str) -> str:
    return LIGHT_ZH.get(value, value)


def _stage(value: str) -> str:
    from guatu.lifecycle.models import Stage
    from guatu.lifecycle.rules.stages import STAGE_ZH

    try:
        return f"{STAGE_ZH[Stage(value)]} {value}"
    except ValueError:
        return value


def _wan(value: Any) -> str:
    return f"{float(value):,.2f}" if value is not None else "—"


# ---------------------------------------------------------------------------------------------
# guatu plan …
# ---------------------------------------------------------------------------------------------


async def _start_plans(
    settings: Settings, plans: Sequence[ProjectPlan], show_progress: bool
) -> dict[str, Any]:
    """Start the lifecycles not yet on the server; report what was started and what existed.

    Each plan goes through `guatu.lifecycle.service.start_once`, the API's decision too: a
    project running this plan is `already_running`, one running another plan is a conflict
    (`project_exists`, as the API's 409), an ended one `already_finished`."""
    from guatu.lifecycle.models import ProgrammeClock
    from guatu.lifecycle.programme import load_policy
    from guatu.lifecycle.service import (
        StartOutcome,
        UnknownReferences,
        check_references,
        gather_limited,
        start_once,
    )

    async with _pool(settings) as pool:
        try:
            await check_references(pool, plans)
        except UnknownReferences as err:
            raise CliError(err.zh, err.en) from None
    client = await _client(settings)
    policy = load_policy()
    clock = ProgrammeClock(scale=settings.clock_scale)
    progress = _progress() if show_progress else None
    if progress:
        progress.start()
    try:
        begin = progress.add_task("启动 / starting", total=len(plans)) if progress else None

        async def one(plan: ProjectPlan) -> Any:
            decision = await start_once(
                client, plan, policy, task_queue=settings.task_queue, clock=clock
            )
            if progress is not None and begin is not None:
                progress.advance(begin)
            return decision

        decisions = await gather_limited([functools.partial(one, p) for p in plans], 32)
    finally:
        if progress:
            progress.stop()
    outcomes = [d.outcome for d in decisions]
    return {
        "projects": len(plans),
        "started": outcomes.count(StartOutcome.STARTED),
        "already_running": outcomes.count(StartOutcome.ALREADY_RUNNING),
        "already_finished": outcomes.count(StartOutcome.PROJECT_FINISHED),
        "other_plan": outcomes.count(StartOutcome.PROJECT_EXISTS),
        "started_codes": [d.code for d in decisions if d.outcome is StartOutcome.STARTED],
        "conflicts": [
            {"code": d.code, "error": d.outcome.value, "message_zh": d.zh, "message_en": d.en}
            for d in decisions
            if d.conflict
        ],
        "task_queue": settings.task_queue,
        "temporal": settings.temporal_target,
    }


def _plan_summary_table(plans: Sequence[ProjectPlan]) -> Any:
    from rich.table import Table

    from guatu.lifecycle.programme import load_programs, programme_summary

    names = {p.code: p.name_zh for p in load_programs()}
    summary = programme_summary(list(plans))
    first = summary["first_year"]
    table = Table(title="按工程汇总 / by program")
    table.add_column("工程 program")
    for header in ("项目", "工程类", "服务类", "总投资（万元）", f"{first}年（万元）"):
        table.add_column(header, justify="right")
    for code, bucket in summary["programs"].items():
        table.add_row(
            f"{code} {names.get(code, '')}",
            str(bucket["projects"]),
            str(bucket["engineering"]),
            str(bucket["service"]),
            _wan(bucket["total_investment_wan"]),
            _wan(bucket["first_year_investment_wan"]),
        )
    total = summary["total"]
    table.add_row(
        "合计 total",
        str(total["projects"]),
        str(total["engineering"]),
        str(total["service"]),
        _wan(total["total_investment_wan"]),
        _wan(total["first_year_investment_wan"]),
        style="bold",
    )
    return table


@plan_app.command("import")
@command
def plan_import(
    file: Annotated[
        Path, typer.Argument(help="The plan: .xlsx or .csv (see `guatu plan template`).")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row and list every error; start nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Import the project plan and start every project's lifecycle (re-running is harmless).

    Every row is checked first; if any row has an error, all errors are listed by row and column
    and nothing is started. Projects already running (or finished) are left as they are.
    """
    from guatu.plan_file.sheet import read_plan_file

    parsed = read_plan_file(file)
    report: dict[str, Any] = {
        "file": str(file),
        "dry_run": dry_run,
        "rows": parsed.rows,
        "valid_rows": len(parsed.plans),
        "errors": [e.to_json() for e in parsed.errors],
    }
    out = _console()
    if parsed.errors:
        if as_json:
            _print_json(report)
        else:
            for error in parsed.errors:
                out.print(error.message, markup=False)
            out.print(
                f"共 {len(parsed.errors)} 个错误，涉及 {len(parsed.bad_rows)} 行；未启动任何项目"
                f" / {len(parsed.errors)} error(s) in {len(parsed.bad_rows)} row(s); "
                "nothing was started",
                markup=False,
            )
        raise typer.Exit(1)
    if not parsed.plans:
        raise CliError("文件中没有项目行", "the file has no project rows")
    if dry_run:
        if as_json:
            report["plans"] = [p.code for p in parsed.plans]
            _print_json(report)
            return
        out.print(_plan_summary_table(parsed.plans))
        out.print(
            f"检查通过：{parsed.rows} 行全部有效，未启动任何项目（--dry-run）"
            f" / all {parsed.rows} rows are valid; nothing started (--dry-run)",
            markup=False,
        )
        return
    settings = get_settings()
    from guatu.cli.scene import check_plan_scenes, join_plan_scenes

    if parsed.scenes:  # the 示范场景 column: every scene named must exist before anything starts
        _run(check_plan_scenes(settings, parsed.scenes))
    result = _run(_start_plans(settings, parsed.plans, show_progress=True))
    if parsed.scenes:
        result["scenes"] = _run(join_plan_scenes(settings, parsed.scenes))
    report.update(result)
    if as_json:
        _print_json(report)
        return
    out.print(
        f"已启动 {result['started']} 个项目，{result['already_running']} 个已在运行，"
        f"{result['already_finished']} 个已结束（共 {result['projects']} 个）"
        f" / started {result['started']}, already running {result['already_running']}, "
        f"already finished {result['already_finished']} (of {result['projects']})",
        markup=False,
    )
    for conflict in result["conflicts"]:
        if conflict["error"] == "project_exists":
            out.print(f"  {conflict['message_zh']} / {conflict['message_en']}", markup=False)


@plan_app.command("template")
@command
def plan_template(
    file: Annotated[
        Path, typer.Argument(help="Where to write it: .xlsx (with a 说明 sheet) or .csv.")
    ],
    year: Annotated[
        int | None,
        typer.Option(
            help="First year of the yearly-investment columns (default: the programme start year).",
        ),
    ] = None,
    years: Annotated[
        int, typer.Option(min=1, max=20, help="How many yearly-investment columns.")
    ] = 5,
) -> None:
    """Write an empty plan file with every column, to fill in and import."""
    from guatu.plan_file.sheet import write_template

    first = year or get_settings().programme_start_year
    path = write_template(file, range(first, first + years))
    typer.echo(f"模板已写入 / template written: {path}")


@plan_app.command("export-sample")
@command
def plan_export_sample(
    file: Annotated[Path, typer.Argument(help="Where to write it: .xlsx or .csv.")],
    year: Annotated[
        int | None,
        typer.Option(
            help="Start year of the programme (default: GUATU_PROGRAMME_START_YEAR or this year).",
        ),
    ] = None,
) -> None:
    """Write the illustrative 243-project sample programme as a plan file."""
    from guatu.plan_file.sheet import export_sample

    first = year or get_settings().programme_start_year
    path = export_sample(file, first)
    typer.echo(
        f"示例计划（243 个项目，{first} 年起）已写入 / sample plan (243 projects, "
        f"from {first}) written: {path}"
    )


# ---------------------------------------------------------------------------------------------
# guatu project …
# ---------------------------------------------------------------------------------------------


@project_app.command("list")
@command
def project_list(
    program: Annotated[
        str | None, typer.Option("--program", help="Program code, e.g. P06.")
    ] = None,
    bureau: Annotated[str | None, typer.Option("--bureau", help="Bureau code, e.g. sthjj.")] = None,
    stage: Annotated[Stage | None, typer.Option("--stage", help="Lifecycle stage.")] = None,
    light: Annotated[Light | None, typer.Option("--light", help="Warning light.")] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=MAX_LIST_LIMIT, help="Rows per page.")
    ] = 50,
    page: Annotated[int, typer.Option("--page", min=1, help="Page number.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """List projects from the read model, filtered by program / bureau / stage / light."""
    from guatu.lifecycle.queries import list_projects

    settings = get_settings()

    async def fetch() -> Any:
        async with _pool(settings) as pool:
            return await list_projects(
                pool,
                program=program,
                bureau=bureau,
                stage=stage.value if stage else None,
                light=light.value if light else None,
                page=page,
                page_size=limit,
            )

    result = _run(fetch())
    if as_json:
        _print_json(result)
        return
    from rich.table import Table

    table = Table(title=f"项目 / projects（{result.total}）")
    for header, justify in (
        ("编号 code", "left"),
        ("名称 name", "left"),
        ("工程", "left"),
        ("单位", "left"),
        ("阶段 stage", "left"),
        ("灯", "left"),
        ("总投资 万元", "right"),
        ("应完成 万元", "right"),
        ("已完成 万元", "right"),
        ("形象进度", "right"),
    ):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for row in result.items:
        table.add_row(
            row["code"],
            row["name_zh"],
            row["program"],
            row["bureau"],
            _stage(row["stage"]),
            _light(row["light"]),
            _wan(row["total_investment_wan"]),
            _wan(row["planned_investment_to_date_wan"]),
            _wan(row["actual_investment_wan"]),
            f"{row['physical_progress_pct']:g}%",
        )
    out = _console()
    out.print(table)
    shown = len(result.items)
    first = (page - 1) * limit + 1 if shown else 0
    out.print(
        f"第 {first}–{first + shown - 1 if shown else 0} 条，共 {result.total} 条"
        f" / rows {first}–{first + shown - 1 if shown else 0} of {result.total}",
        markup=False,
    )


async def _status(settings: Settings, code: str) -> Any:
    from temporalio.service import RPCError, RPCStatusCode

    from guatu.lifecycle.service import project_status

    client = await _client(settings)
    try:
        return await asyncio.wait_for(project_status(client, code), CALL_TIMEOUT_S)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise CliError(f"项目 {code} 不存在", f"no project {code}") from None
        raise
    except TimeoutError:
        raise CliError(
            f"项目 {code} 在 {CALL_TIMEOUT_S:g} 秒内无响应（worker 是否在运行？）",
            f"project {code} did not answer within {CALL_TIMEOUT_S:g} s (is a worker running?)",
        ) from None


@project_app.command("show")
@command
def project_show(
    code: Annotated[str, typer.Argument(help="Project code, e.g. WJ2021-P06-001.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Show one project live from its workflow: stage, light and why, milestones, money."""
    status = _run(_status(get_settings(), code))
    if as_json:
        _print_json(status)
        return
    from rich.table import Table

    out = _console()
    out.print(
        f"[bold]{status.code}[/] {status.name_zh}  {status.program} · {status.bureau} · "
        f"{status.kind.value}"
    )
    out.print(
        f"阶段 stage: {_stage(status.stage.value)}   状态 status: {status.status.value}"
        f"{' (' + status.status_reason + ')' if status.status_reason else ''}   "
        f"灯 light: {_light(status.light.value)}   业务日期 business date: "
        f"{status.business_today.isoformat()}"
    )
    for explanation in status.explanations:
        out.print(f"  · {explanation.text_zh} / {explanation.text_en}", markup=False)
    out.print(
        f"投资 investment（万元）: 计划至今 planned {_wan(status.planned_investment_to_date_wan)}"
        f"（{status.planned_progress_pct:g}%）· 实际 actual {_wan(status.actual_investment_wan)}"
        f"（{status.actual_progress_pct:g}%）· 总投资 total {_wan(status.total_investment_wan)}"
        f" · 形象进度 physical {status.physical_progress_pct:g}%"
    )
    table = Table(title="节点 / milestones")
    for header in ("节点 step", "计划 planned", "实际 actual", ""):
        table.add_column(header)
    for m in status.milestones:
        table.add_row(
            f"{m['name_zh']} {m['step']}",
            m["planned"],
            m["actual"] or "—",
            "[red]逾期 missed[/]" if m.get("missed") and not m["actual"] else "",
        )
    out.print(table)
    if status.last_report:
        r = status.last_report
        out.print(
            f"最近月报 last report: {r.month} · {_wan(r.investment_wan)} 万元 · "
            f"{r.physical_progress_pct:g}% · {'按时 on time' if r.on_time else '迟报 late'}"
        )
    for issue in status.open_issues:
        out.print(f"  未销号问题 open issue {issue.id}: {issue.title}", markup=False)


def _load_plan(source: str, settings: Settings) -> ProjectPlan:
    from guatu.lifecycle.models import ProjectPlan
    from guatu.lifecycle.programme import load_sample_plans

    if source == "-":
        return ProjectPlan.model_validate_json(sys.stdin.read())
    path = Path(source)
    if path.is_file():
        if path.suffix.lower() in (".xlsx", ".xlsm", ".csv"):
            raise CliError(
                "表格文件请用 guatu plan import 导入",
                "use `guatu plan import` for spreadsheet files",
            )
        try:
            return ProjectPlan.model_validate_json(path.read_bytes())
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'plan'}: {e['msg']}" for e in err.errors()
            )
            raise CliError(
                f"计划文件 {path} 无效", f"plan file {path} is invalid: {problems}"
            ) from None
    for plan in load_sample_plans(settings.programme_start_year):
        if plan.code == source:
            return plan
    raise CliError(
        f"「{source}」既不是计划文件，也不是示例项目编号",
        f"'{source}' is neither a plan file nor a project code of the sample programme",
    )


@project_app.command("start")
@command
def project_start(
    source: Annotated[
        str,
        typer.Argument(
            metavar="FILE_OR_CODE",
            help="A JSON file holding one ProjectPlan, '-' for stdin, or the code of a "
            "sample-programme project.",
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Start one project's lifecycle (a project already running is left as it is)."""
    settings = get_settings()
    plan = _load_plan(source, settings)
    result = _run(_start_plans(settings, [plan], show_progress=False))
    if as_json:
        _print_json({"code": plan.code, **result})
        return
    if result["other_plan"]:  # as the API's 409 project_exists: an error, the same message
        (conflict,) = result["conflicts"]
        raise CliError(conflict["message_zh"], conflict["message_en"])
    if result["started"]:
        message = f"项目 {plan.code} 已启动 / project {plan.code} started"
    elif result["already_running"]:
        message = f"项目 {plan.code} 已在运行，未重复启动 / project {plan.code} is already running"
    else:
        message = f"项目 {plan.code} 已结束，不再启动 / project {plan.code} has already finished"
    typer.echo(message)


# ---------------------------------------------------------------------------------------------
# guatu report …
# ---------------------------------------------------------------------------------------------


def _default_key(kind: str, code: str, body: dict[str, Any]) -> str:
    """A key derived from the content: running the same command twice submits it once."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return f"cli-{kind}-{code}-{digest[:16]}"


async def _send(settings: Settings, code: str, update: Any, data: BaseModel, bureau: str) -> Any:
    from temporalio.service import RPCError, RPCStatusCode

    from guatu.lifecycle.service import send_update

    client = await _client(settings)
    async with _pool(settings) as pool:
        try:
            return await asyncio.wait_for(
                send_update(
                    client,
                    code,
                    update,
                    data,
                    pool=pool,
                    actor=_actor(),
                    bureau=bureau,
                    channel="cli",
                ),
                CALL_TIMEOUT_S,
            )
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise CliError(
                    f"项目 {code} 不存在或已结束", f"project {code} does not exist or has ended"
                ) from None
            raise
        except TimeoutError:
            raise CliError(
                f"项目 {code} 在 {CALL_TIMEOUT_S:g} 秒内无响应（worker 是否在运行？）",
                f"project {code} did not answer within {CALL_TIMEOUT_S:g} s (is a worker running?)",
            ) from None


def _print_update(result: Any, as_json: bool) -> None:
    if as_json:
        _print_json(result)
        return
    head = (
        "已受理（重复提交，未重复记录）/ accepted (duplicate, recorded once)"
        if result.duplicate
        else "已受理 / accepted"
    )
    typer.echo(
        f"{head}: {result.project} · 阶段 stage {_stage(result.stage.value)} · "
        f"灯 light {result.light.value} · 状态 status {result.status.value}"
    )


@report_app.command("submit")
@command
def report_submit(
    code: Annotated[str, typer.Argument(help="Project code.")],
    bureau: Annotated[
        str, typer.Option("--bureau", help="Your bureau code (the project's owner).")
    ],
    month: Annotated[str, typer.Option("--month", help="Month reported, YYYY-MM.")],
    investment: Annotated[
        float, typer.Option("--investment", help="Investment completed in that month, 万元.")
    ],
    progress: Annotated[float, typer.Option("--progress", help="Cumulative physical progress, %.")],
    narrative: Annotated[str, typer.Option("--narrative", help="What happened this month.")] = "",
    correction: Annotated[
        bool, typer.Option("--correction", help="Replace the report already sent for this month.")
    ] = False,
    key: Annotated[
        str | None,
        typer.Option("--key", help="Idempotency key (default: derived from the content)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Submit a monthly progress report (月报) as a bureau."""
    from guatu.lifecycle.models import ProgressReportInput

    body: dict[str, Any] = {
        "bureau": bureau,
        "month": month,
        "investment_wan": investment,
        "physical_progress_pct": progress,
        "narrative": narrative,
        "correction": correction,
    }
    data = ProgressReportInput.model_validate(
        {**body, "idempotency_key": key or _default_key("report", code, body), "actor": _actor()}
    )
    from workflows.project_lifecycle import ProjectLifecycle

    result = _run(_send(get_settings(), code, ProjectLifecycle.submit_report, data, bureau))
    _print_update(result, as_json)


@report_app.command("step")
@command
def report_step(
    code: Annotated[str, typer.Argument(help="Project code.")],
    bureau: Annotated[
        str, typer.Option("--bureau", help="Your bureau code (the project's owner).")
    ],
    step: Annotated[Step, typer.Option("--step", help="The step reached.")],
    on: Annotated[
        datetime | None,
        typer.Option(
            "--on", formats=["%Y-%m-%d"], help="Date the step was reached (default: today)."
        ),
    ] = None,
    note: Annotated[str, typer.Option("--note", help="A note for the record.")] = "",
    key: Annotated[
        str | None,
        typer.Option("--key", help="Idempotency key (default: derived from the content)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Report that a project reached a lifecycle step (e.g. 开工 construction_started)."""
    from guatu.lifecycle.models import StageTransitionInput

    body: dict[str, Any] = {
        "bureau": bureau,
        "step": step,
        "on": on.date() if on else None,
        "note": note,
    }
    data = StageTransitionInput.model_validate(
        {**body, "idempotency_key": key or _default_key("step", code, body), "actor": _actor()}
    )
    from workflows.project_lifecycle import ProjectLifecycle

    result = _run(_send(get_settings(), code, ProjectLifecycle.transition_stage, data, bureau))
    _print_update(result, as_json)


# ---------------------------------------------------------------------------------------------
# guatu ranking …
# ---------------------------------------------------------------------------------------------


class LevelOption(StrEnum):
    bureau = "bureau"
    program = "program"
    project = "project"


LIST_ZH = {"red": "[green]红榜[/]", "black": "[red]黑榜[/]"}


def _movement(value: Any) -> str:
    if value is None:
        return "[dim]新[/]"
    if value > 0:
        return f"[green]↑{value}[/]"
    if value < 0:
        return f"[red]↓{-value}[/]"
    return "–"


@ranking_app.command("show")
@command
def ranking_show(
    level: Annotated[
        LevelOption, typer.Option("--level", help="Rank bureaus, programs or projects.")
    ] = LevelOption.bureau,
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            help="Period: 2026-05 (month), 2026-Q2 or 2026 (default: the latest).",
        ),
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="With no --period: the latest month, quarter or year."),
    ] = None,
    breakdown: Annotated[
        bool, typer.Option("--breakdown", help="Show how each score was made up.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Show a ranking (竞进比拼): rank, score, movement, red and black lists."""
    from guatu.ranking import queries

    settings = get_settings()
    if kind is not None and kind not in ("month", "quarter", "year"):
        raise CliError(
            "--kind 只能是 month、quarter 或 year", "--kind must be month, quarter or year", code=2
        )

    async def fetch() -> Any:
        async with _pool(settings) as pool:
            try:
                if kind is not None:
                    return await queries.get_ranking(pool, level.value, period, kind=kind)
                return await queries.get_ranking(pool, level.value, period)
            except ValueError as err:
                raise CliError("排名参数无效", f"invalid ranking request: {err}") from None

    data = jsonable(_run(fetch()))
    if as_json:
        _print_json(data)
        return
    out = _console()
    rows = data.get("rows", []) if isinstance(data, dict) else data
    if not rows:
        out.print(
            f"暂无排名（{level.value}{' ' + period if period else ''}）；排名在每月结账后生成"
            f" / no ranking yet for {level.value}{' ' + period if period else ''}",
            markup=False,
        )
        return
    from rich.table import Table

    title = " · ".join(str(data[k]) for k in ("label_zh", "level_zh") if data.get(k))
    ruleset = data.get("ruleset") or {}
    table = Table(
        title=f"排名 / ranking {title}",
        caption=f"{ruleset.get('name_zh', '')} v{ruleset.get('version', '')} · "
        f"computed {data.get('computed_at', '')}",
    )
    for header, justify in (
        ("名次", "right"),
        ("升降", "center"),
        ("编号 code", "left"),
        ("名称 name", "left"),
        ("得分 score", "right"),
        ("榜单", "left"),
        ("目标", "center"),
    ):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(
            f"{row.get('rank')}/{row.get('of')}",
            _movement(row.get("movement")),
            str(row.get("code")),
            str(row.get("name_zh", "")),
            f"{row.get('score', 0):.2f}",
            LIST_ZH.get(row.get("list") or "", ""),
            "✓" if row.get("target_met") else "✗",
        )
    out.print(table)
    if breakdown:
        for row in rows:
            out.print(f"[bold]{row.get('rank')}. {row.get('code')} {row.get('name_zh', '')}[/]")
            for line in row.get("breakdown") or []:
                out.print(f"    {_points(line)}{line.get('text_zh', '')}", markup=False)
    for key, name in (("red_list", "红榜 red list"), ("black_list", "黑榜 black list")):
        listed = data.get(key) or []
        if listed:
            out.print(
                f"{name}: " + "、".join(f"{r['name_zh']}（{r['code']}）" for r in listed),
                markup=False,
            )
    _print_revision(out, data.get("revision") or {})


def _points(line: dict[str, Any]) -> str:
    """ "72 / 78  " for a scored line; a unit's member and summary lines have no maximum (or
    no points at all)."""
    points, most = line.get("points"), line.get("max_points")
    if points is None:
        return ""
    return f"{points:g} / {most:g}  " if most is not None else f"{points:g}  "


def _print_revision(out: Console, revision: dict[str, Any]) -> None:
    """The revision shown and what changed from the previous one."""
    number = revision.get("number") or 1
    if number <= 1:
        return
    out.print(
        f"第 {number} 版（更正原因：{revision.get('reason') or '—'}；操作人："
        f"{revision.get('actor') or '—'}）/ revision {number}",
        markup=False,
    )
    changes = revision.get("changes") or {}
    for level, lv in (changes.get("levels") or {}).items():
        for row in lv.get("rows", [])[:20]:
            before, after = row.get("before") or {}, row.get("after") or {}
            out.print(
                f"    {level} {row['code']} {row.get('name_zh', '')}：第 "
                f"{before.get('rank', '—')} → {after.get('rank', '—')} 名",
                markup=False,
            )
        for key, zh in (("red_list", "红榜"), ("black_list", "黑榜")):
            pair = lv.get(key) or {}
            if pair.get("before") != pair.get("after"):
                out.print(
                    f"    {level} {zh}：{'、'.join(pair.get('before') or []) or '无'} → "
                    f"{'、'.join(pair.get('after') or []) or '无'}",
                    markup=False,
                )
    for d in changes.get("decisions") or []:
        out.print(
            f"    {d['change_zh']} {d['bureau_name']}「{d['kind_zh']}」"
            + (f"（{d['project']}）" if d.get("project") else ""),
            markup=False,
        )


# ---------------------------------------------------------------------------------------------
# guatu token …
# ---------------------------------------------------------------------------------------------


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
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
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
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """List API tokens (never their secrets)."""
    from guatu.core import tokens

    settings = get_settings()

    async def fetch() -> Any:
        async with _pool(settings) as pool:
            return await tokens.list_tokens(pool, include_revoked=include_revoked)

    rows = jsonable(_run(fetch()))
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


# ---------------------------------------------------------------------------------------------
# guatu simulate (only when the simulation is part of this build)
# ---------------------------------------------------------------------------------------------


async def _has_worker(client: Client, task_queue: str) -> bool:
    """Whether any worker has polled `task_queue` for workflow tasks recently."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return len(response.pollers) > 0


@app.command("simulate")
@command
def simulate(
    months: Annotated[int, typer.Option(min=1, max=60, help="Months to simulate.")] = 12,
    year_seconds: Annotated[
        float, typer.Option(min=6.0, help="Real seconds one simulated year takes.")
    ] = 120.0,
    start_year: Annotated[
        int | None, typer.Option(help="First simulated year (default: the programme start year).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the bureaus' behaviours.")] = 20210329,
    prefix: Annotated[
        str,
        typer.Option(
            help="Prefix of the simulated project codes, so that they never meet the real "
            "programme's."
        ),
    ] = "SIM-",
    limit: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Simulate only the first N projects of the sample (default: all).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Simulate the sample programme: seeded bureaus (diligent, late, stalled) drive real
    workflows on an accelerated clock; watch the lights and rankings move on the dashboard.

    Needs the running stack (`guatu up`): its worker runs the simulated projects.
    """
    from guatu.lifecycle.programme import load_policy, load_sample_plans
    from guatu.runtime import simulation

    settings = get_settings()
    year = start_year or settings.programme_start_year
    if not prefix or not re.fullmatch(r"[A-Z0-9][A-Z0-9-]{0,15}", prefix):
        raise CliError(
            "前缀只能用大写字母、数字和连字符（1–16 位）",
            "the prefix must be 1–16 capital letters, digits or hyphens",
        )
    plans: list[ProjectPlan] = load_sample_plans(year)[:limit]
    config = simulation.SimulationConfig(
        start_year=year, months=months, year_seconds=year_seconds, seed=seed, code_prefix=prefix
    )

    async def simulate(pool: asyncpg.Pool) -> Any:
        client = await _client(settings)
        if not await _has_worker(client, settings.task_queue):
            raise CliError(
                f"任务队列 {settings.task_queue} 上没有 worker，请先运行 guatu up",
                f"no worker polls task queue {settings.task_queue}; start `guatu up` first",
            )
        progress = _progress()
        with progress:
            task = progress.add_task("模拟 / simulating (months)", total=months)

            async def month_closed(_: str) -> None:
                progress.advance(task)

            sim = simulation.ProgrammeSimulation(
                client,
                plans,
                load_policy(),
                config,
                task_queue=settings.task_queue,
                on_month_closed=month_closed,
                pool=pool,
            )
            report = await sim.run()
            # Back to real time: an accelerated clock left running outpaces any worker.
            await sim.settle()
            return report

    async def run() -> Any:
        async with _pool(settings) as pool:  # the inputs are written through to the read model
            return await simulate(pool)

    report = jsonable(_run(run()))
    report["code_prefix"] = prefix
    if as_json:
        _print_json(report)
        return
    typer.echo(
        f"模拟完成：{report['projects']} 个项目，{report['months']} 个月，用时 "
        f"{report['real_seconds']} 秒；月报 {report['reports_sent']} 份，节点 "
        f"{report['steps_sent']} 个，被拒 {report['refused']} 次 / simulated "
        f"{report['projects']} projects for {report['months']} months in "
        f"{report['real_seconds']} s; reports {report['reports_sent']}, steps "
        f"{report['steps_sent']}, refused {report['refused']}"
    )
    typer.echo(f"查看 / see: guatu project list --json  (codes start with {prefix})")


from guatu.cli.notices import notices_app  # noqa: E402 - it uses the helpers above

app.add_typer(notices_app, name="notices")

import guatu.cli.bulletin  # noqa: E402 - registers `guatu ranking bulletin`
import guatu.cli.channels  # noqa: E402 - registers `guatu channels set|list|remove`
import guatu.cli.opportunity  # noqa: E402 - registers `guatu opportunity …`
import guatu.cli.rounds  # noqa: E402, F401 - registers `guatu ranking run` and `whatif`
from guatu.cli.scene import scene_app  # noqa: E402 - it uses the helpers above

app.add_typer(scene_app, name="scene")

if __name__ == "__main__":
    app()
