"""`guatu observation …` / `guatu evaluation …` against a live worker and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from datetime import date

from guatu.society import service
from guatu.society.models import Category, ObservationFiling
from tests.cli.test_cli_live import BUREAU, Live, as_json, cli
from tests.cli.test_cli_live import live as live  # the fixture


async def test_observation_list_show_reply_and_figures(live: Live) -> None:
    code = f"CLI-{uuid.uuid4().hex[:6].upper()}"
    async with live.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO projects (code, name_zh, program, bureau, kind, stage, status, light,"
            " total_investment_wan, planned_investment_to_date_wan, actual_investment_wan,"
            " physical_progress_pct, plan, business_today, version)"
            " VALUES ($1,'江安河绿道','P06',$2,'engineering','preliminary','active','green',"
            " 100,0,0,0,$3,$4,1)",
            code,
            BUREAU,
            json.dumps({}),
            date.today(),
        )
    view = await service.submit_observation(
        live.client,
        live.pool,
        ObservationFiling(
            target=code,
            category=Category.QUALITY,
            rating=4,
            text="绿道铺装平整，个别路灯不亮",
            observer="clitest",
            idempotency_key="c1",
        ),
        task_queue=live.env["GUATU_TASK_QUEUE"],
    )
    listed = as_json(await cli(["observation", "list", "--target", code, "--json"], live.env))
    assert [r["id"] for r in listed["items"]] == [view.id]
    shown = as_json(await cli(["observation", "show", view.id, "--json"], live.env))
    assert (shown["bureau"], shown["status"]) == (BUREAU, "open")
    wrong = await cli(
        [
            "observation",
            "reply",
            view.id,
            "--bureau",
            "fgj",
            "--text",
            "已安排维修路灯，三日内修复",
        ],
        live.env,
    )
    assert wrong.exit_code == 1 and "只有责任单位" in wrong.stderr
    done = as_json(
        await cli(
            [
                "observation",
                "reply",
                view.id,
                "--bureau",
                BUREAU,
                "--text",
                "已安排维修路灯，三日内修复",
                "--json",
            ],
            live.env,
        )
    )
    assert (done["status"], done["reply_on_time"]) == ("replied", True)
    figures = as_json(await cli(["observation", "figures", "--json"], live.env))
    mine = next(p for p in figures["projects"] if p["code"] == code)
    assert (mine["observations"], mine["replies_due"], mine["replied_on_time"]) == (1, 1, 1)
    assert "clitest" not in json.dumps(figures)
    text = await cli(["observation", "figures"], live.env)
    assert text.exit_code == 0 and "按期答复率" in text.stdout
    evaluations = as_json(await cli(["evaluation", "list", "--project", code, "--json"], live.env))
    assert evaluations["total"] == 0
    await live.client.get_workflow_handle(view.workflow_id).terminate()
