"""The monthly 通报 as a Word document: downloaded through the API and written by the CLI for a
round published on the real dev server (the hand-computed fixture, tests/ranking/fixture.py),
then opened with python-docx and checked against the round: title, period, the ranking tables,
红榜 / 黑榜, the 督办单 with its deadline, the chart. Revision 2 (a refreeze after D1's late
March report, as in test_revisions) says 更正 and why; revision 1 still downloads byte for byte
as before.

Figures (default v2, test_rules / test_revisions): bureaus b 106.00, c 89.25, a 51.25, d 7.00;
red b, c; black a, d. Revision 2: d 58.00 moves to 3rd; red b, c, d; black a.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import asyncpg
import httpx
import pytest
import structlog.testing
from docx import Document
from docx.document import Document as DocumentObject
from docx.oxml.ns import qn
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.api.app import create_app
from guatu.api.routes.bulletin import DOCX_TYPE
from guatu.core.clock import local_date
from guatu.core.tokens import create_token
from guatu.ranking import bulletin_chart, bulletin_doc, queries, service
from guatu.ranking.actions import ACTION_ZH, ActionKind
from guatu.ranking.bulletin import Bulletin, Decision, Investment
from guatu.ranking.models import Level, ListKind, RankedRow
from tests.api.conftest import TEST_OPTIONS
from tests.cli.test_cli_live import cli
from tests.helpers import WebhookReceiver, running_worker
from tests.ranking import fixture
from tests.ranking.conftest import end_ladders, eventually, fetch, prefix

REASON = "市发改委核实：D1 三月投资月报漏报，补报 1700 万元"
TITLE = "关于2031年3月重点项目竞进比拼情况的通报"


def opened(body: bytes) -> DocumentObject:
    return Document(io.BytesIO(body))


def texts(doc: DocumentObject) -> list[str]:
    return [p.text for p in doc.paragraphs]


def table(doc: DocumentObject, *header: str) -> list[list[str]]:
    """The body rows of the one table whose header row starts with `header`."""
    found = [
        t for t in doc.tables if [c.text for c in t.rows[0].cells][: len(header)] == list(header)
    ]
    assert len(found) == 1, [[c.text for c in t.rows[0].cells] for t in doc.tables]
    return [[c.text for c in row.cells] for row in found[0].rows[1:]]


def east_asia(doc: DocumentObject, text: str) -> str | None:
    """The w:eastAsia font of the first run of the paragraph that reads `text`."""
    p = next(p for p in doc.paragraphs if p.text == text)
    return p.runs[0]._r.rPr.rFonts.get(qn("w:eastAsia"))


def content(doc: DocumentObject) -> tuple[list[str], list[list[list[str]]]]:
    return texts(doc), [[[c.text for c in r.cells] for r in t.rows] for t in doc.tables]


async def test_bulletin_through_api_and_cli(
    dev_env: WorkflowEnvironment,
    fresh_pool: asyncpg.Pool,
    pg_server: str,
    http: httpx.AsyncClient,
    receiver: WebhookReceiver,
    settings: Settings,
    tmp_path: Path,
) -> None:
    px = prefix()
    bureaus = await fixture.add_bureaus(fresh_pool, px, receiver.url)
    a, b, cc, d = bureaus
    d1 = f"{px.upper()}-D1"
    await fixture.insert(fresh_pool, px)
    leader = await create_token(fresh_pool, "leader", None, "leader")
    manager = await create_token(fresh_pool, "manager", None, "manager")
    async with fresh_pool.acquire() as conn:
        name = await conn.fetchval("SELECT current_database()")
    env = {"DATABASE_URL": f"{pg_server.rpartition('/')[0]}/{name}"}
    client = dev_env.client
    async with running_worker(client, fresh_pool, http, settings) as tq:
        app = create_app(client, fresh_pool, Settings(), task_queue=tq, options=TEST_OPTIONS)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://guatu.test", timeout=60
        ) as api:
            try:

                async def download(query: str, token: str = leader) -> httpx.Response:
                    return await api.get(
                        f"/api/v1/rankings/bulletin?{query}",
                        headers={"Authorization": f"Bearer {token}"},
                    )

                # Nothing published yet: 404 with the API's error shape.
                missing = await download("period=2031-03")
                assert (missing.status_code, missing.json()["code"]) == (404, "ranking_not_found")

                first = await (
                    await service.trigger_round(client, "2031-03", task_queue=tq)
                ).result()
                assert (first.red_list, first.black_list) == ([b, cc], [a, d])
                # The ladders' decisions of 2031-03: 通报表扬 for b and c, 黑榜通报 for a and d,
                # and a 督办单 for D1 (red in February and March: 2 months running).
                await eventually(lambda: _decisions(fresh_pool, 5), timeout=60)

                r = await download("period=2031-03")
                assert r.status_code == 200, r.text
                assert r.headers["content-type"] == DOCX_TYPE
                disposition = r.headers["content-disposition"]
                utf8 = re.search(r"filename\*=UTF-8''([^;]+)", disposition)
                assert utf8 and unquote(utf8[1]) == "通报-2031-03.docx"
                assert 'filename="bulletin-2031-03.docx"' in disposition
                one = r.content
                doc = opened(one)
                lines = texts(doc)
                assert lines[0] == "区幸福办"
                assert TITLE in lines
                assert east_asia(doc, TITLE) == "宋体"
                assert not any("更正" in line for line in lines)
                assert "统计期间：2031年3月（月度，2031-03-01 至 2031-03-31）" in lines
                assert "排名规则：温江竞进比拼默认规则（default 第 2 版）" in lines

                # The bureau table is the round's: code, name, rank, score (2 decimals),
                # movement (no earlier period ranked: —), list; the 序时 rate as stored.
                ranking = await queries.get_ranking(fresh_pool, "bureau", "2031-03")
                ratio = {
                    row["code"]: f"{row['investment_ratio'] * 100:.2f}%" for row in ranking["rows"]
                }
                assert table(doc, "名次", "升降", "代码", "责任单位") == [
                    ["1", "—", b, "测试B局", "106.00", ratio[b], "红榜"],
                    ["2", "—", cc, "测试C局", "89.25", ratio[cc], "红榜"],
                    ["3", "—", a, "测试A局", "51.25", ratio[a], "黑榜"],
                    ["4", "—", d, "测试D局", "7.00", ratio[d], "黑榜"],
                ]
                assert [[r["code"], r["rank"], r["score"]] for r in ranking["rows"]] == [
                    [b, 1, 106.0],
                    [cc, 2, 89.25],
                    [a, 3, 51.25],
                    [d, 4, 7.0],
                ]
                # Programs: P01 (112 × 1000 + 106 × 2000 + 7 × 4000) / 7000 = 50.29; P02 54.30.
                programs = table(doc, "名次", "升降", "代码", "工程")
                assert [(row[0], row[2], row[4]) for row in programs] == [
                    ("1", "P02", "54.30"),
                    ("2", "P01", "50.29"),
                ]
                assert "红榜：测试B局（106.00 分）、测试C局（89.25 分）。" in lines
                assert "黑榜：测试A局（51.25 分）、测试D局（7.00 分）。" in lines
                summary = next(line for line in lines if line.startswith("2031年3月竞进比拼共对"))
                # 6 projects (X9 is cancelled), 4 bureaus, 2 programs; this year's 4050 of the
                # 序时 plan 6000 万元 = 67.50 %.
                assert summary.startswith("2031年3月竞进比拼共对6个重点项目、4个责任单位、2项工程")
                assert "67.50%" in summary
                assert "测试B局以106.00分位列第一，测试D局以7.00分位列末位" in summary
                assert "本期通报表扬2个单位，通报批评2个单位，下达项目督办单1份。" in summary
                assert east_asia(doc, summary) == "仿宋"

                # 通报表扬 for b and c; the 通报批评 of a and d and D1's 督办单 with its deadline:
                # 30 days (project_correction_days) from the day the ladder decided it.
                assert [
                    line.split("：")[0] for line in lines if line.endswith("予以通报表扬。")
                ] == ["测试B局", "测试C局"]
                order = (
                    await fetch(
                        fresh_pool, "SELECT due, issued_at FROM ladder_orders WHERE bureau = $1", d
                    )
                )[0]
                assert order["due"] == local_date(order["issued_at"]) + timedelta(days=30)
                orders = table(doc, "序号", "事项", "责任单位")
                assert [(row[1], row[2], row[3], row[5]) for row in orders] == [
                    ("黑榜通报", "测试A局", "—", "—"),
                    ("黑榜通报", "测试D局", "—", "—"),
                    ("督办单", "测试D局", f"项目D1（{d1}）", order["due"].isoformat()),
                ]
                assert orders[2][4].startswith(f"项目「项目D1」（{d1}）连续 2 个月红灯")

                # The chart, drawn with a CJK font (make fonts), and its figures: on the
                # year's plan P01 600 + 1100 + 400 = 2100 of 500 + 1000 + 2000 = 3500 (60 %),
                # P02 900 + 500 + 550 = 1950 of 1500 + 500 + 500 = 2500 (78 %).
                assert len(doc.inline_shapes) == 1
                assert bulletin_chart.cjk_family() is not None
                assert table(doc, "工程", "序时计划（万元）") == [
                    ["生活成本竞争力提升工程", "2,500.00", "1,950.00", "78.00%"],
                    ["居民收入水平提升工程", "3,500.00", "2,100.00", "60.00%"],
                ]
                computed = (await fetch(fresh_pool, "SELECT computed_at FROM ranking_rounds"))[0]
                day = local_date(computed["computed_at"])
                assert lines[-2] == f"{day.year}年{day.month}月{day.day}日"

                # Downloaded again: the same bytes. The CLI writes the same document.
                assert (await download("period=2031-03")).content == one
                target = tmp_path / "通报.docx"
                written = await cli(
                    ["ranking", "bulletin", "--period", "2031-03", "-o", str(target)], env
                )
                assert written.exit_code == 0, written.output
                assert "已生成2031年3月竞进比拼通报（第 1 版" in written.stdout
                assert target.read_bytes() == one
                nothing = await cli(["ranking", "bulletin", "--period", "2031-04"], env)
                assert nothing.exit_code == 1
                assert nothing.stderr.startswith("guatu: 2031-04 排名尚未生成")

                # Only leaders; a bad period or revision is refused.
                assert (await download("period=2031-03", manager)).status_code == 403
                assert (await download("period=2031-13")).status_code == 422
                assert (await download("period=2031-03&revision=0")).status_code == 422
                assert (await download("period=2031-03&revision=2")).status_code == 404

                # Revision 2: D1's March report arrived late; the round is refrozen.
                await _late_report(fresh_pool, d1)
                revised = await (
                    await service.revise_round(
                        client,
                        "2031-03",
                        reason=REASON,
                        actor="李科长",
                        task_queue=tq,
                        pool=fresh_pool,
                    )
                ).result()
                assert (revised.revision, revised.red_list) == (2, [b, cc, d])
                await eventually(lambda: _decisions(fresh_pool, 7), timeout=60)
                r2 = await download("period=2031-03")
                assert r2.status_code == 200 and r2.headers["x-guatu-revision"] == "2"
                assert (
                    unquote(
                        re.search(r"filename\*=UTF-8''([^;]+)", r2.headers["content-disposition"])[
                            1
                        ]
                    )
                    == "通报-2031-03-第2版.docx"
                )
                doc2 = opened(r2.content)
                lines2 = texts(doc2)
                assert "（第 2 版 · 更正）" in lines2
                note = f"更正说明：本通报为第 2 版，更正第 1 版。更正原因：{REASON}（李科长）。"
                assert note in lines2
                assert [row[:5] for row in table(doc2, "名次", "升降", "代码", "责任单位")] == [
                    ["1", "—", b, "测试B局", "106.00"],
                    ["2", "—", cc, "测试C局", "89.25"],
                    ["3", "—", d, "测试D局", "58.00"],
                    ["4", "—", a, "测试A局", "51.25"],
                ]
                assert (
                    "红榜：测试B局（106.00 分）、测试C局（89.25 分）、测试D局（58.00 分）。"
                    in lines2
                )
                assert "黑榜：测试A局（51.25 分）。" in lines2
                # d's 通报批评 is withdrawn, its 通报表扬 made; D1's 督办单 stands.
                assert "撤销测试D局「黑榜通报」决定" in lines2
                assert "新作出测试D局「通报表扬」决定" in lines2
                assert "责任单位测试D局：第 4 名（7.00 分）→ 第 3 名（58.00 分）" in lines2
                assert "责任单位黑榜：测试A局、测试D局 → 测试A局" in lines2
                assert "工程红榜：无 → 居民收入水平提升工程" in lines2
                assert [(row[1], row[2]) for row in table(doc2, "序号", "事项", "责任单位")] == [
                    ("黑榜通报", "测试A局"),
                    ("督办单", "测试D局"),
                ]
                # D1 now 400 + 1700 = 2100 of 2000: P01 3800 of 3500 = 108.57 %, and first
                # in the program ranking (79.43 against P02 54.30), so first in the table.
                assert table(doc2, "工程", "序时计划（万元）") == [
                    ["居民收入水平提升工程", "3,500.00", "3,800.00", "108.57%"],
                    ["生活成本竞争力提升工程", "2,500.00", "1,950.00", "78.00%"],
                ]
                cli2 = tmp_path / "r2.docx"
                assert (
                    await cli(["ranking", "bulletin", "--period", "2031-03", "-o", str(cli2)], env)
                ).exit_code == 0
                assert cli2.read_bytes() == r2.content

                # Revision 1 is still the document it was.
                again = await download("period=2031-03&revision=1")
                assert again.status_code == 200 and again.content == one
                cli1 = tmp_path / "r1.docx"
                assert (
                    await cli(
                        [
                            "ranking",
                            "bulletin",
                            "--period",
                            "2031-03",
                            "--revision",
                            "1",
                            "-o",
                            str(cli1),
                        ],
                        env,
                    )
                ).exit_code == 0
                assert cli1.read_bytes() == one
            finally:
                await end_ladders(client, bureaus)


async def _decisions(pool: asyncpg.Pool, n: int) -> bool:
    rows = await fetch(pool, "SELECT count(*) AS n FROM ladder_decisions WHERE period = '2031-03'")
    return rows[0]["n"] >= n


async def _late_report(pool: asyncpg.Pool, code: str) -> None:
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO progress_reports (project, month, corrected, investment_wan,"
            " cumulative_investment_wan, physical_progress_pct, received_at, on_time, actor)"
            " VALUES ($1, '2031-03', 0, 1700, 2100, 20, $2, false, 'test')",
            code,
            datetime(2031, 4, 28, tzinfo=UTC),
        )


# ---------------------------------------------------------------------------------------------
# The document from a hand-made round: movement, 约谈 and 督办 rows, exemptions
# ---------------------------------------------------------------------------------------------


def _row(
    code: str,
    name: str,
    rank: int,
    score: float,
    movement: int | None,
    listed: ListKind | None = None,
    exempted: bool = False,
) -> RankedRow:
    return RankedRow(
        level=Level.BUREAU,
        code=code,
        name_zh=name,
        rank=rank,
        of=4,
        score=score,
        movement=movement,
        listed=listed,
        target_met=listed is ListKind.RED,
        exempted=exempted,
        investment_ratio=0.9,
        weight=1000,
    )


def _decision(
    kind: ActionKind, bureau: str, name: str, line: str, deadline: datetime | None = None
) -> Decision:
    return Decision(
        key=f"k:{bureau}:{kind.value}",
        kind=kind,
        kind_zh=ACTION_ZH[kind],
        bureau=bureau,
        bureau_name=name,
        project=None,
        project_name="",
        deadline=deadline.date() if deadline else None,
        lines_zh=[line],
        revision=1,
    )


def _hand_made() -> Bulletin:
    rows = [
        _row("x", "甲局", 1, 95.5, 2, ListKind.RED),
        _row("y", "乙局", 2, 80.0, -1),
        _row("z", "丙局", 3, 70.125, 0, exempted=True),
        _row("w", "丁局", 4, 12.0, None, ListKind.BLACK),
    ]
    return Bulletin(
        period="2030-12",
        label_zh="2030年12月",
        kind_zh="月度",
        close=datetime(2031, 1, 1).date(),
        published_at=datetime(2031, 1, 1, 2, 0, tzinfo=UTC),
        ruleset_id="default",
        ruleset_version=2,
        ruleset_name_zh="温江竞进比拼默认规则",
        basis_zh="本年（年度计划口径）",
        revision=1,
        reason="",
        actor="",
        results_sha256="0" * 64,
        bureaus=rows,
        programs=[],
        projects=9,
        red_list=[rows[0]],
        black_list=[rows[3]],
        program_red_list=[],
        program_black_list=[],
        exempted=[(rows[2], "汛期停工")],
        decisions=[
            _decision(ActionKind.SUMMONS, "w", "丁局", "连续第 2 期列入黑榜"),
            _decision(
                ActionKind.SUPERVISION, "y", "乙局", "连续第 3 期列入黑榜", datetime(2031, 1, 16)
            ),
        ],
        investment=[Investment("P01", "甲工程", 1500.0, 2000.0)],
    )


def test_rendered_rows_movement_and_orders() -> None:
    """Movement up / down / level / none; 约谈 and 督办 with its deadline; the exemption."""
    body = bulletin_doc.render(_hand_made())
    doc = opened(body)
    assert [row[:2] + row[4:] for row in table(doc, "名次", "升降", "代码", "责任单位")] == [
        ["1", "↑2", "95.50", "90.00%", "红榜"],
        ["2", "↓1", "80.00", "90.00%", ""],
        # 70.125 → 70.12 or 70.13 is the float's business; 2 decimals either way.
        ["3", "持平", f"{70.125:.2f}", "90.00%", "免于黑榜"],
        ["4", "—", "12.00", "90.00%", "黑榜"],
    ]
    assert table(doc, "序号", "事项", "责任单位") == [
        ["1", "约谈", "丁局", "—", "连续第 2 期列入黑榜", "—"],
        ["2", "督办", "乙局", "—", "连续第 3 期列入黑榜", "2031-01-16"],
    ]
    lines = texts(doc)
    assert "丙局未完成序时目标，因不可抗力（汛期停工）免于列入黑榜。" in lines
    assert "本期无通报表扬事项。" in lines
    # 1500 of 2000 = 75 %; dated the day the round was published (Asia/Shanghai).
    assert table(doc, "工程", "序时计划（万元）") == [["甲工程", "2,000.00", "1,500.00", "75.00%"]]
    assert lines[-2] == "2031年1月1日"
    # The same round, the same bytes (zip entries and package dates are the round's).
    assert bulletin_doc.render(_hand_made()) == body
    assert doc.core_properties.created == datetime(2031, 1, 1, 2, 0, tzinfo=UTC)


def test_chart_without_a_cjk_font_warns_and_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CJK font: a warning that says how to get one, and still a chart (not a crash)."""
    monkeypatch.setattr(bulletin_chart, "CJK_FAMILIES", ("No Such Font Guatu",))
    bulletin_chart.cjk_family.cache_clear()
    try:
        with structlog.testing.capture_logs() as logs:
            png = bulletin_chart.investment_chart([Investment("P01", "甲工程", 1.0, 2.0)], "图")
        assert png.startswith(b"\x89PNG")
        warned = [e for e in logs if e["log_level"] == "warning"]
        assert warned and "make fonts" in warned[0]["fix"]
    finally:
        bulletin_chart.cjk_family.cache_clear()
