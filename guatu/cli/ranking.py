"""`guatu ranking show`: a published ranking (竞进比拼) with its movement, lists and revision.

Owns `ranking_app`, the group `guatu ranking`; `guatu.cli.rounds` adds `run` and `whatif` to it
and `guatu.cli.bulletin` adds `bulletin`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from config.settings import get_settings
from guatu.cli.common import (
    CliError,
    JsonOption,
    _console,
    _pool,
    _print_json,
    _run,
    command,
    jsonable,
)

if TYPE_CHECKING:
    from rich.console import Console


ranking_app = typer.Typer(help="Rankings of bureaus, programs and projects.", no_args_is_help=True)


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
    as_json: JsonOption = False,
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
