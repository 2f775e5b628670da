"""`guatu project list|show|start`: projects from the read model and live from their workflow."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from config.settings import Settings, get_settings
from guatu.cli.common import (
    CALL_TIMEOUT_S,
    MAX_LIST_LIMIT,
    CliError,
    JsonOption,
    _client,
    _console,
    _light,
    _pool,
    _print_json,
    _run,
    _stage,
    _wan,
    command,
)
from guatu.cli.plan import _start_plans
from guatu.lifecycle.models import Light, Stage

if TYPE_CHECKING:
    from guatu.lifecycle.models import ProjectPlan

project_app = typer.Typer(help="Projects: list, show, start one.", no_args_is_help=True)


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
    as_json: JsonOption = False,
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
    as_json: JsonOption = False,
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
    as_json: JsonOption = False,
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
