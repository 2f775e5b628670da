"""A ladder's state stays bounded (issue 10): ten years of a bureau on the black list every month,
eight projects red all along, no correction plan ever answered — the worst a ladder meets.

Driven through `LadderBook` as BureauLadder drives it (clock moved a month per round, overdue
plans escalated, each change taken as one write, continue-as-new every two years through the
JSON of `LadderInput`). The limit is computed from the structure — how many of each thing a
bounded state may hold, times the size of a maximal one — not from a measurement; a control
run without the bounded layout must exceed it (the test could fail).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from guatu.core.clock import add_months, month_key
from guatu.ladder.book import LadderBook
from guatu.ladder.ledger import CLOSED_ORDERS_KEPT, SEEN_KEPT, compact_result
from guatu.ladder.models import (
    LadderChanges,
    LadderInput,
    LadderState,
    PeriodRecord,
    PeriodStep,
    RecordPeriodInput,
    SupervisionOrder,
    TrackState,
)
from guatu.ladder.rules import HISTORY_KEPT
from guatu.ranking.actions import ActionKind, OrderStatus
from guatu.ranking.messages import BureauOutcome
from guatu.ranking.models import LadderRules, ListKind, RedProject

B = "t_bounded_bureau"  # a long bureau code: sizes below are upper bounds
RED = 8
MONTHS = 120
START = datetime(2031, 1, 1, 1, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> datetime:
        return self.at


def outcome(period: str, month: int) -> BureauOutcome:
    months = [month_key(add_months(datetime(2031, 1, 1).date(), i)) for i in range(month + 1)]
    return BureauOutcome(
        bureau=B,
        name_zh="区住房和城乡建设局",
        period=period,
        kind="month",
        ruleset_id="default",
        ruleset_version=1,
        rank=48,
        of=48,
        score=12.5,
        listed=ListKind.BLACK,
        target_met=False,
        investment_ratio=0.31,
        reasons_zh=["合计 12.50 分", "序时目标：累计完成投资 310.00 万元 ÷ 序时计划 1,000.00 万元"],
        reasons_en=["total 12.50", "period target missed"],
        red_projects=[
            RedProject(
                code=f"WJ-2031-{i:04d}",
                name_zh=f"温江区重点项目第{i}号（道路及配套管网工程）",
                streak=month + 1,
                red_months=months[-12:],
            )
            for i in range(RED)
        ],
    )


def ten_years(bounded: bool) -> tuple[int, int, int]:
    """(largest continue-as-new input, largest write, unfinished orders at the end), bytes."""
    clock = Clock()
    state = LadderState(bureau=B, name_zh="区住房和城乡建设局")
    book = LadderBook(state, clock)
    book.anchor_clock()
    if bounded:
        book.bound()
    book.start()
    largest_input = largest_write = 0
    for m in range(MONTHS):
        clock.at = START + timedelta(days=round(m * 30.44))
        book.escalate_overdue()
        period = month_key(add_months(START.date(), m))
        book.record(RecordPeriodInput(outcome=outcome(period, m), ladder=LadderRules()))
        batch = book.take_batch()
        assert batch is not None and isinstance(batch, LadderChanges) is bounded
        largest_write = max(largest_write, len(batch.model_dump_json().encode()))
        if m % 24 == 23:  # continue-as-new: the state travels as the next run's input
            book.forget_finished(withdrawn_too=True)
            carried = LadderInput(bureau=B, state=book.s).model_dump_json()
            largest_input = max(largest_input, len(carried.encode()))
            book = LadderBook(LadderInput.model_validate_json(carried).state or state, clock)
            if bounded:
                book.bound()
    unfinished = sum(1 for o in book.s.orders.values() if not o.status.finished)
    return largest_input, largest_write, unfinished


def _size(model: object) -> int:
    return len(model.model_dump_json().encode())  # type: ignore[attr-defined]


def limit_from_structure(unfinished: int) -> int:
    """What a bounded state may hold, each thing at its largest."""
    at = START
    step = PeriodStep(
        period="2031-01",
        rank=999,
        of=999,
        score=-999.99,
        listed=ListKind.BLACK,
        exempted=True,
        level_before=3,
        level_after=3,
        actions=[ActionKind.SUPERVISION] + [ActionKind.PROJECT_SUPERVISION] * RED,
    )
    track = TrackState(
        ruleset_id="default",
        kind="quarter",
        levels=["notice", "summons", "supervision"],
        last_period="2031-01",
        level=3,
        black_streak=999,
        red_streak=999,
        history=[step] * HISTORY_KEPT,
    )
    order = SupervisionOrder(
        id=f"{B}:default:2031-01:r9:project:WJ-2031-0000",
        bureau=B,
        kind=ActionKind.PROJECT_SUPERVISION,
        project="WJ-2031-0000",
        project_name="温江区重点项目第0号（道路及配套管网工程）",
        period="2031-01",
        ruleset_id="default",
        ruleset_version=99,
        track="default:month",
        issued_at=at,
        due=at.date(),
        status=OrderStatus.ESCALATED,
        plan_actor="",
        submitted_at=at,
        plan_on_time=False,
        escalated_at=at,
        closed_at=at,
        decision_key=f"ladder:{B}:default:2031-01:r9:project_supervision:WJ-2031-0000",
    )
    key = f"ladder:{B}:default:2031-01:r9:project_supervision:WJ-2031-0000"
    seen_entry = compact_result(
        "record:default:2031-01:r9",
        {
            "bureau": B,
            "period": "2031-01",
            "ruleset_id": "default",
            "track": "default:month",
            "level_before": 3,
            "level_after": 3,
            "exempted": True,
            "decisions": [],
            "duplicate": False,
            "revision": 9,
            "withdrawn": [key] * (RED + 1),
            "decision_keys": [key] * (RED + 2),
        },
    )
    record = PeriodRecord(period="2031-01", revision=9, before=track, open_projects=[])
    head = LadderState(bureau=B, name_zh="区住房和城乡建设局" * 2, started_at=at, updated_at=at)
    tracks = 1  # one rule set, monthly rounds only

    def entry(key: str, value: int) -> int:  # "key":value, in a JSON object
        return len(json.dumps(key, ensure_ascii=False).encode()) + 1 + value + 1

    seen = entry(
        "record:default:2031-01:r9",
        len(json.dumps(seen_entry, separators=(",", ":"), ensure_ascii=False).encode()),
    )
    return (
        _size(head)
        + SEEN_KEPT * seen
        + tracks * (entry("default:month", _size(track)) + entry("default:month", _size(record)))
        + (unfinished + CLOSED_ORDERS_KEPT) * entry(order.id, _size(order))
    )


def test_ten_years_on_the_black_list_stay_bounded() -> None:
    carried, write, unfinished = ten_years(bounded=True)
    # Never answered: every monthly 督办 from the 3rd month on stays escalated, and the eight
    # projects' 督办单 stay open — open obligations the ladder must keep.
    assert unfinished == (MONTHS - 2) + RED
    limit = limit_from_structure(unfinished)
    assert carried <= limit, (carried, limit)
    assert carried <= 256 * 1024
    assert write <= 64 * 1024  # one month's changes, not the state


def test_without_the_bounded_layout_the_same_years_exceed_it() -> None:
    """The control: the layout before the patch (whole results remembered, each decision with
    its outcome and rules, the whole state in every write) outgrows the same limit."""
    carried, write, unfinished = ten_years(bounded=False)
    assert carried > limit_from_structure(unfinished)
    assert write > carried // 2  # every write carried the whole state


def test_a_state_from_before_is_upgraded_once_and_written_whole() -> None:
    clock = Clock()
    book = LadderBook(LadderState(bureau=B, name_zh="测试局"), clock)
    book.start()
    for m in range(3):
        period = month_key(add_months(START.date(), m))
        book.record(RecordPeriodInput(outcome=outcome(period, m), ladder=LadderRules()))
    old = book.take_batch()
    assert old is not None and not isinstance(old, LadderChanges)
    # The remembered answer of a run before the patch holds whole decisions with their inputs.
    remembered = book.s.seen["record:default:2031-03"]
    assert remembered["decisions"][0]["inputs"]["outcome"]["bureau"] == B
    keys = [d["key"] for d in remembered["decisions"]]
    carried = LadderInput(bureau=B, state=book.s).model_dump_json()

    upgraded = LadderBook(LadderInput.model_validate_json(carried).state or book.s, clock)
    version = upgraded.s.version
    upgraded.bound()
    upgraded.bound()  # once
    assert upgraded.s.bounded and upgraded.s.version == version + 1
    entry = upgraded.s.seen["record:default:2031-03"]
    assert (entry["decisions"], entry["decision_keys"]) == ([], keys)
    dup = upgraded.seen_record(
        RecordPeriodInput(outcome=outcome("2031-03", 2), ladder=LadderRules())
    )
    assert dup is not None and dup.duplicate and dup.decision_keys == keys
    first = upgraded.take_batch()
    assert isinstance(first, LadderChanges) and first.full
    assert set(first.tracks) == {"default:month"} and list(first.seen) == list(upgraded.s.seen)
    assert {o.id for o in first.orders} == set(upgraded.s.orders)
    # From then on: changes only, and decisions name their inputs instead of copying them.
    upgraded.record(RecordPeriodInput(outcome=outcome("2031-04", 3), ladder=LadderRules()))
    later = upgraded.take_batch()
    assert isinstance(later, LadderChanges) and not later.full
    assert list(later.seen) == ["record:default:2031-04"]
    assert [i.key for i in later.inputs] == [f"{B}:record:default:2031-04"]
    assert {d.inputs["input"] for d in later.decisions} == {f"{B}:record:default:2031-04"}
    assert all("outcome" not in d.inputs for d in later.decisions)
