"""Reading a request's read-model table for the doors: one row by id, or one page of a list.

Owns the one way an appeal, observation, opportunity or interest row is read by its id
(`read_row`), and the one way a list of them (or of evaluations) is read (`read_page`): the
filters that are given (None: not filtered) joined with AND as numbered parameters, `count(*)`
over the same filters, then one page in a stable order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import asyncpg


async def read_page(
    pool: asyncpg.Pool,
    select: str,
    table: str,
    filters: Iterable[tuple[str, Any]],
    *,
    order_by: str,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """`{"total": n, "items": [row, ...]}`: `select` (a `SELECT … FROM table`) filtered by the
    `(condition, value)` pairs whose value is not None, ordered by `order_by`, one page.

    A condition is a column (`"bureau"`: equal to the value) or a template with `{}` where the
    parameter goes (`"program = ANY({})"`).
    """
    where: list[str] = []
    args: list[Any] = []
    for condition, value in filters:
        if value is None:
            continue
        args.append(value)
        template = condition if "{}" in condition else f"{condition} = {{}}"
        where.append(template.format(f"${len(args)}"))
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    async with pool.acquire() as conn:
        total = await conn.fetchval(f"SELECT count(*) FROM {table}{clause}", *args)
        rows = await conn.fetch(
            f"{select}{clause} ORDER BY {order_by} LIMIT {int(limit)} OFFSET {int(offset)}",
            *args,
        )
    return {"total": total, "items": [dict(r) for r in rows]}


async def read_row(pool: asyncpg.Pool, select: str, key: str) -> dict[str, Any] | None:
    """The row of `select` (a `SELECT … FROM table` with an `id` column) whose id is `key`."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(f"{select} WHERE id = $1", key)
    return dict(row) if row else None
