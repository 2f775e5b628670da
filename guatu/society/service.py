"""The doors' entry points for 市民观察 (API, CLI, tests): submit, reply, rate, resolve, read.

One file: the doors' entry points of one workflow (`CitizenObservation`), with its filing checks,
Updates and read model, used as one module (`service.…`) by the API, the CLI, scripts and tests.

A filing is checked here before its workflow starts: the target exists (a project of the read
model, or a scene code), the text fits, each photo is a JPEG or PNG by its magic bytes and within
the size limit, and the observer has not reached the daily limit for that target. The
observation's ID is `<target>-<yyyymmdd>-<observer>-<n>` with n ≤ the daily limit: the workflow ID
is the business key, so the limit holds atomically under concurrent filings. Photos are stored in
PostgreSQL under that ID before the workflow starts (the workflow's history carries only their
digests); a refusal raises `Rejected` (code, 中文, English), is audited, and nothing is started.

Deadlines are counted on the working-day calendar (`guatu.workdays.default_calendar`): the door
passes the run the working days of its horizon, so the run never reads a calendar itself.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from guatu.core import constants as c
from guatu.core.clock import business_now, local_date
from guatu.core.pages import read_page, read_row
from guatu.lifecycle.models import ProgrammeClock
from guatu.lifecycle.rules.validation import InputRejected
from guatu.lifecycle.service import (
    RefusalAudit,
    Rejected,
    execute_refusable_update,
    refuse,
    start_request,
)
from guatu.society.book import (
    HORIZON_DAYS,
    check_text,
    observation_workflow_id,
)
from guatu.society.models import (
    ObservationFiling,
    ObservationInput,
    ObservationRules,
    ObservationView,
    PhotoRef,
    RateInput,
    ReplyInput,
    ResolveInput,
    TargetKind,
    load_rules,
)
from guatu.workdays import WorkCalendar, default_calendar

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _now(clock: ProgrammeClock | None) -> datetime:
    """Business time now; a clock anchored but not started yet starts at its anchor."""
    clock = clock or ProgrammeClock()
    if clock.anchor_real is None and clock.anchor_business is not None:
        return clock.anchor_business
    return business_now(clock, datetime.now(UTC))


def photo_type(data: bytes) -> str | None:
    """image/jpeg or image/png by the file's magic bytes; None for anything else."""
    if data.startswith(JPEG_MAGIC):
        return "image/jpeg"
    if data.startswith(PNG_MAGIC):
        return "image/png"
    return None


def check_photos(photos: list[bytes], rules: ObservationRules) -> list[PhotoRef]:
    if len(photos) > rules.photos_max:
        raise InputRejected(
            "too_many_photos",
            f"照片最多 {rules.photos_max} 张（现 {len(photos)} 张）",
            f"at most {rules.photos_max} photos ({len(photos)} given)",
        )
    refs = []
    for i, data in enumerate(photos, start=1):
        kind = photo_type(data)
        if kind is None:
            raise InputRejected(
                "photo_not_image",
                f"第 {i} 张照片不是 JPEG 或 PNG 图片",
                f"photo {i} is not a JPEG or PNG image",
            )
        if len(data) > rules.photo_max_bytes:
            raise InputRejected(
                "photo_too_large",
                f"第 {i} 张照片过大（{len(data)} 字节，最多 {rules.photo_max_bytes} 字节）",
                f"photo {i} is too large ({len(data)} bytes; at most {rules.photo_max_bytes})",
            )
        refs.append(
            PhotoRef(
                seq=i, content_type=kind, size=len(data), sha256=hashlib.sha256(data).hexdigest()
            )
        )
    return refs


def working_days(calendar: WorkCalendar, start: date, horizon: int = HORIZON_DAYS) -> list[date]:
    """The working days after `start`, up to `horizon` calendar days on."""
    days = (start + timedelta(days=i) for i in range(1, horizon + 1))
    return [d for d in days if calendar.is_working_day(d)]


def calendar_note(calendar: WorkCalendar, filed_on: date, rules: ObservationRules) -> str:
    """Why the reply is due on that day (the calendar's explanation), plus any year the calendar
    counts with weekends only."""
    if rules.day_unit != "working":
        return ""
    notes = [f"答复期限：{calendar.explain(filed_on, rules.reply_days, 'working')}"]
    due = calendar.add(filed_on, rules.reply_days, "working")
    for year in sorted({filed_on.year, due.year}):
        note = calendar.coverage_note(year)
        if note:
            notes.append(note)
    return "\n".join(notes)


async def _target(
    conn: asyncpg.Connection, kind: TargetKind, code: str
) -> tuple[str, str, str] | None:
    """(name, responsible bureau, program) of a target, or None if there is no such target."""
    if kind is TargetKind.PROJECT:
        row = await conn.fetchrow(
            "SELECT name_zh, bureau, program FROM projects WHERE code = $1", code
        )
        return (row["name_zh"], row["bureau"], row["program"]) if row else None
    # Scenes (示范场景) are data of their own package; until it is installed a scene is taken
    # by its code and its observations go to 区幸福办, who coordinates the scenes.
    if await conn.fetchval("SELECT to_regclass('scenes')") is None:
        return ("", c.OFFICE_BUREAU, "")
    try:
        row = await conn.fetchrow(
            "SELECT name_zh, lead_bureau, program FROM scenes WHERE code = $1", code
        )
    except asyncpg.UndefinedColumnError:
        return ("", c.OFFICE_BUREAU, "")
    return (row["name_zh"], row["lead_bureau"], row["program"]) if row else None


def _audit_body(filing: ObservationFiling) -> dict[str, Any]:
    body = filing.model_dump(mode="json", exclude={"photos"})
    body["photos"] = [len(p) for p in filing.photos]
    return body


async def submit_observation(
    client: Client,
    pool: asyncpg.Pool,
    filing: ObservationFiling,
    *,
    task_queue: str = c.TASK_QUEUE,
    clock: ProgrammeClock | None = None,
    calendar: WorkCalendar | None = None,
    rules: ObservationRules | None = None,
    channel: str = "api",
) -> ObservationView:
    """Check a filing and start its observation. A retried filing (same idempotency key) answers
    the observation it started, marked `duplicate`."""
    try:
        return await _submit(client, pool, filing, task_queue, clock, calendar, rules)
    except InputRejected as err:
        where = RefusalAudit(
            "observation:file",
            filing.idempotency_key,
            f"observer:{filing.observer}",
            "",
            channel,
            filing.target if filing.target_kind is TargetKind.PROJECT else None,
        )
        raise await refuse(pool, err, where, _audit_body(filing)) from None


async def _submit(
    client: Client,
    pool: asyncpg.Pool,
    filing: ObservationFiling,
    task_queue: str,
    clock: ProgrammeClock | None,
    calendar: WorkCalendar | None,
    rules: ObservationRules | None,
) -> ObservationView:
    rules = rules or load_rules().observation
    check_text(filing.text, rules)
    refs = check_photos(filing.photos, rules)
    now = _now(clock)
    filed_on = local_date(now)
    async with pool.acquire() as conn:
        target = await _target(conn, filing.target_kind, filing.target)
        if target is None:
            what = "项目" if filing.target_kind is TargetKind.PROJECT else "示范场景"
            raise InputRejected(
                "target_not_found",
                f"没有{what} {filing.target}",
                f"no {filing.target_kind.value} {filing.target}",
            )
        name, bureau, program = target
        bureau_name = (
            await conn.fetchval("SELECT name_zh FROM bureaus WHERE code = $1", bureau) or ""
        )
        earlier = await conn.fetchrow(
            "SELECT id FROM observations WHERE observer = $1 AND filing_key = $2",
            filing.observer,
            filing.idempotency_key,
        )
    if earlier is not None:
        handle = client.get_workflow_handle(observation_workflow_id(earlier["id"]))
        first: ObservationView = await handle.query(
            c.QUERY_OBSERVATION, result_type=ObservationView
        )
        return first.model_copy(update={"duplicate": True})
    cal = calendar or default_calendar()
    data = ObservationInput(
        observation_id="",
        target_kind=filing.target_kind,
        target=filing.target,
        target_name=name,
        bureau=bureau,
        bureau_name=bureau_name,
        program=program,
        observer=filing.observer,
        category=filing.category,
        rating=filing.rating,
        text=filing.text,
        wants_reply=filing.wants_reply,
        photos=refs,
        rules=rules,
        working_days=working_days(cal, filed_on) if rules.day_unit == "working" else [],
        calendar_note=calendar_note(cal, filed_on, rules) if filing.wants_reply else "",
        idempotency_key=filing.idempotency_key,
        clock=clock or ProgrammeClock(),
    )
    stem = f"{filing.target}-{filed_on.strftime('%Y%m%d')}-{filing.observer}"
    async with pool.acquire() as conn:
        used = {
            r["id"]
            for r in await conn.fetch("SELECT id FROM observations WHERE id LIKE $1", f"{stem}-%")
        }
    for n in range(1, rules.daily_limit_per_target + 1):
        oid = f"{stem}-{n}"
        if oid in used or not await _reserve_photos(pool, oid, filing, refs):
            continue
        # By name (guatu.core.constants): the domain never imports workflow code.
        started = await start_request(
            client,
            c.OBSERVATION_WORKFLOW,
            data.model_copy(update={"observation_id": oid}),
            workflow_id=observation_workflow_id(oid),
            task_queue=task_queue,
            view_type=ObservationView,
            query=c.QUERY_OBSERVATION,
        )
        if started is not None:
            return started
        owner: ObservationView = await client.get_workflow_handle(
            observation_workflow_id(oid)
        ).query(c.QUERY_OBSERVATION, result_type=ObservationView)
        if owner.filing_key == filing.idempotency_key and owner.observer == filing.observer:
            return owner.model_copy(update={"duplicate": True})
        await _release_photos(pool, oid, owner, refs)
    raise InputRejected(
        "daily_limit",
        f"同一观察员每天对同一{'项目' if filing.target_kind is TargetKind.PROJECT else '场景'}"
        f"最多提交 {rules.daily_limit_per_target} 条观察，今天（{filed_on.isoformat()}）已达上限",
        f"an observer may file at most {rules.daily_limit_per_target} observations per day on "
        f"the same {filing.target_kind.value}; today's ({filed_on.isoformat()}) are used up",
    )


async def _reserve_photos(
    pool: asyncpg.Pool, oid: str, filing: ObservationFiling, refs: list[PhotoRef]
) -> bool:
    """Store the photos under `oid`; False when `oid` holds another filing's photos (the ID is
    taken: try the next one). Re-storing the same photos changes nothing."""
    if not refs:
        return True
    async with pool.acquire() as conn, conn.transaction():
        for ref, body in zip(refs, filing.photos, strict=True):
            stored = await conn.fetchval(
                "INSERT INTO observation_photos (observation_id, seq, content_type, size, sha256,"
                " body) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (observation_id, seq)"
                " DO UPDATE SET sha256 = observation_photos.sha256 RETURNING sha256",
                oid,
                ref.seq,
                ref.content_type,
                ref.size,
                ref.sha256,
                body,
            )
            if stored != ref.sha256:
                return False
    return True


async def _release_photos(
    pool: asyncpg.Pool, oid: str, owner: ObservationView, refs: list[PhotoRef]
) -> None:
    """Take back photos stored under an ID another filing took: those it does not hold."""
    theirs = {p.sha256 for p in owner.photos}
    ours = [r.sha256 for r in refs if r.sha256 not in theirs]
    if ours:
        async with pool.acquire() as conn:
            await conn.execute(
                "DELETE FROM observation_photos WHERE observation_id = $1 AND sha256 = ANY($2)",
                oid,
                ours,
            )


async def _update(
    client: Client,
    pool: asyncpg.Pool,
    observation: str,
    update: str,
    data: ReplyInput | RateInput | ResolveInput,
    action: str,
    actor: str,
    channel: str,
) -> ObservationView:
    async def gone() -> Rejected:
        row = await get_observation(pool, observation)
        if row is None:
            return Rejected(
                "observation_not_found",
                f"没有市民观察 {observation}",
                f"no citizen observation {observation}",
            )
        return Rejected(
            "observation_closed",
            f"市民观察 {observation} 已办结",
            f"citizen observation {observation} is closed",
        )

    async def audit() -> RefusalAudit:
        async with pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT bureau, target_kind, target FROM observations WHERE id = $1", observation
            )
        return RefusalAudit(
            f"observation:{action}",
            data.idempotency_key,
            actor,
            row["bureau"] if row else "",
            channel,
            row["target"] if row and row["target_kind"] == "project" else None,
        )

    return await execute_refusable_update(
        client.get_workflow_handle(observation_workflow_id(observation)),
        update,
        data,
        ObservationView,
        update_id=f"{action}:{data.idempotency_key}",
        pool=pool,
        audit=audit,
        gone=gone,
    )


async def reply_observation(
    client: Client, pool: asyncpg.Pool, observation: str, data: ReplyInput, *, channel: str = "api"
) -> ObservationView:
    """The responsible bureau's reply; a refusal raises `Rejected` and is audited."""
    return await _update(
        client, pool, observation, c.UPDATE_OBSERVATION_REPLY, data, "reply", data.actor, channel
    )


async def rate_observation(
    client: Client, pool: asyncpg.Pool, observation: str, data: RateInput, *, channel: str = "api"
) -> ObservationView:
    """The observer rates the reply (满意 / 不满意)."""
    return await _update(
        client,
        pool,
        observation,
        c.UPDATE_OBSERVATION_RATE,
        data,
        "rate",
        f"observer:{data.observer}",
        channel,
    )


async def resolve_observation(
    client: Client,
    pool: asyncpg.Pool,
    observation: str,
    data: ResolveInput,
    *,
    channel: str = "api",
) -> ObservationView:
    """区幸福办 closes an escalated observation."""
    return await _update(
        client,
        pool,
        observation,
        c.UPDATE_OBSERVATION_RESOLVE,
        data,
        "resolve",
        data.actor,
        channel,
    )


_VIEW = (
    "SELECT id, target_kind, target, target_name, bureau, bureau_name, program, observer,"
    " category, rating, text, wants_reply, photos, status, filed_at, reply_due, remind_on,"
    " reminded_at, overdue_at, reply, replied_by, replied_at, reply_on_time, rating_due,"
    " satisfaction, rating_comment, rated_at, escalated_at, escalation_reason, office_due,"
    " office_overdue_at, resolution, resolved_by, closed_at, calendar_note FROM observations"
)


async def get_observation(pool: asyncpg.Pool, observation: str) -> dict[str, Any] | None:
    return await read_row(pool, _VIEW, observation)


async def find_observation(
    client: Client, pool: asyncpg.Pool, observation: str
) -> dict[str, Any] | None:
    """From the read model, or from its workflow when filed a moment ago; None if none."""
    row = await get_observation(pool, observation)
    if row is not None:
        return row
    handle = client.get_workflow_handle(observation_workflow_id(observation))
    try:
        view: ObservationView = await handle.query(c.QUERY_OBSERVATION, result_type=ObservationView)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return view.model_dump(
        mode="json", exclude={"workflow_id", "version", "duplicate", "filing_key"}
    )


async def list_observations(
    pool: asyncpg.Pool,
    *,
    bureau: str | None = None,
    observer: str | None = None,
    target: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Observations, newest first; `bureau` / `observer` scope a caller to its own."""
    filters = (("bureau", bureau), ("observer", observer), ("target", target), ("status", status))
    return await read_page(
        pool,
        _VIEW,
        "observations",
        filters,
        order_by="filed_at DESC, id",
        limit=limit,
        offset=offset,
    )


async def get_photo(pool: asyncpg.Pool, observation: str, seq: int) -> tuple[str, bytes] | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT content_type, body FROM observation_photos WHERE observation_id = $1"
            " AND seq = $2",
            observation,
            seq,
        )
    return (row["content_type"], bytes(row["body"])) if row else None


__all__ = [
    "Rejected",
    "check_photos",
    "find_observation",
    "get_observation",
    "get_photo",
    "list_observations",
    "photo_type",
    "rate_observation",
    "reply_observation",
    "resolve_observation",
    "submit_observation",
    "working_days",
]
