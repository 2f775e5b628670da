"""Revisions of a round on the real dev server and read model: a round is published, late data
lands, a plain re-run changes nothing, a refreeze publishes revision 2 with changed ranks, the
ladder withdraws what revision 2 no longer supports (once) and only changed decisions are told.

Figures are the hand-computed fixture (tests/ranking/fixture.py, test_rules.py) plus D1's late
March report.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import asyncpg
import httpx
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.core import constants as c
from guatu.ladder import queries as ladder_queries
from guatu.ranking import queries, service
from guatu.ranking.rulesets import sha256
from tests.helpers import WebhookReceiver, running_worker
from tests.ranking import fixture
from tests.ranking.conftest import end_ladders, eventually, fetch, prefix

REASON = "市发改委核实：D1 三月投资月报漏报，补报 1700 万元"


async def _late_report(pool: asyncpg.Pool, code: str) -> None:
    """D1's March report arrives after the round (late): 1700 万."""
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO progress_reports (project, month, corrected, investment_wan,"
            " cumulative_investment_wan, physical_progress_pct, received_at, on_time, actor)"
            " VALUES ($1, '2031-03', 0, 1700, 2100, 20, $2, false, 'test')",
            code,
            datetime(2031, 4, 28, tzinfo=UTC),
        )


async def test_refreeze_publishes_revision_two(
    dev_env: WorkflowEnvironment,
    fresh_pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    receiver: WebhookReceiver,
    settings: Settings,
) -> None:
    px = prefix()
    bureaus = await fixture.add_bureaus(fresh_pool, px, receiver.url)
    a, b, cc, d = bureaus
    d1 = f"{px.upper()}-D1"
    await fixture.insert(fresh_pool, px)
    client = dev_env.client
    async with running_worker(client, fresh_pool, http, settings) as tq:
        try:
            first = await (await service.trigger_round(client, "2031-03", task_queue=tq)).result()
            # test_rules (default v2): b 106.00, c 89.25, a 51.25, d 7.00; red b, c; black a, d.
            assert (first.revision, first.red_list, first.black_list) == (1, [b, cc], [a, d])

            await _late_report(fresh_pool, d1)
            # A plain re-run after late data: the frozen inputs stand, nothing changes.
            again = await (await service.trigger_round(client, "2031-03", task_queue=tq)).result()
            assert again.reproduced is True and again.revision == 1
            assert (again.snapshot_sha256, again.results_sha256) == (
                first.snapshot_sha256,
                first.results_sha256,
            )

            handle = await service.revise_round(
                client, "2031-03", reason=REASON, actor="李科长", task_queue=tq, pool=fresh_pool
            )
            assert handle.id == c.ranking_round_workflow_id("2031-03", "default", 2)
            second = await handle.result()
            # D1 (default v2, the year's plan; all of D1's plan and work fall in 2031): this
            # year's 400 + 1700 = 2100 of the year's plan 4000 × 时间进度 2/4 = 2000 to date
            # = 105 % → 60 × 1.05 = 63.00; milestones 0;
            # the March report is late → 0; red February and March → − 5: 58.00.
            # Bureaus: b 106.00, c 89.25, d 58.00 (target 105 % met), a 51.25 (missed).
            # Red list: top 3 that met the target → b, c, d; black list: a only.
            assert (second.revision, second.reproduced) == (2, False)
            assert (second.red_list, second.black_list) == ([b, cc, d], [a])
            assert second.snapshot_sha256 != first.snapshot_sha256

            ranking = await queries.get_ranking(fresh_pool, "bureau", "2031-03")
            assert [(r["code"], r["rank"], r["score"], r["list"]) for r in ranking["rows"]] == [
                (b, 1, 106.0, "red"),
                (cc, 2, 89.25, "red"),
                (d, 3, 58.0, "red"),
                (a, 4, 51.25, "black"),
            ]
            rev = ranking["revision"]
            assert (rev["number"], rev["reason"], rev["actor"]) == (2, REASON, "李科长")
            bureau_changes = rev["changes"]["levels"]["bureau"]
            assert {
                (x["code"], x["before"]["rank"], x["after"]["rank"]) for x in bureau_changes["rows"]
            } == {(d, 4, 3), (a, 3, 4)}
            assert bureau_changes["red_list"] == {"before": [b, cc], "after": [b, cc, d]}
            assert bureau_changes["black_list"] == {"before": [a, d], "after": [a]}
            # Programs: P01 (112 × 1000 + 106 × 2000 + 58 × 4000) / 7000 = 556000 / 7000 = 79.43,
            # now first ahead of P02 54.30.
            programs = await queries.get_ranking(fresh_pool, "program", "2031-03")
            assert [(r["code"], r["score"]) for r in programs["rows"]] == [
                ("P01", 79.43),
                ("P02", 54.3),
            ]
            # Ladder: only d's decisions changed — its 通报 (black list) withdrawn, a 通报表扬
            # made; a's 通报, b's and c's 表扬 and d's 督办单 for D1 (still red two months) stand.
            decisions = {(x["bureau"], x["change"], x["kind"]) for x in rev["changes"]["decisions"]}
            assert decisions == {(d, "withdrawn", "notice"), (d, "made", "commendation")}

            # Revision 1 stays readable with its hashes.
            listing = await queries.round_revisions(fresh_pool, "2031-03")
            assert [(x["revision"], x["latest"]) for x in listing["revisions"]] == [
                (1, False),
                (2, True),
            ]
            assert listing["revisions"][0]["results_sha256"] == first.results_sha256
            assert listing["revisions"][0]["snapshot_sha256"] == first.snapshot_sha256
            archived = await fetch(
                fresh_pool,
                "SELECT results, results_sha256 FROM ranking_round_archive WHERE revision = 1",
            )
            assert sha256(archived[0]["results"]) == first.results_sha256
            old_snap = await fetch(
                fresh_pool,
                "SELECT body FROM ranking_snapshot_archive"
                " WHERE period = '2031-03' AND revision = 1",
            )
            assert sha256(old_snap[0]["body"]) == first.snapshot_sha256

            # A plain re-run now re-verifies revision 2 byte for byte and changes nothing.
            third = await (await service.trigger_round(client, "2031-03", task_queue=tq)).result()
            assert (third.revision, third.reproduced, third.results_sha256) == (
                2,
                True,
                second.results_sha256,
            )

            # The refreeze again (no new data): revision 3, same ranks, nothing withdrawn twice.
            handle3 = await service.revise_round(
                client, "2031-03", reason=REASON, actor="李科长", task_queue=tq, pool=fresh_pool
            )
            assert handle3.id == c.ranking_round_workflow_id("2031-03", "default", 3)
            rev3 = await handle3.result()
            assert rev3.revision == 3 and (rev3.red_list, rev3.black_list) == ([b, cc, d], [a])
            latest = await queries.get_ranking(fresh_pool, "bureau", "2031-03")
            assert latest["revision"]["changes"]["levels"]["bureau"]["changed"] == 0
            assert latest["revision"]["changes"]["decisions"] == []
            withdrawn = await fetch(
                fresh_pool, "SELECT key, bureau FROM ladder_decisions WHERE kind = 'withdrawn'"
            )
            assert [(r["bureau"], r["key"]) for r in withdrawn] == [
                (d, f"ladder:{d}:default:2031-03:notice:withdrawn")
            ]
            audit = await fetch(
                fresh_pool,
                "SELECT actor, reason FROM audit_log WHERE action = 'ladder_withdraw:2031-03'",
            )
            assert [(r["actor"], r["reason"]) for r in audit] == [("李科长", REASON)]
            standing = await ladder_queries.bureau_standing(fresh_pool, d)
            assert [(t["level"], t["red_streak"]) for t in standing["tracks"]] == [(0, 1)]

            # Notices: only the changed decisions were told (更正通报, Chinese first), to d and
            # the leaders' office; a, b and c heard nothing new; the office has each revision's
            # summary.
            await eventually(lambda: _delivered(fresh_pool))
            corrections = await fetch(
                fresh_pool,
                "SELECT key, bureau, title_zh, body_zh FROM notifications"
                " WHERE title_zh LIKE '%【更正通报】%' ORDER BY key",
            )
            assert {(r["bureau"], r["key"]) for r in corrections} == {
                (d, f"ladder:{d}:default:2031-03:notice:withdrawn"),
                ("xfb", f"ladder:{d}:default:2031-03:notice:withdrawn:xfb"),
                (d, f"ladder:{d}:default:2031-03:r2:commendation"),
                ("xfb", f"ladder:{d}:default:2031-03:r2:commendation:xfb"),
                ("xfb", "ranking:default:2031-03:r2:summary"),
                ("xfb", "ranking:default:2031-03:r3:summary"),
            }
            to_d = next(r for r in corrections if r["bureau"] == d and "withdrawn" in r["key"])
            assert (
                to_d["body_zh"]
                .splitlines()[1]
                .startswith("更正通报：2031年3月竞进比拼结果已更正为第 2 版")
            )
            assert REASON in to_d["body_zh"]
            for bureau in (a, b, cc):
                sent = await fetch(
                    fresh_pool, "SELECT key FROM notifications WHERE bureau = $1", bureau
                )
                # (A revision's keys carry ":r2:" / ":r3:"; a bureau code may itself start "r2".)
                assert [
                    r["key"]
                    for r in sent
                    if re.search(r":r[23]:", r["key"]) or "withdrawn" in r["key"]
                ] == []
        finally:
            await end_ladders(client, bureaus)


async def _delivered(pool: asyncpg.Pool) -> bool:
    rows = await fetch(pool, "SELECT count(*) AS n FROM notifications WHERE status = 'pending'")
    return rows[0]["n"] == 0
