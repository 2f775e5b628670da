"""The `society` rule set ranks with 市民观察 and 第三方评估, by hand; `default` is unchanged.

October 2026 (close 2026-11-01), two bureaus with one project each (weights equal, so a bureau's
score is its project's):

A (bureau aa): 本年完成 1,000 of a 序时 plan of 1,000 (ratio 1.0), no milestone due, October's
report on time; October ratings 1 满意 + 3 不满意 (a September 满意 is outside the window), 4 replies
due in October, 1 on time; its own evaluation scored 60.
  default: 60 × 1.0 + 25 + 15 = 100.00
  society: 50 × 1.0 + 20 + 10 − 0 + 8 × 1/4 (2.00) + 6 × 1/4 (1.50) + 6 × 0.60 (3.60) = 87.10
B (bureau bb): 900 of 1,000 (ratio 0.9), nothing observed or evaluated (each counts as 100 %).
  default: 60 × 0.9 + 25 + 15 = 94.00
  society: 50 × 0.9 + 20 + 10 + 8 + 6 + 6 = 95.00
Default ranks aa first; society ranks bb first.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from guatu.ranking.models import (
    EvaluationInput,
    Level,
    ProjectInput,
    ReportInput,
    RoundContext,
    Snapshot,
    SocietyInput,
)
from guatu.ranking.rules import compute_round
from guatu.ranking.rulesets import load_ruleset
from guatu.whatif.replay import what_if_snapshots


def project(code: str, bureau: str, actual: float, society: SocietyInput | None) -> ProjectInput:
    return ProjectInput(
        code=code,
        name_zh=f"项目{code}",
        program="P10",
        bureau=bureau,
        kind="service",
        stage="implementing",
        status="active",
        start=date(2026, 1, 1),
        finish=date(2027, 1, 1),
        total_investment_wan=1200,
        planned_to_date_wan=1000,
        planned_ytd_wan=1000,
        actual_cumulative_wan=actual,
        actual_ytd_wan=actual,
        reports=[ReportInput(month="2026-10", received=True, on_time=True)],
        year_plan_wan=1200,
        year_plan_to_date_wan=1000,
        society=society,
    )


def snapshot() -> Snapshot:
    a = SocietyInput(
        satisfied={"2026-09": 5, "2026-10": 1},
        unsatisfied={"2026-10": 3},
        replies_due={"2026-10": 4},
        replies_on_time={"2026-10": 1},
        evaluation=EvaluationInput(id="project-A1-2026-v2", subject="project", year=2026, score=60),
    )
    return Snapshot(
        period="2026-10",
        kind="month",
        close=date(2026, 11, 1),
        months=["2026-10"],
        frozen_at=datetime(2026, 11, 1, 1, tzinfo=UTC),
        bureaus={"aa": "甲局", "bb": "乙局"},
        programs={"P10": "全龄友好包容社会营建工程"},
        projects=[project("A1", "aa", 1000, a), project("B1", "bb", 900, None)],
    )


def _rows(ruleset: str) -> dict[str, tuple[int, float]]:
    results = compute_round(snapshot(), load_ruleset(ruleset), RoundContext())
    return {r.code: (r.rank, r.score) for r in results.levels[Level.BUREAU].rows}


def test_society_rule_set_matches_the_hand_computation() -> None:
    assert _rows("default") == {"aa": (1, 100.0), "bb": (2, 94.0)}
    assert _rows("society") == {"bb": (1, 95.0), "aa": (2, 87.1)}
    results = compute_round(snapshot(), load_ruleset("society"), RoundContext())
    a1 = next(r for r in results.levels[Level.PROJECT].rows if r.code == "A1")
    lines = {line["key"]: line for line in a1.breakdown}
    assert lines["citizen_satisfaction"]["points"] == 2.0
    assert lines["citizen_satisfaction"]["text_zh"] == (
        "期内市民观察员评价答复 4 次，满意 1 次（满意率 25.00%） → 8 × 1/4 = 2.00 / 8 分"
    )
    assert lines["response_timeliness"]["text_zh"] == (
        "期内到期应答复市民观察 4 条，按期答复 1 条 → 6 × 1/4 = 1.50 / 6 分"
    )
    assert lines["third_party_score"]["text_zh"] == (
        "本项目第三方评估（project-A1-2026-v2）得分 60.00 → 6 × 0.6000 = 3.60 / 6 分"
    )
    assert (
        lines["total"]["text_zh"]
        == "合计 50.00 + 20.00 + 10.00 + 0.00 + 2.00 + 1.50 + 3.60 = 87.10 分"
    )
    b1 = next(r for r in results.levels[Level.PROJECT].rows if r.code == "B1")
    b_lines = {line["key"]: line for line in b1.breakdown}
    assert b_lines["third_party_score"]["text_zh"] == "尚无第三方评估，按 100% 计 → 6.00 / 6 分"


def test_what_if_shows_the_difference_against_the_default() -> None:
    out = what_if_snapshots([snapshot()], load_ruleset("default"), load_ruleset("society"))
    (period,) = out["periods"]
    moves = {b["code"]: (b["baseline"]["rank"], b["candidate"]["rank"]) for b in period["bureaus"]}
    assert moves == {"aa": (1, 2), "bb": (2, 1)}
    assert period["differences"]["bureau_rank_changes"] == 2
    assert out["candidate"]["id"] == "society"
