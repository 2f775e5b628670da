"""Input checks: each refusal has its code and a message a clerk can act on, Chinese first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from guatu.lifecycle.models import (
    IssueRaised,
    MilestonePlan,
    OpenIssue,
    PlanChangeInput,
    ProgressReportInput,
    ProjectKind,
    RunStatus,
    Stage,
    StageTransitionInput,
    Step,
)
from guatu.lifecycle.rules.validation import (
    InputRejected,
    check_active,
    check_owner,
    check_plan_change,
    check_report,
    check_transition,
)
from tests.lifecycle_rules.support import plan, report, state

TODAY = date(2030, 5, 31)
PLAN = plan(start=date(2030, 3, 10), finish=date(2031, 6, 1))  # bureau fgj, engineering


def refused(call: Callable[..., None], *args: object) -> InputRejected:
    with pytest.raises(InputRejected) as info:
        call(*args)
    return info.value


def step(s: Step, on: date | None = None, bureau: str = "fgj") -> StageTransitionInput:
    return StageTransitionInput(bureau=bureau, idempotency_key="k", step=s, on=on)


def monthly(
    month: str, wan: float = 10.0, pct: float = 20.0, **extra: object
) -> ProgressReportInput:
    return ProgressReportInput(
        bureau="fgj",
        idempotency_key="k",
        month=month,
        investment_wan=wan,
        physical_progress_pct=pct,
        **extra,  # type: ignore[arg-type]
    )


def test_another_bureau_is_refused() -> None:
    e = refused(check_owner, state(PLAN), "swj")
    assert e.code == "not_owner"
    assert e.zh == "项目 LR-001 由 fgj 负责，swj 无权报送"
    assert e.message == f"{e.zh} / {e.en}" == str(e)
    check_owner(state(PLAN), "fgj")


@pytest.mark.parametrize(
    ("status", "code", "zh"),
    [
        (RunStatus.SUSPENDED, "project_suspended", "已暂停"),
        (RunStatus.CANCELLED, "project_cancelled", "已撤销"),
        (RunStatus.CLOSED, "project_closed", "已关闭"),
    ],
)
def test_only_an_active_project_takes_input(status: RunStatus, code: str, zh: str) -> None:
    e = refused(check_active, state(PLAN, status=status))
    assert e.code == code and e.zh == f"项目 LR-001 {zh}，不接受报送"


def test_the_refusal_leaves_a_validator_as_a_non_retryable_application_error() -> None:
    err = refused(check_owner, state(PLAN), "swj").as_application_error()
    assert err.type == "InputRejected" and err.non_retryable
    assert err.details[0]["code"] == "not_owner"
    assert err.details[0]["zh"].startswith("项目 LR-001")


def test_a_step_out_of_order_names_the_allowed_next_steps() -> None:
    e = refused(check_transition, state(PLAN), step(Step.COMPLETED), TODAY)
    assert e.code == "illegal_transition"
    assert e.zh == "当前阶段为「立项」，不能报送「竣工」；下一步只能是：进入前期"
    assert e.en.endswith("allowed next: preliminary")
    # At the end of the path nothing is allowed: 无 / none.
    closed = state(PLAN, stage=Stage.CLOSED)
    e = refused(check_transition, closed, step(Step.CLOSED), TODAY)
    assert e.zh.endswith("下一步只能是：无") and e.en.endswith("allowed next: none")
    check_transition(state(PLAN), step(Step.PRELIMINARY), TODAY)


def test_a_step_is_refused_in_the_future_or_before_the_previous_step() -> None:
    e = refused(check_transition, state(PLAN), step(Step.PRELIMINARY, date(2030, 6, 1)), TODAY)
    assert e.code == "future_date" and e.zh == "日期 2030-06-01 晚于今天 2030-05-31，不能预报"
    s = state(
        PLAN,
        stage=Stage.PRELIMINARY,
        steps_done={Step.PRELIMINARY: date(2030, 4, 1), Step.LAND_USE: date(2030, 5, 1)},
    )
    e = refused(check_transition, s, step(Step.PLANNING_PERMIT, date(2030, 4, 30)), TODAY)
    assert e.code == "date_before_previous_step"
    assert e.zh == "日期 2030-04-30 早于上一节点日期 2030-05-01"
    check_transition(s, step(Step.PLANNING_PERMIT, date(2030, 5, 1)), TODAY)  # same day is fine
    check_transition(s, step(Step.PLANNING_PERMIT), TODAY)  # no date: today


def test_ownership_and_status_come_before_the_stage() -> None:
    assert refused(
        check_transition, state(PLAN), step(Step.COMPLETED, bureau="swj"), TODAY
    ).code == ("not_owner")
    suspended = state(PLAN, status=RunStatus.SUSPENDED)
    assert refused(check_transition, suspended, step(Step.COMPLETED), TODAY).code == (
        "project_suspended"
    )


def test_service_projects_follow_their_own_path() -> None:
    service = state(plan(kind=ProjectKind.SERVICE))
    e = refused(check_transition, service, step(Step.PRELIMINARY), TODAY)
    assert e.zh.endswith("下一步只能是：实施")
    check_transition(service, step(Step.IMPLEMENTING), TODAY)


@pytest.mark.parametrize(
    ("data", "code", "zh"),
    [
        (monthly("2030-04", wan=-1.0), "negative_amount", "本月完成投资不能为负数（收到 -1 万元）"),
        (
            monthly("2030-04", pct=100.5),
            "progress_out_of_range",
            "累计形象进度必须在 0–100% 之间（收到 100.5%）",
        ),
        (
            monthly("2030-04", pct=-0.5),
            "progress_out_of_range",
            "累计形象进度必须在 0–100% 之间（收到 -0.5%）",
        ),
        (monthly("2030-06"), "future_month", "不能报送未来月份 2030-06（当前月份 2030-05）"),
        (monthly("2030-02"), "before_start", "2030-02 早于项目开始月份 2030-03"),
        (monthly("2030-04", correction=True), "nothing_to_correct", "2030-04 尚无月报，无法更正"),
        (
            monthly("2030-04", issues_resolved=["Q9"]),
            "unknown_issue",
            "要销号的问题不存在或已销号：Q9",
        ),
    ],
)
def test_a_report_is_refused_with_its_reason(data: ProgressReportInput, code: str, zh: str) -> None:
    e = refused(check_report, state(PLAN), data, TODAY)
    assert (e.code, e.zh) == (code, zh)


def test_the_edges_of_a_report_are_accepted() -> None:
    s = state(PLAN)
    check_report(s, monthly("2030-05", wan=0.0, pct=0.0), TODAY)  # this month, nothing spent
    check_report(s, monthly("2030-03", pct=100.0), TODAY)  # the first month, 100 %
    # An issue raised and resolved in the same report, and an open one resolved.
    raised = monthly(
        "2030-04", issues_raised=[IssueRaised(id="Q1", title="征地")], issues_resolved=["Q1", "Q0"]
    )
    open_issue = OpenIssue(id="Q0", title="规划", raised_month="2030-03")
    check_report(state(PLAN, open_issues={"Q0": open_issue}), raised, TODAY)


def test_a_second_report_for_a_month_is_a_correction_or_refused() -> None:
    s = state(PLAN, reports={"2030-04": report("2030-04", 10.0, pct=30.0)})
    e = refused(check_report, s, monthly("2030-04", pct=35.0), TODAY)
    assert e.code == "duplicate_month"
    assert e.zh.startswith("2030-04 月报已于 2030-01-01 报送")
    check_report(s, monthly("2030-04", pct=35.0, correction=True), TODAY)


def test_cumulative_progress_never_goes_down_around_the_month() -> None:
    s = state(
        PLAN,
        reports={
            "2030-03": report("2030-03", 10.0, pct=40.0),
            "2030-05": report("2030-05", 10.0, pct=50.0),
        },
    )
    e = refused(check_report, s, monthly("2030-04", pct=39.0), TODAY)
    assert e.code == "progress_decreased"
    assert e.zh == "累计形象进度不能下降：上月已报 40%，本次 39%"
    e = refused(check_report, s, monthly("2030-04", pct=51.0), TODAY)
    assert e.code == "progress_above_later"
    assert e.zh == "更正后的累计形象进度 51% 高于之后月份已报的 50%"
    check_report(s, monthly("2030-04", pct=40.0), TODAY)
    check_report(s, monthly("2030-04", pct=50.0), TODAY)


def change(**fields: object) -> PlanChangeInput:
    return PlanChangeInput(idempotency_key="k", reason="调整", **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (change(), "empty_change"),
        (change(total_investment_wan=-1.0), "negative_amount"),
        (change(yearly_investment_wan={2030: 10.0, 2031: -1.0}), "negative_amount"),
        (
            change(
                milestones=[
                    MilestonePlan(step=Step.PRELIMINARY, planned=date(2030, 4, 1)),
                    MilestonePlan(step=Step.PRELIMINARY, planned=date(2030, 5, 1)),
                ]
            ),
            "duplicate_milestone",
        ),
        (change(finish=date(2030, 3, 9)), "finish_before_start"),
    ],
)
def test_a_plan_change_is_refused_with_its_reason(data: PlanChangeInput, code: str) -> None:
    assert refused(check_plan_change, state(PLAN), data).code == code


def test_a_plan_change_on_a_suspended_project_is_allowed_on_an_ended_one_refused() -> None:
    data = change(total_investment_wan=1500.0)
    check_plan_change(state(PLAN, status=RunStatus.SUSPENDED), data)
    check_plan_change(state(PLAN), change(finish=date(2030, 3, 10)))  # finish on the start day
    for status in (RunStatus.CANCELLED, RunStatus.CLOSED):
        assert refused(check_plan_change, state(PLAN, status=status), data).code == (
            f"project_{status.value}"
        )
