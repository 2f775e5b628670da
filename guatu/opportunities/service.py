"""The doors' entry points for 机会清单 (API, public page, CLI, tests).

One file: the doors' entry points of the 机会清单 workflows, with their checks, Updates and read model,
used as one module (`service.…`) by the API, the CLI, scripts and tests.

- `publish` (managers): the subject exists (a project in the read model, or a scene), its
  bureau answers the interests; starts the opportunity's OpportunityListing;
- `close` (managers), `express_interest` (the public, no account), `respond` and
  `record_outcome` (the responsible bureau): Updates (called by their registered names, with
  their result types: the domain sits below workflows/ in the import layers), refused by the
  workflows' validators before anything is written;
- `list_opportunities`, `get_opportunity`, `list_interests`, `get_interest`: the read model;
- `public_opportunities`: what the public page publishes, and nothing else.

A refusal raises `Rejected` (code, 中文, English) and is written to the audit log; nothing is
started or changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
from pydantic import BaseModel
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
from guatu.opportunities.book import (
    check_publish,
    check_submission,
    interest_deadlines,
    interest_workflow_id,
    listing_workflow_id,
    opportunity_id,
)
from guatu.opportunities.models import (
    INTEREST_STATUS_ZH,
    KIND_ZH,
    LISTING_STATUS_ZH,
    SUBJECT_ZH,
    CloseInput,
    InterestReceipt,
    InterestRequest,
    InterestStatus,
    InterestSubmission,
    InterestView,
    ListingInput,
    ListingStatus,
    OpportunityKind,
    OpportunityRules,
    OpportunityView,
    OutcomeInput,
    PublishInput,
    RespondInput,
    SubjectKind,
    load_rules,
)
from guatu.workdays import WorkCalendar


def door_now(clock: ProgrammeClock | None) -> datetime:
    """Business time now; a clock anchored but not started yet starts at its anchor."""
    clock = clock or ProgrammeClock()
    if clock.anchor_real is None and clock.anchor_business is not None:
        return clock.anchor_business
    return business_now(clock, datetime.now(UTC))


def _rejected(refusal: Rejected) -> Callable[[], Awaitable[Rejected]]:
    """`execute_refusable_update`'s `gone` for a refusal known before the call."""

    async def gone() -> Rejected:
        return refusal

    return gone


# -- publish and close -----------------------------------------------------------------------


async def _subject(conn: asyncpg.Connection, data: PublishInput) -> tuple[str, str, str]:
    """(bureau, its name, the subject's name) or the refusal."""
    if data.subject_kind is SubjectKind.PROJECT:
        row = await conn.fetchrow(
            "SELECT p.bureau, p.name_zh, coalesce(b.name_zh, '') AS bureau_name FROM projects p"
            " LEFT JOIN bureaus b ON b.code = p.bureau WHERE p.code = $1",
            data.subject,
        )
    else:
        row = await conn.fetchrow(
            "SELECT s.lead_bureau AS bureau, s.name_zh, coalesce(b.name_zh, '') AS bureau_name"
            " FROM scenes s LEFT JOIN bureaus b ON b.code = s.lead_bureau WHERE s.code = $1",
            data.subject,
        )
    if row is None:
        zh = SUBJECT_ZH[data.subject_kind]
        raise InputRejected(
            "subject_not_found",
            f"没有{zh} {data.subject}，请核对编号",
            f"no {data.subject_kind.value} {data.subject}",
        )
    return row["bureau"], row["bureau_name"], row["name_zh"]


async def publish(
    client: Client,
    pool: asyncpg.Pool,
    data: PublishInput,
    *,
    task_queue: str = c.TASK_QUEUE,
    clock: ProgrammeClock | None = None,
    rules: OpportunityRules | None = None,
    channel: str = "api",
) -> OpportunityView:
    """Check and publish an opportunity. A retried publication (same idempotency key) answers
    the opportunity it started, marked `duplicate`."""
    try:
        rules = rules or load_rules()
        check_publish(data, local_date(door_now(clock)), rules)
        async with pool.acquire() as conn:
            bureau, bureau_name, subject_name = await _subject(conn, data)
        oid = opportunity_id(data)
        listing = ListingInput(
            opportunity_id=oid,
            publish=data,
            bureau=bureau,
            bureau_name=bureau_name,
            subject_name_zh=subject_name,
            rules=rules,
            clock=clock or ProgrammeClock(),
        )
        started = await start_request(
            client,
            c.OPPORTUNITY_WORKFLOW,
            listing,
            workflow_id=listing_workflow_id(oid),
            task_queue=task_queue,
            view_type=OpportunityView,
            query=c.QUERY_OPPORTUNITY,
        )
        if started is not None:
            return started
        first = await find_opportunity(client, pool, oid)
        if first is not None and first.publish_key == data.idempotency_key:
            return first.model_copy(update={"duplicate": True})
        raise InputRejected(
            "duplicate_opportunity",
            f"{data.subject} 已有同类（{KIND_ZH[data.kind]}）、同一截止日期的机会（编号 {oid}）",
            f"{data.subject} already has a {data.kind.value} opportunity closing on "
            f"{data.closes_on.isoformat()} ({oid})",
        )
    except InputRejected as err:
        where = RefusalAudit("opportunity:publish", data.idempotency_key, data.actor, "", channel)
        raise await refuse(pool, err, where, data.model_dump(mode="json")) from None


async def close(
    client: Client, pool: asyncpg.Pool, opportunity: str, data: CloseInput, *, channel: str = "api"
) -> OpportunityView:
    row = await get_opportunity(pool, opportunity)
    gone = (
        Rejected(
            "opportunity_not_found", f"没有机会 {opportunity}", f"no opportunity {opportunity}"
        )
        if row is None
        else Rejected(
            "already_closed",
            f"机会「{row['title_zh']}」已截止",
            f"opportunity {opportunity} is already closed",
        )
    )
    bureau = row["bureau"] if row else ""
    return await execute_refusable_update(
        client.get_workflow_handle(listing_workflow_id(opportunity)),
        c.UPDATE_OPPORTUNITY_CLOSE,
        data,
        OpportunityView,
        update_id=f"close:{data.idempotency_key}",
        pool=pool,
        audit=RefusalAudit("opportunity:close", data.idempotency_key, data.actor, bureau, channel),
        gone=_rejected(gone),
    )


# -- expressions of interest -----------------------------------------------------------------


async def express_interest(
    client: Client,
    pool: asyncpg.Pool,
    opportunity: str,
    submission: InterestSubmission,
    *,
    clock: ProgrammeClock | None = None,
    calendar: WorkCalendar | None = None,
    channel: str = "public",
) -> InterestReceipt:
    """An enterprise's expression of interest (no account). Its answer deadline is counted here,
    once, on the working-day calendar. The same enterprise again gets its first receipt back."""
    body = submission.model_dump(mode="json")
    action, key = "interest:submit", f"{opportunity}:{submission.uscc}"
    try:
        req = check_submission(
            InterestRequest(
                submission=submission,
                deadlines=interest_deadlines(door_now(clock), load_rules(), calendar),
            )
        )
    except InputRejected as err:
        where = RefusalAudit(action, key, "public", "", channel)
        raise await refuse(pool, err, where, body) from None
    # Refused: by the listing's validator, or the listing has ended (closed) or never existed.
    rows: list[dict[str, Any] | None] = []

    async def listing() -> dict[str, Any] | None:
        if not rows:
            rows.append(await get_opportunity(pool, opportunity))
        return rows[0]

    async def gone() -> Rejected:
        row = await listing()
        if row is None:
            return Rejected(
                "opportunity_not_found",
                f"没有机会 {opportunity}，请从信息公开页的机会清单选择",
                f"no opportunity {opportunity}",
            )
        return Rejected(
            "opportunity_closed",
            f"机会「{row['title_zh']}」已于 {row['closes_on'].isoformat()} 截止，不再接受合作意向",
            f"opportunity {opportunity} has closed; it takes no more expressions of interest",
        )

    async def audit() -> RefusalAudit:
        row = await listing()
        return RefusalAudit(action, key, "public", row["bureau"] if row else "", channel)

    return await execute_refusable_update(
        client.get_workflow_handle(listing_workflow_id(opportunity)),
        c.UPDATE_OPPORTUNITY_INTEREST,
        req,
        InterestReceipt,
        # No update id: a resubmission reaches the book, which answers the first receipt
        # marked `duplicate`.
        update_id=None,
        pool=pool,
        audit=audit,
        gone=gone,
        body=body,
    )


async def _interest_row(pool: asyncpg.Pool, interest: str) -> dict[str, Any] | None:
    return await read_row(pool, _INTEREST_VIEW, interest)


def _interest_gone(interest: str, row: dict[str, Any] | None) -> Rejected:
    if row is None:
        return Rejected("interest_not_found", f"没有合作意向 {interest}", f"no interest {interest}")
    return Rejected(
        "already_concluded",
        f"该合作意向已登记结果（{INTEREST_STATUS_ZH.get(InterestStatus(row['status']), '')}）",
        f"expression of interest {interest} already has its outcome",
    )


async def respond(
    client: Client, pool: asyncpg.Pool, interest: str, data: RespondInput, *, channel: str = "api"
) -> InterestView:
    return await _interest_update(
        client, pool, interest, c.UPDATE_INTEREST_RESPOND, data, "respond", "respond", channel
    )


async def record_outcome(
    client: Client, pool: asyncpg.Pool, interest: str, data: OutcomeInput, *, channel: str = "api"
) -> InterestView:
    return await _interest_update(
        client,
        pool,
        interest,
        c.UPDATE_INTEREST_OUTCOME,
        data,
        "outcome",
        data.outcome.value,
        channel,
    )


async def _interest_update(
    client: Client,
    pool: asyncpg.Pool,
    interest: str,
    update: str,
    data: RespondInput | OutcomeInput,
    what: str,
    action: str,
    channel: str,
) -> InterestView:
    """The responsible bureau's Update on an interest (update id `<what>:<key>`, audit action
    `interest:<action>`); an ended workflow: not found, or its outcome already recorded."""
    row = await _interest_row(pool, interest)
    return await execute_refusable_update(
        client.get_workflow_handle(interest_workflow_id(interest)),
        update,
        data,
        InterestView,
        update_id=f"{what}:{data.idempotency_key}",
        pool=pool,
        audit=RefusalAudit(
            f"interest:{action}", data.idempotency_key, data.actor, data.bureau, channel
        ),
        gone=_rejected(_interest_gone(interest, row)),
    )


# -- reads -----------------------------------------------------------------------------------

_VIEW = (
    "SELECT id, subject_kind, subject, subject_name_zh, bureau, bureau_name, kind, title_zh,"
    " description, amount_wan, conditions, closes_on, status, published_by, published_at,"
    " closed_at, closed_by, close_reason, interests FROM opportunities"
)
_INTEREST_VIEW = (
    "SELECT id, opportunity_id, opportunity_title, bureau, bureau_name, company_name, uscc,"
    " contact_name, contact_phone, contact_email, message, status, submitted_at, respond_due,"
    " remind_at, overdue_at, office_due, escalate_at, deadline_explain, reminded_at,"
    " overdue_notified_at, escalated_at, reply, replied_by, replied_at, replied_late, outcome,"
    " outcome_note, outcome_amount_wan, outcome_by, outcome_at FROM opportunity_interests"
)


async def get_opportunity(pool: asyncpg.Pool, opportunity: str) -> dict[str, Any] | None:
    return await read_row(pool, _VIEW, opportunity)


async def find_opportunity(
    client: Client, pool: asyncpg.Pool, opportunity: str
) -> OpportunityView | None:
    """The live opportunity from its workflow, or its last row once the workflow has ended."""
    try:
        live: OpportunityView = await client.get_workflow_handle(
            listing_workflow_id(opportunity)
        ).query(c.QUERY_OPPORTUNITY, result_type=OpportunityView)
        return live
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
    row = await get_opportunity(pool, opportunity)
    if row is None:
        return None
    return OpportunityView.model_validate({**row, "workflow_id": listing_workflow_id(opportunity)})


async def list_opportunities(
    pool: asyncpg.Pool,
    *,
    bureau: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Opportunities, newest first; `bureau` scopes a bureau to its own."""
    return await read_page(
        pool,
        _VIEW,
        "opportunities",
        (("bureau", bureau), ("status", status)),
        order_by="published_at DESC, id",
        limit=limit,
        offset=offset,
    )


async def list_interests(
    pool: asyncpg.Pool,
    *,
    bureau: str | None = None,
    opportunity: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Expressions of interest, the nearest answer deadline first; `bureau` scopes a bureau."""
    return await read_page(
        pool,
        _INTEREST_VIEW,
        "opportunity_interests",
        (("bureau", bureau), ("opportunity_id", opportunity), ("status", status)),
        order_by="respond_due, id",
        limit=limit,
        offset=offset,
    )


async def get_interest(pool: asyncpg.Pool, interest: str) -> dict[str, Any] | None:
    return await _interest_row(pool, interest)


# -- the public page -------------------------------------------------------------------------


class PublicOpportunity(BaseModel):
    """One opportunity as the public page shows it: what an enterprise needs, nothing internal
    (no actor, no interest count, no company that answered)."""

    id: str
    subject_kind: SubjectKind
    subject_zh: str  # 项目 / 示范场景
    subject: str
    subject_name_zh: str
    kind: OpportunityKind
    kind_zh: str
    title_zh: str
    description: str
    amount_wan: float | None  # None: 面议
    conditions: str
    closes_on: date
    status: ListingStatus
    status_zh: str
    bureau_name_zh: str  # who answers


async def public_opportunities(
    pool: asyncpg.Pool, *, include_closed: bool = True, limit: int = 200
) -> list[PublicOpportunity]:
    """The published lists for the public page: open ones first (nearest closing date first),
    then closed ones, newest first."""
    where = "" if include_closed else " WHERE status = 'open'"
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            f"{_VIEW}{where} ORDER BY status = 'open' DESC,"
            " CASE WHEN status = 'open' THEN closes_on END,"
            f" closes_on DESC, id LIMIT {int(limit)}"
        )
    out = []
    for r in rows:
        kind, subject_kind, status = (
            OpportunityKind(r["kind"]),
            SubjectKind(r["subject_kind"]),
            ListingStatus(r["status"]),
        )
        out.append(
            PublicOpportunity(
                id=r["id"],
                subject_kind=subject_kind,
                subject_zh=SUBJECT_ZH[subject_kind],
                subject=r["subject"],
                subject_name_zh=r["subject_name_zh"],
                kind=kind,
                kind_zh=KIND_ZH[kind],
                title_zh=r["title_zh"],
                description=r["description"],
                amount_wan=r["amount_wan"],
                conditions=r["conditions"],
                closes_on=r["closes_on"],
                status=status,
                status_zh=LISTING_STATUS_ZH[status],
                bureau_name_zh=r["bureau_name"] or r["bureau"],
            )
        )
    return out


__all__ = [
    "PublicOpportunity",
    "Rejected",
    "close",
    "express_interest",
    "find_opportunity",
    "get_interest",
    "get_opportunity",
    "list_interests",
    "list_opportunities",
    "public_opportunities",
    "publish",
    "record_outcome",
    "respond",
]
