"""A bounded ladder's writes in PostgreSQL, and the state it restarts from (guatu.ladder.store):
the changes of each write merged into its standing, a retried write changing nothing, and the
state put back together equal to the one the ladder held."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from activities.ladder import LadderActivities
from guatu.ladder.book import LadderBook
from guatu.ladder.models import CorrectionPlanInput, LadderChanges, LadderState, RecordPeriodInput
from guatu.ladder.rules import standing_of
from guatu.ladder.store import stored_state
from guatu.ranking.actions import OrderStatus
from guatu.ranking.messages import BureauOutcome
from guatu.ranking.models import LadderRules, ListKind, RedProject

START = datetime(2031, 1, 1, 1, 0, tzinfo=UTC)


def outcome(bureau: str, period: str, red: bool) -> BureauOutcome:
    return BureauOutcome(
        bureau=bureau,
        name_zh="测试局",
        period=period,
        kind="month",
        ruleset_id="default",
        ruleset_version=1,
        rank=8,
        of=8,
        score=20.0,
        listed=ListKind.BLACK,
        target_met=False,
        investment_ratio=0.5,
        red_projects=[RedProject(code="P-1", name_zh="一号项目", streak=2, red_months=[])]
        if red
        else [],
    )


async def test_changes_merge_into_the_standing_and_the_state_comes_back(
    pool: asyncpg.Pool,
) -> None:
    bureau = f"t_store_{datetime.now(UTC).strftime('%H%M%S%f')}"
    now = [START]
    book = LadderBook(LadderState(bureau=bureau, name_zh="测试局"), lambda: now[0])
    book.bound()
    book.start()
    persist = LadderActivities(pool).persist_changes
    writes: list[LadderChanges] = []

    async def write() -> None:
        batch = book.take_batch()
        assert isinstance(batch, LadderChanges)
        writes.append(batch)
        await persist(batch)

    for m, period in enumerate(("2031-01", "2031-02", "2031-03", "2031-04")):
        now[0] = START + timedelta(days=31 * m)
        book.escalate_overdue()
        book.record(
            RecordPeriodInput(outcome=outcome(bureau, period, red=m == 3), ladder=LadderRules())
        )
        await write()
    order_id = f"{bureau}:default:2031-03:supervision"
    assert book.s.orders[order_id].status is OrderStatus.ESCALATED
    book.submit_plan(
        CorrectionPlanInput(
            order_id=order_id, plan="成立专班，逐项销号整改到位。", idempotency_key="k1"
        )
    )
    await write()
    await persist(writes[-1])  # a retried write changes nothing

    async with pool.acquire() as conn:
        restored = await stored_state(conn, bureau)
        plan = await conn.fetchval("SELECT plan FROM ladder_orders WHERE id = $1", order_id)
        inputs = await conn.fetchval("SELECT count(*) FROM ladder_inputs WHERE bureau = $1", bureau)
        standing = await conn.fetchval(
            "SELECT state->'orders' FROM ladder_standing WHERE bureau = $1", bureau
        )
    assert restored is not None and restored.bounded
    assert plan == "成立专班，逐项销号整改到位。" and inputs == 4
    # The standing holds the unfinished orders only: the closed 督办 is in ladder_orders.
    assert order_id not in standing
    assert restored.seen == book.s.seen
    assert restored.tracks == book.s.tracks and restored.last_records == book.s.last_records
    assert (restored.version, restored.decisions) == (book.s.version, book.s.decisions)
    # Every order comes back; a finished one without its plan text (PostgreSQL keeps it).
    assert set(restored.orders) == set(book.s.orders)
    assert restored.orders[order_id].plan == ""
    assert restored.orders[order_id].status is OrderStatus.CLOSED
    assert standing_of(restored) == standing_of(book.s)
