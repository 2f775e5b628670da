"""红黄绿灯: the 序时 check on both bases, milestones, 待补报, and the project's light now."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from guatu.lifecycle.models import Explanation, Light, MilestoneWatch, Step, TimerPolicy
from guatu.lifecycle.rules.lights import (
    evaluate,
    milestone_explanation,
    milestone_result,
    month_check,
    points,
    progress_check,
    worst,
)
from tests.lifecycle_rules.support import plan, reports, state

POLICY = TimerPolicy()
# 2030 in full: 1,000 万元 linear, no yearly amounts.
WHOLE_2030 = plan(start=date(2030, 1, 1), finish=date(2031, 1, 1), total=1000.0)
# Two years, 1,200 a year.
TWO_YEARS = plan(
    start=date(2030, 1, 1),
    finish=date(2032, 1, 1),
    total=2400.0,
    yearly={2030: 1200.0, 2031: 1200.0},
)


def test_worst_light_and_printed_points() -> None:
    assert worst([]) is Light.GREEN
    assert worst([Light.GREEN, Light.RED, Light.YELLOW]) is Light.RED
    assert worst([Light.YELLOW, Light.GREEN]) is Light.YELLOW
    assert str(points(-0.04)) == "0.0"  # never "-0.0"
    assert points(12.34) == 12.3


@pytest.mark.parametrize(
    ("june_wan", "actual_pct", "gap", "light"),
    [
        # Planned at the close of June: 181 of 365 days = 49.59 → 49.6 %.
        (300.0, 30.0, 19.6, Light.YELLOW),
        (397.0, 39.7, 9.9, Light.GREEN),
        (396.0, 39.6, 10.0, Light.YELLOW),  # 10 points: yellow
        (196.0, 19.6, 30.0, Light.YELLOW),  # 30 points: still yellow
        (195.0, 19.5, 30.1, Light.RED),  # more than 30: red
    ],
)
def test_total_basis_thresholds(
    june_wan: float, actual_pct: float, gap: float, light: Light
) -> None:
    e = progress_check(WHOLE_2030, reports(m2030_06=june_wan), "2030-06", POLICY, basis="total")
    assert (e.inputs["planned_pct"], e.inputs["actual_pct"], e.inputs["gap_points"]) == (
        49.6,
        actual_pct,
        gap,
    )
    assert e.light is light
    assert e.rule == "progress.yinchuan"
    assert e.inputs["total_investment_wan"] == 1000.0
    assert e.formula.startswith(f"gap = planned 49.6% − actual {actual_pct}% = {gap} points")


def test_year_plan_basis_against_time_progress() -> None:
    # September 2030: 9 of 12 span months → 75 %. 600 of 1,200 done → 50 %: 25 behind → yellow.
    # Reports of 2029 (before the year) do not count on this basis.
    rs = reports(m2029_12=5000.0, m2030_03=300.0, m2030_09=300.0)
    e = progress_check(TWO_YEARS, rs, "2030-09", POLICY, basis="year_plan")
    assert e.light is Light.YELLOW
    assert e.inputs["planned_pct"] == 75.0
    assert e.inputs["actual_pct"] == 50.0
    assert e.inputs["gap_points"] == 25.0
    assert e.inputs["year_plan_wan"] == 1200.0
    assert e.inputs["actual_investment_wan"] == 600.0
    assert e.text_zh.startswith("2030-09 序时进度检查（年度计划口径）：本年累计完成投资 600 万元")
    assert "落后序时进度 25 个百分点 → 黄灯" in e.text_zh
    assert "25 points behind plan → yellow" in e.text_en


def test_year_plan_basis_red_on_plan_and_ahead() -> None:
    red = progress_check(TWO_YEARS, reports(m2030_09=300.0), "2030-09", POLICY, basis="year_plan")
    assert (red.inputs["actual_pct"], red.inputs["gap_points"], red.light) == (
        25.0,
        50.0,
        Light.RED,
    )
    level = progress_check(TWO_YEARS, reports(m2030_09=900.0), "2030-09", POLICY, basis="year_plan")
    assert (
        level.light is Light.GREEN
        and "与序时进度持平" in level.text_zh
        and "on plan" in level.text_en
    )
    # 1,000 / 1,200 = 83.3 % against 75 %: 8.3 points ahead.
    ahead = progress_check(
        TWO_YEARS, reports(m2030_09=1000.0), "2030-09", POLICY, basis="year_plan"
    )
    assert ahead.inputs["gap_points"] == -8.3
    assert "超前序时进度 8.3 个百分点" in ahead.text_zh


def test_a_year_without_a_plan_reads_zero_against_zero() -> None:
    e = progress_check(TWO_YEARS, reports(m2032_03=10.0), "2032-03", POLICY, basis="year_plan")
    assert (e.inputs["planned_pct"], e.inputs["actual_pct"], e.light) == (0.0, 0.0, Light.GREEN)


def test_the_policys_thresholds_are_data() -> None:
    strict = TimerPolicy(progress_yellow_points=5.0, progress_red_points=15.0)
    e = progress_check(WHOLE_2030, reports(m2030_06=300.0), "2030-06", strict, basis="total")
    assert e.light is Light.RED  # 19.6 > 15


def test_milestone_explanation_yellow_then_red() -> None:
    missed = milestone_explanation(
        Step.PRELIMINARY, date(2030, 5, 20), date(2030, 6, 1), False, POLICY
    )
    assert missed.light is Light.YELLOW and missed.rule == "milestone.missed"
    assert missed.inputs["days_overdue"] == 12
    assert missed.text_zh == "节点「进入前期」计划 2030-05-20 完成，已逾期 12 天 → 黄灯"
    red = milestone_explanation(
        Step.PRELIMINARY, date(2030, 5, 20), date(2030, 6, 25), True, POLICY
    )
    assert red.light is Light.RED and red.rule == "milestone.escalated"
    assert red.text_zh.endswith("已逾期 36 天（超过 30 天宽限期） → 红灯")


MILESTONE = plan(milestones={Step.PRELIMINARY: date(2030, 5, 20)})
# Loaded at 00:30 on 10 June in Wenjiang (16:30 UTC the day before), window to 25 July.
LOADED = {
    "started_at": datetime(2030, 6, 9, 16, 30, tzinfo=UTC),
    "rules_revision": 1,
    "backfill_until": date(2030, 7, 25),
}


def test_milestone_result() -> None:
    m = MILESTONE.milestones[0]
    today = date(2030, 6, 15)
    assert (
        milestone_result(state(MILESTONE, steps_done={m.step: date(2030, 5, 20)}), m, today)
        == "met"
    )
    assert (
        milestone_result(state(MILESTONE, steps_done={m.step: date(2030, 5, 21)}), m, today)
        == "missed"
    )
    assert milestone_result(state(MILESTONE), m, date(2030, 5, 20)) == "pending"
    assert milestone_result(state(MILESTONE), m, today) == "missed"
    # Due before the load day (10 June local), window open → no data yet; closed → missed.
    assert milestone_result(state(MILESTONE, **LOADED), m, today) == "awaiting_backfill"
    assert milestone_result(state(MILESTONE, **LOADED), m, date(2030, 7, 26)) == "missed"
    closed = state(MILESTONE, **LOADED, backfill_closed=True)
    assert milestone_result(closed, m, today) == "missed"


# 2030, 1,200 万元 in the year; 前期 planned 10 March. On the year-plan basis (the default).
CHECKED = plan(
    start=date(2030, 1, 1),
    finish=date(2031, 1, 1),
    total=1200.0,
    yearly={2030: 1200.0},
    milestones={Step.PRELIMINARY: date(2030, 3, 10)},
)


def test_month_check_reads_progress_and_overdue_milestones_on_the_check_day() -> None:
    s = state(CHECKED, reports=reports(m2030_01=100.0, m2030_02=100.0, m2030_03=100.0))
    # March, checked 1 April: 3/12 = 25 % against 300/1,200 = 25 % → green; 前期 overdue since
    # 11 March, grace ends 10 April → yellow.
    check, progress = month_check(s, "2030-03", date(2030, 6, 1))
    assert (check.light, check.rules) == (Light.YELLOW, ["progress.yinchuan", "milestone.missed"])
    assert progress.light is Light.GREEN and progress.inputs["gap_points"] == 0.0
    # April, checked 1 May: 33.3 % against 25 % → 8.3 behind, green; the milestone is red.
    check, progress = month_check(s, "2030-04", date(2030, 6, 1))
    assert (check.light, check.rules) == (Light.RED, ["progress.yinchuan", "milestone.escalated"])
    assert progress.inputs["gap_points"] == 8.3
    # Reached on 31 March (before the check day): not counted for March.
    reached = s.model_copy(update={"steps_done": {Step.PRELIMINARY: date(2030, 3, 31)}})
    check, _ = month_check(reached, "2030-03", date(2030, 6, 1))
    assert (check.light, check.rules) == (Light.GREEN, ["progress.yinchuan"])


def test_month_check_inside_the_backfill_window_reads_awaiting() -> None:
    loaded = {
        "started_at": datetime(2030, 5, 10, 2, 0, tzinfo=UTC),
        "rules_revision": 1,
        "backfill_until": date(2030, 5, 25),
    }
    s = state(CHECKED, **loaded)
    check, progress = month_check(s, "2030-04", date(2030, 5, 12))
    assert progress.rule == "backfill.pending"
    assert progress.inputs["missing_reports"] == ["2030-01", "2030-02", "2030-03", "2030-04"]
    assert check.light is Light.GREEN and check.awaiting_backfill is True
    assert check.rules == ["backfill.pending", "backfill.pending"]
    # After the window: the same month counts in full. 4/12 = 33.3 % against 0 → red; the
    # milestone is past its grace on 1 May → red.
    check, progress = month_check(s, "2030-04", date(2030, 5, 26))
    assert (check.light, check.awaiting_backfill) == (Light.RED, False)
    assert check.rules == ["progress.yinchuan", "milestone.escalated"]
    assert progress.inputs["gap_points"] == 33.3


def _explanation(light: Light) -> Explanation:
    return Explanation(rule="progress.yinchuan", light=light)


def test_evaluate_the_light_now() -> None:
    today = date(2030, 6, 15)
    assert evaluate(state(MILESTONE), today)[0] is Light.GREEN
    assert [e.rule for e in evaluate(state(MILESTONE), today)[1]] == ["on_track"]
    missed = {Step.PRELIMINARY: MilestoneWatch(reminded=True, missed=True)}
    light, why = evaluate(state(MILESTONE, milestone_watch=missed), today)
    assert light is Light.YELLOW and [e.rule for e in why] == ["milestone.missed"]
    light, why = evaluate(
        state(MILESTONE, milestone_watch=missed, progress_explanation=_explanation(Light.RED)),
        today,
    )
    assert light is Light.RED and [e.rule for e in why] == ["milestone.missed", "progress.yinchuan"]
    # A green progress check is the one reason when nothing is wrong.
    light, why = evaluate(state(MILESTONE, progress_explanation=_explanation(Light.GREEN)), today)
    assert light is Light.GREEN and [e.rule for e in why] == ["progress.yinchuan"]
    # A milestone reached late is no longer a reason.
    done = state(MILESTONE, milestone_watch=missed, steps_done={Step.PRELIMINARY: date(2030, 6, 1)})
    assert evaluate(done, today)[0] is Light.GREEN


def test_evaluate_inside_the_backfill_window_notes_without_colouring() -> None:
    missed = {Step.PRELIMINARY: MilestoneWatch(reminded=True, missed=True)}
    s = state(MILESTONE, milestone_watch=missed, **LOADED)
    light, why = evaluate(s, date(2030, 6, 15))
    assert light is Light.GREEN and [e.rule for e in why] == ["backfill.pending"]
    assert (
        why[0].text_zh
        == "待补报：节点「进入前期」的期限早于项目录入，尚无数据，补报截止 2030-07-25"
    )
    light, why = evaluate(s, date(2030, 7, 26))
    assert light is Light.YELLOW and [e.rule for e in why] == ["milestone.missed"]
