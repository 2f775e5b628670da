"""`guatu ranking run / show --breakdown / whatif` against the real dev server and a database of
the test's own holding the hand-computed fixture (tests/ranking/fixture.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import httpx
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from tests.cli.test_cli_live import as_json, cli
from tests.helpers import WebhookReceiver, running_worker
from tests.ranking import fixture
from tests.ranking.conftest import end_ladders, prefix


async def test_run_show_breakdown_refreeze_whatif(
    dev_env: WorkflowEnvironment,
    fresh_pool: asyncpg.Pool,
    pg_server: str,
    http: httpx.AsyncClient,
    receiver: WebhookReceiver,
    settings: Settings,
) -> None:
    px = prefix()
    bureaus = await fixture.add_bureaus(fresh_pool, px, receiver.url)
    a, b, cc, d = bureaus
    await fixture.insert(fresh_pool, px)
    async with fresh_pool.acquire() as conn:
        name = await conn.fetchval("SELECT current_database()")
    client = dev_env.client
    async with running_worker(client, fresh_pool, http, settings) as tq:
        env = {
            "GUATU_TEMPORAL_ADDRESS": client.service_client.config.target_host,
            "GUATU_TEMPORAL_NAMESPACE": client.namespace,
            "GUATU_TASK_QUEUE": tq,
            "DATABASE_URL": f"{pg_server.rpartition('/')[0]}/{name}",
        }
        try:
            run = as_json(await cli(["ranking", "run", "--period", "2031-03", "--json"], env))
            assert (run["status"], run["result"]["revision"]) == ("completed", 1)
            assert (run["result"]["red_list"], run["result"]["black_list"]) == ([b, cc], [a, d])

            # --breakdown at every level (it crashed on bureaus and programs: their member lines
            # have points but no maximum).
            project = await cli(["ranking", "show", "--level", "project", "--breakdown"], env)
            assert project.exit_code == 0, project.output
            # A1: 60 × 1.2 = 72 of at most 60 × 1.3 = 78.
            assert "    72 / 78  " in project.stdout
            bureau = await cli(["ranking", "show", "--level", "bureau", "--breakdown"], env)
            assert bureau.exit_code == 0, bureau.output
            # Bureau a's member lines: A1 112 and A2 31 points, no maximum.
            assert f"3. {a} " in bureau.stdout
            assert "    112  " in bureau.stdout and "    31  " in bureau.stdout
            program = await cli(["ranking", "show", "--level", "program", "--breakdown"], env)
            assert program.exit_code == 0, program.output
            assert "1. P02 " in program.stdout and "2. P01 " in program.stdout

            async with fresh_pool.acquire() as conn:
                await conn.execute(
                    "INSERT INTO progress_reports (project, month, corrected, investment_wan,"
                    " cumulative_investment_wan, physical_progress_pct, received_at, on_time,"
                    " actor) VALUES ($1, '2031-03', 0, 1700, 2100, 20, $2, false, 'test')",
                    f"{px.upper()}-D1",
                    datetime(2031, 4, 28, tzinfo=UTC),
                )
            again = await cli(["ranking", "run", "--period", "2031-03"], env)
            assert again.exit_code == 0, again.output
            assert "已重新验证，结果逐字节一致，未作任何改动" in again.stdout

            no_reason = await cli(["ranking", "run", "--period", "2031-03", "--refreeze"], env)
            assert no_reason.exit_code == 2
            assert no_reason.stderr.startswith("guatu: --refreeze 须同时给出 --reason")
            wrong = await cli(["ranking", "run", "--period", "2031-03", "--kind", "quarter"], env)
            assert wrong.exit_code == 2 and "2031-03 不是 quarter" in wrong.stderr

            revised = await cli(
                [
                    "ranking",
                    "run",
                    "--period",
                    "2031-03",
                    "--refreeze",
                    "--reason",
                    "D1 三月月报补报",
                ],
                env,
            )
            assert revised.exit_code == 0, revised.output
            assert "已发布第 2 版" in revised.stdout
            shown = await cli(["ranking", "show", "--period", "2031-03"], env)
            assert "第 2 版（更正原因：D1 三月月报补报" in shown.stdout
            # d 4 → 3 and a 3 → 4 (D1 58.00 with the late report); d's 通报 withdrawn.
            assert f"bureau {d} 测试D局：第 4 → 3 名" in shown.stdout
            assert "撤销 测试D局「黑榜通报」" in shown.stdout

            whatif = as_json(
                await cli(
                    [
                        "ranking",
                        "whatif",
                        "--ruleset",
                        "sanya",
                        "--from",
                        "2031-03",
                        "--to",
                        "2031-03",
                        "--json",
                    ],
                    env,
                )
            )
            assert (whatif["baseline"]["id"], whatif["candidate"]["id"]) == ("default", "sanya")
            assert [p["period"] for p in whatif["periods"]] == ["2031-03"]
            table = await cli(
                ["ranking", "whatif", "--ruleset", "sanya", "--from", "2031-03", "--to", "2031-03"],
                env,
            )
            assert table.exit_code == 0 and "2031年3月 比较" in table.stdout
            # An earlier version by number: the published round is default v2.
            old = as_json(
                await cli(
                    [
                        "ranking",
                        "whatif",
                        "--ruleset",
                        "default@1",
                        "--from",
                        "2031-03",
                        "--to",
                        "2031-03",
                        "--json",
                    ],
                    env,
                )
            )
            assert (old["baseline"]["version"], old["candidate"]["version"]) == (2, 1)
            old_table = await cli(
                [
                    "ranking",
                    "whatif",
                    "--ruleset",
                    "default@1",
                    "--from",
                    "2031-03",
                    "--to",
                    "2031-03",
                ],
                env,
            )
            assert "default v1 名次" in old_table.stdout and "default v2 名次" in old_table.stdout
            unknown = await cli(
                ["ranking", "whatif", "--ruleset", "nope", "--from", "2031-01", "--to", "2031-03"],
                env,
            )
            assert unknown.exit_code == 2
            assert unknown.stderr.startswith("guatu: 没有规则集「nope」")
        finally:
            await end_ladders(client, bureaus)
