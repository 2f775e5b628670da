"""PostgreSQL access: the pool, versioned migrations (guatu/core/migrations/NNN_name.sql), the
grants of Guatu's roles after them (guatu/core/roles.py) and which role connects for what
(`RoleDsns`; the DSNs come from the settings or the embedded server: guatu/runtime/stack.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from guatu.core import roles

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any fixed number: serialises concurrent migrators (two workers starting at once).
_MIGRATION_LOCK = 7_233_000_001


async def _init_connection(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(dsn: str, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection, command_timeout=30
    )
    assert pool is not None
    return pool


async def migrate(pool: asyncpg.Pool) -> list[str]:
    """Apply the migrations not yet applied, each in its own transaction. Returns their names."""
    applied: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version int PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
            for path in sorted(MIGRATIONS.glob("*.sql")):
                version = int(path.name.split("_", 1)[0])
                if version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(path.read_text(encoding="utf-8"))
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                        version,
                        path.stem,
                    )
                applied.append(path.stem)
            await apply_grants(conn)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
    return applied


async def apply_grants(conn: asyncpg.Connection) -> list[str]:
    """Grant Guatu's roles what they may do on the tables there are now (idempotent; run after
    every migration by the tables' owner). Roles that do not exist are skipped: a database
    without them (DATABASE_URL with a single role, the tests) works as before."""
    present = {
        r["rolname"]
        for r in await conn.fetch(
            "SELECT rolname FROM pg_roles WHERE rolname = ANY($1::text[])", list(roles.GRANTS)
        )
    }
    granted = [role for role in roles.GRANTS if role in present]
    if granted:
        async with conn.transaction():
            for role in granted:
                for statement in roles.GRANTS[role]:
                    await conn.execute(statement)
    return granted


@dataclass(frozen=True)
class RoleDsns:
    """Who connects as whom: migrations as the owner; the API and CLI, the worker, and the
    leaders' reads each as their own role."""

    owner: str
    api: str
    worker: str
    reader: str
