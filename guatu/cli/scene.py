"""`guatu scene list|show|set|add|remove|delete`: 示范场景 demonstration scenes.

An operator's tool on the server (direct PostgreSQL as the API's role, audited as `cli:<user>`),
the same as `/api/v1/scenes`. Wired by guatu/cli/main.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from guatu.cli.common import (
    CliError,
    JsonOption,
    _actor,
    _console,
    _light,
    _pool,
    _print_json,
    _with_pool,
    command,
)

if TYPE_CHECKING:
    import asyncpg

T = TypeVar("T")

scene_app: typer.Typer = typer.Typer(
    help="Demonstration scenes (示范场景): member projects, progress and the scene's light.",
    no_args_is_help=True,
)

LIGHT_NONE = "[dim]○ 未亮灯[/]"


def _scene_error(err: Exception) -> CliError:
    return CliError(getattr(err, "zh", str(err)), getattr(err, "en", str(err)))


def _on_store(call: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    """`call` on the scene store (`_with_pool`); a refusal is the command's one-line error."""
    from guatu.scenes import store

    try:
        return _with_pool(call)
    except store.SceneError as err:
        raise _scene_error(err) from None


def _light_of(value: str) -> str:
    return LIGHT_NONE if value == "none" else _light(value)


def _progress_line(p: dict[str, Any]) -> str:
    lights = p["lights"]
    return (
        f"投资 {p['actual_investment_wan']:,.2f} / 序时 {p['planned_investment_to_date_wan']:,.2f}"
        f" 万元（{100 * p['investment_ratio']:.1f}%），总投资 {p['total_investment_wan']:,.2f} 万元；"
        f"节点 {p['milestones_met']}/{p['milestones_due']} 按期；"
        f"成员灯 绿 {lights['green']} 黄 {lights['yellow']} 红 {lights['red']}"
    )


@scene_app.command("list")
@command
def list_scenes(
    program: Annotated[str | None, typer.Option(help="Only this program, e.g. P07.")] = None,
    bureau: Annotated[str | None, typer.Option(help="Only scenes this bureau leads.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Scenes with their light and progress."""
    from rich.table import Table

    from guatu.scenes import store

    scenes = _with_pool(lambda pool: store.list_scenes(pool, program, bureau))
    if as_json:
        _print_json([s.model_dump(mode="json") for s in scenes])
        return
    table = Table(title="示范场景 / demonstration scenes")
    for col in ("编号 code", "名称 name", "工程 program", "牵头 lead", "项目 projects", "灯 light"):
        table.add_column(col)
    for s in scenes:
        name = s.name_zh + ("（示例）" if s.illustrative else "")
        table.add_row(
            s.code, name, s.program, s.lead_bureau, str(len(s.projects)), _light_of(s.light)
        )
    _console().print(table)


@scene_app.command("show")
@command
def show_scene(
    code: Annotated[str, typer.Argument(help="Scene code, e.g. S-JQJA.")],
    as_json: JsonOption = False,
) -> None:
    """One scene: progress, its light and why, each member project."""
    from guatu.scenes import store

    s = _on_store(lambda pool: store.get_scene(pool, code))
    if as_json:
        _print_json(s.model_dump(mode="json"))
        return
    out = _console()
    out.print(f"{s.code} {s.name_zh}{'（示例 illustrative）' if s.illustrative else ''}")
    out.print(f"  工程 program：{s.program} {s.program_name_zh}")
    out.print(f"  牵头单位 lead：{s.lead_bureau} {s.lead_bureau_name_zh}")
    out.print(f"  场景灯 light：{_light_of(s.light)}  " + "；".join(s.light_reasons_zh))
    out.print("  " + _progress_line(s.progress.model_dump()))
    for m in s.members:
        light = _light(m.light) if m.light else "[dim]未启动[/]"
        out.print(f"    {m.code:<18} {light} {m.name_zh or '（尚无数据 not started）'}")


@scene_app.command("set")
@command
def set_scene(
    code: Annotated[str, typer.Argument(help="Scene code, e.g. S-JQJA.")],
    name_zh: Annotated[str, typer.Option("--name-zh", help="场景名称.")],
    program: Annotated[str, typer.Option(help="Program code, e.g. P07.")],
    lead_bureau: Annotated[str, typer.Option("--lead-bureau", help="牵头单位 bureau code.")],
    name_en: Annotated[str, typer.Option("--name-en", help="English name.")] = "",
    description: Annotated[str, typer.Option(help="What the scene is (public).")] = "",
    project: Annotated[
        list[str] | None, typer.Option(help="Member project code (repeat); replaces the members.")
    ] = None,
) -> None:
    """Create or replace a scene and its members (as a leader / administrator)."""
    from pydantic import ValidationError

    from guatu.scenes import store
    from guatu.scenes.models import SceneBody

    try:
        body = SceneBody(
            name_zh=name_zh,
            name_en=name_en,
            program=program,
            lead_bureau=lead_bureau,
            description=description,
            projects=project or [],
        )
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise CliError(
            f"输入有误（{where}）", f"invalid input at {where}: {first['msg']}"
        ) from None
    s, created = _on_store(
        lambda pool: store.put_scene(pool, code, body, actor=_actor(), door="cli")
    )
    typer.echo(
        f"{'已创建' if created else '已更新'}示范场景 {s.code}（{len(s.projects)} 个项目）/ "
        f"scene {s.code} {'created' if created else 'updated'} ({len(s.projects)} projects)"
    )


@scene_app.command("add")
@command
def add_projects(
    code: Annotated[str, typer.Argument(help="Scene code.")],
    projects: Annotated[list[str], typer.Argument(help="Project codes to add.")],
) -> None:
    """Add member projects to a scene."""
    from guatu.scenes import store

    s = _on_store(lambda pool: store.add_members(pool, code, projects, actor=_actor(), door="cli"))
    typer.echo(f"场景 {s.code} 现有 {len(s.projects)} 个项目 / scene {s.code}: {len(s.projects)}")


@scene_app.command("remove")
@command
def remove_projects(
    code: Annotated[str, typer.Argument(help="Scene code.")],
    projects: Annotated[list[str], typer.Argument(help="Project codes to remove.")],
) -> None:
    """Remove member projects from a scene."""
    from guatu.scenes import store

    s = _on_store(
        lambda pool: store.remove_members(pool, code, projects, actor=_actor(), door="cli")
    )
    typer.echo(f"场景 {s.code} 现有 {len(s.projects)} 个项目 / scene {s.code}: {len(s.projects)}")


@scene_app.command("delete")
@command
def delete_scene(code: Annotated[str, typer.Argument(help="Scene code.")]) -> None:
    """Delete a scene (its projects stay)."""
    from guatu.scenes import store

    _on_store(lambda pool: store.delete_scene(pool, code, actor=_actor(), door="cli"))
    typer.echo(f"已删除示范场景 {code} / scene {code} deleted")


# `guatu plan import`: the plan file's 示范场景 (scene) column.


async def check_plan_scenes(settings: Any, scene_of: dict[str, str]) -> None:
    """Before anything starts: every scene the file names exists (else nothing starts)."""
    from guatu.scenes import store

    async with _pool(settings) as pool:
        known = {s.code for s in await store.list_scenes(pool)}
    missing = sorted(set(scene_of.values()) - known)
    if missing:
        raise CliError(
            f"计划表中的示范场景不存在：{'、'.join(missing)}（先用 guatu scene set 设立）；"
            "未启动任何项目",
            f"the plan names scenes that do not exist: {', '.join(missing)} (create them with "
            "guatu scene set); nothing was started",
        )


async def join_plan_scenes(settings: Any, scene_of: dict[str, str]) -> dict[str, int]:
    """After the start: each project joins the scene its row names. Returns members per scene."""
    from guatu.scenes import store

    members: dict[str, list[str]] = {}
    for project, scene in scene_of.items():
        members.setdefault(scene, []).append(project)
    async with _pool(settings) as pool:
        for scene, projects in sorted(members.items()):
            await store.add_members(
                pool, scene, projects, actor=_actor(), door="import", check_projects=False
            )
    return {scene: len(projects) for scene, projects in sorted(members.items())}
