"""Schemathesis over the API's OpenAPI document: no request it generates gets a server error.

The API (`guatu.api.app.create_app`) runs in uvicorn on a free port, wired to the session's dev
server, a database of its own on the session's PostgreSQL server and a worker, so generated
requests reach real workflows (and see no project of another test, whose worker is gone). Schemathesis (the
CLI, in a child process) generates valid and invalid requests for every operation from the
schema, once per role (a bureau, a manager, a leader, an admin token), with the
`not_a_server_error` check: any 5xx fails the test. Temporal and PostgreSQL are up, so even 503
would be a server error here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import asyncpg
import httpx
import uvicorn
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.api.app import create_app
from guatu.api.deps import ApiOptions
from guatu.core.tokens import create_token
from tests.faults.support import free_port
from tests.helpers import add_bureau, running_worker

SEED = int(os.environ.get("GUATU_FAULT_SEED", "20260805"))
EXAMPLES = 4  # per operation and role, after the schema's boundary (coverage) cases
OPTIONS = ApiOptions(
    rate_per_second=100_000,
    rate_burst=1_000_000,
    failed_auth_burst=1_000_000,
    failed_auth_per_second=100_000,
    temporal_timeout_seconds=10,
    update_timeout_seconds=15,
    import_concurrency=4,
)


# Each role is fuzzed on the operations it may call (the others answer 401/403 before any logic).
ROLE_TAGS = {
    "bureau": [
        "bureau",
        "projects",
        "reference",
        "ladder",
        "health",
        "appeals",
        "observations",
        "opportunities",
    ],
    "manager": ["manager", "ladder", "evaluations", "opportunities"],
    "leader": [
        "leader",
        "dashboard",
        "projects",
        "appeals",
        "scenes",
        "public",
        "observations",
        "evaluations",
        "opportunities",
    ],
    "admin": ["admin", "codec", "scenes"],
    "observer": ["observations"],
    "evaluator": ["evaluations"],
}


async def _schemathesis(url: str, token: str, tags: list[str], report: Path) -> tuple[int, str]:
    schemathesis = Path(sys.executable).parent / "schemathesis"
    include = [arg for tag in tags for arg in ("--include-tag", tag)]
    proc = await asyncio.create_subprocess_exec(
        str(schemathesis),
        "run",
        url,
        *include,
        "--checks",
        "not_a_server_error",
        "--header",
        f"Authorization: Bearer {token}",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--phases",
        "examples,coverage,fuzzing",
        "--request-timeout",
        "30",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
        "--no-color",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"},
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace")


def _junit(report: Path) -> tuple[set[str], list[str]]:
    """(operations tested, names of those with a server error) from the JUnit report."""
    cases = ET.parse(report).getroot().findall(".//testcase")
    failing = [
        c.get("name", "?")
        for c in cases
        if c.find("failure") is not None or c.find("error") is not None
    ]
    return {c.get("name", "?") for c in cases}, failing


async def test_schemathesis_finds_no_server_error(
    dev_env: WorkflowEnvironment, fresh_pool: asyncpg.Pool, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    client, pool = dev_env.client, fresh_pool
    results: dict[str, tuple[set[str], list[str]]] = {}
    outputs: dict[str, str] = {}
    began = time.monotonic()
    settings = Settings(graceful_shutdown_seconds=2, max_cached_workflows=1000)
    bureau = await add_bureau(pool, None)
    tokens = {
        "bureau": await create_token(pool, "bureau", bureau=bureau, label="schemathesis"),
        "manager": await create_token(pool, "manager", label="schemathesis"),
        "leader": await create_token(pool, "leader", label="schemathesis"),
        "admin": await create_token(pool, "admin", label="schemathesis"),
        "observer": await create_token(pool, "observer", label="schemathesis"),
        "evaluator": await create_token(pool, "evaluator", label="schemathesis", programs=["P01"]),
    }
    async with running_worker(client, pool, http, settings) as task_queue:
        app = create_app(client, pool, settings, task_queue=task_queue, options=OPTIONS)
        schema_operations = sum(len(ops) for ops in app.openapi()["paths"].values())
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        )
        serving = asyncio.create_task(server.serve())
        try:
            while not server.started:
                assert not serving.done(), "uvicorn did not start"
                await asyncio.sleep(0.05)
            url = f"http://127.0.0.1:{port}/openapi.json"
            for role, token in tokens.items():
                report = tmp_path / f"{role}.xml"
                code, outputs[role] = await _schemathesis(url, token, ROLE_TAGS[role], report)
                assert report.exists(), outputs[role][-3000:]
                results[role] = _junit(report)
                assert code in (0, 1), outputs[role][-3000:]
        finally:
            server.should_exit = True
            await asyncio.wait_for(serving, timeout=15)
            # Projects the fuzzer started must not outlive their worker.
            query = f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'"
            async for execution in client.list_workflows(query):
                with contextlib.suppress(Exception):
                    await client.get_workflow_handle(execution.id).terminate()
    elapsed = time.monotonic() - began

    tested = set().union(*(ops for ops, _ in results.values()))
    print(
        f"\nschemathesis, {EXAMPLES} examples per operation, seed {SEED}, {elapsed:.0f}s: "
        + "; ".join(
            f"{role}: {len(ops)} operations, {len(bad)} with a server error"
            for role, (ops, bad) in results.items()
        )
        + f"; operations covered {len(tested)}/{schema_operations}"
    )
    assert len(tested) == schema_operations, sorted(tested)
    for role, (_ops, bad) in results.items():
        assert bad == [], f"{role}: {bad}\n{outputs[role][-6000:]}"
