"""BureauLadder on the time-skipping server: every step up and down over consecutive periods,
correction-plan deadlines as durable timers, 督办单, exemptions, continue-as-new.

Each test drives one ladder workflow with `record_period` updates (what RankingRound sends)
and moves time explicitly with `ts_env.sleep`, as the lifecycle tests do.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from config.settings import Settings
from guatu.core import constants as c
from guatu.core.clock import CST, local_date, local_start
from guatu.ladder import queries as ladder_queries
from guatu.ladder import service
from guatu.ladder.models import (
    CorrectionPlanInput,
    ExemptionInput,
    ExemptionResult,
    LadderInput,
    LadderStanding,
    RecordPeriodInput,
    RecordPeriodResult,
)
from guatu.lifecycle.models import ProgrammeClock
from guatu.ranking import queries
from guatu.ranking.actions import OrderStatus
from guatu.ranking.messages import BureauOutcome
from guatu.ranking.models import LadderRules, ListKind, RedProject
from guatu.ranking.periods import parse_period
from tests.conftest import free_port
from tests.helpers import WebhookReceiver, add_bureau, running_worker
from tests.ranking.conftest import end_ladders, eventually, fetch, quiet
from workflows.registry import WORKFLOWS

REASON = "特大暴雨引发洪灾，全部工地依令停工（不可抗力）"


@dataclass
class LadderLab:
    env: WorkflowEnvironment
    pool: asyncpg.Pool
    receiver: WebhookReceiver
    task_queue: str
    bureau: str

    async def start(
        self, continue_as_new_events: int = 2000, clock: ProgrammeClock | None = None
    ) -> WorkflowHandle[Any, Any]:
        return await self.env.client.start_workflow(
            c.LADDER_WORKFLOW,
            LadderInput(
                bureau=self.bureau,
                name_zh="测试局",
                continue_as_new_events=continue_as_new_events,
                clock=clock or ProgrammeClock(),
            ),
            id=c.bureau_ladder_workflow_id(self.bureau),
            task_queue=self.task_queue,
        )

    def handle(self) -> WorkflowHandle[Any, Any]:
        return self.env.client.get_workflow_handle(c.bureau_ladder_workflow_id(self.bureau))

    def outcome(
        self,
        period: str,
        listed: ListKind | None,
        reds: list[RedProject] | None = None,
        rank: int = 7,
    ) -> BureauOutcome:
        return BureauOutcome(
            bureau=self.bureau,
            name_zh="测试局",
            period=period,
            kind=parse_period(period).kind.value,
            ruleset_id="default",
            ruleset_version=1,
            rank=rank,
            of=8,
            score=42.5,
            listed=listed,
            target_met=listed is ListKind.RED,
            investment_ratio=0.81,
            reasons_zh=["合计 42.50 分"],
            reasons_en=["total 42.50"],
            red_projects=reds or [],
        )

    async def record(
        self,
        period: str,
        listed: ListKind | None,
        reds: list[RedProject] | None = None,
        ladder: LadderRules | None = None,
        revision: int = 1,
    ) -> RecordPeriodResult:
        data = RecordPeriodInput(
            outcome=self.outcome(period, listed, reds),
            ladder=ladder or LadderRules(),
            revision=revision,
            reason="补报数据后重新冻结" if revision > 1 else "",
            actor="王区长" if revision > 1 else "",
        )

        async def send() -> RecordPeriodResult:
            return await self.handle().execute_update(
                c.UPDATE_RECORD_PERIOD,
                data,
                id=f"record_period:default:{period}:r{revision}",
                result_type=RecordPeriodResult,
            )

        try:
            return await send()
        except RPCError as err:
            # The time-skipping server answers an Update that meets a continue-as-new with
            # "Completed workflow" instead of handing it to the new run (a real server does):
            # once the ladder is quiet on its new run, the same Update (same ID) again.
            if "Completed workflow" not in str(err):
                raise
            await eventually(lambda: quiet(self.handle()), timeout=15)
            return await send()

    async def standing(self) -> LadderStanding:
        # A query that races a continue-as-new on the time-skipping server goes unanswered
        # (it is addressed to the run that just closed) and holds the server's time lock from
        # then on: ask only once the ladder is quiet.
        await eventually(lambda: quiet(self.handle()), timeout=15)
        return await self.handle().query(c.QUERY_STANDING, result_type=LadderStanding)

    async def today(self) -> date:
        return local_date(await self.env.get_current_time())

    async def skip(self, days: float) -> None:
        await self.env.sleep(timedelta(days=days))
        await asyncio.sleep(0.3)

    async def decisions(self) -> list[str]:
        rows = await fetch(
            self.pool,
            "SELECT kind FROM ladder_decisions WHERE bureau = $1 ORDER BY decided_at, key",
            self.bureau,
        )
        return [r["kind"] for r in rows]


@pytest_asyncio.fixture
async def lab(
    ts_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    receiver: WebhookReceiver,
    settings: Settings,
) -> AsyncIterator[LadderLab]:
    bureau = await add_bureau(pool, receiver.url)
    async with running_worker(ts_env.client, pool, http, settings) as task_queue:
        yield LadderLab(ts_env, pool, receiver, task_queue, bureau)
        await end_ladders(ts_env.client, [bureau])


def kinds(result: RecordPeriodResult) -> list[str]:
    return [d.kind.value for d in result.decisions]


async def test_every_ladder_step_up_and_down(lab: LadderLab) -> None:
    # A small history limit makes the ladder continue-as-new several times during the test.
    await lab.start(continue_as_new_events=60)
    steps: list[tuple[int, int, list[str]]] = []
    for period in ("2031-01", "2031-02"):
        r = await lab.record(period, ListKind.BLACK)
        steps.append((r.level_before, r.level_after, kinds(r)))
    # 3rd consecutive black list: 督办 with a correction plan due in 15 days (a durable timer).
    today = await lab.today()
    third = await lab.record("2031-03", ListKind.BLACK)
    steps.append((third.level_before, third.level_after, kinds(third)))
    assert steps == [(0, 1, ["notice"]), (1, 2, ["summons"]), (2, 3, ["supervision"])]
    order_id = third.decisions[0].order_id
    assert order_id == f"{lab.bureau}:default:2031-03:supervision"
    assert third.decisions[0].deadline == today + timedelta(days=15)
    assert "整改方案报送期限" in third.decisions[0].lines_zh[-1]
    escalations = await queries.open_escalations(lab.pool, lab.bureau)
    assert [(e["id"], e["status"]) for e in escalations] == [(order_id, "open")]

    await lab.skip(10)  # before the deadline: nothing happens
    assert "escalation" not in await lab.decisions()
    await lab.skip(7)  # the day after the deadline has begun: escalated, once
    await eventually(lambda: _has(lab, "escalation"))
    escalations = await queries.open_escalations(lab.pool, lab.bureau)
    assert [(e["status"], e["overdue_days"] >= 0) for e in escalations] == [("escalated", True)]
    await lab.skip(30)
    assert (await lab.decisions()).count("escalation") == 1

    # A late plan closes the 督办 (marked late).
    late = await service.submit_correction_plan(
        lab.env.client,
        lab.bureau,
        CorrectionPlanInput(
            order_id=order_id,
            plan="倒排工期，增加施工班组，每周报送进度。",
            actor="局长",
            idempotency_key="plan-1",
        ),
    )
    assert (late.status.value, late.on_time) == ("closed", False)
    # A 4th black list keeps the ladder at its top rung: 督办 again, answered on time this time.
    fourth = await lab.record("2031-04", ListKind.BLACK)
    assert (fourth.level_before, fourth.level_after, kinds(fourth)) == (3, 3, ["supervision"])
    on_time = await service.submit_correction_plan(
        lab.env.client,
        lab.bureau,
        CorrectionPlanInput(
            order_id=fourth.decisions[0].order_id,
            plan="成立专班，逐项销号，月底前完成整改。",
            idempotency_key="plan-2",
        ),
    )
    assert on_time.on_time is True
    await lab.skip(20)
    assert (await lab.decisions()).count("escalation") == 1

    # Off the black list one period at a time: down one rung each; red lists commend.
    down: list[tuple[int, int, list[str]]] = []
    results: dict[str, RecordPeriodResult] = {}
    for period, listed in (
        ("2031-05", None),
        ("2031-06", None),
        ("2031-07", ListKind.RED),
        ("2031-08", ListKind.RED),
        ("2031-09", None),
    ):
        r = results[period] = await lab.record(period, listed)
        down.append((r.level_before, r.level_after, kinds(r)))
    assert down == [
        (3, 2, ["step_down"]),
        (2, 1, ["step_down"]),
        (1, 0, ["step_down", "commendation"]),
        (0, 0, ["commendation", "award_recommendation"]),
        (0, 0, []),
    ]
    # A retried record of a period changes nothing (answered by the server within a run, by the
    # ladder's own memory of keys after a continue-as-new); an older period is refused.
    before = await lab.decisions()
    again = await lab.record("2031-08", ListKind.RED)
    # Whether the server answers it (the update's result, in full) or the ladder's book does
    # (keys only: the decisions themselves are in PostgreSQL) depends on where the run is; the
    # keys are the same either way.
    keys = [d.key for d in results["2031-08"].decisions]
    assert again.decision_keys == keys and again.decisions in ([], results["2031-08"].decisions)
    assert await lab.decisions() == before
    with pytest.raises(Exception) as refused:
        await lab.record("2030-12", ListKind.BLACK)
    assert "period_out_of_order" in repr(refused.value.__cause__) or "不能倒序记录" in str(
        refused.value.__cause__
    )

    standing = await lab.standing()
    track = standing.tracks[0]
    assert (track.level, track.black_streak, track.red_streak, track.last_period) == (
        0,
        0,
        0,
        "2031-09",
    )
    assert standing.runs >= 2, "the ladder should have continued as new"
    assert standing.open_orders == []
    # Every decision once in PostgreSQL, and its notice delivered once per key.
    decided = await lab.decisions()
    assert decided.count("notice") == 1 and decided.count("supervision") == 2
    assert decided.count("step_down") == 3 and decided.count("award_recommendation") == 1
    keys = [
        r["key"]
        for r in await fetch(
            lab.pool, "SELECT key FROM ladder_decisions WHERE bureau = $1", lab.bureau
        )
    ]
    await eventually(lambda: all(lab.receiver.deliveries()[k] == 1 for k in keys))
    assert max(lab.receiver.deliveries()[k] for k in keys) == 1
    office = await fetch(
        lab.pool,
        "SELECT count(*) AS n FROM notifications WHERE bureau = 'xfb' AND key = ANY($1::text[])",
        [f"{k}:xfb" for k in keys],
    )
    assert office[0]["n"] == len(keys)
    stored = await ladder_queries.bureau_standing(lab.pool, lab.bureau)
    assert stored["tracks"][0]["last_period"] == "2031-09"
    assert [d["kind"] for d in stored["recent_decisions"]][:1] == ["commendation"] or stored[
        "recent_decisions"
    ][0]["kind"] in ("award_recommendation", "commendation")


async def _has(lab: LadderLab, kind: str) -> bool:
    return kind in await lab.decisions()


async def test_project_order_exemption_and_audit(lab: LadderLab) -> None:
    await lab.start()
    client, bureau = lab.env.client, lab.bureau

    def exemption(period: str, key: str, **kw: Any) -> ExemptionInput:
        data = {
            "period": period,
            "reason": REASON,
            "actor": "王区长",
            "role": "district_leader",
            "idempotency_key": key,
            **kw,
        }
        return ExemptionInput(**data)

    refusals = [
        (exemption("2031-05", "x1", role="bureau_clerk"), "not_authorised"),
        (exemption("2031-05", "x2", reason="下雨了"), "reason_required"),
        (exemption("2031-05", "x3", actor=" "), "actor_required"),
    ]
    for data, code in refusals:
        with pytest.raises(service.Rejected) as err:
            await service.grant_exemption(
                client, bureau, data, pool=lab.pool, task_queue=lab.task_queue
            )
        assert err.value.code == code
    granted = await service.grant_exemption(
        client, bureau, exemption("2031-05", "ok-1"), pool=lab.pool, task_queue=lab.task_queue
    )
    again = await service.grant_exemption(
        client, bureau, exemption("2031-05", "ok-1"), pool=lab.pool, task_queue=lab.task_queue
    )
    # The update ID is the idempotency key: the server hands the retry the first answer.
    assert again == granted and not granted.duplicate
    with pytest.raises(service.Rejected) as err:
        await service.grant_exemption(
            client, bureau, exemption("2031-05", "ok-2"), pool=lab.pool, task_queue=lab.task_queue
        )
    assert err.value.code == "already_exempted"
    audit = await fetch(
        lab.pool,
        "SELECT accepted, actor, reason FROM audit_log WHERE bureau = $1"
        " AND action = 'exemption:2031-05' ORDER BY id",
        bureau,
    )
    assert [a["accepted"] for a in audit].count(False) == 4
    assert [a["accepted"] for a in audit].count(True) == 1
    assert any(a["accepted"] and a["reason"] == REASON and a["actor"] == "王区长" for a in audit)
    rows = await fetch(lab.pool, "SELECT reason FROM ranking_exemptions WHERE bureau = $1", bureau)
    assert [r["reason"] for r in rows] == [REASON]

    # A project red for 2 months running → 督办单 with a 30-day correction deadline.
    today = await lab.today()
    red2 = RedProject(code="T-P1", name_zh="示范项目", streak=2, red_months=["2031-03", "2031-04"])
    r = await lab.record("2031-04", None, reds=[red2])
    assert kinds(r) == ["project_supervision"]
    order = r.decisions[0]
    assert (order.project, order.deadline) == ("T-P1", today + timedelta(days=30))
    plan = await service.submit_correction_plan(
        client,
        bureau,
        CorrectionPlanInput(
            order_id=order.order_id or "", plan="调整施工组织，补足资金缺口。", idempotency_key="p1"
        ),
    )
    assert (plan.status.value, plan.on_time) == ("plan_submitted", True)
    with pytest.raises(service.Rejected) as err:
        await service.submit_correction_plan(
            client,
            bureau,
            CorrectionPlanInput(
                order_id=order.order_id or "", plan="再报一次整改方案内容。", idempotency_key="p2"
            ),
            pool=lab.pool,
        )
    assert err.value.code == "plan_already_submitted"
    # Black-listed in the exempted period (the round froze its inputs before the exemption):
    # the ladder honours its exemption, stays put, and the project is no longer red → closed.
    exempted = await lab.record("2031-05", ListKind.BLACK)
    assert (exempted.level_before, exempted.level_after, exempted.exempted) == (0, 0, True)
    assert kinds(exempted) == ["exempted", "order_closed"]
    assert await queries.open_escalations(lab.pool, bureau) == []
    with pytest.raises(service.Rejected) as err:
        await service.grant_exemption(
            client, bureau, exemption("2031-04", "late-1"), pool=lab.pool, task_queue=lab.task_queue
        )
    assert err.value.code == "period_already_ranked"
    await lab.skip(40)  # no escalation for an answered order
    assert "escalation" not in await lab.decisions()
    # The history replays on today's code (the determinism guard of tests/replay, for ladders).
    await eventually(lambda: quiet(lab.handle()), timeout=15)
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    await replayer.replay_workflow(await lab.handle().fetch_history())


async def test_withdrawn_order_is_neither_open_nor_escalated(lab: LadderLab) -> None:
    await lab.start()
    red2 = RedProject(code="T-W1", name_zh="撤销项目", streak=2, red_months=["2031-03", "2031-04"])
    issued = await lab.record("2031-04", None, reds=[red2])
    assert kinds(issued) == ["project_supervision"]
    order_id = issued.decisions[0].order_id or ""
    # Revision 2 of April (late data: the project was not red after all) withdraws the 督办单.
    revised = await lab.record("2031-04", None, revision=2)
    assert revised.withdrawn == [f"{issued.decisions[0].key}:withdrawn"]
    standing = await lab.standing()
    assert standing.open_orders == []
    stored = await ladder_queries.bureau_standing(lab.pool, lab.bureau)
    assert stored["open_orders"] == []
    rows = await fetch(lab.pool, "SELECT status FROM ladder_orders WHERE id = $1", order_id)
    assert [r["status"] for r in rows] == ["withdrawn"]
    assert queries.STATUS_ZH[OrderStatus.WITHDRAWN] == "已撤销（更正）"
    # No plan is due for it: refused as withdrawn, not as "already submitted".
    with pytest.raises(service.Rejected) as err:
        await service.submit_correction_plan(
            lab.env.client,
            lab.bureau,
            CorrectionPlanInput(
                order_id=order_id, plan="调整施工组织，补足资金缺口。", idempotency_key="w-plan-1"
            ),
            pool=lab.pool,
        )
    assert err.value.code == "order_withdrawn"
    # Past its 30-day deadline (and well beyond): never escalated.
    await lab.skip(45)
    assert "escalation" not in await lab.decisions()
    assert (await lab.standing()).open_orders == []


# Webhook attempts of a notice in the drain test: 2 s doubling, so attempts start 0, 2, 6, 14,
# 30, 62, 126, 254, 510 and 1022 s after the first; the 10th fails for good.
DEAD_ATTEMPTS = 10
DEAD_BUDGET = 1022  # seconds from a notice's first attempt to its last
# A ladder continues as new past this many history events, after draining its deliveries for at
# most 4 × as many (the whole test stays well within 4 × 36 = 144).
CAN_EVENTS = 36


async def test_overdue_plan_escalated_while_deliveries_pending(
    ts_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    receiver: WebhookReceiver,
    settings: Settings,
) -> None:
    """The ladder is due to continue as new, its notices cannot reach the bureau (nothing listens
    on its webhook's port), and a 督办单's correction-plan deadline passes meanwhile: the order is
    escalated at its deadline, by the run still draining its deliveries (before the patch
    `ladder-escalate-while-draining`, nothing was escalated until the deliveries had failed)."""
    dead = f"http://127.0.0.1:{free_port()}/notify"
    bureau = await add_bureau(pool, dead)
    # Programme time from 20:00 on Saturday 28 February 2032 (Beijing; 2032 is a leap year),
    # 120 business seconds per real second.
    anchor = datetime(2032, 2, 28, 20, 0, tzinfo=CST)
    scale = 120
    client = ts_env.client
    async with running_worker(client, pool, http, settings, delivery_attempts=DEAD_ATTEMPTS) as tq:
        lab = LadderLab(ts_env, pool, receiver, tq, bureau)
        try:
            t0 = await ts_env.get_current_time()  # the clock's real anchor is at or after t0
            first = await lab.start(
                continue_as_new_events=CAN_EVENTS,
                clock=ProgrammeClock(scale=scale, anchor_business=anchor),
            )
            red2 = RedProject(
                code="T-E1", name_zh="逾期项目", streak=2, red_months=["2031-12", "2032-01"]
            )
            issued = await lab.record(
                "2032-01", None, reds=[red2], ladder=LadderRules(project_correction_days=1)
            )
            assert kinds(issued) == ["project_supervision"]
            order = issued.decisions[0]
            # Issued on 28 February (business time 20:00 + a few real seconds × 120): due 1 day
            # later, on the leap day; overdue from midnight at the start of 1 March (Beijing).
            assert order.deadline == date(2032, 2, 29)
            overdue_from = local_start(date(2032, 3, 1))
            assert overdue_from == datetime(2032, 2, 29, 16, 0, tzinfo=UTC)
            # 28 business hours after the anchor: 28 × 3600 / 120 = 840 real seconds.
            deadline_real = 28 * 3600 // scale
            # A flood: a district leader exempts the bureau from February's and March's black
            # lists. Each update wakes the ladder; the history is past CAN_EVENTS before the
            # second one, so from that one on the run is continuing as new and drains its
            # deliveries (the 督办单's and the exemptions', all undeliverable) first.
            for month in ("2032-02", "2032-03"):
                if month == "2032-03":
                    info = (await first.describe()).raw_description.workflow_execution_info
                    assert info.history_length > CAN_EVENTS
                await lab.handle().execute_update(
                    c.UPDATE_EXEMPTION,
                    ExemptionInput(
                        period=month,
                        reason=REASON,
                        actor="王区长",
                        role="district_leader",
                        idempotency_key=f"flood-{month}",
                    ),
                    id=f"flood-{month}",
                    result_type=ExemptionResult,
                )
            notice_key = order.key  # the bureau's notice of the 督办单 (the office's: key + ":xfb")
            await eventually(lambda: _attempted(pool, notice_key), timeout=30)

            # Just before the deadline (t0 + 800 s ≤ anchor + 800 s): nothing escalated yet.
            await ts_env.sleep(timedelta(seconds=800) - (await ts_env.get_current_time() - t0))
            assert "escalation" not in await lab.decisions()
            # Past it (t0 + 900 s, the anchor being within a few seconds of t0), but before the
            # notice's last attempt (at or after t0 + 1022 s): escalated, at its deadline.
            assert deadline_real < 900 < DEAD_BUDGET
            await ts_env.sleep(timedelta(seconds=900) - (await ts_env.get_current_time() - t0))
            rows = await eventually(lambda: _escalations(pool, bureau), timeout=30)
            assert [r["order_id"] for r in rows] == [order.order_id]
            decided = rows[0]["decided_at"]
            # At the start of 1 March, give or take the latency of a workflow task (a real
            # second is 2 business minutes): within the first business hour of 1 March.
            assert overdue_from <= decided < overdue_from + timedelta(hours=1), decided
            escalated = await fetch(
                pool, "SELECT status, escalated_at FROM ladder_orders WHERE id = $1", order.order_id
            )
            assert [(r["status"], r["escalated_at"]) for r in escalated] == [("escalated", decided)]
            # …while the 督办单's notice is still being tried, by the first run.
            status, attempts = await _notice(pool, notice_key)
            assert status == "pending" and 1 <= attempts < DEAD_ATTEMPTS, (status, attempts)
            info = (await first.describe()).raw_description.workflow_execution_info
            assert info.execution.run_id == first.first_execution_run_id

            # The escalation's own notices started at about t0 + 840 s, so by t0 + 2400 s every
            # delivery has spent its attempts: each of the bureau's 4 notices (督办单, two
            # exemptions, escalation) failed in the outbox, then the run continued as new.
            await ts_env.sleep(timedelta(seconds=2400) - (await ts_env.get_current_time() - t0))
            statuses = await eventually(lambda: _all_failed(pool, bureau, 4), timeout=30)
            assert statuses == [("failed", DEAD_ATTEMPTS)] * 4
            standing = await lab.standing()
            assert standing.runs == 2
            assert [(o.id, o.status.value) for o in standing.open_orders] == [
                (order.order_id, "escalated")
            ]
            assert (await lab.decisions()).count("escalation") == 1
            # The run that escalated while draining replays on today's code.
            replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
            await replayer.replay_workflow(
                await client.get_workflow_handle(
                    first.id, run_id=first.first_execution_run_id
                ).fetch_history()
            )
        finally:
            await end_ladders(client, [bureau])


async def _all_failed(pool: asyncpg.Pool, bureau: str, n: int) -> list[tuple[str, int]]:
    rows = await fetch(
        pool, "SELECT status, attempts FROM notifications WHERE bureau = $1 ORDER BY key", bureau
    )
    found = [(str(r["status"]), int(r["attempts"])) for r in rows]
    return found if len(found) == n and all(s == "failed" for s, _ in found) else []


async def _attempted(pool: asyncpg.Pool, key: str) -> bool:
    rows = await fetch(pool, "SELECT attempts, last_error FROM notifications WHERE key = $1", key)
    return (
        bool(rows) and rows[0]["attempts"] >= 1 and "ConnectError" in (rows[0]["last_error"] or "")
    )


async def _notice(pool: asyncpg.Pool, key: str) -> tuple[str, int]:
    row = (await fetch(pool, "SELECT status, attempts FROM notifications WHERE key = $1", key))[0]
    return str(row["status"]), int(row["attempts"])


async def _escalations(pool: asyncpg.Pool, bureau: str) -> list[asyncpg.Record]:
    return await fetch(
        pool,
        "SELECT order_id, decided_at FROM ladder_decisions"
        " WHERE bureau = $1 AND kind = 'escalation'",
        bureau,
    )
