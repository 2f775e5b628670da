"""市民观察 rows for the public page, on tests/scenes/fixture.py's projects and scenes, with the
internal data (observer, text, photos, replies, comments) that must never go public.

Rows as the observations' workflows would have written them; `today` is the figures' `as_of`
(dates are relative to it, so every reply deadline is on the same side of it whatever the day).

| # | target | bureau | rating | reply due | replied | rated | escalated |
|---|---|---|---:|---|---|---|---|
| 1 | PUB-1 | xzspj | 5 | today−10 | on time | 满意 | |
| 2 | PUB-1 | xzspj | 4 | today−10 | on time | 满意 | |
| 3 | PUB-2 | xzspj | 2 | today−10 | late | 不满意 | yes |
| 4 | PUB-3 | mzj | 1 | today−5 | no (overdue) | | yes |
| 5 | PUB-4 | mzj | 4 | today+3 | no (not due yet) | | |
| 6 | S-ELDER (scene) | mzj | 5 | no answer asked | | | |

By hand (see guatu/society/figures.py for the definitions):
- 区行政审批局 xzspj: 3 observations, (5+4+2)/3 = 3.67; due 3, on time 2 → 0.6667;
  rated 3, 满意 2 → 0.6667; escalated 1.
- 区民政局 mzj: 3 observations, (1+4+5)/3 = 3.33; due 1 (row 5 not due yet), on time 0 → 0.0;
  rated 0 → None; escalated 1.
- S-JQJA (PUB-1, PUB-2, PUB-3): 4 observations, 12/4 = 3.0; due 4, on time 2 → 0.5;
  rated 3, 满意 2 → 0.6667; escalated 2.
- S-ELDER (PUB-4 and its own): 2 observations, 9/2 = 4.5; due 0 → None; rated 0 → None.
- 全区: 6 observations, 21/6 = 3.5; due 4, on time 2 → 0.5; rated 3, 满意 2 → 0.6667;
  escalated 2.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import asyncpg

OBSERVER = "observer-secret-7731"
SECRETS = [
    OBSERVER,
    "市民原话 OBSERVER-TEXT-7731",
    "REPLY-TEXT-7731",
    "RATING-COMMENT-7731",
    "ESCALATION-REASON-7731",
    "photo-7731.jpg",
    "replier-secret-7731",
]

# target kind, target, target name, bureau, rating, reply due (days from today, None: no reply
# asked), replied on time (None: not replied), satisfaction, escalated
ROWS: list[tuple[str, str, str, str, int, int | None, bool | None, str | None, bool]] = [
    ("project", "PUB-1", "江安河沿线24小时自助服务终端布设", "xzspj", 5, -10, True, "satisfied", False),
    ("project", "PUB-1", "江安河沿线24小时自助服务终端布设", "xzspj", 4, -10, True, "satisfied", False),
    ("project", "PUB-2", "九曲江安·十里光华就近办示范场景", "xzspj", 2, -10, False, "unsatisfied", True),
    ("project", "PUB-3", "红桥社区养老服务综合体", "mzj", 1, -5, None, None, True),
    ("project", "PUB-4", "江浦路社区儿童友好场景", "mzj", 4, 3, None, None, False),
    ("scene", "S-ELDER", "社区养老服务示范场景", "mzj", 5, None, None, None, False),
]  # fmt: skip


def _at(day: date) -> datetime:
    return datetime.combine(day, time(2, 0), tzinfo=UTC)  # 10:00 in Wenjiang


async def seed_observations(pool: asyncpg.Pool, today: date) -> None:
    async with pool.acquire() as conn:
        names = dict(await conn.fetch("SELECT code, name_zh FROM bureaus"))
        for n, (kind, target, name, bureau, rating, due, on_time, rated, escalated) in enumerate(
            ROWS, 1
        ):
            filed = today - timedelta(days=20)
            reply_due = None if due is None else today + timedelta(days=due)
            replied_at = None
            if on_time is not None and reply_due is not None:
                replied_at = _at(reply_due if on_time else reply_due + timedelta(days=2))
            status = (
                "escalated"
                if escalated
                else "recorded"
                if due is None
                else "closed"
                if rated
                else "open"
            )
            await conn.execute(
                "INSERT INTO observations (id, workflow_id, target_kind, target, target_name,"
                " bureau, bureau_name, program, observer, category, rating, text, wants_reply,"
                " photos, status, filed_at, reply_due, reply, replied_by, replied_at,"
                " reply_on_time, satisfaction, rating_comment, rated_at, escalated_at,"
                " escalation_reason, version) VALUES ($1, $2, $3, $4, $5, $6, $7, '', $8,"
                " 'progress', $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,"
                " $22, $23, $24, 1)",
                f"{target}-{filed:%Y%m%d}-{OBSERVER}-{n}",
                f"observation-{target}-{n}",
                kind,
                target,
                name,
                bureau,
                names[bureau],
                OBSERVER,
                rating,
                SECRETS[1],
                due is not None,
                [{"name": SECRETS[5], "sha256": "0" * 64}],
                status,
                _at(filed),
                reply_due,
                SECRETS[2] if replied_at else "",
                SECRETS[6] if replied_at else "",
                replied_at,
                on_time,
                rated,
                SECRETS[3] if rated else "",
                replied_at + timedelta(days=1) if rated and replied_at else None,
                _at(today - timedelta(days=1)) if escalated else None,
                SECRETS[4] if escalated else "",
            )
