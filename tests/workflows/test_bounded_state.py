"""Bounded lifecycle state (patch lifecycle-bounded-state-2026-12) and the yearly continue-as-new.

- Five simulated years of maximum-length inputs keep the continue-as-new input ≤ 256 KiB
  (`bench/lifecycle_payload`, the figure `make bench` prints); the same inputs on a state that
  keeps everything exceed 1 MiB, so the measurement sees what it bounds.
- A bounded book keeps issue ids, hands titles and narratives to the read model's rows.
- On the dev server, a run continues as new when its programme year ends, and open issues keep
  their titles through the read model (`project_status` with a pool).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import asyncpg
import httpx
from temporalio.testing import WorkflowEnvironment

from bench.lifecycle_payload import measure
from config.settings import Settings
from guatu.core import constants as c
from guatu.core.clock import local_start
from guatu.lifecycle.book import LifecycleBook
from guatu.lifecycle.models import (
    IssueRaised,
    ProgrammeClock,
    ProgressReportInput,
    ProjectKind,
    ProjectState,
)
from guatu.lifecycle.service import project_status, send_update, start_project
from tests.helpers import add_bureau, eventually, make_plan, running_worker
from tests.workflows.test_lifecycle import NO_PROGRESS_RULE
from workflows.project_lifecycle import ProjectLifecycle

KIB = 1024


def test_five_years_of_maximum_inputs_stay_under_256_kib() -> None:
    bounded = measure(years=5, bounded=True)
    # 60 reports, 60 corrections, 6 steps, 60 plan changes: every one accepted.
    assert bounded["refused_inputs"] == {}
    assert bounded["accepted_inputs"] == 186
    assert bounded["largest_state_kib"] <= 256, bounded
    everything = measure(years=5, bounded=False)
    assert everything["accepted_inputs"] == 186
    assert everything["largest_state_kib"] > 1024, everything


def _book(start: date) -> tuple[LifecycleBook, dict[str, datetime]]:
    clock = {"now": local_start(start + timedelta(days=40))}
    plan = make_plan(ProjectKind.SERVICE, start=start, bureau="jtj", milestone_days=[300])
    book = LifecycleBook(
        ProjectState(plan=plan, policy=NO_PROGRESS_RULE), lambda: clock["now"], lambda *_: None
    )
    book.write_through = book.bounded = True
    book.start("system", 1)
    return book, clock


def test_bounded_book_keeps_ids_and_hands_the_rest_to_the_read_model() -> None:
    book, clock = _book(date(2030, 1, 1))
    key = "k" * 200
    first = ProgressReportInput(
        bureau="jtj",
        idempotency_key=key,
        month="2030-02",
        investment_wan=10,
        physical_progress_pct=1,
        narrative="二月进展",
        issues_raised=[IssueRaised(id="I-1", title="征地拆迁滞后")],
    )
    book.check_report(first)
    outcome = book.through(lambda: book.report(first))
    assert outcome.projection is not None
    assert [(i.id, i.title, i.resolved_month) for i in outcome.projection.issues] == [
        ("I-1", "征地拆迁滞后", None)
    ]
    assert outcome.projection.reports[0].narrative == "二月进展"
    assert book.s.open_issues["I-1"].title == ""
    assert key not in book.s.seen_keys and len(book.s.seen_keys) == 1  # kept as a digest
    # The same long key again: a duplicate, nothing changes.
    version = book.s.version
    again = book.through(lambda: book.report(first))
    assert again.duplicate and book.s.version == version

    clock["now"] += timedelta(days=30)
    second = ProgressReportInput(
        bureau="jtj",
        idempotency_key="march",
        month="2030-03",
        investment_wan=10,
        physical_progress_pct=2,
        narrative="三月进展",
        issues_resolved=["I-1"],
    )
    book.check_report(second)
    outcome = book.through(lambda: book.report(second))
    assert outcome.projection is not None
    assert [(i.id, i.raised_month, i.resolved_month) for i in outcome.projection.issues] == [
        ("I-1", "2030-02", "2030-03")
    ]
    # Only the latest narrative stays in the state (the live status shows it).
    assert {m: r.narrative for m, r in book.s.reports.items()} == {
        "2030-02": "",
        "2030-03": "三月进展",
    }
    assert book.s.open_issues == {}


async def test_run_continues_as_new_at_the_year_end_and_titles_survive(
    dev_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    settings: Settings,
) -> None:
    client = dev_env.client
    bureau = await add_bureau(pool, "http://127.0.0.1:9/none")
    # Business time starts on 2030-12-30 and runs a business day per real second.
    clock = ProgrammeClock(scale=86_400, anchor_business=local_start(date(2030, 12, 30)))
    plan = make_plan(
        ProjectKind.SERVICE, start=date(2030, 11, 1), bureau=bureau, milestone_days=[400]
    )
    async with running_worker(client, pool, http, settings) as task_queue:
        await start_project(
            client, plan, NO_PROGRESS_RULE, task_queue=task_queue, clock=clock, index=False
        )
        result = await send_update(
            client,
            plan.code,
            ProjectLifecycle.submit_report,
            ProgressReportInput(
                bureau=bureau,
                idempotency_key="dec",
                month="2030-12",
                investment_wan=10,
                physical_progress_pct=1,
                issues_raised=[IssueRaised(id="I-9", title="资金未到位")],
            ),
            pool=pool,
        )
        assert result.accepted
        assert (
            await pool.fetchval(
                "SELECT title FROM project_issues WHERE project = $1 AND id = 'I-9'", plan.code
            )
            == "资金未到位"
        )

        async def continued() -> bool:
            return (await project_status(client, plan.code)).runs == 2

        await eventually(continued, timeout=30, every=0.5)
        status = await project_status(client, plan.code, pool)
        assert status.business_today.year == 2031
        assert [(i.id, i.title) for i in status.open_issues] == [("I-9", "资金未到位")]
        # Without the read model the live state knows the id only.
        bare = await project_status(client, plan.code)
        assert [(i.id, i.title) for i in bare.open_issues] == [("I-9", "")]
        await client.get_workflow_handle(c.project_workflow_id(plan.code)).terminate()
