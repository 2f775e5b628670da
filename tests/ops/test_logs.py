"""Logs for people and machines (issue 12, deliverable 6).

Both renderers on a real stream (a terminal-like one and a file-like one), the format choice
(`GUATU_LOG_FORMAT`, the older `GUATU_LOG_JSON`), and the context every line carries: bound
contextvars (what the API binds), a `workflow.logger` record's workflow and the project its id
names, a line logged inside a real activity (its workflow id), and the API request path.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import structlog
import temporalio.workflow
from temporalio import activity, workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from config.settings import Settings
from guatu.api.app import create_app
from guatu.api.deps import AnyRole, ProjectCodePath
from guatu.core import logs
from guatu.core.tokens import create_token


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.contextvars.clear_contextvars()


def _json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_format_choice() -> None:
    assert logs.resolve_format("auto", None, Terminal()) == "console"
    assert logs.resolve_format("auto", None, io.StringIO()) == "json"
    assert logs.resolve_format("json", None, Terminal()) == "json"
    assert logs.resolve_format("console", None, io.StringIO()) == "console"
    # GUATU_LOG_JSON (compatibility) decides only when the format is left at auto
    assert logs.resolve_format("auto", True, Terminal()) == "json"
    assert logs.resolve_format("auto", False, io.StringIO()) == "console"
    assert logs.resolve_format("console", True, io.StringIO()) == "console"
    with pytest.raises(ValueError):
        logs.resolve_format("xml")


def test_settings_reach_the_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUATU_LOG_FORMAT", "console")
    assert logs.configure_from(Settings(), stream=io.StringIO()) == "console"
    monkeypatch.delenv("GUATU_LOG_FORMAT")
    monkeypatch.setenv("GUATU_LOG_JSON", "false")
    assert logs.configure_from(Settings(), stream=Terminal()) == "console"
    monkeypatch.setenv("GUATU_LOG_JSON", "true")
    assert logs.configure_from(Settings(), stream=Terminal()) == "json"


def test_console_lines_are_coloured_on_a_terminal_and_json_elsewhere() -> None:
    terminal = Terminal()
    assert logs.configure("INFO", stream=terminal) == "console"
    structlog.contextvars.bind_contextvars(bureau="swj")
    structlog.get_logger("guatu.test").info("report accepted", project="WJ2021-P01-001")
    line = terminal.getvalue()
    assert "report accepted" in line and "\x1b[" in line  # ANSI colour codes
    assert "WJ2021-P01-001" in line and "swj" in line
    assert not line.lstrip().startswith("{")

    plain = io.StringIO()
    assert logs.configure("INFO", stream=plain) == "json"
    structlog.get_logger("guatu.test").info("report accepted", project="WJ2021-P01-001")
    logging.getLogger("temporalio.test").warning("stdlib record")
    first, second = _json_lines(plain)
    assert first["event"] == "report accepted" and first["level"] == "info"
    assert first["project"] == "WJ2021-P01-001" and first["bureau"] == "swj"  # contextvars
    assert second["event"] == "stdlib record" and second["bureau"] == "swj"
    assert "\x1b[" not in plain.getvalue()


def test_a_workflow_logger_record_carries_its_workflow_and_project() -> None:
    stream = io.StringIO()
    logs.configure("INFO", stream=stream)
    # What the SDK's workflow.logger attaches to a record (temporalio.workflow.LoggerAdapter).
    logging.getLogger("temporalio.workflow").info(
        "milestone missed",
        extra={
            "temporal_workflow": {
                "workflow_id": "project-WJ2021-P06-003",
                "run_id": "r1",
                "workflow_type": "ProjectLifecycle",
                "namespace": "default",
            }
        },
    )
    logging.getLogger("temporalio.workflow").info(
        "ladder step",
        extra={
            "temporal_workflow": {
                "workflow_id": "ladder-sthjj",
                "run_id": "r2",
                "workflow_type": "BureauLadder",
            }
        },
    )
    lifecycle, ladder = _json_lines(stream)
    assert lifecycle["workflow_id"] == "project-WJ2021-P06-003"
    assert lifecycle["run_id"] == "r1" and lifecycle["workflow_type"] == "ProjectLifecycle"
    assert lifecycle["project"] == "WJ2021-P06-003"
    assert "temporal_workflow" not in lifecycle
    assert ladder["bureau"] == "sthjj" and ladder["workflow_id"] == "ladder-sthjj"


@activity.defn(name="log_something")
async def log_something(note: str) -> str:
    structlog.get_logger("guatu.test").info("inside an activity", note=note)
    return note


@workflow.defn(name="LogsProbe", sandboxed=False)
class LogsProbe:
    @workflow.run
    async def run(self, note: str) -> str:
        temporalio.workflow.logger.info("workflow says hello")
        return await workflow.execute_activity(
            log_something, note, start_to_close_timeout=timedelta(seconds=10)
        )


async def test_lines_from_a_real_workflow_and_activity_carry_the_workflow(
    ts_env: WorkflowEnvironment,
) -> None:
    stream = io.StringIO()
    logs.configure("INFO", stream=stream)
    queue = f"logs-{uuid.uuid4().hex[:8]}"
    workflow_id = "project-LOG-PROBE-1"
    async with Worker(
        ts_env.client, task_queue=queue, workflows=[LogsProbe], activities=[log_something]
    ):
        await ts_env.client.execute_workflow(
            LogsProbe.run, "n1", id=f"{workflow_id}-{queue}", task_queue=queue
        )
    lines = _json_lines(stream)
    from_workflow = [x for x in lines if x["event"] == "workflow says hello"]
    from_activity = [x for x in lines if x["event"] == "inside an activity"]
    assert from_workflow and from_activity, lines
    assert from_workflow[0]["workflow_id"] == f"{workflow_id}-{queue}"
    assert from_workflow[0]["project"] == f"LOG-PROBE-1-{queue}"
    assert from_activity[0]["workflow_id"] == f"{workflow_id}-{queue}"
    assert from_activity[0]["activity_type"] == "log_something"
    assert from_activity[0]["project"] == f"LOG-PROBE-1-{queue}"


async def test_api_request_lines_carry_the_caller_and_the_project(
    pool: Any, ts_env: WorkflowEnvironment, settings: Settings
) -> None:
    stream = io.StringIO()
    logs.configure("INFO", stream=stream)
    app = create_app(ts_env.client, pool, settings)

    @app.get("/test-log/{code}")
    async def probe(code: str) -> dict[str, str]:  # a route logs as any route does
        structlog.get_logger("guatu.api").info("probe")
        return {"code": code}

    @app.get("/test-log2/{code}")
    async def probe2(principal: AnyRole, code: ProjectCodePath) -> dict[str, str]:
        structlog.get_logger("guatu.api").info("probe2")
        return {"code": code}

    token = await create_token(pool, "bureau", "swj", label="logs test")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        # uvicorn serves each request in a task of its own; so do these.
        answer = await asyncio.create_task(
            http.get("/test-log2/WJ2021-P01-001", headers={"Authorization": f"Bearer {token}"})
        )
        assert answer.status_code == 200, answer.text
        other = await asyncio.create_task(http.get("/test-log/X"))  # none of the first's context
        assert other.status_code == 200
    lines = {x["event"]: x for x in _json_lines(stream) if x["event"] in ("probe", "probe2")}
    assert lines["probe2"]["project"] == "WJ2021-P01-001"
    assert lines["probe2"]["bureau"] == "swj" and lines["probe2"]["role"] == "bureau"
    assert "project" not in lines["probe"] and "bureau" not in lines["probe"]
