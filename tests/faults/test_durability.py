"""The embedded PostgreSQL runs with its durability settings on.

An acknowledged commit of the outbox or the audit log must survive a crash of the machine:
`fsync` (WAL reaches the disk), `synchronous_commit` (a commit is acknowledged only after its
WAL is flushed; `off` may lose the last ~0.6 s of acknowledged commits) and `full_page_writes`
(no torn pages after a crash) must all be `on`. `guatu.runtime.stack.EmbeddedPostgres` sets them on its
command line, so no edit of postgresql.conf can weaken them.
"""

from __future__ import annotations

import os

import asyncpg

SETTINGS = ("fsync", "synchronous_commit", "full_page_writes")


async def test_embedded_postgres_durability_settings(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        shown = {name: await conn.fetchval(f"SHOW {name}") for name in SETTINGS}
        sources = {
            r["name"]: r["source"]
            for r in await conn.fetch(
                "SELECT name, source FROM pg_settings WHERE name = ANY($1::text[])", list(SETTINGS)
            )
        }
    print(f"\n{shown} set from {sources}")
    assert shown == {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
    if not os.environ.get("DATABASE_URL"):  # the session's server is the embedded one
        assert set(sources.values()) == {"command line"}
