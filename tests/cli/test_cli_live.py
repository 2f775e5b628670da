"""The `guatu` CLI against the real dev server and PostgreSQL, as a manager and a bureau use it.

The CLI runs `asyncio.run` inside, so each invocation runs in a thread while the test's own loop
keeps the worker going. The CLI reaches the test servers through its ordinary settings
(`GUATU_TEMPORAL_ADDRESS`, `GUATU_TASK_QUEUE`, `DATABASE_URL`), as an operator would set them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from typer.main import get_command
from typer.testing import CliRunner, Result

from config.settings import Settings, get_settings
from guatu.cli.main import app
from guatu.core import constants as c
from guatu.core.clock import month_key
from guatu.lifecycle.models import ProjectKind, ProjectPlan
from guatu.lifecycle.programme import load_sample_plans
from guatu.plan_file.read import read_plan_file
from guatu.plan_file.write import write_plans
from tests.conftest import free_port
from tests.helpers import make_plan, running_worker

runner = CliRunner()
BUREAU = "sthjj"  # 区生态环境局, a bureau of the reference data


def invoke(args: list[str], env: dict[str, str]) -> Result:
    get_settings.cache_clear()
    try:
        # Tables as a wide terminal prints them, whatever COLUMNS the test run inherits
        # (an xdist worker or a CI runner may set 80, and rich would fold the codes away).
        return runner.invoke(app, args, env={"COLUMNS": "220", **env})
    finally:
        get_settings.cache_clear()


async def cli(args: list[str], env: dict[str, str]) -> Result:
    return await asyncio.to_thread(invoke, args, env)


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


async def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {value!r}")
        await asyncio.sleep(0.2)


class Live:
    def __init__(self, client: Client, pool: asyncpg.Pool, env: dict[str, str]) -> None:
        self.client, self.pool, self.env = client, pool, env
        self.codes: list[str] = []

    async def run_ids(self) -> dict[str, str]:
        ids = {}
        for code in self.codes:
            desc = await self.client.get_workflow_handle(c.project_workflow_id(code)).describe()
            assert desc.status == WorkflowExecutionStatus.RUNNING
            ids[code] = desc.run_id
        return ids


@pytest_asyncio.fixture
async def live(
    dev_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    settings: Settings,
    pg_dsn: str,
) -> AsyncIterator[Live]:
    client = dev_env.client
    async with running_worker(client, pool, http, settings) as task_queue:
        env = {
            "GUATU_TEMPORAL_ADDRESS": client.service_client.config.target_host,
            "GUATU_TEMPORAL_NAMESPACE": client.namespace,
            "GUATU_TASK_QUEUE": task_queue,
            "DATABASE_URL": pg_dsn,
        }
        lab = Live(client, pool, env)
        yield lab
        for code in lab.codes:
            handle = client.get_workflow_handle(c.project_workflow_id(code))
            with contextlib.suppress(RPCError):
                await handle.terminate()


def three_plans(prefix: str) -> list[ProjectPlan]:
    today = date.today()
    return [
        make_plan(
            ProjectKind.SERVICE,
            start=today,
            bureau=BUREAU,
            code=f"{prefix}-1",
            milestone_days=[20, 120, 200],
        ),
        make_plan(ProjectKind.ENGINEERING, start=today, bureau=BUREAU, code=f"{prefix}-2"),
        make_plan(
            ProjectKind.SERVICE,
            start=today,
            bureau=BUREAU,
            code=f"{prefix}-3",
            milestone_days=[30, 150, 250],
            total=800.0,
        ),
    ]


async def test_import_starts_the_projects_and_reimport_starts_nothing(
    live: Live, tmp_path: Path
) -> None:
    prefix = f"CLI-{uuid.uuid4().hex[:8].upper()}"
    plans = three_plans(prefix)
    live.codes = [p.code for p in plans]
    path = write_plans(plans, tmp_path / "three.xlsx")
    assert read_plan_file(path).plans == plans

    first = as_json(await cli(["plan", "import", str(path), "--json"], live.env))
    assert (first["projects"], first["started"], first["already_running"]) == (3, 3, 0)
    assert sorted(first["started_codes"]) == sorted(live.codes)
    runs = await live.run_ids()

    again = as_json(await cli(["plan", "import", str(path), "--json"], live.env))
    assert (again["projects"], again["started"], again["already_running"]) == (3, 0, 3)
    assert await live.run_ids() == runs
    ids = ", ".join(f"'{c.project_workflow_id(code)}'" for code in live.codes)
    count = await live.client.count_workflows(f"WorkflowId IN ({ids})")
    assert count.count == 3  # one run each: nothing was started twice

    # The human output of a re-run says the same in one line.
    text = await cli(["plan", "import", str(path)], live.env)
    assert text.exit_code == 0, text.output
    assert "已启动 0 个项目，3 个已在运行" in text.stdout

    # One project started alone: already running, so left as it is.
    plan_file = tmp_path / "one.json"
    plan_file.write_text(plans[0].model_dump_json(), encoding="utf-8")
    one = as_json(await cli(["project", "start", str(plan_file), "--json"], live.env))
    assert (one["code"], one["started"], one["already_running"]) == (plans[0].code, 0, 1)


async def test_read_commands_report_and_refusal(live: Live, tmp_path: Path) -> None:
    prefix = f"CLR-{uuid.uuid4().hex[:8].upper()}"
    plans = three_plans(prefix)
    live.codes = [p.code for p in plans]
    service = plans[0]
    # Started one by one with `project start` from JSON plan files.
    for plan in plans:
        plan_file = tmp_path / f"{plan.code}.json"
        plan_file.write_text(plan.model_dump_json(), encoding="utf-8")
        started = as_json(await cli(["project", "start", str(plan_file), "--json"], live.env))
        assert started["started"] == 1

    async def projected() -> bool:
        async with live.pool.acquire() as conn:
            n = await conn.fetchval(
                "SELECT count(*) FROM projects WHERE code = ANY($1::text[])", live.codes
            )
        return bool(n == 3)

    await eventually(projected)

    listed = as_json(
        await cli(
            [
                "project",
                "list",
                "--bureau",
                BUREAU,
                "--program",
                "P06",
                "--limit",
                "1000",
                "--json",
            ],
            live.env,
        )
    )
    mine = {p["code"]: p for p in listed["items"] if p["code"] in live.codes}
    assert set(mine) == set(live.codes)
    assert all(p["bureau"] == BUREAU and p["program"] == "P06" for p in listed["items"])
    assert mine[service.code]["stage"] == "approved"
    assert mine[plans[2].code]["total_investment_wan"] == 800.0
    red = as_json(
        await cli(
            ["project", "list", "--bureau", BUREAU, "--light", "red", "--limit", "1000", "--json"],
            live.env,
        )
    )
    assert not set(live.codes) & {p["code"] for p in red["items"]}

    table = await cli(["project", "list", "--bureau", BUREAU, "--limit", "1000"], live.env)
    assert table.exit_code == 0, table.output
    row = next(line for line in table.stdout.splitlines() if service.code in line)
    assert "立项 approved" in row and "● 绿" in row

    shown = as_json(await cli(["project", "show", service.code, "--json"], live.env))
    assert (shown["code"], shown["stage"], shown["light"]) == (service.code, "approved", "green")
    assert [m["step"] for m in shown["milestones"]] == ["implementing", "done", "evaluated"]
    human = await cli(["project", "show", service.code], live.env)
    assert human.exit_code == 0 and "实施 implementing" in human.stdout

    # A bureau reports a step and a monthly report; the same command twice is one report.
    step = as_json(
        await cli(
            [
                "report",
                "step",
                service.code,
                "--bureau",
                BUREAU,
                "--step",
                "implementing",
                "--json",
            ],
            live.env,
        )
    )
    assert (step["accepted"], step["stage"], step["duplicate"]) == (True, "implementing", False)
    month = month_key(date.today())
    args = [
        "report",
        "submit",
        service.code,
        "--bureau",
        BUREAU,
        "--month",
        month,
        "--investment",
        "12.5",
        "--progress",
        "4",
        "--narrative",
        "设备进场",
        "--json",
    ]
    report = as_json(await cli(args, live.env))
    assert (report["accepted"], report["duplicate"]) == (True, False)
    # The same command again carries the same idempotency key: no new report, and an answer
    # that says so, with the project's current stage and light.
    again = as_json(await cli(args, live.env))
    assert again["duplicate"] is True and again["accepted"] is True
    assert (again["stage"], again["light"]) == (report["stage"], report["light"])
    status = as_json(await cli(["project", "show", service.code, "--json"], live.env))
    assert status["last_report"]["investment_wan"] == 12.5
    assert status["last_report"]["corrected"] == 0
    assert status["actual_investment_wan"] == 12.5
    async with live.pool.acquire() as conn:
        rows = await eventually(
            lambda: conn.fetchval(
                "SELECT count(*) FROM progress_reports WHERE project = $1", service.code
            )
        )
    assert rows == 1

    # Another bureau is refused with the validator's words, in one line, and it is audited.
    refused = await cli(
        [
            "report",
            "submit",
            service.code,
            "--bureau",
            "mzj",
            "--month",
            month,
            "--investment",
            "1",
            "--progress",
            "5",
        ],
        live.env,
    )
    assert refused.exit_code == 1
    assert refused.stdout == ""
    [line] = refused.stderr.splitlines()
    assert line.startswith(f"guatu: 拒绝（not_owner）：项目 {service.code} 由 {BUREAU} 负责")
    assert "rejected (not_owner)" in line
    async with live.pool.acquire() as conn:
        audited = await conn.fetchrow(
            "SELECT bureau, channel, accepted FROM audit_log WHERE project = $1 AND NOT accepted",
            service.code,
        )
    assert (audited["bureau"], audited["channel"], audited["accepted"]) == ("mzj", "cli", False)

    # A step out of order is refused too.
    wrong = await cli(
        ["report", "step", service.code, "--bureau", BUREAU, "--step", "evaluated"], live.env
    )
    assert wrong.exit_code == 1
    assert "拒绝（illegal_transition）" in wrong.stderr

    missing = await cli(["project", "show", f"{prefix}-404", "--json"], live.env)
    assert missing.exit_code == 1 and missing.stdout == ""
    assert missing.stderr.strip() == (f"guatu: 项目 {prefix}-404 不存在 / no project {prefix}-404")


async def test_tokens_create_list_revoke(live: Live) -> None:
    created = as_json(
        await cli(
            [
                "token",
                "create",
                "--role",
                "bureau",
                "--bureau",
                BUREAU,
                "--label",
                "cli test",
                "--json",
            ],
            live.env,
        )
    )
    token_id = created["id"]
    assert created["token"].startswith(f"gt_{token_id}_")
    listed = as_json(await cli(["token", "list", "--json"], live.env))
    row = next(t for t in listed if t["id"] == token_id)
    assert (row["role"], row["bureau"], row["label"], row["revoked_at"]) == (
        "bureau",
        BUREAU,
        "cli test",
        None,
    )
    assert "token" not in row and "token_hash" not in row
    revoked = await cli(["token", "revoke", token_id], live.env)
    assert revoked.exit_code == 0, revoked.output
    assert token_id not in {
        t["id"] for t in as_json(await cli(["token", "list", "--json"], live.env))
    }
    everything = as_json(await cli(["token", "list", "--all", "--json"], live.env))
    assert next(t for t in everything if t["id"] == token_id)["revoked_at"] is not None
    again = await cli(["token", "revoke", token_id], live.env)
    assert again.exit_code == 1
    assert again.stderr.strip() == (
        f"guatu: 没有 id 为 {token_id} 的有效令牌 / no live token with id {token_id}"
    )
    bad = await cli(["token", "create", "--role", "bureau"], live.env)
    assert bad.exit_code == 1
    assert "a bureau token needs the bureau code" in bad.stderr


async def test_ranking_show(live: Live) -> None:
    data = as_json(await cli(["ranking", "show", "--level", "program", "--json"], live.env))
    assert data["level"] == "program"
    assert isinstance(data["rows"], list)
    text = await cli(["ranking", "show", "--level", "program"], live.env)
    assert text.exit_code == 0, text.output
    if data["rows"]:  # another test of this session may have run a ranking round
        assert data["rows"][0]["code"] in text.stdout
    else:
        assert text.stdout.startswith("暂无排名（program）")
    month = as_json(await cli(["ranking", "show", "--period", "2099-01", "--json"], live.env))
    assert (month["found"], month["rows"]) == (False, [])
    bad = await cli(["ranking", "show", "--kind", "decade"], live.env)
    assert bad.exit_code == 2
    assert bad.stderr.startswith("guatu: --kind 只能是 month、quarter 或 year")


async def test_simulate_drives_prefixed_projects_on_the_running_worker(live: Live) -> None:
    prefix = f"S{uuid.uuid4().hex[:5].upper()}-"
    year = date.today().year
    live.codes = [f"{prefix}{p.code}" for p in load_sample_plans(year)[:4]]
    # One simulated month of the first four sample projects: 24 s a year is 2 s a month.
    result = await cli(
        [
            "simulate",
            "--months",
            "1",
            "--year-seconds",
            "24",
            "--limit",
            "4",
            "--start-year",
            str(year),
            "--prefix",
            prefix,
            "--json",
        ],
        live.env,
    )
    report = as_json(result)
    assert (report["projects"], report["months"], report["refused"]) == (4, 1, 0)
    assert report["code_prefix"] == prefix
    assert set(report["behaviours"].values()) <= {"diligent", "late", "stalled"}
    count = await live.client.count_workflows(
        f"WorkflowId STARTS_WITH 'project-{prefix}' AND ExecutionStatus = 'Running'"
    )
    assert count.count == 4
    assert set(await live.run_ids()) == set(live.codes)  # each one running


async def test_simulate_refuses_without_a_worker(live: Live) -> None:
    env = {**live.env, "GUATU_TASK_QUEUE": f"nobody-{uuid.uuid4().hex[:8]}"}
    result = await cli(["simulate", "--months", "1", "--limit", "1", "--prefix", "NOWORKER-"], env)
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("guatu: 任务队列 nobody-") and "start `guatu up` first" in line


# ---------------------------------------------------------------------------------------------
# Shape of the CLI: --json on every read command, one-line errors
# ---------------------------------------------------------------------------------------------


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found.update(_commands(command, (*prefix, name)))
        else:
            found[" ".join((*prefix, name))] = command
    return found


def test_every_read_command_takes_json() -> None:
    commands = _commands(get_command(app))
    with_json = {
        name
        for name, cmd in commands.items()
        if any("--json" in getattr(p, "opts", []) for p in cmd.params)
    }
    assert with_json == {
        "plan import",
        "project list",
        "project show",
        "project start",
        "report submit",
        "report step",
        "ranking show",
        "ranking run",
        "ranking whatif",
        "token create",
        "token list",
        "notices redeliver",
        "appeal submit",
        "appeal list",
        "appeal decide",
        "observation list",
        "observation show",
        "observation reply",
        "observation resolve",
        "observation figures",
        "evaluation list",
        "evaluation show",
        "simulate",
        "channels set",
        "channels list",
        "scene list",
        "scene show",
        "opportunity publish",
        "opportunity list",
        "opportunity close",
        "opportunity interests",
        "opportunity respond",
        "opportunity outcome",
        "opportunity public",
    }
    writers = {
        "up",
        "plan template",
        "plan export-sample",
        "token revoke",
        "ranking bulletin",
        "channels remove",
        "scene set",
        "scene add",
        "scene remove",
        "scene delete",
    }
    assert set(commands) == with_json | writers


@pytest.mark.parametrize(
    "args, start",
    [
        (["project", "show", "WJ2021-P06-001"], "guatu: 无法连接 Temporal"),
        (["project", "list", "--json"], "guatu: 无法连接数据库"),
        (
            ["report", "step", "X-1", "--bureau", "sthjj", "--step", "implementing"],
            "guatu: 无法连接 Temporal",
        ),
        (["project", "list", "--light", "purple"], "guatu: Invalid value for '--light'"),
        (
            [
                "report",
                "submit",
                "X-1",
                "--bureau",
                "sthjj",
                "--month",
                "2026-13",
                "--investment",
                "1",
                "--progress",
                "1",
            ],
            "guatu: 输入无效 / invalid input: month",
        ),
        (["project", "start", "NOT-A-PROJECT"], "guatu: 「NOT-A-PROJECT」既不是计划文件"),
    ],
)
def test_errors_are_one_line_and_non_zero(args: list[str], start: str) -> None:
    env = {
        "GUATU_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/none",
    }
    result = invoke(args, env)
    assert result.exit_code in (1, 2)
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(start), line


def test_usage_mistakes_exit_2() -> None:
    result = invoke(["project", "lst"], {})
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("guatu: No such command 'lst'")


def test_project_start_reads_a_plan_file_stdin_or_a_sample_code(tmp_path: Path) -> None:
    from guatu.cli.project import _load_plan

    settings = Settings(programme_start_year=2027)
    sample = _load_plan("WJ2021-P06-001", settings)
    assert sample == next(p for p in load_sample_plans(2027) if p.code == "WJ2021-P06-001")
    plan = three_plans("FILE")[0]
    path = tmp_path / "plan.json"
    path.write_text(plan.model_dump_json(), encoding="utf-8")
    assert _load_plan(str(path), settings) == plan
    path.write_text('{"code": "x"}', encoding="utf-8")
    result = invoke(["project", "start", str(path)], {})
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"guatu: 计划文件 {path} 无效 / plan file {path} is invalid: code:")
    stdin = runner.invoke(
        app,
        ["project", "start", "-", "--json"],
        input="not json",
        env={"GUATU_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"},
    )
    assert stdin.exit_code == 1
    assert stdin.stderr.startswith("guatu: 输入无效 / invalid input:")


async def test_project_start_refuses_an_unknown_bureau_or_program(
    live: Live, tmp_path: Path
) -> None:
    """Guards the sweep's finding that a JSON plan with an unknown bureau or program started a
    project nobody can report on (`guatu plan import` of a CSV already refused it)."""
    plan = three_plans(f"UNK-{uuid.uuid4().hex[:8].upper()}")[0]
    live.codes = [plan.code]
    path = tmp_path / "stranger.json"
    path.write_text(
        plan.model_copy(update={"bureau": "no_such_bureau", "program": "P99"}).model_dump_json(),
        encoding="utf-8",
    )
    result = await cli(["project", "start", str(path)], live.env)
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(
        f"guatu: 项目 {plan.code} 的责任单位「no_such_bureau」不存在；"
        f"项目 {plan.code} 的工程「P99」不存在"
    ), line
    assert f"project {plan.code}: no bureau 'no_such_bureau'; " in line
    handle = live.client.get_workflow_handle(c.project_workflow_id(plan.code))
    with pytest.raises(RPCError):
        await handle.describe()
