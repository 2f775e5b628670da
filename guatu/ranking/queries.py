"""Leaders' ranking queries, served from PostgreSQL (never from Temporal visibility).

One file: the leaders' ranking reads, one query per answer of the API, sharing the row shapes
(`_row`, `_order`) and the choice of rule set.

Used by the HTTP API. Every function takes an asyncpg pool and returns JSON-serialisable
dicts and lists (dates as ISO strings). Levels are "bureau", "program" and "project".
Without a rule set id the default rule set is read when it has results, else any.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from guatu.core.clock import local_date
from guatu.ranking import revisions
from guatu.ranking.actions import ACTION_ZH, ActionKind, OrderStatus
from guatu.ranking.models import Level
from guatu.ranking.periods import KIND_ZH, PeriodKind, parse_period
from guatu.ranking.rulesets import DEFAULT_RULESET

STATUS_ZH = {
    OrderStatus.OPEN: "待报整改方案",
    OrderStatus.ESCALATED: "逾期已升级",
    OrderStatus.PLAN_SUBMITTED: "方案已报，整改中",
    OrderStatus.CLOSED: "已销号",
    OrderStatus.WITHDRAWN: "已撤销（更正）",
}


def _level(level: str) -> Level:
    try:
        return Level(level)
    except ValueError:
        raise ValueError(f"level must be bureau, program or project, not {level!r}") from None


def _iso(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def _ruleset(conn: asyncpg.Connection, ruleset_id: str | None) -> str | None:
    if ruleset_id:
        return ruleset_id
    ids = [
        r["ruleset_id"]
        for r in await conn.fetch(
            "SELECT DISTINCT ruleset_id FROM ranking_rounds ORDER BY ruleset_id"
        )
    ]
    if not ids:
        return None
    return DEFAULT_RULESET if DEFAULT_RULESET in ids else ids[0]


async def list_periods(
    pool: asyncpg.Pool, level: str = "bureau", *, ruleset_id: str | None = None
) -> list[dict[str, Any]]:
    """Every period ranked at `level`, newest close first (months before quarters before years
    at the same close)."""
    lv = _level(level)
    async with pool.acquire() as conn:
        rs = await _ruleset(conn, ruleset_id)
        if rs is None:
            return []
        rows = await conn.fetch(
            "SELECT r.period, r.kind, r.close_date, r.ruleset_id, r.ruleset_version, r.computed_at,"
            " r.revision, count(e.code) AS entries FROM ranking_rounds r"
            " JOIN ranking_entries e ON e.period = r.period AND e.ruleset_id = r.ruleset_id"
            " AND e.level = $1 WHERE r.ruleset_id = $2"
            " GROUP BY r.period, r.kind, r.close_date, r.ruleset_id, r.ruleset_version, r.computed_at,"
            " r.revision"
            " ORDER BY r.close_date DESC, array_position(ARRAY['month','quarter','year'], r.kind)",
            lv.value,
            rs,
        )
    return [
        {
            "period": r["period"],
            "kind": r["kind"],
            "label_zh": parse_period(r["period"]).label_zh,
            "close_date": r["close_date"].isoformat(),
            "ruleset_id": r["ruleset_id"],
            "ruleset_version": r["ruleset_version"],
            "computed_at": r["computed_at"].isoformat(),
            "entries": r["entries"],
            "revision": r["revision"],
        }
        for r in rows
    ]


def _row(r: asyncpg.Record) -> dict[str, Any]:
    return {
        "rank": r["rank"],
        "of": r["of_count"],
        "code": r["code"],
        "name_zh": r["name_zh"],
        "score": r["score"],
        "previous_rank": r["previous_rank"],
        "movement": r["movement"],
        "list": r["list"],
        "target_met": r["target_met"],
        "exempted": r["exempted"],
        "investment_ratio": r["investment_ratio"],
        "weight": r["weight"],
        "members": r["members"],
        "bureau": r["bureau"],
        "program": r["program"],
        "breakdown": _json(r["breakdown"]),
    }


async def get_ranking(
    pool: asyncpg.Pool,
    level: str,
    period: str | None = None,
    *,
    ruleset_id: str | None = None,
    kind: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    bureau: str | None = None,
    program: str | None = None,
    member_lines: int | None = None,
) -> dict[str, Any]:
    """One ranking: rows with rank, score, breakdown lines, movement and lists.

    `period` None → the latest period (of `kind` if given; else the latest month, falling back
    to any kind). `found` is False when nothing was ranked. `limit` / `offset` page the rows in
    rank order and `bureau` / `program` narrow them (a project ranking has one row per project:
    10,000 rows with their breakdowns are megabytes); the red and black lists, the exemptions
    and `total_rows` always cover the whole level. `member_lines` caps the per-project lines
    of a bureau's or program's breakdown (one line per member: 660 per bureau at 10,000
    projects), ending with a line that says how many more there are; the stored round keeps all.
    """
    lv = _level(level)
    async with pool.acquire() as conn:
        rs = await _ruleset(conn, ruleset_id)
        empty: dict[str, Any] = {
            "found": False,
            "level": lv.value,
            "period": period,
            "ruleset": {"id": rs},
            "rows": [],
            "red_list": [],
            "black_list": [],
            "exempted": [],
        }
        if rs is None:
            return empty
        if period is None:
            kinds = [kind] if kind else ["month", "quarter", "year"]
            for k in kinds:
                period = await conn.fetchval(
                    "SELECT period FROM ranking_rounds WHERE ruleset_id = $1 AND kind = $2"
                    " ORDER BY close_date DESC LIMIT 1",
                    rs,
                    k,
                )
                if period:
                    break
            if period is None:
                return empty
        head = await conn.fetchrow(
            # Not r.*: `results` is the round's whole canonical document (≈ 24 MB at 10,000
            # projects); the rows come from ranking_entries.
            "SELECT r.kind, r.close_date, r.ruleset_version, r.computed_at, r.verified_at,"
            " r.snapshot_sha256, r.results_sha256, r.context, s.body AS rules, r.revision,"
            " r.reason, r.actor, r.changes::text AS changes"
            " FROM ranking_rounds r JOIN ranking_rulesets s"
            " ON s.id = r.ruleset_id AND s.version = r.ruleset_version"
            " WHERE r.period = $1 AND r.ruleset_id = $2",
            period,
            rs,
        )
        if head is None:
            return {**empty, "period": period}
        where = "period = $1 AND ruleset_id = $2 AND level = $3"
        args: list[Any] = [period, rs, lv.value]
        for column, value in (("bureau", bureau), ("program", program)):
            if value is not None:
                args.append(value)
                where += f" AND {column} = ${len(args)}"
        total = await conn.fetchval(f"SELECT count(*) FROM ranking_entries WHERE {where}", *args)
        page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
        columns = (
            "period, ruleset_id, level, code, name_zh, rank, of_count, score,"
            " previous_rank, movement, list, target_met, exempted, investment_ratio,"
            " weight, members, bureau, program"
        )
        trim = member_lines is not None and lv is not Level.PROJECT
        if trim:
            # A unit's breakdown is its `members` member lines, then its own lines (see
            # `rules.aggregate`): cut in PostgreSQL, so the member lines never cross the wire.
            args.append(int(member_lines or 0))
            breakdown = (
                "jsonb_path_query_array(breakdown, '$[$a to $b]', jsonb_build_object("
                f"'a', 0, 'b', least(${len(args)}, members) - 1))"
                " || jsonb_path_query_array(breakdown, '$[$a to last]',"
                " jsonb_build_object('a', members)) AS breakdown"
            )
        else:
            breakdown = "breakdown"
        rows = await conn.fetch(
            f"SELECT {columns}, {breakdown} FROM ranking_entries WHERE {where} ORDER BY rank{page}",
            *args,
        )
        marked = await conn.fetch(
            "SELECT code, name_zh, rank, score, list, exempted FROM ranking_entries"
            " WHERE period = $1 AND ruleset_id = $2 AND level = $3"
            " AND (list IS NOT NULL OR exempted) ORDER BY rank",
            period,
            rs,
            lv.value,
        )
        context = json.loads(head["context"])
        corrections = await _corrections(conn, period, rs, head["revision"])
    rules = json.loads(head["rules"])
    out_rows = [_row(r) for r in rows]
    if trim:
        for row, r in zip(out_rows, rows, strict=True):
            more = r["members"] - (member_lines or 0)
            if more > 0:
                row["breakdown"].append(
                    {
                        "key": "members_more",
                        "points": None,
                        "text_zh": f"……另有 {more} 个项目，见按本单位筛选的项目排名",
                        "text_en": f"… {more} more projects: see the project ranking of this unit",
                    }
                )
    brief = {
        r["code"]: {
            "code": r["code"],
            "name_zh": r["name_zh"],
            "rank": r["rank"],
            "score": r["score"],
        }
        for r in marked
    }
    exemptions = context.get("exemptions", {})
    return {
        "found": True,
        "level": lv.value,
        "level_zh": {"bureau": "责任单位", "program": "工程", "project": "项目"}[lv.value],
        "period": period,
        "kind": head["kind"],
        "kind_zh": KIND_ZH[PeriodKind(head["kind"])],
        "label_zh": parse_period(period).label_zh,
        "close_date": head["close_date"].isoformat(),
        "ruleset": {
            "id": rs,
            "version": head["ruleset_version"],
            "name_zh": rules["name_zh"],
            "name_en": rules["name_en"],
        },
        "computed_at": head["computed_at"].isoformat(),
        "verified_at": _iso(head["verified_at"]),
        "snapshot_sha256": head["snapshot_sha256"],
        "results_sha256": head["results_sha256"],
        "previous_period": context.get("previous_period"),
        "revision": {
            "number": head["revision"],
            "reason": head["reason"],
            "actor": head["actor"],
            # What changed from the previous revision: ranks, lists and ladder decisions.
            "changes": {
                **(json.loads(head["changes"]) if head["changes"] else {}),
                "decisions": corrections,
            }
            if head["revision"] > 1
            else None,
        },
        "total_rows": total,
        "offset": offset,
        "rows": out_rows,
        "red_list": [brief[r["code"]] for r in marked if r["list"] == "red"],
        "black_list": [brief[r["code"]] for r in marked if r["list"] == "black"],
        "exempted": [
            {
                **brief[r["code"]],
                "reason": exemptions.get(r["code"], {}).get("reason", ""),
                "actor": exemptions.get(r["code"], {}).get("actor", ""),
            }
            for r in marked
            if r["exempted"]
        ],
    }


async def _corrections(
    conn: asyncpg.Connection, period: str, ruleset_id: str, revision: int
) -> list[dict[str, Any]]:
    """The ladder decisions revision `revision` of a round made or withdrew."""
    if revision <= 1:
        return []
    rows = await conn.fetch(
        "SELECT d.key, d.bureau, b.name_zh AS bureau_name, d.kind, d.project, d.order_id,"
        " d.lines_zh, d.lines_en, d.inputs->>'withdraws' AS withdraws,"
        " d.inputs->>'withdraws_kind' AS withdraws_kind, d.decided_at FROM ladder_decisions d"
        " LEFT JOIN bureaus b ON b.code = d.bureau WHERE d.period = $1 AND d.ruleset_id = $2"
        " AND d.inputs->>'revision' = $3 ORDER BY d.bureau, d.key",
        period,
        ruleset_id,
        str(revision),
    )
    out = []
    for d in rows:
        kind = ActionKind(d["kind"])
        withdrawn = kind is ActionKind.WITHDRAWN
        decided = ActionKind(d["withdraws_kind"]) if withdrawn and d["withdraws_kind"] else kind
        out.append(
            {
                "change": "withdrawn" if withdrawn else "made",
                "change_zh": "撤销" if withdrawn else "新作出",
                "key": d["key"],
                "bureau": d["bureau"],
                "bureau_name": d["bureau_name"] or d["bureau"],
                "kind": decided.value,
                "kind_zh": ACTION_ZH[decided],
                "project": d["project"],
                "order_id": d["order_id"],
                "withdraws": d["withdraws"],
                "lines_zh": _json(d["lines_zh"]),
                "lines_en": _json(d["lines_en"]),
                "decided_at": d["decided_at"].isoformat(),
            }
        )
    return out


async def round_revisions(
    pool: asyncpg.Pool, period: str, *, ruleset_id: str | None = None
) -> dict[str, Any]:
    """Every revision of a period's round, oldest first, each with its snapshot and results
    hashes, reason, actor and what it changed; `found` False when the period was not ranked."""
    parse_period(period)
    async with pool.acquire() as conn:
        rs = await _ruleset(conn, ruleset_id)
        found = rs is not None and await conn.fetchval(
            "SELECT 1 FROM ranking_rounds WHERE period = $1 AND ruleset_id = $2", period, rs
        )
        items = await revisions.revisions(conn, period, rs) if found and rs else []
        for item in items:
            if item["revision"] > 1 and item["changes"] is not None:
                item["changes"]["decisions"] = await _corrections(
                    conn, period, rs or "", item["revision"]
                )
    return {
        "found": bool(found),
        "period": period,
        "ruleset_id": rs,
        "label_zh": parse_period(period).label_zh,
        "revisions": items,
    }


async def unit_history(
    pool: asyncpg.Pool,
    level: str,
    code: str,
    *,
    ruleset_id: str | None = None,
    kind: str = "month",
    limit: int = 24,
) -> list[dict[str, Any]]:
    """One bureau's, program's or project's rank and score over past periods, oldest first."""
    lv = _level(level)
    async with pool.acquire() as conn:
        rs = await _ruleset(conn, ruleset_id)
        if rs is None:
            return []
        rows = await conn.fetch(
            "SELECT e.period, e.rank, e.of_count, e.score, e.movement, e.list, e.exempted"
            " FROM ranking_entries e JOIN ranking_rounds r ON r.period = e.period"
            " AND r.ruleset_id = e.ruleset_id WHERE e.level = $1 AND e.code = $2"
            " AND e.ruleset_id = $3 AND r.kind = $4 ORDER BY r.close_date DESC LIMIT $5",
            lv.value,
            code,
            rs,
            kind,
            limit,
        )
    return [
        {
            "period": r["period"],
            "rank": r["rank"],
            "of": r["of_count"],
            "score": r["score"],
            "movement": r["movement"],
            "list": r["list"],
            "exempted": r["exempted"],
        }
        for r in reversed(rows)
    ]


def _order(r: asyncpg.Record, today: date) -> dict[str, Any]:
    status = OrderStatus(r["status"])
    kind = ActionKind(r["kind"])
    return {
        "id": r["id"],
        "bureau": r["bureau"],
        "bureau_name": r["bureau_name"] or r["bureau"],
        "kind": kind.value,
        "kind_zh": ACTION_ZH[kind],
        "project": r["project"],
        "project_name": r["project_name"],
        "period": r["period"],
        "ruleset_id": r["ruleset_id"],
        "ruleset_version": r["ruleset_version"],
        "issued_at": r["issued_at"].isoformat(),
        "due": r["due"].isoformat(),
        "status": status.value,
        "status_zh": STATUS_ZH[status],
        "overdue_days": max((today - r["due"]).days, 0)
        if status in (OrderStatus.OPEN, OrderStatus.ESCALATED)
        else 0,
        "plan": r["plan"],
        "submitted_at": _iso(r["submitted_at"]),
        "escalated_at": _iso(r["escalated_at"]),
        "lines_zh": _json(r["lines_zh"]) if r["lines_zh"] is not None else [],
        "lines_en": _json(r["lines_en"]) if r["lines_en"] is not None else [],
    }


async def open_escalations(pool: asyncpg.Pool, bureau: str | None = None) -> list[dict[str, Any]]:
    """Open 督办 and 督办单 (plan awaited, overdue and escalated, or correction under way),
    earliest deadline first, each with the decision's explanation."""
    today = local_date(datetime.now(UTC))
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT o.*, b.name_zh AS bureau_name, d.lines_zh, d.lines_en FROM ladder_orders o"
            " LEFT JOIN bureaus b ON b.code = o.bureau"
            " LEFT JOIN ladder_decisions d ON d.key = o.decision_key"
            " WHERE o.status NOT IN ('closed', 'withdrawn') AND ($1::text IS NULL OR o.bureau = $1)"
            " ORDER BY o.due, o.id",
            bureau,
        )
    return [_order(r, today) for r in rows]


__all__ = ["get_ranking", "list_periods", "open_escalations", "unit_history"]
