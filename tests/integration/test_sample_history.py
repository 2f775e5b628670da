"""The history a first `make run` gives the sample (guatu/runtime/sample_history.py), end to end on the
dev server with a database of the test's own: the real ProjectLifecycle, RankingRound and
BureauLadder workflows, the real Updates.

The business clock is anchored at 20 May 2026, 10:00 Beijing time (`ProgrammeClock`, scale 1),
so "today" is that day whatever the real date. Two January-start engineering projects of the
sample for each behaviour, under three bureaus of the test's own (one per behaviour, shares
1/3 each). What the seeded bureaus do (guatu/runtime/simulation.py `PROFILES`), worked out for the
months January..May 2026:

- diligent: acts on the 18th: reports January..May (5 each: May 18 ≤ May 20), steps on their
  planned day for milestones planned by 18 May;
- late: acts on the 27th: reports January..April (4 each: 27 May is after today); steps 40 days
  after plan, back-dated, up to today (the month of today acts on today);
- stalled: acts on the 18th; moves for three months (January..March: steps 10 days late, by
  18 March at the latest), then keeps reporting that almost nothing is spent: 5 reports each.
Rounds: the closed months of 2026 from the programme's first month: 2026-01..2026-04.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.core import constants as c
from guatu.core.clock import CST
from guatu.lifecycle.models import ProgrammeClock, ProjectKind
from guatu.lifecycle.programme import load_policy, load_sample_plans
from guatu.lifecycle.service import start_programme
from guatu.ranking import queries
from guatu.runtime.sample_history import MARKER_FILE, seed_history
from guatu.runtime.simulation import Behaviour, SimulationConfig, assign_behaviours
from tests.helpers import running_worker
from tests.ranking.conftest import end_ladders, fetch

LOAD_DAY = date(2026, 5, 20)
PERIODS = ["2026-01", "2026-02", "2026-03", "2026-04"]


async def counts(pool: asyncpg.Pool, codes: list[str]) -> tuple[int, int, int, int]:
    rows = await fetch(
        pool,
        "SELECT (SELECT count(*) FROM progress_reports WHERE project = ANY($1::text[])),"
        " (SELECT count(*) FROM stage_history WHERE project = ANY($1::text[])),"
        " (SELECT count(*) FROM audit_log WHERE project = ANY($1::text[])),"
        " (SELECT count(*) FROM ranking_rounds)",
        codes,
    )
    return tuple(rows[0].values())  # type: ignore[return-value]


async def test_the_sample_history_back_fills_ranks_and_is_done_once(
    dev_env: WorkflowEnvironment,
    fresh_pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    settings: Settings,
    tmp_path: Path,
) -> None:
    client, pool = dev_env.client, fresh_pool
    tag = uuid.uuid4().hex[:6]
    config = SimulationConfig(start_year=2026, shares=(1 / 3, 1 / 3))
    codes = [f"h{tag}_{n}" for n in ("a", "b", "c")]
    behaviour = assign_behaviours(codes, config)
    bureau = {b: code for code, b in behaviour.items()}
    assert set(bureau) == set(Behaviour)  # one bureau each: round(3 × 1/3) = 1, 1, rest 1
    async with pool.acquire() as conn:
        for code in codes:
            await conn.execute(
                "INSERT INTO bureaus (code, name_zh, name_en, webhook_url)"
                " VALUES ($1, $2, $3, NULL)",
                code,
                f"测试局{code[-1]}",
                code,
            )
    sample = [
        p
        for p in load_sample_plans(2026)
        if p.start.year == 2026 and p.start.month == 1 and p.kind is ProjectKind.ENGINEERING
    ]
    plans = []
    for i, b in enumerate(Behaviour):
        for p in sample[2 * i : 2 * i + 2]:
            plans.append(
                p.model_copy(update={"code": f"H{tag.upper()}-{p.code}", "bureau": bureau[b]})
            )
    of = {p.code: behaviour[p.bureau] for p in plans}
    project_codes = [p.code for p in plans]
    loaded_at = datetime(2026, 5, 20, 10, tzinfo=CST)
    clock = ProgrammeClock(scale=1.0, anchor_business=loaded_at, anchor_real=datetime.now(CST))
    marker = tmp_path / MARKER_FILE

    async with running_worker(client, pool, http, settings) as tq:
        try:
            await start_programme(client, plans, load_policy(), task_queue=tq, clock=clock)
            report = await seed_history(
                client, pool, plans, clock=clock, task_queue=tq, marker=marker, config=config
            )
            assert (report.today, report.rounds, report.refused) == (LOAD_DAY, PERIODS, 0)
            # 2 diligent × 5 + 2 late × 4 + 2 stalled × 5 = 28 reports.
            assert report.reports_sent == 28
            assert marker.exists()

            # -- reports and steps for the past months ---------------------------------------
            rows = await fetch(
                pool,
                "SELECT project, month, on_time FROM progress_reports"
                " WHERE project = ANY($1::text[])",
                project_codes,
            )
            months: dict[str, list[str]] = {}
            for r in rows:
                months.setdefault(r["project"], []).append(r["month"])
                assert r["on_time"]  # back-filled inside the window: due before loading
            want = {Behaviour.DILIGENT: 5, Behaviour.LATE: 4, Behaviour.STALLED: 5}
            for p in plans:
                assert sorted(months[p.code]) == [
                    f"2026-{m:02d}" for m in range(1, want[of[p.code]] + 1)
                ], p.code
            steps = await fetch(
                pool,
                "SELECT project, step, on_date FROM stage_history"
                " WHERE project = ANY($1::text[]) AND step IS NOT NULL",
                project_codes,
            )
            reached = {(r["project"], r["step"]): r["on_date"] for r in steps}
            assert report.steps_sent == len(steps) > 0
            for p in plans:
                kind = of[p.code]
                for m in p.milestones:
                    on = reached.get((p.code, m.step.value))
                    if kind is Behaviour.DILIGENT and m.planned <= date(2026, 5, 18):
                        assert on == m.planned, (p.code, m.step)  # on its planned day
                    if kind is Behaviour.LATE and m.planned + timedelta(days=40) <= LOAD_DAY:
                        assert on is not None and on >= m.planned + timedelta(days=40)
                    if kind is Behaviour.STALLED:
                        # Moves for January..March only, acting on the 18th.
                        assert on is None or on <= date(2026, 3, 18), (p.code, m.step)
                        if m.planned + timedelta(days=10) <= date(2026, 3, 18):
                            assert on is not None and on >= m.planned + timedelta(days=10)

            # -- the stalled bureau is genuinely behind, not 待补报 green ----------------------
            lights = {
                r["code"]: r
                for r in await fetch(
                    pool,
                    "SELECT code, light, explanations FROM projects WHERE code = ANY($1)",
                    project_codes,
                )
            }
            for p in plans:
                if of[p.code] is Behaviour.STALLED:
                    row = lights[p.code]
                    assert row["light"] in ("yellow", "red"), p.code
                    rules = {e["rule"] for e in row["explanations"]}
                    assert "progress.yinchuan" in rules, (p.code, rules)

            # -- one round per closed month: scores, lists, order -----------------------------
            for period in PERIODS:
                ranking = await queries.get_ranking(pool, "bureau", period)
                assert ranking["found"] and ranking["revision"]["number"] == 1, period
                ranks = {r["code"]: (r["rank"], r["score"]) for r in ranking["rows"]}
                assert set(ranks) == set(codes)
                assert any(score > 0 for _, score in ranks.values()), period
                assert ranking["black_list"], period
                assert bureau[Behaviour.STALLED] in [b["code"] for b in ranking["black_list"]]
                assert ranks[bureau[Behaviour.DILIGENT]][0] < ranks[bureau[Behaviour.STALLED]][0]
            first = await counts(pool, project_codes)
            hashes = await fetch(
                pool, "SELECT period, results_sha256 FROM ranking_rounds ORDER BY period"
            )

            # -- the second start: the marker says it is done --------------------------------
            started = time.monotonic()
            again = await seed_history(
                client, pool, plans, clock=clock, task_queue=tq, marker=marker, config=config
            )
            assert time.monotonic() - started < 2.0
            assert again.seeded_before and again.rounds == PERIODS
            assert await counts(pool, project_codes) == first

            # -- an interrupted seeding resumes: nothing is sent twice -----------------------
            resumed = await seed_history(
                client, pool, plans, clock=clock, task_queue=tq, config=config
            )
            assert (resumed.reports_sent, resumed.steps_sent, resumed.refused) == (0, 0, 0)
            assert resumed.rounds == PERIODS
            assert await counts(pool, project_codes) == first
            assert (
                await fetch(
                    pool, "SELECT period, results_sha256 FROM ranking_rounds ORDER BY period"
                )
                == hashes
            )
        finally:
            await end_ladders(client, codes)
            for code in project_codes:
                with contextlib.suppress(Exception):
                    await client.get_workflow_handle(c.project_workflow_id(code)).terminate()
