"""A 督办 correction plan due in working days (`LadderRules.correction_plan_unit`), on the
time-skipping server: 15 working days across 国庆 2026 land on the day counted by hand, the
decision says which day and why, and the escalation timer fires the day after that day.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime

import asyncpg
import httpx
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.core.clock import CST
from guatu.lifecycle.models import ProgrammeClock
from guatu.ranking import queries
from guatu.ranking.models import LadderRules, ListKind
from guatu.ranking.rulesets import load_ruleset, ruleset_canonical
from tests.helpers import WebhookReceiver, add_bureau, running_worker
from tests.ranking.conftest import end_ladders, eventually
from tests.ranking.test_ladder import LadderLab, _has

WORKING = LadderRules(correction_plan_unit="working")


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


async def test_correction_plan_in_working_days_across_national_day(lab: LadderLab) -> None:
    # Business time from Friday 2026-09-25 10:00 in Wenjiang (中秋, a holiday itself).
    await lab.start(clock=ProgrammeClock(anchor_business=datetime(2026, 9, 25, 10, tzinfo=CST)))
    for period in ("2026-06", "2026-07"):
        await lab.record(period, ListKind.BLACK, ladder=WORKING)
    third = await lab.record("2026-08", ListKind.BLACK, ladder=WORKING)
    order = third.decisions[0]
    assert order.kind.value == "supervision"
    # 15 working days after Fri 25 Sep: 28, 29, 30 Sep (1–3); 1–7 Oct 国庆 off; 8, 9 Oct (4, 5);
    # Sat 10 Oct 调休 (6); 12–16 Oct (7–11); 19–22 Oct (12–15) → Thursday 2026-10-22.
    # (In calendar days it would have been Saturday 10 Oct.)
    assert order.deadline == date(2026, 10, 22)
    why = next(line for line in order.lines_zh if line.startswith("期限计算："))
    assert "2026-10-22（星期四）" in why and "国庆节假期 10月1日至10月7日（7 天）" in why
    assert "10月10日（星期六）（国庆节调休）" in why
    assert any("National Day" in line for line in order.lines_en)
    assert "整改方案报送期限：2026-10-22" in order.lines_zh[-1]

    # 25 Sep 10:00 → 22 Oct 23:00 is 27 days 13 hours: not escalated yet; the next day it is.
    await lab.skip(27 + 13 / 24)
    assert "escalation" not in await lab.decisions()
    await lab.skip(2 / 24)  # 23 Oct 01:00
    await eventually(lambda: _has(lab, "escalation"))
    escalations = await queries.open_escalations(lab.pool, lab.bureau)
    assert [e["status"] for e in escalations] == ["escalated"]


def test_calendar_units_keep_old_rule_hashes() -> None:
    # A "calendar" unit is left out of every dump (so of the canonical body); "working" is in.
    default = load_ruleset("default")
    assert default.ladder.correction_plan_unit == "calendar"
    assert "correction_plan_unit" not in ruleset_canonical(default)
    working = default.model_copy(
        update={"ladder": default.ladder.model_copy(update={"correction_plan_unit": "working"})}
    )
    assert '"correction_plan_unit":"working"' in ruleset_canonical(working)
    assert "correction_plan_unit" not in default.ladder.model_dump()
    assert type(working).model_validate(working.model_dump()).ladder.correction_plan_unit == (
        "working"
    )
