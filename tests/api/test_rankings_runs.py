"""Rounds through the API: run, re-run, refreeze (revision 2 and its diff), revisions, what-if,
on a database of the test's own with the hand-computed fixture (tests/ranking/fixture.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import httpx
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.api.app import create_app
from guatu.core.tokens import create_token
from tests.api.conftest import TEST_OPTIONS
from tests.helpers import WebhookReceiver, running_worker
from tests.ranking import fixture
from tests.ranking.conftest import end_ladders, prefix

REASON = "D1 三月月报漏报，补报后更正"


async def test_runs_refreeze_revisions_and_whatif(
    dev_env: WorkflowEnvironment,
    fresh_pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    receiver: WebhookReceiver,
    settings: Settings,
) -> None:
    px = prefix()
    bureaus = await fixture.add_bureaus(fresh_pool, px, receiver.url)
    a, b, cc, d = bureaus
    await fixture.insert(fresh_pool, px)
    tokens = {
        role: await create_token(fresh_pool, role, None, role)
        for role in ("leader", "admin", "manager")
    }
    tokens["bureau"] = await create_token(fresh_pool, "bureau", a, "a")

    def auth(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[role]}"}

    async with running_worker(dev_env.client, fresh_pool, http, settings) as tq:
        app = create_app(
            dev_env.client, fresh_pool, Settings(), task_queue=tq, options=TEST_OPTIONS
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://guatu.test", timeout=60
        ) as api:
            try:
                runs = "/api/v1/rankings/runs"
                assert (
                    await api.post(runs, json={"period": "2031-03"}, headers=auth("manager"))
                ).status_code == 403
                no_reason = await api.post(
                    runs, json={"period": "2031-03", "refreeze": True}, headers=auth("leader")
                )
                assert no_reason.status_code == 422
                unknown = await api.post(
                    runs, json={"period": "2031-03", "ruleset": "nope"}, headers=auth("leader")
                )
                assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_ruleset")
                wrong_kind = await api.post(
                    runs, json={"period": "2031-03", "kind": "quarter"}, headers=auth("leader")
                )
                assert wrong_kind.status_code == 422

                first = await api.post(runs, json={"period": "2031-03"}, headers=auth("leader"))
                assert first.status_code == 200, first.text
                one = first.json()
                assert (one["status"], one["workflow_id"]) == (
                    "completed",
                    "ranking-default-2031-03",
                )
                # test_rules: red b, c; black a, d (no exemption in this test).
                assert (
                    one["result"]["revision"],
                    one["result"]["red_list"],
                    one["result"]["black_list"],
                ) == (1, [b, cc], [a, d])

                async with fresh_pool.acquire() as conn:
                    await conn.execute(
                        "INSERT INTO progress_reports (project, month, corrected, investment_wan,"
                        " cumulative_investment_wan, physical_progress_pct, received_at, on_time,"
                        " actor) VALUES ($1, '2031-03', 0, 1700, 2100, 20, $2, false, 'test')",
                        f"{px.upper()}-D1",
                        datetime(2031, 4, 28, tzinfo=UTC),
                    )
                rerun = (
                    await api.post(runs, json={"period": "2031-03"}, headers=auth("admin"))
                ).json()["result"]
                assert (rerun["reproduced"], rerun["results_sha256"]) == (
                    True,
                    one["result"]["results_sha256"],
                )

                second = await api.post(
                    runs,
                    json={"period": "2031-03", "refreeze": True, "reason": REASON},
                    headers=auth("admin"),
                )
                assert second.status_code == 200, second.text
                two = second.json()
                assert two["workflow_id"] == "ranking-default-2031-03-r2"
                # D1 58.00 (63 + 0 + 0 − 5): d third and on the red list; a alone on the black.
                assert (
                    two["result"]["revision"],
                    two["result"]["red_list"],
                    two["result"]["black_list"],
                ) == (2, [b, cc, d], [a])

                shown = (
                    await api.get(
                        "/api/v1/rankings", params={"period": "2031-03"}, headers=auth("leader")
                    )
                ).json()
                assert [(r["code"], r["rank"]) for r in shown["rows"]] == [
                    (b, 1),
                    (cc, 2),
                    (d, 3),
                    (a, 4),
                ]
                assert shown["revision"]["number"] == 2 and shown["revision"]["reason"] == REASON
                assert shown["revision"]["actor"].startswith("admin:")
                moved = shown["revision"]["changes"]["levels"]["bureau"]["rows"]
                assert {(m["code"], m["before"]["rank"], m["after"]["rank"]) for m in moved} == {
                    (d, 4, 3),
                    (a, 3, 4),
                }
                assert {
                    (x["bureau"], x["change"], x["kind"])
                    for x in shown["revision"]["changes"]["decisions"]
                } == {(d, "withdrawn", "notice"), (d, "made", "commendation")}

                listing = await api.get(
                    "/api/v1/rankings/revisions",
                    params={"period": "2031-03"},
                    headers=auth("leader"),
                )
                assert listing.status_code == 200
                revs = listing.json()["revisions"]
                assert [(r["revision"], r["results_sha256"]) for r in revs] == [
                    (1, one["result"]["results_sha256"]),
                    (2, two["result"]["results_sha256"]),
                ]

                whatif = await api.get(
                    "/api/v1/rankings/whatif",
                    params={"ruleset": "sanya", "from": "2031-02", "to": "2031-03"},
                    headers=auth("leader"),
                )
                assert whatif.status_code == 200, whatif.text
                body = whatif.json()
                assert (body["baseline"]["id"], body["candidate"]["id"]) == ("default", "sanya")
                assert [p["period"] for p in body["periods"]] == ["2031-03"]
                assert body["missing"] == ["2031-02"]
                assert {x["code"] for x in body["periods"][0]["bureaus"]} == set(bureaus)
                # The baseline is revision 2 as published: d third under the default rules.
                assert {x["code"]: x["baseline"]["rank"] for x in body["periods"][0]["bureaus"]}[
                    d
                ] == 3
                # The kept earlier version of the default rules (v1, cumulative basis) beside
                # the published v2: the fixture's plans lie wholly in 2031 and span Feb–May, so
                # 时间进度 2/4 and the whole-span line (50 of 100 days) give the same ratios —
                # the same scores and ranks on both sides (tests/ranking/fixture.py).
                old = await api.get(
                    "/api/v1/rankings/whatif",
                    params={"ruleset": "default@1", "from": "2031-03", "to": "2031-03"},
                    headers=auth("leader"),
                )
                assert old.status_code == 200, old.text
                assert (old.json()["baseline"]["version"], old.json()["candidate"]["version"]) == (
                    2,
                    1,
                )
                assert old.json()["summary"]["bureau_rank_changes"] == 0
                assert all(
                    x["baseline"]["score"] == x["candidate"]["score"]
                    for x in old.json()["periods"][0]["bureaus"]
                )
                for unknown in ("nope", "default@9"):
                    bad = await api.get(
                        "/api/v1/rankings/whatif",
                        params={"ruleset": unknown, "from": "2031-01", "to": "2031-03"},
                        headers=auth("leader"),
                    )
                    assert (bad.status_code, bad.json()["code"]) == (422, "unknown_ruleset")
                assert (
                    await api.get(
                        "/api/v1/rankings", params={"ruleset": "nope"}, headers=auth("leader")
                    )
                ).status_code == 422
                assert (
                    await api.get(
                        "/api/v1/rankings/whatif",
                        params={"ruleset": "sanya", "from": "2031-01", "to": "2031-03"},
                        headers=auth("bureau"),
                    )
                ).status_code == 403
            finally:
                await end_ladders(dev_env.client, bureaus)
