"""The largest payload a lifecycle carries after five simulated years of maximum-length inputs.

Drives a `LifecycleBook` (the lifecycle's decisions, exactly as a run makes them) on a clock moved
by hand through `years` programme years, with every input at its schema's maximum: a report each
month with a 5,000-character narrative and 50 issues raised (64-character ids, 500-character
titles), a correction of it, a step with a 2,000-character note while steps remain, a plan change
with a 2,000-character reason every month, 200-character idempotency keys; the oldest issues
are resolved as needed to keep 200 open (the bounded runs' limit), so every input is accepted. Deadline events are
processed month by month, as the run's timer would. Sizes are the Temporal payloads (Guatu's
pydantic JSON converter) of what crosses the server:
- the continue-as-new input (`StartProjectInput` with the whole state): the figure the issue bounds;
- an Update's answer (`UpdateOutcome`, with its write-through rows) and a projection batch.

`bounded=False` measures the state as runs recorded before `lifecycle-bounded-state-2026-12` keep
it. No Temporal server is needed: `python -m bench.lifecycle_payload`.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.contrib.pydantic import pydantic_data_converter

from guatu.core.clock import CST, add_months, local_start, month_key
from guatu.lifecycle.book import LifecycleBook
from guatu.lifecycle.models import (
    IssueRaised,
    MilestonePlan,
    PlanChangeInput,
    ProgressReportInput,
    ProjectKind,
    ProjectPlan,
    ProjectState,
    StageTransitionInput,
    StartProjectInput,
    Step,
    TimerPolicy,
)
from guatu.lifecycle.rules.validation import InputRejected

KIB = 1024
STEPS = [
    Step.PRELIMINARY,
    Step.LAND_USE,
    Step.PLANNING_PERMIT,
    Step.CONSTRUCTION_PERMIT,
    Step.CONSTRUCTION_STARTED,
    Step.UNDER_CONSTRUCTION,
]


def payload_bytes(value: BaseModel) -> int:
    return int(pydantic_data_converter.payload_converter.to_payloads([value])[0].ByteSize())


def _text(length: int, seed: str) -> str:
    """`length` CJK characters (3 bytes each in UTF-8 JSON): the heaviest a field can be."""
    base = f"{seed}项目推进情况征地拆迁管线迁改资金拨付"
    return (base * (length // len(base) + 1))[:length]


def _key(tag: str) -> str:
    return (tag + "-" + "k" * 200)[:200]


def max_plan(start: date, years: int) -> ProjectPlan:
    return ProjectPlan(
        code="MAX-PAYLOAD-" + "9" * 28,
        name_zh=_text(200, "名称"),
        name_en="x" * 200,
        program="P01",
        bureau="jtj",
        kind=ProjectKind.ENGINEERING,
        total_investment_wan=1_000_000.0,
        yearly_investment_wan={start.year + i: 200_000.0 for i in range(years)},
        start=start,
        finish=add_months(start, 12 * years),
        milestones=[
            MilestonePlan(step=s, planned=start + timedelta(days=45 * (i + 1)))
            for i, s in enumerate(STEPS)
        ],
    )


def measure(years: int = 5, bounded: bool = True, start: date = date(2026, 1, 1)) -> dict[str, Any]:
    """Drive one project through `years` years of maximum inputs; return the largest sizes."""
    clock = {"now": local_start(start).astimezone(CST) + timedelta(hours=9)}
    plan = max_plan(start, years)
    state = ProjectState(plan=plan, policy=TimerPolicy())
    book = LifecycleBook(state, lambda: clock["now"], lambda *_: None)
    book.write_through = True
    book.bounded = bounded
    book.start("system", 1)
    largest = {"state": 0, "update": 0, "batch": 0}
    refused: dict[str, int] = {}
    accepted = 0
    steps = iter(STEPS)

    def update(check: Any, apply: Any, data: Any) -> None:
        nonlocal accepted
        try:
            check(data)
        except InputRejected as err:
            refused[err.code] = refused.get(err.code, 0) + 1
            return
        outcome = book.through(lambda: apply(data))
        accepted += 1
        largest["update"] = max(largest["update"], payload_bytes(outcome))

    for index in range(12 * years):
        month_start = add_months(start, index)
        clock["now"] = local_start(month_start + timedelta(days=20)) + timedelta(hours=9)
        book.process_due()
        month = month_key(month_start)
        raised = [
            IssueRaised(id=f"{month}-{i:02d}-" + "i" * 53, title=_text(500, f"{month}{i}"))
            for i in range(50)
        ]
        # As many of the oldest issues resolved as keep 200 open: every report is accepted.
        still_open = list(book.s.open_issues)
        resolved = still_open[: max(0, len(still_open) + len(raised) - 200)]
        report = ProgressReportInput(
            bureau=plan.bureau,
            idempotency_key=_key(f"r{month}"),
            month=month,
            investment_wan=1000.0,
            physical_progress_pct=min(100.0, index * 1.5),
            narrative=_text(5000, month),
            issues_raised=raised,
            issues_resolved=resolved,
            actor="a" * 200,
        )
        update(book.check_report, book.report, report)
        correction = report.model_copy(
            update={
                "idempotency_key": _key(f"c{month}"),
                "correction": True,
                "issues_raised": [],
                "issues_resolved": [],
            }
        )
        update(book.check_report, book.report, correction)
        step = next(steps, None)
        if step is not None:
            update(
                book.check_transition,
                book.transition,
                StageTransitionInput(
                    bureau=plan.bureau,
                    idempotency_key=_key(f"s{month}"),
                    step=step,
                    note=_text(2000, "备注"),
                    actor="a" * 200,
                ),
            )
        update(
            book.check_plan_change,
            book.plan_change,
            PlanChangeInput(
                idempotency_key=_key(f"p{month}"),
                reason=_text(2000, "调整"),
                milestones=[
                    MilestonePlan(step=Step.COMPLETED, planned=add_months(start, 12 * years - 2))
                ],
                actor="a" * 200,
            ),
        )
        clock["now"] = local_start(add_months(month_start, 1)) + timedelta(hours=12)
        book.process_due()
        batch = book.take_batch(force=True)
        if batch is not None:
            largest["batch"] = max(largest["batch"], payload_bytes(batch))
        carried = StartProjectInput(plan=book.s.plan, policy=book.s.policy, state=book.s)
        largest["state"] = max(largest["state"], payload_bytes(carried))
    return {
        "years": years,
        "bounded": bounded,
        "accepted_inputs": accepted,
        "refused_inputs": refused,
        "largest_state_kib": round(largest["state"] / KIB, 1),
        "largest_update_kib": round(largest["update"] / KIB, 1),
        "largest_batch_kib": round(largest["batch"] / KIB, 1),
        "target": "state ≤ 256 KiB",
        "met": largest["state"] <= 256 * KIB,
    }


if __name__ == "__main__":
    print(json.dumps(measure(bounded=False), ensure_ascii=False))
    print(json.dumps(measure(bounded=True), ensure_ascii=False))
