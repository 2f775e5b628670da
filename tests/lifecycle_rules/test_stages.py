"""The stage machine: which step may come next, which stage each step enters."""

from __future__ import annotations

import pytest

from guatu.lifecycle.models import ProjectKind, Stage, Step
from guatu.lifecycle.rules.stages import (
    DELIVERED,
    PERMITS,
    STAGE_ZH,
    STEP_ZH,
    legal_next_steps,
    stage_after,
)

ENG, SVC = ProjectKind.ENGINEERING, ProjectKind.SERVICE


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        (Stage.APPROVED, [Step.PRELIMINARY]),
        (Stage.CONSTRUCTION_STARTED, [Step.UNDER_CONSTRUCTION]),
        (Stage.UNDER_CONSTRUCTION, [Step.COMPLETED]),
        (Stage.COMPLETED, [Step.ACCEPTED]),
        (Stage.ACCEPTED, [Step.CLOSED]),
        (Stage.CLOSED, []),
        # Service stages are not on the engineering path.
        (Stage.IMPLEMENTING, []),
    ],
)
def test_engineering_path(stage: Stage, expected: list[Step]) -> None:
    assert legal_next_steps(ENG, stage, []) == expected


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        (Stage.APPROVED, [Step.IMPLEMENTING]),
        (Stage.IMPLEMENTING, [Step.DONE]),
        (Stage.DONE, [Step.EVALUATED]),
        (Stage.EVALUATED, [Step.CLOSED]),
        (Stage.CLOSED, []),
        # 前期 and its permits are engineering only.
        (Stage.PRELIMINARY, []),
    ],
)
def test_service_path(stage: Stage, expected: list[Step]) -> None:
    assert legal_next_steps(SVC, stage, []) == expected


def test_preliminary_asks_for_the_missing_permits_in_order_then_construction() -> None:
    pre = Stage.PRELIMINARY
    assert legal_next_steps(ENG, pre, [Step.PRELIMINARY]) == [
        Step.LAND_USE,
        Step.PLANNING_PERMIT,
        Step.CONSTRUCTION_PERMIT,
    ]
    # Permits come in any order: only the missing ones are offered.
    assert legal_next_steps(ENG, pre, [Step.PRELIMINARY, Step.PLANNING_PERMIT]) == [
        Step.LAND_USE,
        Step.CONSTRUCTION_PERMIT,
    ]
    all_permits = [Step.PRELIMINARY, Step.LAND_USE, Step.PLANNING_PERMIT, Step.CONSTRUCTION_PERMIT]
    assert legal_next_steps(ENG, pre, all_permits) == [Step.CONSTRUCTION_STARTED]
    # `done` may be any iterable (the workflow passes its dict of steps).
    assert legal_next_steps(ENG, pre, iter(all_permits)) == [Step.CONSTRUCTION_STARTED]


def test_permits_keep_the_project_in_preliminary_other_steps_enter_their_stage() -> None:
    for permit in PERMITS:
        assert stage_after(permit) is Stage.PRELIMINARY
    assert stage_after(Step.PRELIMINARY) is Stage.PRELIMINARY
    for step in set(Step) - PERMITS:
        assert stage_after(step).value == step.value


def test_delivered_stages_are_the_ends_of_both_paths() -> None:
    assert {
        Stage.COMPLETED,
        Stage.ACCEPTED,
        Stage.DONE,
        Stage.EVALUATED,
        Stage.CLOSED,
    } == DELIVERED
    assert Stage.UNDER_CONSTRUCTION not in DELIVERED
    assert Stage.IMPLEMENTING not in DELIVERED


def test_every_stage_and_step_has_its_chinese_label() -> None:
    assert set(STAGE_ZH) == set(Stage)
    assert set(STEP_ZH) == set(Step)
    assert STAGE_ZH[Stage.APPROVED] == "立项"
    assert STEP_ZH[Step.CONSTRUCTION_PERMIT] == "取得施工许可"
