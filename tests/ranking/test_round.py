"""RankingRound on the real dev server with a real read model: the hand-computed fixture end to
end, exemption, byte-identical re-runs, the schedules, one notice per decision under retries.

Each test has its own database (see conftest), so only its fixture is ranked.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from temporalio import activity
from temporalio.client import Client, ScheduleActionStartWorkflow
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.ladder import LadderActivities
from activities.notify import NotifyActivities
from activities.ranking import RankingActivities
from activities.read_model import ReadModelActivities
from config.settings import Settings
from guatu.core import constants as c
from guatu.core.clock import local_date
from guatu.ladder import queries as ladder_queries
from guatu.ladder import service as ladder_service
from guatu.ladder.models import ExemptionInput, LadderBatch, LadderChanges
from guatu.lifecycle.models import Notice
from guatu.ranking import queries, service
from guatu.ranking.messages import (
    ComputeInput,
    ComputeResult,
    FeedLadderInput,
    FeedLadderResult,
    FreezeInput,
    FreezeResult,
    RoundNoticesInput,
    RoundResult,
)
from guatu.ranking.models import RoundContext, Snapshot
from guatu.ranking.periods import last_closed
from guatu.ranking.rules import compute_round
from guatu.ranking.rulesets import canonical_json, load_ruleset, sha256
from guatu.whatif import replay as whatif
from tests.helpers import WebhookReceiver, running_worker
from tests.ranking import fixture
from tests.ranking.conftest import end_ladders, eventually, fetch, prefix
from workflows.registry import WORKFLOWS

REASON = "特大暴雨引发洪灾，全部工地依令停工（不可抗力）"


async def _all_sent(pool: asyncpg.Pool) -> bool:
    rows = await fetch(pool, "SELECT count(*) AS n FROM notifications WHERE status = 'pending'")
    return rows[0]["n"] == 0


async def _refused(pool: asyncpg.Pool) -> bool:
    rows = await fetch(
        pool,
        "SELECT count(*) AS n FROM notifications WHERE last_error IS NOT NULL"
        " AND status = 'pending'",
    )
    return rows[0]["n"] > 0


async def _stored(pool: asyncpg.Pool, period: str) -> tuple[str, str, str, list[Any]]:
    snap = await fetch(pool, "SELECT body FROM ranking_snapshots WHERE period = $1", period)
    rnd = await fetch(pool, "SELECT results, context FROM ranking_rounds WHERE period = $1", period)
    entries = await fetch(
        pool, "SELECT * FROM ranking_entries WHERE period = $1 ORDER BY level, rank", period
    )
    return snap[0]["body"], rnd[0]["results"], rnd[0]["context"], [tuple(e) for e in entries]


async def test_round_end_to_end_reproducible(
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
    client = dev_env.client
    async with running_worker(client, fresh_pool, http, settings) as tq:
        try:
            # Force majeure in bureau d before the round: exempt from 2031-03's black list.
            await ladder_service.grant_exemption(
                client,
                d,
                ExemptionInput(
                    period="2031-03",
                    reason=REASON,
                    actor="王区长",
                    role="district_leader",
                    idempotency_key=f"{px}-ex",
                ),
                pool=fresh_pool,
                task_queue=tq,
            )
            handle = await service.trigger_round(client, "2031-03", "default", task_queue=tq)
            assert handle.id == c.ranking_round_workflow_id("2031-03", "default")
            first = await handle.result()
            # Hand-computed (tests/ranking/test_rules.py): b 106.00, c 89.25, a 51.25, d 7.00.
            assert (first.red_list, first.black_list, first.exempted) == ([b, cc], [a], [d])
            assert first.reproduced is False and first.bureaus == 4

            # The frozen inputs are the fixture's, as the read model holds them: A2's correction
            # won (900 = 300 + 600), C2's permit reached after close did not count, the
            # cancelled project is out of scope.
            body, results_text, context_text, entries = await _stored(fresh_pool, "2031-03")
            frozen = Snapshot.model_validate_json(body)
            expected = fixture.snapshot(px)
            assert [p.code for p in frozen.projects] == [p.code for p in expected.projects]
            assert frozen.projects == expected.projects
            # Anyone can recompute the published bytes from the stored inputs and rule set.
            rules = load_ruleset("default")
            again = compute_round(
                frozen,
                rules,
                RoundContext.model_validate_json(context_text),
                ruleset_sha256=sha256(canonical_json(rules.model_dump(mode="json"))),
                snapshot_sha256=sha256(body),
            )
            assert canonical_json(again.model_dump(mode="json")) == results_text

            ranking = await queries.get_ranking(fresh_pool, "bureau", "2031-03")
            assert [
                (r["code"], r["rank"], r["score"], r["list"], r["exempted"])
                for r in ranking["rows"]
            ] == [
                (b, 1, 106.0, "red", False),
                (cc, 2, 89.25, "red", False),
                (a, 3, 51.25, "black", False),
                (d, 4, 7.0, None, True),
            ]
            assert ranking["exempted"][0]["reason"] == REASON
            assert ranking["ruleset"]["id"] == "default" and ranking["ruleset"]["version"] == 2
            projects = await queries.get_ranking(fresh_pool, "project")
            assert [r["score"] for r in projects["rows"]] == [112.0, 106.0, 91.0, 87.5, 31.0, 7.0]
            assert projects["period"] == "2031-03"
            # A page of the project ranking: rank order kept, the lists still whole.
            page = await queries.get_ranking(fresh_pool, "project", limit=2, offset=2)
            assert [r["score"] for r in page["rows"]] == [91.0, 87.5]
            assert [r["rank"] for r in page["rows"]] == [3, 4]
            assert page["total_rows"] == 6 and page["offset"] == 2
            assert page["red_list"] == projects["red_list"]
            assert page["black_list"] == projects["black_list"]
            # A bureau's breakdown lists its projects; a reader can cap that list.
            trimmed = await queries.get_ranking(fresh_pool, "bureau", "2031-03", member_lines=1)
            for full, short in zip(ranking["rows"], trimmed["rows"], strict=True):
                members = [x for x in full["breakdown"] if x["key"] == "member"]
                kept = [x for x in short["breakdown"] if x["key"] == "member"]
                assert kept == members[:1]
                rest = [x for x in full["breakdown"] if x["key"] != "member"]
                assert [
                    x for x in short["breakdown"] if x["key"] not in ("member", "members_more")
                ] == rest
                more = [x for x in short["breakdown"] if x["key"] == "members_more"]
                assert len(more) == (1 if len(members) > 1 else 0)
                if more:
                    assert f"{len(members) - 1} more" in more[0]["text_en"]
            none_shown = await queries.get_ranking(fresh_pool, "bureau", "2031-03", member_lines=0)
            assert all(x["key"] != "member" for r in none_shown["rows"] for x in r["breakdown"])
            assert [len(r["breakdown"]) for r in none_shown["rows"]] == [
                len(r["breakdown"]) - r["members"] + 1 for r in ranking["rows"]
            ]
            of_b = await queries.get_ranking(fresh_pool, "project", bureau=b)
            assert of_b["rows"] and {r["bureau"] for r in of_b["rows"]} == {b}
            assert of_b["total_rows"] == len(of_b["rows"]) < 6
            programs = await queries.get_ranking(fresh_pool, "program", "2031-03")
            assert [(r["code"], r["score"]) for r in programs["rows"]] == [
                ("P02", 54.3),
                ("P01", 50.29),
            ]
            assert [p["period"] for p in await queries.list_periods(fresh_pool, "bureau")] == [
                "2031-03"
            ]
            assert (await queries.get_ranking(fresh_pool, "bureau", "2031-02"))["found"] is False

            # Ladders: a 1st black list → 通报; b, c red → 表扬; d exempted, and its project D1
            # red in February and March → 督办单 due in 30 days.
            decisions = await fetch(
                fresh_pool,
                "SELECT bureau, kind, project, deadline FROM"
                " ladder_decisions ORDER BY bureau, kind",
            )
            assert [(r["bureau"], r["kind"], r["project"]) for r in decisions] == [
                (a, "notice", None),
                (b, "commendation", None),
                (cc, "commendation", None),
                (d, "exempted", None),
                (d, "exemption_granted", None),
                (d, "project_supervision", f"{px.upper()}-D1"),
            ]
            escalations = await queries.open_escalations(fresh_pool)
            assert [(e["bureau"], e["project"], e["status"]) for e in escalations] == [
                (d, f"{px.upper()}-D1", "open")
            ]
            assert (
                escalations[0]["due"]
                == (local_date(datetime.now(UTC)) + timedelta(days=30)).isoformat()
                or escalations[0]["due"]
                == (local_date(datetime.now(UTC)) + timedelta(days=31)).isoformat()
            )
            standing = await ladder_queries.bureau_standing(fresh_pool, a)
            assert [(t["track"], t["level"], t["level_zh"]) for t in standing["tracks"]] == [
                ("default:month", 1, "黑榜通报")
            ]
            assert standing["recent_ranks"][0]["rank"] == 3

            # Notices: each bureau's rank notice and every decision, once per key; the leaders'
            # office gets the summary and a copy of every decision.
            await eventually(lambda: _all_sent(fresh_pool))
            rows = await fetch(fresh_pool, "SELECT key, bureau, kind, body_zh FROM notifications")
            keys = {r["key"] for r in rows}
            assert {f"ranking:default:2031-03:{x}" for x in (*bureaus, "summary")} <= keys
            decision_keys = [
                k["key"] for k in await fetch(fresh_pool, "SELECT key FROM ladder_decisions")
            ]
            assert all(k in keys and f"{k}:xfb" in keys for k in decision_keys)
            mine = Counter({k: n for k, n in receiver.deliveries().items() if px in k})
            assert set(mine.values()) == {1}
            assert len(mine) == len([r for r in rows if r["bureau"] in bureaus])
            rank_a = next(r for r in rows if r["key"] == f"ranking:default:2031-03:{a}")
            assert "在 4 个责任单位中排第 3 名，列入黑榜" in rank_a["body_zh"]
            notice_a = next(r for r in rows if r["key"].endswith(":2031-03:notice"))
            assert "通报" in notice_a["body_zh"] and "51.25" in notice_a["body_zh"]

            # The quarterly roll-up of the same inputs: the report window is the quarter (Feb and
            # Mar), red months count twice for D1, and d's exemption (2031-03 only) does not apply.
            # A2 36 + 0 + 15 × 1/2 − 5 = 38.50; C2 66 + 25 + 7.50 = 98.50; D1 12 + 7.50 − 10 = 9.50
            # a (112 × 1000 + 38.5 × 3000) / 4000 = 56.875 → 56.88 (half to even); c 93.00.
            quarter = await (
                await service.trigger_round(client, "2031-Q1", "default", task_queue=tq)
            ).result()
            assert (quarter.red_list, quarter.black_list, quarter.exempted) == ([b, cc], [a, d], [])
            q_rows = (await queries.get_ranking(fresh_pool, "bureau", "2031-Q1"))["rows"]
            assert [(r["code"], r["score"]) for r in q_rows] == [
                (b, 106.0),
                (cc, 93.0),
                (a, 56.88),
                (d, 9.5),
            ]
            q_decisions = await fetch(
                fresh_pool,
                "SELECT bureau, kind FROM ladder_decisions"
                " WHERE period = '2031-Q1' ORDER BY bureau, kind",
            )
            assert [(r["bureau"], r["kind"]) for r in q_decisions] == [
                (a, "notice"),
                (b, "commendation"),
                (cc, "commendation"),
                (d, "notice"),
            ]
            assert [p["period"] for p in await queries.list_periods(fresh_pool, "bureau")] == [
                "2031-03",
                "2031-Q1",
            ]

            # What-if: the same frozen month under the Sanya rules. Ranks and lists happen to
            # agree (b, c red; a black; d exempted), but the ladder differs: Sanya summons at the
            # first black list, and a single red month (A2's March) already brings a 督办单.
            # The published round is verified byte for byte on the way.
            what = await whatif.what_if(fresh_pool, ["2031-03", "2031-02"], "sanya")
            assert what["missing"] == ["2031-02"] and what["verified"] == {"2031-03": True}
            period = what["periods"][0]
            assert period["black_list"] == {"baseline": [a], "candidate": [a]}
            row_a = next(x for x in period["bureaus"] if x["code"] == a)
            assert (row_a["baseline"]["score"], row_a["candidate"]["score"]) == (51.25, 70.0)
            assert (
                row_a["baseline"]["ladder"]["actions"],
                row_a["candidate"]["ladder"]["actions"],
            ) == (["notice"], ["summons", "project_supervision"])
            assert period["differences"]["ladder_changes"] == 1

            # Run the same round again: the frozen snapshot is reused, the results reproduce
            # byte for byte, and nothing is decided or sent twice.
            before = await _stored(fresh_pool, "2031-03")
            sent_before = Counter(receiver.deliveries())
            decided_before = await fetch(fresh_pool, "SELECT * FROM ladder_decisions ORDER BY key")
            second = await (
                await service.trigger_round(client, "2031-03", "default", task_queue=tq)
            ).result()
            assert second.reproduced is True
            assert (second.snapshot_sha256, second.results_sha256) == (
                first.snapshot_sha256,
                first.results_sha256,
            )
            assert await _stored(fresh_pool, "2031-03") == before
            # The ladders answer the repeated record_period with their first answer.
            assert [x.decisions for x in second.ladders] == [x.decisions for x in first.ladders]
            await asyncio.sleep(0.5)
            assert Counter(receiver.deliveries()) == sent_before
            assert (
                await fetch(fresh_pool, "SELECT * FROM ladder_decisions ORDER BY key")
                == decided_before
            )
            # The round's and a ladder's histories replay on today's code.
            replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
            for workflow_id in (
                c.ranking_round_workflow_id("2031-03", "default"),
                c.bureau_ladder_workflow_id(d),
            ):
                history = await client.get_workflow_handle(workflow_id).fetch_history()
                assert len(history.events) > 10
                await replayer.replay_workflow(history)
        finally:
            await end_ladders(client, bureaus)


async def test_schedules_exist_and_firing_one_runs_a_round(
    dev_env: WorkflowEnvironment, fresh_pool: asyncpg.Pool, http: httpx.AsyncClient
) -> None:
    px = prefix()
    bureaus = await fixture.add_bureaus(fresh_pool, px, None)
    client = dev_env.client
    period = last_closed("month", local_date(datetime.now(UTC))).key
    async with running_worker(
        client, fresh_pool, http, Settings(graceful_shutdown_seconds=2)
    ) as tq:
        settings = Settings(task_queue=tq)
        try:
            # The fixture's inputs, moved to the month that closed last.
            await _insert_one(fresh_pool, px, period)
            handles = await service.ensure_schedules(client, settings)
            again = await service.ensure_schedules(client, settings)  # idempotent
            assert (
                [h.id for h in handles]
                == [h.id for h in again]
                == [c.ranking_schedule_id(k, "default") for k in ("month", "quarter", "year")]
            )
            for h in handles:
                desc = await h.describe()
                action = desc.schedule.action
                assert isinstance(action, ScheduleActionStartWorkflow)
                assert (action.workflow, action.task_queue) == (c.RANKING_WORKFLOW, tq)
                assert desc.schedule.spec.time_zone_name == "Asia/Shanghai"
            month = handles[0]
            await month.trigger()
            # The scheduled run hands the round to the business-key workflow of the last month.
            rows = await eventually(
                lambda: fetch(fresh_pool, "SELECT period, ruleset_id FROM ranking_rounds"),
                timeout=30,
            )
            assert [(r["period"], r["ruleset_id"]) for r in rows] == [(period, "default")]
            round_handle = client.get_workflow_handle(
                c.ranking_round_workflow_id(period, "default"), result_type=RoundResult
            )
            result = await round_handle.result()
            assert result.period == period and result.bureaus == 1
            desc = await month.describe()
            assert desc.info.num_actions == 1
        finally:
            for kind in ("month", "quarter", "year"):
                with contextlib.suppress(Exception):
                    await client.get_schedule_handle(
                        c.ranking_schedule_id(kind, "default")
                    ).delete()
            await end_ladders(client, bureaus)


async def _insert_one(pool: asyncpg.Pool, px: str, period: str) -> None:
    from datetime import date

    from guatu.core.clock import add_months, local_start, parse_month

    start = parse_month(period) - timedelta(days=20)
    close = add_months(parse_month(period), 1)
    plan = fixture.plan_json(fixture.projects(px)[1])
    plan.update(
        {
            "start": start.isoformat(),
            "finish": (close + timedelta(days=200)).isoformat(),
            "milestones": [],
        }
    )
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO projects (code, name_zh, program, bureau, kind, stage, status, light,"
            " total_investment_wan, planned_investment_to_date_wan, actual_investment_wan,"
            " physical_progress_pct, plan, business_today, version) VALUES ($1,'项目','P01',$2,"
            "'engineering','preliminary','active','green',1000,0,0,0,$3,$4,1)",
            f"{px.upper()}-S1",
            f"{px}_a",
            plan,
            date.today(),
        )
        # On the chart since its start, before the period closed: scheduled rounds rank it
        # (activities/round_gate.py).
        await conn.execute(
            "INSERT INTO stage_history (key, project, step, stage, on_date, recorded_at, actor,"
            " bureau) VALUES ($1, $2, NULL, 'approved', $3, $4, 'test', $5)",
            f"{px.upper()}-S1:approved",
            f"{px.upper()}-S1",
            start,
            local_start(start),
            f"{px}_a",
        )


# ---------------------------------------------------------------------------------------------
# Retried activities: every activity fails once *after* doing its work (a worker lost between
# its side effect and reporting it), and the bureau's webhook is down at first.
# ---------------------------------------------------------------------------------------------


class Flaky:
    def __init__(self, pool: asyncpg.Pool, client: Client, http: httpx.AsyncClient) -> None:
        self.ranking = RankingActivities(pool, client)
        self.ladder = LadderActivities(pool)
        self.notify = NotifyActivities(pool, http)
        self.read_model = ReadModelActivities(pool)
        self.retried: Counter[str] = Counter()
        self.lost_after_post: set[str] = set()

    def _lost(self, name: str) -> None:
        if activity.info().attempt == 1:
            self.retried[name] += 1
            raise RuntimeError(f"{name}: worker lost after the side effect")

    @activity.defn(name=c.ACTIVITY_RANKING_FREEZE)
    async def freeze(self, data: FreezeInput) -> FreezeResult:
        result = await self.ranking.freeze(data)
        self._lost("freeze")
        return result

    @activity.defn(name=c.ACTIVITY_RANKING_COMPUTE)
    async def compute(self, data: ComputeInput) -> ComputeResult:
        result = await self.ranking.compute(data)
        self._lost("compute")
        return result

    @activity.defn(name=c.ACTIVITY_RANKING_FEED_LADDER)
    async def feed_ladder(self, data: FeedLadderInput) -> FeedLadderResult:
        result = await self.ranking.feed_ladder(data)
        self._lost("feed_ladder")
        return result

    @activity.defn(name=c.ACTIVITY_RANKING_NOTICES)
    async def round_notices(self, data: RoundNoticesInput) -> list[Notice]:
        result = await self.ranking.round_notices(data)
        self._lost("round_notices")
        return result

    @activity.defn(name=c.ACTIVITY_LADDER_PERSIST)
    async def ladder_persist(self, batch: LadderBatch) -> None:
        await self.ladder.persist(batch)
        self._lost("ladder_persist")

    @activity.defn(name=c.ACTIVITY_LADDER_PERSIST_CHANGES)
    async def ladder_persist_changes(self, changes: LadderChanges) -> None:
        await self.ladder.persist_changes(changes)
        self._lost("ladder_persist")

    @activity.defn(name=c.ACTIVITY_DELIVER)
    async def deliver(self, notice: Notice) -> str:
        result = await self.notify.deliver_notice(notice)
        if result == "delivered" and notice.key not in self.lost_after_post:
            # Posted and marked delivered, then the worker is lost: the retry must not post again.
            self.lost_after_post.add(notice.key)
            self.retried["deliver"] += 1
            raise RuntimeError("deliver: worker lost after the POST")
        return result


async def test_one_notice_per_decision_when_activities_retry(
    dev_env: WorkflowEnvironment,
    fresh_pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    receiver: WebhookReceiver,
) -> None:
    px = prefix()
    bureaus = await fixture.add_bureaus(fresh_pool, px, receiver.url)
    await fixture.insert(fresh_pool, px)
    client = dev_env.client
    flaky = Flaky(fresh_pool, client, http)
    tq = f"tq-{px}"
    worker = Worker(
        client,
        task_queue=tq,
        workflows=WORKFLOWS,
        activities=[
            flaky.freeze,
            flaky.compute,
            flaky.feed_ladder,
            flaky.round_notices,
            flaky.ladder_persist,
            flaky.ladder_persist_changes,
            flaky.deliver,
            flaky.read_model.apply_projection,
        ],
        graceful_shutdown_timeout=timedelta(seconds=2),
    )
    async with worker:
        try:
            receiver.failing = True  # the bureaus' endpoint is down when the round starts
            handle = await service.trigger_round(client, "2031-03", "default", task_queue=tq)
            await eventually(lambda: _refused(fresh_pool), timeout=30)
            receiver.failing = False
            result = await handle.result()
            assert (result.red_list, result.black_list) == (
                [bureaus[1], bureaus[2]],
                [bureaus[0], bureaus[3]],
            )
            await eventually(lambda: _all_sent(fresh_pool), timeout=60)
            for name in (
                "freeze",
                "compute",
                "feed_ladder",
                "round_notices",
                "ladder_persist",
                "deliver",
            ):
                assert flaky.retried[name] >= 1, name
            decisions = [
                r["key"] for r in await fetch(fresh_pool, "SELECT key FROM ladder_decisions")
            ]
            # No exemption here: a and d 通报 (1st black list), b and c 表扬, D1 督办单.
            assert len(decisions) == 5
            rows = await fetch(
                fresh_pool, "SELECT key, bureau, status, attempts FROM notifications"
            )
            keys = Counter(r["key"] for r in rows)
            assert all(keys[k] == 1 and keys[f"{k}:xfb"] == 1 for k in decisions)
            posted = Counter({k: n for k, n in receiver.deliveries().items() if px in k})
            to_bureaus = [r["key"] for r in rows if r["bureau"] in bureaus]
            assert sorted(posted) == sorted(to_bureaus)  # every bureau notice arrived …
            assert set(posted.values()) == {1}  # … exactly once
            assert any(r["attempts"] >= 2 for r in rows)  # refused at first, then delivered
        finally:
            receiver.failing = False
            await end_ladders(client, bureaus)
