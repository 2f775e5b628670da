"""Pure rules: hand-computed scores, ranks and lists; ties; movement; exemption; Sanya; ladder.

Every expected number is worked out by hand in the comments (see tests/ranking/fixture.py for
the fixture's inputs), not computed by the code under test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from guatu.ladder.models import LadderState, SupervisionOrder, TrackState
from guatu.ladder.rules import ladder_step, orders_to_forget, standing_of
from guatu.ranking.actions import ActionKind, OrderStatus
from guatu.ranking.messages import BureauOutcome
from guatu.ranking.models import (
    Exemption,
    LadderRules,
    Level,
    ListKind,
    ProjectInput,
    RedProject,
    RoundContext,
    Snapshot,
)
from guatu.ranking.periods import last_closed, parse_period, periods_between, previous_period
from guatu.ranking.rules import compute_round
from guatu.ranking.rulesets import (
    UnknownRuleSet,
    known_ruleset,
    load_ruleset,
    load_ruleset_ref,
    ruleset_canonical,
    ruleset_versions,
    sha256,
)
from guatu.ranking.scoring import red_streak
from tests.ranking import fixture

DEFAULT = load_ruleset("default")
SANYA = load_ruleset("sanya")


def rows(results, level: Level) -> dict[str, tuple[int, float, str | None]]:  # type: ignore[no-untyped-def]
    return {
        r.code: (r.rank, r.score, r.listed.value if r.listed else None)
        for r in results.levels[level].rows
    }


def test_periods() -> None:
    q = parse_period("2026-Q4")
    assert (q.start, q.close, q.months) == (
        date(2026, 10, 1),
        date(2027, 1, 1),
        ["2026-10", "2026-11", "2026-12"],
    )
    assert parse_period("2026").months[0] == "2026-01" and parse_period("2026").close == date(
        2027, 1, 1
    )
    assert previous_period("2026-01").key == "2025-12"
    assert previous_period("2026-Q1").key == "2025-Q4"
    assert previous_period("2026").key == "2025"
    # The schedule fires on the 1st: it ranks the month (quarter, year) that just closed.
    assert last_closed("month", date(2026, 12, 1)).key == "2026-11"
    assert last_closed("quarter", date(2027, 1, 1)).key == "2026-Q4"
    assert last_closed("year", date(2027, 1, 1)).key == "2026"
    assert periods_between("quarter", "2025-Q3", "2026-Q2") == [
        "2025-Q3",
        "2025-Q4",
        "2026-Q1",
        "2026-Q2",
    ]
    # Out of the programme's years (year 0 once reached date() and answered 500), and non-ASCII
    # digits (Arabic-Indic ٢٠٢٦ matched \d).
    for bad in (
        "2026-13",
        "2026-Q5",
        "26",
        "2026-1",
        "0000-01",
        "9999-12",
        "1899",
        "\u0662\u0660\u0662\u0666-09",
    ):
        with pytest.raises(ValueError):
            parse_period(bad)


def test_hand_computed_ranking_default_rules() -> None:
    results = compute_round(fixture.snapshot("t"), DEFAULT, RoundContext())
    # default v2 ranks on the year's plan (年度计划口径): ratio = 本年完成 ÷ (年度计划 × 时间进度).
    # The fixture's plans lie wholly in 2031 (year plan = total) and span February–May, so
    # 时间进度 at the close of March is 2/4 and each year plan-to-date is total ÷ 2; everything
    # was done in 2031 (this year's completion = cumulative). The ratios are those of v1's
    # cumulative basis (whole-span line: 50 of 100 days), so the figures are too.
    # Projects (60 × min(ratio, 1.3) + 25 × milestones share + 15 × reports share − 5 × red months):
    # A1 600/(1000 × 2/4 = 500) = 1.2 → 72.00 + 25 + 15 − 0 = 112.00
    # B1 1100/1000 = 1.1 → 66.00 + 25 + 15          = 106.00
    # C2 550/500 = 1.1 → 66.00 + 25 + 0 (late)      =  91.00
    # C1 500/500 = 1.0 → 60.00 + 12.50 (1/2) + 15   =  87.50
    # A2 900/1500 = 0.6 → 36.00 + 0 + 0 − 5         =  31.00
    # D1 400/2000 = 0.2 → 12.00 + 0 + 0 (missing) − 5 = 7.00
    # Red list (top 10 with ratio ≥ 100 %): A1, B1, C2, C1; black list: A2, D1.
    assert rows(results, Level.PROJECT) == {
        "T-A1": (1, 112.0, "red"),
        "T-B1": (2, 106.0, "red"),
        "T-C2": (3, 91.0, "red"),
        "T-C1": (4, 87.5, "red"),
        "T-A2": (5, 31.0, "black"),
        "T-D1": (6, 7.0, "black"),
    }
    # Bureaus, weighted by total investment:
    # a (112 × 1000 + 31 × 3000) / 4000 = 51.25, target (600 + 900)/(500 + 1500) = 75 % missed
    # b 106.00, target 110 % met; c (87.5 + 91) / 2 = 89.25, target 1050/1000 met
    # d 7.00, target 20 % missed
    # Red list: top 3 that met the target → b, c (a is 3rd but missed it).
    # Black list: bottom 3 (c, a, d) that missed it → a, d.
    assert rows(results, Level.BUREAU) == {
        "t_b": (1, 106.0, "red"),
        "t_c": (2, 89.25, "red"),
        "t_a": (3, 51.25, "black"),
        "t_d": (4, 7.0, "black"),
    }
    assert results.levels[Level.BUREAU].red_list == ["t_b", "t_c"]
    assert results.levels[Level.BUREAU].black_list == ["t_a", "t_d"]
    # Programs: P01 (112 × 1000 + 106 × 2000 + 7 × 4000) / 7000 = 352000 / 7000 = 50.29
    #           P02 (31 × 3000 + 87.5 × 1000 + 91 × 1000) / 5000 = 271500 / 5000 = 54.30
    # Both missed their targets (2100/3500, 1950/2500): no red list, both black.
    assert rows(results, Level.PROGRAM) == {"P02": (1, 54.3, "black"), "P01": (2, 50.29, "black")}
    a1 = next(r for r in results.levels[Level.PROJECT].rows if r.code == "T-A1")
    inv = a1.breakdown[0]
    assert inv["points"] == 72.0 and inv["max_points"] == 78.0
    # 600 of the year's plan 1,000 = 60.00 %; 时间进度 2/4 = 50.00 %; 600 of 500 to date = 120.00 %.
    assert inv["inputs"]["basis"] == "year_plan"
    assert inv["text_zh"] == (
        "本年累计完成投资 600.00 万元，占年度计划 1,000.00 万元的 60.00%，"
        "时间进度 50.00%，完成序时计划 500.00 万元的 120.00% → "
        "60 × 1.2000 = 72.00 / 60 分"
    )
    assert inv["text_en"].startswith(
        "60.00% of this year's plan (600.00 of 1,000.00 万元) against 50.00% of the year elapsed"
    )
    assert inv["text_en"].endswith("= 72.00 of 60")
    d1 = next(r for r in results.levels[Level.PROJECT].rows if r.code == "T-D1")
    assert [line["points"] for line in d1.breakdown[:4]] == [12.0, 0.0, 0.0, -5.0]
    assert "未报 2031-03" in d1.breakdown[2]["text_zh"]
    bureau_a = next(r for r in results.levels[Level.BUREAU].rows if r.code == "t_a")
    total = next(line for line in bureau_a.breakdown if line["key"] == "total")
    assert "205,000.0000 ÷ Σ权重 4,000.00 = 51.25" in total["text_zh"]
    target = next(line for line in bureau_a.breakdown if line["key"] == "target")
    assert target["inputs"]["basis"] == "year_plan"
    assert target["text_zh"] == (
        "序时目标：本年（年度计划口径）完成投资 1,500.00 万元 ÷ 序时计划 "
        "2,000.00 万元 = 75.00%，目标 100% → 未完成"
    )
    # Bureau d owns D1, red in February and March: a 2-month streak the ladder will act on.
    bureau_d = next(r for r in results.levels[Level.BUREAU].rows if r.code == "t_d")
    assert [(p.code, p.streak) for p in bureau_d.red_projects] == [("T-D1", 2)]


def test_score_floor_and_cap() -> None:
    snap = fixture.snapshot("t")
    # default v2 reads this year's completion (actual_ytd_wan); the fixture's plans lie wholly in
    # 2031, so this year's and the cumulative figure move together.
    p = snap.projects[0].model_copy(
        update={  # A1: 2000 of 500 to date = 400 % of plan
            "actual_cumulative_wan": 2000.0,
            "actual_ytd_wan": 2000.0,
        }
    )
    q = snap.projects[0].model_copy(
        update={
            "code": "T-Z9",
            "actual_cumulative_wan": 0.0,
            "actual_ytd_wan": 0.0,
            "red_months": ["2031-03"],
            "reports": [],
            "milestones": [],
        }
    )
    results = compute_round(snap.model_copy(update={"projects": [p, q]}), DEFAULT, RoundContext())
    got = rows(results, Level.PROJECT)
    # Capped at 130 %: 60 × 1.3 = 78 + 25 + 15 = 118. Z9: 0 + 25 (none due) + 15 (none
    # expected) − 5 = 35 … not below the floor; remove its milestones' and reports' credit:
    assert got["T-A1"][1] == 118.0
    assert got["T-Z9"][1] == 35.0
    r = compute_round(
        snap.model_copy(
            update={
                "projects": [
                    q.model_copy(
                        update={
                            "milestones": snap.projects[0].milestones,
                            "reports": snap.projects[0].reports,
                            "actual_cumulative_wan": 0.0,
                            "actual_ytd_wan": 0.0,
                        }
                    )
                ]
            }
        ),
        DEFAULT.model_copy(
            update={
                "components": [
                    c.model_copy(update={"points": 50}) if c.key.value == "red_months" else c
                    for c in DEFAULT.components
                ]
            }
        ),
        RoundContext(),
    )
    # 0 + 25 (A1's milestones met) + 15 (A1's reports) − 50 = −10 → floored at 0.
    assert r.levels[Level.PROJECT].rows[0].score == 0.0


def _project(code: str, bureau: str, actual: float, total: float = 1000.0) -> ProjectInput:
    # A plan over the whole of 2031: the year's plan is the total, 时间进度 at the close of March
    # is 3/12, so the year's plan-to-date (what default v2 compares with) is total ÷ 4.
    return ProjectInput(
        code=code,
        name_zh=code,
        program="P01",
        bureau=bureau,
        kind="engineering",
        stage="preliminary",
        status="active",
        start=date(2031, 1, 1),
        finish=date(2032, 1, 1),
        total_investment_wan=total,
        planned_to_date_wan=total / 2,
        planned_ytd_wan=total / 2,
        actual_cumulative_wan=actual,
        actual_ytd_wan=actual,
        year_plan_wan=total,
        year_plan_to_date_wan=total / 4,
    )


def _snap(projects: list[ProjectInput]) -> Snapshot:
    return Snapshot(
        period="2031-03",
        kind="month",
        close=date(2031, 4, 1),
        months=["2031-03"],
        frozen_at=datetime(2031, 4, 1, tzinfo=UTC),
        projects=projects,
    )


def test_ties_are_broken_by_ratio_then_weight_then_code() -> None:
    # Scores are capped at 130 %: every project at or above 130 % scores 60 × 1.3 + 25 + 15 = 118.
    # Ratios on the year's plan (default v2): actual ÷ (total × 3/12).
    snap = _snap(
        [
            _project("P-1", "zz", 700.0),  # 700/250 = 280 % → 118, ratio 2.8
            _project("P-2", "yy", 750.0),  # 750/250 = 300 % → 118, ratio 3.0
            _project("P-3", "xx", 1400.0, 2000.0),  # 1400/500 = 280 % → 118, ratio 2.8, weight 2000
            _project("P-4", "ww", 1400.0, 2000.0),  # same as P-3 in every key but the code
        ]
    )
    results = compute_round(snap, DEFAULT, RoundContext())
    order = [r.code for r in results.levels[Level.PROJECT].rows]
    # ratio 3.0 first; then among the 2.8s the heavier weight (2000) first; P-3 before P-4 by code.
    assert order == ["P-2", "P-3", "P-4", "P-1"]
    lines = {
        r.code: next(x for x in r.breakdown if x["key"] == "tie_break")
        for r in results.levels[Level.PROJECT].rows
    }
    assert lines["P-2"]["inputs"]["decided_by"] == "investment_ratio"
    assert lines["P-1"]["inputs"]["decided_by"] == "weight"
    assert lines["P-4"]["inputs"]["decided_by"] == "code"
    assert "同为 118.00 分" in lines["P-4"]["text_zh"]
    # Bureaus tie the same way (each bureau has one project); the last resort is the code A→Z,
    # so ww (P-4's bureau) now comes before xx (P-3's).
    assert [r.code for r in results.levels[Level.BUREAU].rows] == ["yy", "ww", "xx", "zz"]
    # Distinct ranks: ties never share a rank, so lists never exceed their size.
    assert [r.rank for r in results.levels[Level.BUREAU].rows] == [1, 2, 3, 4]


def test_movement_and_exemption_from_context() -> None:
    ex = Exemption(
        bureau="t_d",
        period="2031-03",
        reason="特大暴雨引发洪灾，工地停工",
        actor="王区长",
        role="district_leader",
        granted_at=datetime(2031, 3, 20, tzinfo=UTC),
    )
    context = RoundContext(
        previous_period="2031-02",
        previous_ranks={"bureau": {"t_a": 1, "t_b": 3, "t_c": 2}},
        exemptions={"t_d": ex},
    )
    results = compute_round(fixture.snapshot("t"), DEFAULT, context)
    got = {
        r.code: (r.previous_rank, r.movement, r.listed, r.exempted)
        for r in results.levels[Level.BUREAU].rows
    }
    # b 3 → 1: up 2; c 2 → 2: unchanged; a 1 → 3: down 2; d not ranked before.
    assert got == {
        "t_b": (3, 2, ListKind.RED, False),
        "t_c": (2, 0, ListKind.RED, False),
        "t_a": (1, -2, ListKind.BLACK, False),
        "t_d": (None, None, None, True),
    }
    level = results.levels[Level.BUREAU]
    assert (level.black_list, level.exempted) == (["t_a"], ["t_d"])
    d = next(r for r in level.rows if r.code == "t_d")
    assert any(
        "不可抗力" in line["text_zh"] and "王区长" in line["text_zh"] for line in d.breakdown
    )
    b = next(r for r in level.rows if r.code == "t_b")
    assert any(line["text_zh"] == "较上期（2031-02 第 3 名）上升 2 位" for line in b.breakdown)


def test_sanya_rules_are_data_and_rank_differently() -> None:
    results = compute_round(fixture.snapshot("t"), SANYA, RoundContext())
    # Year-to-date ratio (= cumulative here): at or above plan green 100, behind ≤ 50 % yellow 60,
    # behind > 50 % red 0. A1 1.2 green, B1 1.1 green, C2 1.1 green, C1 1.0 green,
    # A2 0.6 (behind 40 %) yellow, D1 0.2 (behind 80 %) red.
    got = rows(results, Level.PROJECT)
    assert {k: v[1] for k, v in got.items()} == {
        "T-A1": 100.0,
        "T-B1": 100.0,
        "T-C2": 100.0,
        "T-C1": 100.0,
        "T-A2": 60.0,
        "T-D1": 0.0,
    }
    # Weighted by planned-to-date: a (100 × 500 + 60 × 1500) / 2000 = 70.00; b 100; c 100; d 0.
    # b and c tie on 100: b's ratio 1.10 beats c's 1.05. Lists of 2: red b, c; black d, a.
    assert rows(results, Level.BUREAU) == {
        "t_b": (1, 100.0, "red"),
        "t_c": (2, 100.0, "red"),
        "t_a": (3, 70.0, "black"),
        "t_d": (4, 0.0, "black"),
    }
    line = results.levels[Level.PROJECT].rows[-1].breakdown[0]
    assert "落后 80.00%" in line["text_zh"] and "红灯" in line["text_zh"]


def test_red_streak() -> None:
    assert red_streak(["2030-11", "2030-12", "2031-01", "2031-03"], "2031-03") == 1
    assert red_streak(["2030-11", "2030-12", "2031-01"], "2031-01") == 3
    assert red_streak(["2030-12"], "2031-01") == 0


def outcome(
    period: str,
    listed: ListKind | None,
    *,
    exempted: bool = False,
    reds: list[RedProject] | None = None,
    rank: int = 5,
) -> BureauOutcome:
    return BureauOutcome(
        bureau="t_a",
        name_zh="测试A局",
        period=period,
        kind=parse_period(period).kind.value,
        ruleset_id="default",
        ruleset_version=1,
        rank=rank,
        of=8,
        score=50.0,
        listed=listed,
        target_met=listed is ListKind.RED,
        exempted=exempted,
        exemption_reason="洪灾停工" if exempted else "",
        investment_ratio=0.8,
        red_projects=reds or [],
    )


def test_ladder_steps_pure() -> None:
    rules = LadderRules()
    t = TrackState(ruleset_id="default", kind="month")
    seen: list[tuple[int, list[str]]] = []
    sequence = [
        ("2031-01", ListKind.BLACK, False),  # 1st black → 通报 (level 1)
        ("2031-02", ListKind.BLACK, False),  # 2nd consecutive → 约谈 (2)
        ("2031-03", None, True),  # exempted: neutral, stays at 2
        ("2031-04", ListKind.BLACK, False),  # 3rd consecutive → 督办 (3)
        ("2031-05", ListKind.BLACK, False),  # stays at the top: 督办 again
        ("2031-06", None, False),  # off the list → down to 2
        ("2031-07", ListKind.RED, False),  # red list → down to 1 + 通报表扬
        ("2031-08", ListKind.RED, False),  # 2nd red → down to 0 + 表扬 + 推荐评优
        ("2031-09", ListKind.RED, False),  # 3rd red → 表扬 only (award once per streak)
        ("2031-11", ListKind.BLACK, False),  # gap (no 2031-10): streaks restart → 通报 (1)
    ]
    for period, listed, exempted in sequence:
        step = ladder_step(t, outcome(period, listed, exempted=exempted), rules)
        t = step.track
        seen.append((t.level, [a.kind.value for a in step.actions]))
    assert seen == [
        (1, ["notice"]),
        (2, ["summons"]),
        (2, ["exempted"]),
        (3, ["supervision"]),
        (3, ["supervision"]),
        (2, ["step_down"]),
        (1, ["step_down", "commendation"]),
        (0, ["step_down", "commendation", "award_recommendation"]),
        (0, ["commendation"]),
        (1, ["notice"]),
    ]
    assert t.black_streak == 1 and t.red_streak == 0
    supervision = ladder_step(
        TrackState(
            ruleset_id="default", kind="month", level=2, last_period="2031-01", black_streak=2
        ),
        outcome("2031-02", ListKind.BLACK),
        rules,
    ).actions[0]
    assert supervision.due_days == 15 and "15 日内报送整改方案" in supervision.lines_zh[-1]


def test_ladder_project_orders_pure() -> None:
    rules = LadderRules()
    red2 = RedProject(code="T-D1", name_zh="项目D1", streak=2, red_months=["2031-02", "2031-03"])
    red1 = RedProject(code="T-A2", name_zh="项目A2", streak=1, red_months=["2031-03"])
    t = TrackState(ruleset_id="default", kind="month")
    step = ladder_step(t, outcome("2031-03", None, reds=[red1, red2]), rules)
    assert [(a.kind, a.project, a.due_days) for a in step.actions] == [
        (ActionKind.PROJECT_SUPERVISION, "T-D1", 30)
    ]
    # Still red with an order open: nothing new. Then off red: the order is closed.
    again = ladder_step(
        step.track,
        outcome("2031-04", None, reds=[red2.model_copy(update={"streak": 3})]),
        rules,
        open_project_orders={"T-D1"},
    )
    assert again.actions == []
    closed = ladder_step(again.track, outcome("2031-05", None), rules, open_project_orders={"T-D1"})
    assert [(a.kind, a.project) for a in closed.actions] == [(ActionKind.ORDER_CLOSED, "T-D1")]
    # Quarterly tracks issue no 督办单 (a monthly concept by default).
    quarterly = ladder_step(
        TrackState(ruleset_id="default", kind="quarter"),
        outcome("2031-Q1", None, reds=[red2]),
        rules,
    )
    assert quarterly.actions == []
    # Sanya: one red month is enough, and the first black list already brings a summons.
    sanya = ladder_step(t, outcome("2031-03", ListKind.BLACK, reds=[red1]), SANYA.ladder)
    assert [(a.kind, a.project) for a in sanya.actions] == [
        (ActionKind.SUMMONS, None),
        (ActionKind.PROJECT_SUPERVISION, "T-A2"),
    ]


def order(oid: str, status: OrderStatus, issued: datetime, due: date) -> SupervisionOrder:
    return SupervisionOrder(
        id=oid,
        bureau="t_a",
        kind=ActionKind.PROJECT_SUPERVISION,
        project=f"T-{oid}",
        period="2031-03",
        ruleset_id="default",
        track="default:month",
        issued_at=issued,
        due=due,
        status=status,
    )


def test_standing_lists_only_orders_still_awaited() -> None:
    issued = datetime(2031, 4, 1, 2, tzinfo=UTC)
    orders = [
        order("open", OrderStatus.OPEN, issued, date(2031, 4, 16)),
        order("escalated", OrderStatus.ESCALATED, issued, date(2031, 4, 10)),
        order("plan", OrderStatus.PLAN_SUBMITTED, issued, date(2031, 5, 1)),
        order("closed", OrderStatus.CLOSED, issued, date(2031, 4, 2)),
        # Withdrawn by a revision of the round: its due date is the earliest, so it would head
        # the list if it were still counted as open.
        order("withdrawn", OrderStatus.WITHDRAWN, issued, date(2031, 4, 1)),
    ]
    state = LadderState(bureau="t_a", orders={o.id: o for o in orders})
    standing = standing_of(state)
    # Still awaited, earliest due first: 10 April, 16 April, 1 May; 3 counted (the dashboard's
    # count is the length of this list).
    assert [o.id for o in standing.open_orders] == ["escalated", "open", "plan"]
    # A withdrawn order is finished like a closed one; every other status still awaits something.
    assert {s.value for s in OrderStatus if s.finished} == {"closed", "withdrawn"}


def test_continue_as_new_forgets_finished_orders_beyond_the_kept_ones() -> None:
    base = datetime(2031, 1, 1, 1, tzinfo=UTC)
    # 52 finished orders issued one day apart, closed and withdrawn alternately (f00 closed,
    # f01 withdrawn, …), and 3 open ones issued before all of them.
    finished = [
        order(
            f"f{i:02d}",
            OrderStatus.WITHDRAWN if i % 2 else OrderStatus.CLOSED,
            base + timedelta(days=i),
            date(2031, 6, 1),
        )
        for i in range(52)
    ]
    still_open = [
        order(f"o{i}", status, base - timedelta(days=30), date(2031, 2, 1))
        for i, status in enumerate(
            (OrderStatus.OPEN, OrderStatus.ESCALATED, OrderStatus.PLAN_SUBMITTED)
        )
    ]
    # Listed newest first: the result follows the issue time, not the order of the input.
    orders = [*still_open, *reversed(finished)]
    # Keep 50 of the 52 finished: the 2 issued first go (one closed, one withdrawn); the open
    # ones, although older, are never forgotten.
    assert orders_to_forget(orders, 50) == ["f00", "f01"]
    # Only 26 of them are closed: counted alone they stay under 50 and nothing would go.
    assert orders_to_forget([o for o in orders if o.status is OrderStatus.CLOSED], 50) == []
    assert orders_to_forget(orders, 52) == []
    assert orders_to_forget(orders, 0) == [f"f{i:02d}" for i in range(52)]
    withdrawn_only = [o for o in finished if o.status is OrderStatus.WITHDRAWN]  # f01, f03, …, f51
    assert orders_to_forget(withdrawn_only, 24) == ["f01", "f03"]


# ---------------------------------------------------------------------------------------------
# The default rule set's versions: v1 cumulative (总投资口径), v2 year plan (年度计划口径)
# ---------------------------------------------------------------------------------------------

# SHA-256 of default v1's canonical body, as every round published under v1 stored it in
# `ranking_rulesets` (the body of config/rules/default.json at version 1, commit b50e50e).
DEFAULT_V1_SHA256 = "e99f1b09a65d9ef3fd93a2fa65da747b4917d8f67685570ef4129492d89a6517"


def test_default_v2_is_v1_on_the_year_plan_basis() -> None:
    v1 = load_ruleset("default", version=1)
    assert (DEFAULT.version, v1.version) == (2, 1)
    # The kept v1 body is byte for byte the one rounds published under v1 hashed.
    assert sha256(ruleset_canonical(v1)) == DEFAULT_V1_SHA256
    assert [(c.key.value, c.basis.value) for c in v1.components][0] == (
        "investment_ratio",
        "cumulative",
    )
    assert v1.target.basis.value == "cumulative"
    assert [(c.key.value, c.basis.value) for c in DEFAULT.components][0] == (
        "investment_ratio",
        "year_plan",
    )
    assert DEFAULT.target.basis.value == "year_plan"
    # Nothing else changed: v2 with v1's bases, version and description is v1.
    back = DEFAULT.model_copy(
        update={
            "version": 1,
            "description": v1.description,
            "target": v1.target,
            "components": [
                DEFAULT.components[0].model_copy(update={"basis": v1.components[0].basis}),
                *DEFAULT.components[1:],
            ],
        }
    )
    assert ruleset_canonical(back) == ruleset_canonical(v1)
    # Procedure (not hashed): the same terms, now counted in working days (工作日).
    assert DEFAULT.appeal == v1.appeal.model_copy(update={"day_unit": "working"})
    assert "年度计划" in DEFAULT.description and "default.v1.json" in DEFAULT.description
    # The current version is also reachable by its number; an unknown version is refused.
    assert load_ruleset("default", version=2) == DEFAULT
    assert ruleset_versions("default") == [1, 2]
    assert load_ruleset_ref("default@1") == v1 and load_ruleset_ref("default") == DEFAULT
    assert known_ruleset("default@1") and known_ruleset("sanya@1")
    assert (
        not known_ruleset("default@3")
        and not known_ruleset("default@")
        and not known_ruleset("nosuch@1")
    )
    with pytest.raises(UnknownRuleSet, match="没有第 9 版"):
        load_ruleset("default", version=9)


def _multi_year(code: str, bureau: str, *, cumulative: float, this_year: float) -> ProjectInput:
    # A three-year project, total 12,000 万元, frozen at the close of June 2031: 6,000 planned to
    # date on its whole-span 序时 curve; this year's plan 4,000 spans all twelve months, so
    # 时间进度 is 6/12 and the year's plan-to-date is 4,000 × 6/12 = 2,000. No milestone due and
    # no report expected: 25 + 15 points each, no red month.
    return ProjectInput(
        code=code,
        name_zh=code,
        program="P01",
        bureau=bureau,
        kind="engineering",
        stage="construction",
        status="active",
        start=date(2030, 1, 1),
        finish=date(2033, 1, 1),
        total_investment_wan=12000.0,
        planned_to_date_wan=6000.0,
        planned_ytd_wan=2000.0,
        actual_cumulative_wan=cumulative,
        actual_ytd_wan=this_year,
        year_plan_wan=4000.0,
        year_plan_to_date_wan=2000.0,
    )


def test_default_v2_ranks_this_years_plan_where_v1_ranked_the_total() -> None:
    # Bureau x did well in earlier years but only half of this year's plan-to-date; bureau y
    # was behind overall but is ahead of this year's plan.
    snap = Snapshot(
        period="2031-06",
        kind="month",
        close=date(2031, 7, 1),
        months=["2031-06"],
        frozen_at=datetime(2031, 7, 1, tzinfo=UTC),
        projects=[
            _multi_year("X-1", "x", cumulative=5400.0, this_year=1000.0),
            _multi_year("Y-1", "y", cumulative=4800.0, this_year=2200.0),
        ],
    )
    v1 = compute_round(snap, load_ruleset("default", version=1), RoundContext())
    v2 = compute_round(snap, DEFAULT, RoundContext())
    # v1 (cumulative): x 5400/6000 = 0.90 → 54.00 + 40 = 94.00; y 4800/6000 = 0.80 → 48.00 + 40
    # = 88.00. Both below 100 % of the 序时 plan: no red list; both in the bottom 3 → black.
    assert rows(v1, Level.BUREAU) == {"x": (1, 94.0, "black"), "y": (2, 88.0, "black")}
    # v2 (year plan): x 1000/2000 = 0.50 → 30.00 + 40 = 70.00; y 2200/2000 = 1.10 → 66.00 + 40
    # = 106.00. y met its target (110 %) → red; x missed it (50 %) → black.
    assert rows(v2, Level.BUREAU) == {"y": (1, 106.0, "red"), "x": (2, 70.0, "black")}
    assert v2.ruleset_version == 2 and v1.ruleset_version == 1
    x = next(r for r in v2.levels[Level.PROJECT].rows if r.code == "X-1")
    # 1000 of 4000 = 25.00 % of the year's plan against 50.00 % of the year elapsed.
    assert x.breakdown[0]["text_zh"].startswith(
        "本年累计完成投资 1,000.00 万元，占年度计划 4,000.00 万元的 25.00%，时间进度 50.00%，"
        "完成序时计划 2,000.00 万元的 50.00%"
    )
    assert x.investment_ratio == 0.5
