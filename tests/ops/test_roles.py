"""Least privilege in PostgreSQL (issue 12, deliverable 7 and the sweep's "trust" finding).

One embedded PostgreSQL of the module's own (the real `guatu.runtime.stack.EmbeddedPostgres`, free
port): it asks for a password on TCP, its credentials are in the data directory (mode 0600),
the migrations run as the owner role with those credentials, and each of Guatu's roles can do
only what it needs: the API and the worker cannot change a table, the reader cannot write,
only the API sees the tokens. docs/sql/roles.sql (the SQL for a DATABASE_URL setup) is the same
SQL, and works through psql.
"""

from __future__ import annotations

import stat
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from activities.read_model import upsert_reference
from config.settings import Settings
from guatu.core import db, roles
from guatu.core.tokens import create_token, verify_token
from guatu.lifecycle import queries
from guatu.lifecycle.programme import load_bureaus, load_programs
from guatu.runtime.dsns import role_dsns
from guatu.runtime.stack import CREDENTIALS_FILE, EmbeddedPostgres
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    pg = EmbeddedPostgres(tmp_path_factory.mktemp("roles"), port=free_port())
    pg.start()
    try:
        yield pg
    finally:
        pg.stop(mode="immediate")


@pytest_asyncio.fixture(scope="module")
async def dsns(embedded: EmbeddedPostgres) -> db.RoleDsns:
    """What `guatu up` does: migrate as the owner with the generated credentials."""
    found = role_dsns(Settings(data_dir=embedded.data_dir, postgres_port=embedded.port))
    owner = await db.create_pool(found.owner, 1, 1)
    try:
        await db.migrate(owner)
        # Every table is the owner's: a later migration (as the owner) may alter it.
        others = await owner.fetch(
            "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'"
            " AND tableowner <> $1",
            roles.OWNER,
        )
        assert others == []
    finally:
        await owner.close()
    return found


@pytest_asyncio.fixture
async def connect(dsns: db.RoleDsns) -> AsyncIterator[object]:
    opened: list[asyncpg.Connection] = []

    async def open_as(dsn: str) -> asyncpg.Connection:
        conn = await asyncpg.connect(dsn)
        opened.append(conn)
        return conn

    yield open_as
    for conn in opened:
        await conn.close()


async def test_embedded_server_refuses_a_passwordless_tcp_connection(
    embedded: EmbeddedPostgres,
) -> None:
    passwordless = f"postgresql://postgres@{embedded.host}:{embedded.port}/postgres"
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(passwordless)
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(
            f"postgresql://postgres:wrong@{embedded.host}:{embedded.port}/postgres"
        )
    conn = await asyncpg.connect(embedded.dsn)  # the generated password
    try:
        method = await conn.fetchval(
            "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'postgres'"
        )
        assert method is True
    finally:
        await conn.close()
    credentials = embedded.data_dir / CREDENTIALS_FILE
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600


async def test_a_data_directory_from_before_passwords_asks_for_them(tmp_path: Path) -> None:
    """A data directory made when the server trusted every local connection (pg_hba `trust`)
    asks for a password after the next start."""
    pg = EmbeddedPostgres(tmp_path, port=free_port())
    pg.start()
    pg.stop()
    (pg.pgdata / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    pg.start()
    try:
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(f"postgresql://postgres@{pg.host}:{pg.port}/postgres")
    finally:
        pg.stop(mode="immediate")


async def test_the_api_role_cannot_change_tables(dsns: db.RoleDsns, connect) -> None:  # type: ignore[no-untyped-def]
    api = await connect(dsns.api)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await api.execute("CREATE TABLE sneaky (a int)")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await api.execute("ALTER TABLE projects ADD COLUMN sneaky int")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await api.execute("DROP TABLE audit_log")
    # …nor write the read model, which is the worker's
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await api.execute("DELETE FROM projects")
    # and it still does its own work: tokens.
    pool = await db.create_pool(dsns.api, 1, 2)
    try:
        raw = await create_token(pool, "leader", label="roles test")
        principal = await verify_token(pool, raw)
        assert principal is not None and principal.role.value == "leader"
    finally:
        await pool.close()


async def test_the_worker_role_writes_rows_but_not_tables_nor_tokens(
    dsns: db.RoleDsns, connect
) -> None:  # type: ignore[no-untyped-def]
    pool = await db.create_pool(dsns.worker, 1, 2)
    try:
        await upsert_reference(pool, load_bureaus(), load_programs())
        assert await pool.fetchval("SELECT count(*) FROM bureaus") == len(load_bureaus())
    finally:
        await pool.close()
    worker = await connect(dsns.worker)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await worker.execute("ALTER TABLE projects ADD COLUMN sneaky int")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await worker.fetch("SELECT token_hash FROM api_tokens")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await worker.execute("DELETE FROM schema_migrations")


async def test_the_read_only_role_reads_and_cannot_write(dsns: db.RoleDsns, connect) -> None:  # type: ignore[no-untyped-def]
    pool = await db.create_pool(dsns.reader, 1, 2)
    try:
        overview = await queries.programme_overview(pool, None)  # the dashboard's read
        assert overview is not None
    finally:
        await pool.close()
    reader = await connect(dsns.reader)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await reader.execute(
            "INSERT INTO audit_log (key, at, actor, bureau, action, accepted) VALUES"
            " ('k', now(), 'x', 'swj', 'y', true)"
        )  # a valid row: only the privilege fails
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await reader.execute("UPDATE notifications SET acknowledged_at = now()")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await reader.fetch("SELECT token_hash FROM api_tokens")


async def test_channels_api_writes_worker_reads_and_records_reader_sees_no_secrets(
    dsns: db.RoleDsns, connect
) -> None:  # type: ignore[no-untyped-def]
    """Notice channels (guatu/channels): administrators (the API's role) set them; the worker
    reads them and writes each notice's delivery status; the dashboard's role sees neither the
    sealed secrets nor a way to change where notices go."""
    worker = await connect(dsns.worker)
    await worker.execute(
        "INSERT INTO bureaus (code, name_zh, name_en) VALUES"
        " ('roles_ch', '测试局', 'test') ON CONFLICT DO NOTHING"
    )
    await worker.execute(
        "INSERT INTO notifications (key, bureau, kind, title_zh, body_zh, created_at)"
        " VALUES ('roles:n1', 'roles_ch', 'test', 't', 'b', now()) ON CONFLICT DO NOTHING"
    )
    api = await connect(dsns.api)
    await api.execute(
        "INSERT INTO bureau_channels (bureau, channel, settings, secrets)"
        " VALUES ('roles_ch', 'wecom', '{}', '{\"key\": \"enc:k1:x\"}')"
    )
    await api.execute("UPDATE bureau_channels SET updated_by = 'admin' WHERE bureau = 'roles_ch'")
    assert (
        await worker.fetchval(
            "SELECT secrets->>'key' FROM bureau_channels WHERE bureau = 'roles_ch'"
        )
        == "enc:k1:x"
    )
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await worker.execute("UPDATE bureau_channels SET settings = '{}'")
    await worker.execute(
        "INSERT INTO notice_deliveries (notice_key, channel, status)"
        " VALUES ('roles:n1', 'wecom', 'delivered')"
    )
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await api.execute("UPDATE notice_deliveries SET status = 'pending'")
    reader = await connect(dsns.reader)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await reader.fetch("SELECT secrets FROM bureau_channels")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await reader.execute("DELETE FROM notice_deliveries")
    await api.execute("DELETE FROM bureau_channels WHERE bureau = 'roles_ch'")


def test_docs_sql_is_the_roles_sql() -> None:
    assert (ROOT / "docs/sql/roles.sql").read_text() == roles.roles_sql() + "\n"


async def test_docs_sql_sets_up_a_database_url_setup(
    embedded: EmbeddedPostgres, dsns: db.RoleDsns
) -> None:
    """What an operator runs (psql, superuser) on a database migrated before the roles: the
    tables pass to the owner, and the API's role is then refused DDL there too."""
    admin = await asyncpg.connect(embedded.dsn)
    try:
        await admin.execute("CREATE DATABASE guatu_prod")
    finally:
        await admin.close()
    superuser_db = embedded.role_dsn("postgres", "guatu_prod")
    pool = await db.create_pool(superuser_db, 1, 1)
    try:
        await db.migrate(pool)  # as a single all-powerful role did before
    finally:
        await pool.close()
    passwords = embedded.credentials  # the same passwords: the module's other tests keep them
    subprocess.run(
        [
            str(embedded.bin / "psql"),
            "-X",
            "-q",
            superuser_db,
            "-f",
            str(ROOT / "docs/sql/roles.sql"),
            *[arg for role in roles.ROLES for arg in ("-v", f"{role}_password={passwords[role]}")],
        ],
        check=True,
        capture_output=True,
        text=True,
        user=embedded.user,
    )
    owner = await asyncpg.connect(embedded.role_dsn(roles.OWNER, "guatu_prod"))
    try:
        assert (
            await owner.fetchval(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner <> $1",
                roles.OWNER,
            )
            == 0
        )
        await owner.execute("SELECT version FROM schema_migrations")
        await db.apply_grants(owner)  # what the next migration run does
    finally:
        await owner.close()
    api = await asyncpg.connect(embedded.role_dsn(roles.API, "guatu_prod"))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await api.execute("ALTER TABLE projects ADD COLUMN sneaky int")
        assert await api.fetchval("SELECT count(*) FROM projects") == 0
    finally:
        await api.close()
