"""`guatu simulate`: a simulated year of the sample programme on the running stack.

The command is registered on the root app by `guatu.cli.main`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

import typer

from config.settings import get_settings
from guatu.cli.common import (
    CliError,
    JsonOption,
    _client,
    _pool,
    _print_json,
    _progress,
    _run,
    command,
    jsonable,
)

if TYPE_CHECKING:
    import asyncpg
    from temporalio.client import Client

    from guatu.lifecycle.models import ProjectPlan


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
    as_json: JsonOption = False,
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
