"""Legal order of lifecycle steps (the stage machine), as pure functions."""

from __future__ import annotations

from collections.abc import Iterable

from guatu.lifecycle.models import ProjectKind, Stage, Step

PERMITS: frozenset[Step] = frozenset(
    {Step.LAND_USE, Step.PLANNING_PERMIT, Step.CONSTRUCTION_PERMIT}
)

# Which stage each step enters; permits keep the project in 前期.
STEP_STAGE: dict[Step, Stage] = {
    Step.PRELIMINARY: Stage.PRELIMINARY,
    Step.LAND_USE: Stage.PRELIMINARY,
    Step.PLANNING_PERMIT: Stage.PRELIMINARY,
    Step.CONSTRUCTION_PERMIT: Stage.PRELIMINARY,
    Step.CONSTRUCTION_STARTED: Stage.CONSTRUCTION_STARTED,
    Step.UNDER_CONSTRUCTION: Stage.UNDER_CONSTRUCTION,
    Step.COMPLETED: Stage.COMPLETED,
    Step.ACCEPTED: Stage.ACCEPTED,
    Step.IMPLEMENTING: Stage.IMPLEMENTING,
    Step.DONE: Stage.DONE,
    Step.EVALUATED: Stage.EVALUATED,
    Step.CLOSED: Stage.CLOSED,
}

_ENGINEERING_NEXT: dict[Stage, tuple[Step, ...]] = {
    Stage.APPROVED: (Step.PRELIMINARY,),
    Stage.CONSTRUCTION_STARTED: (Step.UNDER_CONSTRUCTION,),
    Stage.UNDER_CONSTRUCTION: (Step.COMPLETED,),
    Stage.COMPLETED: (Step.ACCEPTED,),
    Stage.ACCEPTED: (Step.CLOSED,),
}
_SERVICE_NEXT: dict[Stage, tuple[Step, ...]] = {
    Stage.APPROVED: (Step.IMPLEMENTING,),
    Stage.IMPLEMENTING: (Step.DONE,),
    Stage.DONE: (Step.EVALUATED,),
    Stage.EVALUATED: (Step.CLOSED,),
}

# Once a project is past these stages its construction is over: no 序时 progress checks.
DELIVERED: frozenset[Stage] = frozenset(
    {Stage.COMPLETED, Stage.ACCEPTED, Stage.DONE, Stage.EVALUATED, Stage.CLOSED}
)

STAGE_ZH: dict[Stage, str] = {
    Stage.APPROVED: "立项",
    Stage.PRELIMINARY: "前期",
    Stage.CONSTRUCTION_STARTED: "开工",
    Stage.UNDER_CONSTRUCTION: "在建",
    Stage.COMPLETED: "竣工",
    Stage.ACCEPTED: "验收",
    Stage.IMPLEMENTING: "实施",
    Stage.DONE: "完成",
    Stage.EVALUATED: "评估",
    Stage.CLOSED: "关闭",
}

STEP_ZH: dict[Step, str] = {
    Step.PRELIMINARY: "进入前期",
    Step.LAND_USE: "取得用地",
    Step.PLANNING_PERMIT: "取得规划许可",
    Step.CONSTRUCTION_PERMIT: "取得施工许可",
    Step.CONSTRUCTION_STARTED: "开工",
    Step.UNDER_CONSTRUCTION: "在建",
    Step.COMPLETED: "竣工",
    Step.ACCEPTED: "验收",
    Step.IMPLEMENTING: "实施",
    Step.DONE: "完成",
    Step.EVALUATED: "评估",
    Step.CLOSED: "关闭",
}


def legal_next_steps(kind: ProjectKind, stage: Stage, done: Iterable[Step]) -> list[Step]:
    """Steps a bureau may report next, in a stable order."""
    done_set = set(done)
    if kind is ProjectKind.ENGINEERING and stage is Stage.PRELIMINARY:
        missing = [p for p in Step if p in PERMITS and p not in done_set]
        return missing if missing else [Step.CONSTRUCTION_STARTED]
    table = _ENGINEERING_NEXT if kind is ProjectKind.ENGINEERING else _SERVICE_NEXT
    return list(table.get(stage, ()))


def stage_after(step: Step) -> Stage:
    return STEP_STAGE[step]
