"""`guatu report submit|step`: report as a bureau — monthly progress and lifecycle steps.

Both go through `guatu.lifecycle.service.send_update`, the API's path too (validated Update,
write-through to the read model, audited as `cli:<user>`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

import typer
from pydantic import BaseModel

from config.settings import Settings, get_settings
from guatu.cli.common import (
    CALL_TIMEOUT_S,
    CliError,
    JsonOption,
    KeyOption,
    _actor,
    _client,
    _default_key,
    _pool,
    _print_json,
    _run,
    _stage,
    command,
)
from guatu.lifecycle.models import Step

report_app = typer.Typer(
    help="Report as a bureau: monthly progress, lifecycle steps.", no_args_is_help=True
)


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
    key: KeyOption = None,
    as_json: JsonOption = False,
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
    key: KeyOption = None,
    as_json: JsonOption = False,
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
