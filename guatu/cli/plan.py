"""`guatu plan import|template|export-sample`: the project plan as a spreadsheet.

Owns the plan commands and `_start_plans`, the start of every plan's lifecycle that `guatu
project start` uses too; reading and writing the files is `guatu.plan_file`'s.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from config.settings import Settings, get_settings
from guatu.cli.common import (
    CliError,
    JsonOption,
    _client,
    _console,
    _pool,
    _print_json,
    _progress,
    _run,
    _wan,
    command,
)

if TYPE_CHECKING:
    from guatu.lifecycle.models import ProjectPlan

plan_app = typer.Typer(
    help="The project plan: import from Excel / CSV, template, sample.", no_args_is_help=True
)


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
    as_json: JsonOption = False,
) -> None:
    """Import the project plan and start every project's lifecycle (re-running is harmless).

    Every row is checked first; if any row has an error, all errors are listed by row and column
    and nothing is started. Projects already running (or finished) are left as they are.
    """
    from guatu.plan_file.read import read_plan_file

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
    from guatu.plan_file.write import write_template

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
    from guatu.plan_file.write import export_sample

    first = year or get_settings().programme_start_year
    path = export_sample(file, first)
    typer.echo(
        f"示例计划（243 个项目，{first} 年起）已写入 / sample plan (243 projects, "
        f"from {first}) written: {path}"
    )
