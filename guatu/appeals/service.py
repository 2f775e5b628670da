"""The doors' entry points for 申诉 (API, CLI, tests): file, list, read and decide appeals.

Filing is checked here, before the appeal's workflow starts, against the published round in
PostgreSQL: the round exists, the item is the bureau's, the window is open, the texts fit. The
workflow's ID is the appeal's business key, so a second open appeal on the same item is refused
by Temporal atomically. A refusal raises `Rejected` (code, 中文, English) and, like every door's
refusal, is written to the audit log; nothing is started.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from guatu.appeals.book import appeal_id, check_filing_text, check_window, deadlines
from guatu.appeals.models import (
    DECIDED,
    AppealFiling,
    AppealInput,
    AppealItem,
    AppealStatus,
    AppealView,
    DecideInput,
)
from guatu.core import constants as c
from guatu.core.clock import business_now
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
from guatu.ranking.periods import PeriodError, parse_period
from guatu.ranking.rulesets import UnknownRuleSet, load_ruleset

LIST_ZH = {"red": "列入红榜", "black": "列入黑榜"}


def _filing_now(clock: ProgrammeClock | None) -> datetime:
    """Business time now; a clock anchored but not started yet starts at its anchor."""
    clock = clock or ProgrammeClock()
    if clock.anchor_real is None and clock.anchor_business is not None:
        return clock.anchor_business
    return business_now(clock, datetime.now(UTC))


async def published_round(
    conn: asyncpg.Connection, period: str, ruleset_id: str
) -> tuple[int, datetime] | None:
    """(revision, published at) of the round's latest revision; None if never published.

    Each revision opens its own appeal window: what it changed may be appealed in turn."""
    row = await conn.fetchrow(
        "SELECT revision, computed_at FROM ranking_rounds WHERE period = $1 AND ruleset_id = $2",
        period,
        ruleset_id,
    )
    return (row["revision"], row["computed_at"]) if row else None


async def _resolve(conn: asyncpg.Connection, filing: AppealFiling) -> tuple[AppealFiling, str, str]:
    """The filing with its round fixed (orders name their own), what is appealed (中文, English)
    — or the refusal. Another bureau's item is refused exactly like a missing one."""
    if filing.item is AppealItem.ORDER:
        order = await conn.fetchrow(
            "SELECT bureau, period, ruleset_id, project, project_name, kind FROM ladder_orders"
            " WHERE id = $1",
            filing.order_id,
        )
        if order is None or order["bureau"] != filing.bureau:
            raise InputRejected(
                "order_not_found",
                f"没有督办事项 {filing.order_id}，或不属于本单位",
                f"no supervision order {filing.order_id} of bureau {filing.bureau}",
            )
        if (order["period"], order["ruleset_id"]) != (filing.period, filing.ruleset_id):
            raise InputRejected(
                "order_not_in_round",
                f"督办事项 {filing.order_id} 出自 {order['period']}（{order['ruleset_id']}）的排名，"
                f"不是 {filing.period}（{filing.ruleset_id}）",
                f"order {filing.order_id} comes from the {order['period']} round "
                f"({order['ruleset_id']}), not {filing.period} ({filing.ruleset_id})",
            )
        label = parse_period(filing.period).label_zh
        what = (
            f"项目「{order['project_name']}」（{order['project']}）督办单"
            if order["project"]
            else "督办"
        )
        return filing, f"{label}{what}（编号 {filing.order_id}）", f"order {filing.order_id}"
    entry = await conn.fetchrow(
        "SELECT rank, of_count, score, list, name_zh FROM ranking_entries WHERE period = $1"
        " AND ruleset_id = $2 AND level = $3 AND code = $4 AND ($3 = 'bureau' OR bureau = $5)",
        filing.period,
        filing.ruleset_id,
        "project" if filing.project else "bureau",
        filing.project or filing.bureau,
        filing.bureau,
    )
    if entry is None and filing.project:
        raise InputRejected(
            "project_not_found",
            f"项目 {filing.project} 不在本单位 {filing.period} 的排名中",
            f"project {filing.project} is not among your bureau's projects "
            f"ranked in {filing.period}",
        )
    if entry is None:
        raise InputRejected(
            "not_ranked",
            f"本单位未参加 {filing.period} 的排名，无可申诉的结果",
            f"bureau {filing.bureau} was not ranked in {filing.period}",
        )
    label = parse_period(filing.period).label_zh
    place = f"第 {entry['rank']}/{entry['of_count']} 名，{entry['score']:.2f} 分"
    if filing.item is AppealItem.LIST:
        listed = LIST_ZH.get(entry["list"] or "", "未列入红黑榜")
        return (
            filing,
            f"{label}竞进比拼红黑榜名次（{listed}，{place}）",
            f"{filing.period} list place",
        )
    whose = f"项目 {filing.project} " if filing.project else ""
    return (
        filing,
        f"{label}竞进比拼{whose}得分（{place}）",
        f"{filing.period} score{' of ' + filing.project if filing.project else ''}",
    )


async def file_appeal(
    client: Client,
    pool: asyncpg.Pool,
    filing: AppealFiling,
    *,
    task_queue: str = c.TASK_QUEUE,
    clock: ProgrammeClock | None = None,
    channel: str = "api",
) -> AppealView:
    """Check a filing and start its appeal. A retried filing (same idempotency key) answers the
    appeal it started, marked `duplicate`."""
    try:
        return await _file(client, pool, filing, task_queue, clock)
    except InputRejected as err:
        where = RefusalAudit(
            f"appeal:file:{filing.item.value}",
            filing.idempotency_key,
            filing.actor,
            filing.bureau,
            channel,
        )
        raise await refuse(pool, err, where, filing.model_dump(mode="json")) from None


async def _file(
    client: Client,
    pool: asyncpg.Pool,
    filing: AppealFiling,
    task_queue: str,
    clock: ProgrammeClock | None,
) -> AppealView:
    try:
        rules = load_ruleset(filing.ruleset_id).appeal
    except UnknownRuleSet:
        raise InputRejected(
            "unknown_ruleset",
            f"没有规则集 {filing.ruleset_id}",
            f"no rule set {filing.ruleset_id!r}",
        ) from None
    try:
        parse_period(filing.period)
    except PeriodError as err:
        raise InputRejected("bad_period", str(err).split(" / ")[0], str(err)) from None
    check_filing_text(filing, rules)
    async with pool.acquire() as conn:
        published = await published_round(conn, filing.period, filing.ruleset_id)
        if published is None:
            raise InputRejected(
                "round_not_found",
                f"{filing.period}（规则集 {filing.ruleset_id}）尚无已发布的排名",
                f"no published {filing.period} round under rule set {filing.ruleset_id}",
            )
        revision, published_at = published
        filing, subject_zh, subject_en = await _resolve(conn, filing)
        bureau_name = (
            await conn.fetchval("SELECT name_zh FROM bureaus WHERE code = $1", filing.bureau) or ""
        )
        aid = appeal_id(filing, revision)
        existing = await conn.fetchrow("SELECT status FROM appeals WHERE id = $1", aid)
    now = _filing_now(clock)
    check_window(published_at, now, rules, filing.period)
    handle = client.get_workflow_handle(c.appeal_workflow_id(aid), result_type=AppealView)
    if existing is None:
        data = AppealInput(
            appeal_id=aid,
            filing=filing,
            rules=rules,
            revision=revision,
            published_at=published_at,
            subject_zh=subject_zh,
            subject_en=subject_en,
            bureau_name=bureau_name,
            clock=clock or ProgrammeClock(),
            # Working days are counted here, once, on the working-day calendar.
            deadlines=deadlines(now, rules) if rules.day_unit == "working" else None,
        )
        started = await start_request(
            client,
            c.APPEAL_WORKFLOW,
            data,
            workflow_id=c.appeal_workflow_id(aid),
            task_queue=task_queue,
            view_type=AppealView,
            query=c.QUERY_APPEAL,
        )
        if started is not None:
            return started
    # Started before (by this filing, retried, or by another one on the same item).
    first: AppealView = await handle.query(c.QUERY_APPEAL, result_type=AppealView)
    if first.filing_key == filing.idempotency_key:
        return first.model_copy(update={"duplicate": True})
    if first.status in DECIDED:
        word = "成立" if first.status is AppealStatus.ACCEPTED else "不成立"
        raise InputRejected(
            "already_appealed",
            f"对{first.subject_zh}的申诉（编号 {aid}）已决定（申诉{word}），同一版排名的同一事项只能申诉一次",
            f"appeal {aid} on this item of this revision was already decided "
            f"({first.status.value}); an item may be appealed once per published revision",
        )
    raise InputRejected(
        "duplicate_appeal",
        f"对{first.subject_zh}已有未决申诉（编号 {aid}，{first.filed_at.date().isoformat()} 提出），"
        "请等待决定",
        f"appeal {aid} on the same item is still open (filed {first.filed_at.date().isoformat()}); "
        "wait for its decision",
    )


async def decide_appeal(
    client: Client, pool: asyncpg.Pool, appeal: str, data: DecideInput, *, channel: str = "api"
) -> AppealView:
    """A leader's decision. A refusal raises `Rejected` and is audited; acceptance is audited
    by the workflow."""

    async def gone() -> Rejected:
        # No such appeal, or its workflow has ended: it was decided and its revision published.
        row = await get_appeal(pool, appeal)
        if row is None:
            return Rejected("appeal_not_found", f"没有申诉 {appeal}", f"no appeal {appeal}")
        return Rejected(
            "already_decided",
            f"申诉 {appeal} 已决定（{row['status']}）",
            f"appeal {appeal} was already decided ({row['status']})",
        )

    async def audit() -> RefusalAudit:
        bureau = await _bureau_of(pool, appeal)
        return RefusalAudit(
            f"appeal:{data.decision.value}", data.idempotency_key, data.actor, bureau, channel
        )

    return await execute_refusable_update(
        client.get_workflow_handle(c.appeal_workflow_id(appeal)),
        c.UPDATE_APPEAL_DECIDE,
        data,
        AppealView,
        update_id=f"{c.UPDATE_APPEAL_DECIDE}:{data.idempotency_key}",
        pool=pool,
        audit=audit,
        gone=gone,
    )


async def _bureau_of(pool: asyncpg.Pool, appeal: str) -> str:
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT bureau FROM appeals WHERE id = $1", appeal) or ""


_VIEW = (
    "SELECT id, bureau, bureau_name, period, ruleset_id, revision, item, project, order_id,"
    " subject_zh, status, reason, evidence, filed_by, filed_at, published_at, decision_due,"
    " remind_at, escalate_at, office_due, reminded_at, escalated_at, office_overdue_at,"
    " decision, decision_reason, decided_by, decided_at, revision_workflow_id, revised_to"
    " FROM appeals"
)


async def get_appeal(pool: asyncpg.Pool, appeal: str) -> dict[str, Any] | None:
    return await read_row(pool, _VIEW, appeal)


async def find_appeal(client: Client, pool: asyncpg.Pool, appeal: str) -> dict[str, Any] | None:
    """The appeal from the read model, or from its workflow when it was filed a moment ago and
    not yet written there; None if there is no such appeal."""
    row = await get_appeal(pool, appeal)
    if row is not None:
        return row
    handle = client.get_workflow_handle(c.appeal_workflow_id(appeal))
    try:
        view: AppealView = await handle.query(c.QUERY_APPEAL, result_type=AppealView)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return view.model_dump(exclude={"workflow_id", "version", "duplicate", "filing_key"})


async def list_appeals(
    pool: asyncpg.Pool,
    *,
    bureau: str | None = None,
    status: str | None = None,
    period: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Appeals, newest first; `bureau` scopes a bureau to its own."""
    filters = (("bureau", bureau), ("status", status), ("period", period))
    return await read_page(
        pool, _VIEW, "appeals", filters, order_by="filed_at DESC, id", limit=limit, offset=offset
    )


__all__ = [
    "AppealStatus",
    "Rejected",
    "decide_appeal",
    "file_appeal",
    "find_appeal",
    "get_appeal",
    "list_appeals",
    "published_round",
]
