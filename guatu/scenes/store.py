"""Scenes in PostgreSQL (`scenes`, `scene_projects`: migration 013_scenes.sql).

Writes come from leaders and administrators (API `PUT/POST/DELETE /api/v1/scenes…`, CLI
`guatu scene …`) and from the plan import's `scene` column; each is one transaction, audited in
`audit_log` (action `scene:*`, the door in `channel`). A refused write changes nothing.
Reads join the members with the projects' read model and compute the scene's progress and light
(`guatu.scenes.rules`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from guatu.core.records import audit_accepted
from guatu.scenes.models import MemberView, SceneBody, SceneDetail, SceneProgress, SceneView
from guatu.scenes.rules import ratio, scene_light


class SceneError(Exception):
    """A refused scene write or an unknown scene: `status` is the HTTP answer it maps to."""

    def __init__(self, status: int, code: str, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.status, self.code, self.zh, self.en = status, code, zh, en


def _not_found(code: str) -> SceneError:
    return SceneError(404, "scene_not_found", f"没有示范场景 {code}", f"no scene {code!r}")


async def _check_references(conn: asyncpg.Connection, body: SceneBody) -> None:
    if not await conn.fetchval("SELECT 1 FROM programs WHERE code = $1", body.program):
        raise SceneError(
            422,
            "unknown_program",
            f"没有工程（program）{body.program}，请填写十大工程的编号，如 P07",
            f"no program {body.program!r}; give one of the ten programs' codes, e.g. P07",
        )
    if not await conn.fetchval("SELECT 1 FROM bureaus WHERE code = $1", body.lead_bureau):
        raise SceneError(
            422,
            "unknown_bureau",
            f"没有单位 {body.lead_bureau}，牵头单位请填写单位编号，如 xzspj",
            f"no bureau {body.lead_bureau!r}; the lead bureau is a bureau code, e.g. xzspj",
        )


async def _check_projects(conn: asyncpg.Connection, projects: Sequence[str]) -> None:
    dupes = sorted({p for p in projects if projects.count(p) > 1})
    if dupes:
        raise SceneError(
            422,
            "duplicate_project",
            f"成员项目重复：{'、'.join(dupes)}",
            f"member projects listed twice: {', '.join(dupes)}",
        )
    known = {
        r["code"]
        for r in await conn.fetch("SELECT code FROM projects WHERE code = ANY($1)", list(projects))
    }
    unknown = [p for p in projects if p not in known]
    if unknown:
        shown = "、".join(unknown[:20]) + ("…" if len(unknown) > 20 else "")
        raise SceneError(
            422,
            "unknown_project",
            f"以下项目不存在（须先立项）：{shown}",
            f"unknown projects (start them first): {', '.join(unknown[:20])}",
        )


async def _members(conn: asyncpg.Connection, code: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT project FROM scene_projects WHERE scene = $1 ORDER BY project", code
    )
    return [r["project"] for r in rows]


async def _row(conn: asyncpg.Connection, code: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM scenes WHERE code = $1 FOR UPDATE", code)


def _summary(row: asyncpg.Record | None, members: list[str]) -> dict[str, Any]:
    if row is None:
        return {}
    return {
        "name_zh": row["name_zh"],
        "program": row["program"],
        "lead_bureau": row["lead_bureau"],
        "projects": members,
    }


async def put_scene(
    pool: asyncpg.Pool,
    code: str,
    body: SceneBody,
    *,
    actor: str,
    door: str = "api",
    illustrative: bool = False,
    check_projects: bool = True,
) -> tuple[SceneDetail, bool]:
    """Create or replace a scene (its members too). Returns the scene and whether it is new."""
    async with pool.acquire() as conn, conn.transaction():
        await _check_references(conn, body)
        if check_projects:
            await _check_projects(conn, body.projects)
        row = await _row(conn, code)
        before = _summary(row, await _members(conn, code) if row else [])
        await conn.execute(
            "INSERT INTO scenes (code, name_zh, name_en, program, lead_bureau, description,"
            " illustrative, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh,"
            " name_en = excluded.name_en, program = excluded.program,"
            " lead_bureau = excluded.lead_bureau, description = excluded.description,"
            " illustrative = excluded.illustrative, updated_by = excluded.updated_by,"
            " updated_at = now(), version = scenes.version + 1",
            code,
            body.name_zh.strip(),
            body.name_en.strip(),
            body.program,
            body.lead_bureau,
            body.description.strip(),
            illustrative,
            actor,
        )
        await conn.execute("DELETE FROM scene_projects WHERE scene = $1", code)
        await _insert_members(conn, code, body.projects, actor)
        after = _summary(await _row(conn, code), sorted(set(body.projects)))
        await audit_accepted(
            conn,
            "scene",
            actor,
            body.lead_bureau,
            "scene:put" if row else "scene:create",
            before,
            after,
            door,
        )
        detail = await _detail(conn, code)
    assert detail is not None
    return detail, row is None


async def _insert_members(
    conn: asyncpg.Connection, code: str, projects: Iterable[str], actor: str
) -> int:
    rows = [(code, p, actor) for p in sorted(set(projects))]
    if not rows:
        return 0
    result = await conn.fetch(
        "INSERT INTO scene_projects (scene, project, added_by)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[])"
        " ON CONFLICT DO NOTHING RETURNING project",
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
    )
    return len(result)


async def _members_changed(
    conn: asyncpg.Connection,
    row: asyncpg.Record,
    actor: str,
    action: str,
    before: list[str],
    after: list[str],
    door: str,
) -> None:
    """Scene `row`'s members went from `before` to `after`: a new version, audited."""
    await conn.execute(
        "UPDATE scenes SET version = version + 1, updated_at = now(), updated_by = $2"
        " WHERE code = $1",
        row["code"],
        actor,
    )
    await audit_accepted(
        conn,
        "scene",
        actor,
        row["lead_bureau"],
        action,
        {"projects": before},
        {"projects": after},
        door,
    )


async def add_members(
    pool: asyncpg.Pool,
    code: str,
    projects: Sequence[str],
    *,
    actor: str,
    door: str = "api",
    check_projects: bool = True,
) -> SceneDetail:
    async with pool.acquire() as conn, conn.transaction():
        row = await _row(conn, code)
        if row is None:
            raise _not_found(code)
        if check_projects:
            await _check_projects(conn, list(projects))
        before = await _members(conn, code)
        await _insert_members(conn, code, projects, actor)
        after = await _members(conn, code)
        if after != before:
            await _members_changed(conn, row, actor, "scene:add", before, after, door)
        detail = await _detail(conn, code)
    assert detail is not None
    return detail


async def remove_members(
    pool: asyncpg.Pool, code: str, projects: Sequence[str], *, actor: str, door: str = "api"
) -> SceneDetail:
    async with pool.acquire() as conn, conn.transaction():
        row = await _row(conn, code)
        if row is None:
            raise _not_found(code)
        before = await _members(conn, code)
        missing = [p for p in projects if p not in before]
        if missing:
            raise SceneError(
                422,
                "not_a_member",
                f"以下项目不在场景 {code} 中：{'、'.join(missing[:20])}",
                f"not members of scene {code}: {', '.join(missing[:20])}",
            )
        await conn.execute(
            "DELETE FROM scene_projects WHERE scene = $1 AND project = ANY($2)",
            code,
            list(projects),
        )
        after = await _members(conn, code)
        await _members_changed(conn, row, actor, "scene:remove", before, after, door)
        detail = await _detail(conn, code)
    assert detail is not None
    return detail


async def delete_scene(pool: asyncpg.Pool, code: str, *, actor: str, door: str = "api") -> None:
    async with pool.acquire() as conn, conn.transaction():
        row = await _row(conn, code)
        if row is None:
            raise _not_found(code)
        before = _summary(row, await _members(conn, code))
        await conn.execute("DELETE FROM scenes WHERE code = $1", code)  # members cascade
        await audit_accepted(
            conn, "scene", actor, row["lead_bureau"], "scene:delete", before, {}, door
        )


# ---------------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------------

_SCENES = (
    "SELECT s.*, p.name_zh AS program_name_zh, b.name_zh AS lead_bureau_name_zh FROM scenes s"
    " LEFT JOIN programs p ON p.code = s.program LEFT JOIN bureaus b ON b.code = s.lead_bureau"
)
_MEMBERS = (
    "SELECT sp.scene, sp.project, p.name_zh, p.bureau, p.light, p.stage,"
    " p.total_investment_wan, p.planned_investment_to_date_wan, p.actual_investment_wan,"
    " p.milestones FROM scene_projects sp LEFT JOIN projects p ON p.code = sp.project"
    " WHERE sp.scene = ANY($1) ORDER BY sp.scene, sp.project"
)


def progress_of(members: Sequence[asyncpg.Record | dict[str, Any]]) -> SceneProgress:
    known = [m for m in members if m["name_zh"] is not None]
    total = sum(m["total_investment_wan"] for m in known)
    planned = sum(m["planned_investment_to_date_wan"] for m in known)
    actual = sum(m["actual_investment_wan"] for m in known)
    results = [ms.get("result") for m in known for ms in (m["milestones"] or [])]
    lights = {"green": 0, "yellow": 0, "red": 0}
    for m in known:
        if m["light"] in lights:
            lights[m["light"]] += 1
    return SceneProgress(
        members=len(members),
        known=len(known),
        total_investment_wan=round(total, 2),
        planned_investment_to_date_wan=round(planned, 2),
        actual_investment_wan=round(actual, 2),
        investment_ratio=ratio(actual, planned),
        milestones_due=sum(1 for r in results if r in ("met", "missed")),
        milestones_met=sum(1 for r in results if r == "met"),
        milestones_pending=sum(1 for r in results if r not in ("met", "missed")),
        lights=lights,
    )


def _view(row: asyncpg.Record, members: list[asyncpg.Record]) -> dict[str, Any]:
    progress = progress_of(members)
    light, zh, en = scene_light(progress)
    return {
        "code": row["code"],
        "name_zh": row["name_zh"],
        "name_en": row["name_en"],
        "program": row["program"],
        "program_name_zh": row["program_name_zh"] or "",
        "lead_bureau": row["lead_bureau"],
        "lead_bureau_name_zh": row["lead_bureau_name_zh"] or "",
        "description": row["description"],
        "illustrative": row["illustrative"],
        "version": row["version"],
        "projects": [m["project"] for m in members],
        "progress": progress,
        "light": light,
        "light_reasons_zh": zh,
        "light_reasons_en": en,
    }


def _member(m: asyncpg.Record) -> MemberView:
    return MemberView(
        code=m["project"],
        name_zh=m["name_zh"],
        bureau=m["bureau"],
        light=m["light"],
        stage=m["stage"],
        total_investment_wan=m["total_investment_wan"] or 0.0,
        planned_investment_to_date_wan=m["planned_investment_to_date_wan"] or 0.0,
        actual_investment_wan=m["actual_investment_wan"] or 0.0,
    )


async def _detail(conn: asyncpg.Connection, code: str) -> SceneDetail | None:
    row = await conn.fetchrow(_SCENES + " WHERE s.code = $1", code)
    if row is None:
        return None
    members = await conn.fetch(_MEMBERS, [code])
    return SceneDetail(**_view(row, members), members=[_member(m) for m in members])


async def get_scene(pool: asyncpg.Pool, code: str) -> SceneDetail:
    async with pool.acquire() as conn:
        detail = await _detail(conn, code)
    if detail is None:
        raise _not_found(code)
    return detail


async def list_scenes(
    pool: asyncpg.Pool, program: str | None = None, bureau: str | None = None
) -> list[SceneView]:
    where, args = [], []
    if program:
        args.append(program)
        where.append(f"s.program = ${len(args)}")
    if bureau:
        args.append(bureau)
        where.append(f"s.lead_bureau = ${len(args)}")
    sql = _SCENES + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY s.code"
    async with pool.acquire() as conn:
        rows = await conn.fetch(sql, *args)
        members = await conn.fetch(_MEMBERS, [r["code"] for r in rows])
    by_scene: dict[str, list[asyncpg.Record]] = {}
    for m in members:
        by_scene.setdefault(m["scene"], []).append(m)
    return [SceneView(**_view(r, by_scene.get(r["code"], []))) for r in rows]


async def scenes_of_projects(pool: asyncpg.Pool, projects: Sequence[str]) -> dict[str, list[str]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT project, scene FROM scene_projects WHERE project = ANY($1) ORDER BY scene",
            list(projects),
        )
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r["project"], []).append(r["scene"])
    return out
