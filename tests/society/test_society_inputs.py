"""What a period freezes of 市民观察 and 第三方评估 (read from PostgreSQL), by hand.

October 2026 closes at 2026-11-01 00:00 Asia/Shanghai (2026-10-31 16:00 UTC)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import asyncpg

from guatu.core.clock import CST
from guatu.ranking.periods import parse_period
from guatu.ranking.society_inputs import read_society_inputs


async def _observation(conn: asyncpg.Connection, target: str, **kw: object) -> None:
    row: dict[str, object] = {
        "id": f"{target}-{uuid.uuid4().hex[:8]}",
        "workflow_id": "w",
        "target_kind": "project",
        "target": target,
        "bureau": "b",
        "observer": "o",
        "category": "progress",
        "rating": 3,
        "text": "t",
        "wants_reply": True,
        "status": "closed",
        "filed_at": datetime(2026, 10, 1, 9, tzinfo=CST),
        "version": 1,
        **kw,
    }
    cols = ", ".join(row)
    marks = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    await conn.execute(f"INSERT INTO observations ({cols}) VALUES ({marks})", *row.values())


async def _evaluation(conn: asyncpg.Connection, eid: str, **kw: object) -> None:
    row: dict[str, object] = {
        "id": eid,
        "subject": "project",
        "project": "",
        "program": "PX",
        "bureau": "b",
        "year": 2026,
        "version": 1,
        "indicators": [],
        "score": 50.0,
        "conclusion": "c",
        "evaluator": "e",
        "filing_key": uuid.uuid4().hex,
        "submitted_at": datetime(2026, 10, 5, tzinfo=CST),
        **kw,
    }
    cols = ", ".join(row)
    marks = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    await conn.execute(f"INSERT INTO evaluations ({cols}) VALUES ({marks})", *row.values())


async def test_frozen_society_inputs(fresh_pool: asyncpg.Pool) -> None:
    a, b, c = "A-1", "B-1", "C-1"
    async with fresh_pool.acquire() as conn:
        # Ratings by the local month given: 10-31 23:30 Wenjiang is October; 11-01 00:10 is not.
        await _observation(
            conn, a, satisfaction="satisfied", rated_at=datetime(2026, 10, 31, 23, 30, tzinfo=CST)
        )
        await _observation(
            conn, a, satisfaction="unsatisfied", rated_at=datetime(2026, 9, 30, 10, tzinfo=CST)
        )
        await _observation(
            conn, a, satisfaction="satisfied", rated_at=datetime(2026, 11, 1, 0, 10, tzinfo=CST)
        )
        # Replies due: by the month of the deadline; on time only if answered before the close.
        await _observation(
            conn,
            b,
            reply_due=date(2026, 10, 12),
            reply_on_time=True,
            replied_at=datetime(2026, 10, 10, 15, tzinfo=CST),
        )
        await _observation(
            conn,
            b,
            reply_due=date(2026, 10, 20),
            reply_on_time=False,
            replied_at=datetime(2026, 10, 22, tzinfo=CST),
        )
        await _observation(conn, b, reply_due=date(2026, 10, 30))  # unanswered
        await _observation(conn, b, reply_due=date(2026, 11, 3))  # due after the close
        await _observation(conn, b, wants_reply=False, reply_due=None)
        # Evaluations: A's v2 corrects v1; a 2027 one is not of this period; C has only its
        # program's evaluation of 2026; one submitted after the close does not count.
        await _evaluation(conn, "project-A-1-2026-v1", project=a, score=70)
        await _evaluation(
            conn,
            "project-A-1-2026-v2",
            project=a,
            version=2,
            score=64,
            supersedes="project-A-1-2026-v1",
        )
        await _evaluation(
            conn,
            "project-A-1-2027-v1",
            project=a,
            year=2027,
            score=99,
            submitted_at=datetime(2026, 10, 6, tzinfo=CST),
        )
        await _evaluation(conn, "program-PX-2026-v1", subject="program", score=81)
        await _evaluation(
            conn,
            "program-PX-2026-v2",
            subject="program",
            version=2,
            score=20,
            supersedes="program-PX-2026-v1",
            submitted_at=datetime(2026, 11, 1, 0, 0, tzinfo=CST),
        )
        got = await read_society_inputs(
            conn, parse_period("2026-10"), [(a, "PX"), (b, "PY"), (c, "PX")]
        )
    assert got[a].satisfied == {"2026-10": 1} and got[a].unsatisfied == {"2026-09": 1}
    assert got[a].evaluation is not None
    assert (got[a].evaluation.id, got[a].evaluation.score) == ("project-A-1-2026-v2", 64.0)
    assert got[b].replies_due == {"2026-10": 3}
    assert got[b].replies_on_time == {"2026-10": 1}
    assert got[b].evaluation is None  # program PY has none
    assert got[c].evaluation is not None
    assert (got[c].evaluation.id, got[c].evaluation.subject) == ("program-PX-2026-v1", "program")
