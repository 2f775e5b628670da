"""`guatu ranking run` and `guatu ranking whatif`: rounds as operations, from the command line.

- `run` ranks a period now; on a published period it re-verifies the latest revision byte for
  byte and changes nothing. `--refreeze --reason "…"` freezes the inputs again and publishes
  the period's next revision (see docs/rankings-operations.md).
- `whatif` re-ranks the frozen months under another rule set, side by side with the rule set
  the published rounds used; nothing is written.

Like every command of the CLI this is an operator's tool on the server (direct Temporal and
PostgreSQL access, audited as `cli:<user>`); leaders elsewhere use `POST /api/v1/rankings/runs`.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer

from config.settings import get_settings
from guatu.cli.common import (
    CliError,
    JsonOption,
    _actor,
    _client,
    _console,
    _pool,
    _print_json,
    _run,
    _with_pool,
    command,
    jsonable,
)
from guatu.cli.ranking import ranking_app

KINDS = ("month", "quarter", "year")


def _period(period: str | None, kind: str | None) -> str:
    from datetime import UTC, datetime

    from guatu.core.clock import local_date
    from guatu.ranking.periods import PeriodError, last_closed, parse_period

    if kind is not None and kind not in KINDS:
        raise CliError(
            "--kind 只能是 month、quarter 或 year", "--kind must be month, quarter or year", code=2
        )
    if period is None:
        return last_closed(kind or "month", local_date(datetime.now(UTC))).key
    try:
        parsed = parse_period(period)
    except PeriodError as err:
        zh, _, en = str(err).partition(" / ")
        raise CliError(zh, en or zh, code=2) from None
    if kind is not None and parsed.kind.value != kind:
        raise CliError(f"期间 {period} 不是 {kind}", f"period {period} is not a {kind}", code=2)
    return parsed.key


@ranking_app.command("run")
@command
def ranking_run(
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            help="2026-11, 2026-Q4 or 2026 (default: the last closed period of --kind).",
        ),
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="month, quarter or year.")] = None,
    ruleset: Annotated[str, typer.Option("--ruleset", help="Rule set id.")] = "default",
    refreeze: Annotated[
        bool,
        typer.Option("--refreeze", help="Freeze the inputs again and publish the next revision."),
    ] = False,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Why the period is frozen again (required with --refreeze)."),
    ] = None,
    wait: Annotated[
        float,
        typer.Option("--wait", min=0, help="Seconds to wait for the result (then it runs on)."),
    ] = 120.0,
    as_json: JsonOption = False,
) -> None:
    """Run a ranking round now (re-verify a published one), or publish a revision of it."""
    from temporalio.client import WorkflowFailureError

    from guatu.ranking import service

    if refreeze and not (reason or "").strip():
        raise CliError(
            "--refreeze 须同时给出 --reason（更正原因）", "--refreeze needs --reason", code=2
        )
    if reason and not refreeze:
        raise CliError("--reason 只用于 --refreeze", "--reason goes with --refreeze", code=2)
    key = _period(period, kind)
    settings = get_settings()

    async def go() -> dict[str, Any]:
        client = await _client(settings)
        if refreeze:
            async with _pool(settings) as pool:
                handle = await service.revise_round(
                    client,
                    key,
                    reason=reason or "",
                    actor=_actor(),
                    ruleset=ruleset,
                    task_queue=settings.task_queue,
                    pool=pool,
                )
        else:
            handle = await service.trigger_round(
                client, key, ruleset, task_queue=settings.task_queue
            )
        answer: dict[str, Any] = {
            "workflow_id": handle.id,
            "period": key,
            "ruleset": ruleset,
            "refreeze": refreeze,
        }
        try:
            result = await asyncio.wait_for(asyncio.shield(handle.result()), wait)
        except TimeoutError:
            return {**answer, "status": "running"}
        except WorkflowFailureError as err:
            cause = err.cause
            raise CliError(
                "排名轮次执行失败", f"the round failed: {getattr(cause, 'message', None) or cause}"
            ) from None
        return {**answer, "status": "completed", "result": result}

    data = jsonable(_run(go()))
    if as_json:
        _print_json(data)
        return
    if data["status"] != "completed":
        typer.echo(
            f"已启动 {data['workflow_id']}，仍在运行 / started, still running: "
            f"guatu ranking show --period {key}"
        )
        return
    r = data["result"]
    what = (
        "已重新验证，结果逐字节一致，未作任何改动"
        if r["reproduced"]
        else f"已发布第 {r['revision']} 版"
    )
    en = (
        "re-verified byte for byte, nothing changed"
        if r["reproduced"]
        else f"published revision {r['revision']}"
    )
    typer.echo(f"{key} 排名（规则 {ruleset} v{r['ruleset_version']}）：{what} / {en}")
    typer.echo(
        f"  第 {r['revision']} 版 revision · 快照 snapshot {r['snapshot_sha256'][:12]}"
        f" · 结果 results {r['results_sha256'][:12]} · {data['workflow_id']}"
    )
    typer.echo(
        f"  红榜 red: {'、'.join(r['red_list']) or '无'}；"
        f"黑榜 black: {'、'.join(r['black_list']) or '无'}"
    )


@ranking_app.command("whatif")
@command
def ranking_whatif(
    ruleset: Annotated[
        str,
        typer.Option(
            "--ruleset", help="The rule set to try, e.g. sanya, or an earlier version: default@1."
        ),
    ],
    first: Annotated[str, typer.Option("--from", help="First month, e.g. 2026-01.")],
    last: Annotated[str, typer.Option("--to", help="Last month, e.g. 2026-11.")],
    as_json: JsonOption = False,
) -> None:
    """What-if: re-rank the frozen months under another rule set, side by side (nothing is
    written)."""
    from guatu.ranking.periods import PeriodError, periods_between
    from guatu.ranking.rulesets import available_rulesets, known_ruleset
    from guatu.whatif import replay as whatif

    if not known_ruleset(ruleset):
        raise CliError(
            f"没有规则集「{ruleset}」，可用：{'、'.join(available_rulesets())}",
            f"no rule set {ruleset!r}; known: {', '.join(available_rulesets())}",
            code=2,
        )
    for value in (first, last):
        if _period(value, None) != value or len(value) != 7:
            raise CliError(
                f"{value} 不是月份（如 2026-01）", f"{value} is not a month (2026-01)", code=2
            )
    try:
        periods = periods_between("month", first, last)
    except PeriodError as err:
        raise CliError("月份范围无效", str(err), code=2) from None
    if not periods:
        raise CliError("--from 晚于 --to", "--from is after --to", code=2)
    data = jsonable(_with_pool(lambda pool: whatif.what_if(pool, periods, ruleset)))
    if as_json:
        _print_json(data)
        return
    _print_whatif(data)


def _print_whatif(data: dict[str, Any]) -> None:
    from rich.table import Table

    out = _console()
    base, cand = data["baseline"], data["candidate"]
    if not data["periods"]:
        out.print(
            f"所选月份尚无冻结快照 / no frozen period in range: {', '.join(data['missing'])}",
            markup=False,
        )
        return
    for period in data["periods"]:
        table = Table(
            title=f"{period['label_zh']} 比较 / what-if: {base['name_zh']} v{base['version']}"
            f" ↔ {cand['name_zh']} v{cand['version']}"
        )
        b_label, c_label = f"{base['id']} v{base['version']}", f"{cand['id']} v{cand['version']}"
        for header in (
            "单位 bureau",
            f"{b_label} 名次",
            f"{b_label} 得分",
            "榜单",
            f"{c_label} 名次",
            f"{c_label} 得分",
            "榜单 ",
            "变化",
        ):
            table.add_column(header)
        for b in period["bureaus"]:
            x, y = b["baseline"], b["candidate"]
            table.add_row(
                f"{b['name_zh']}（{b['code']}）",
                str(x["rank"]),
                f"{x['score']:.2f}",
                _list_zh(x["list"]),
                str(y["rank"]),
                f"{y['score']:.2f}",
                _list_zh(y["list"]),
                f"{b['rank_change']:+d}" if b["rank_change"] else "–",
            )
        out.print(table)
    s = data["summary"]
    out.print(
        f"{s['periods']} 个月，{s['periods_with_differences']} 个月有差异；单位名次变化 "
        f"{s['bureau_rank_changes']} 次，红黑榜变化 {s['list_changes']} 次 / "
        f"{s['periods']} months, {s['periods_with_differences']} with differences",
        markup=False,
    )
    if data.get("missing"):
        out.print(f"无冻结快照（未比较）/ not frozen: {', '.join(data['missing'])}", markup=False)


def _list_zh(value: str | None) -> str:
    return {"red": "红榜", "black": "黑榜"}.get(value or "", "")


__all__ = ["ranking_run", "ranking_whatif"]
