"""Worker Deployment Versioning: which version a worker polls as, and each workflow's behaviour.

With `GUATU_DEPLOYMENT_NAME` and `GUATU_BUILD_ID` both set, the worker registers as the
deployment version `<name>.<build id>` and Temporal routes each workflow by its behaviour:

- long-lived workflows (a project's lifecycle, a bureau's ladder, an appeal that waits for a
  leader) are AUTO_UPGRADE: they move to the deployment's current version at their next
  workflow task, so every change to the commands they emit must stay behind `workflow.patched`;
- short ones (a ranking round, a notice delivery) are PINNED: they finish on the version that
  started them, so a new version never replays them.

Unset, the worker is unversioned, exactly as before (tests, `make run`). The behaviour is not
written on `@workflow.defn(versioning_behavior=...)` on purpose: the server refuses a workflow
task completed with a behaviour by an unversioned worker ("versioning behavior cannot be
specified without deployment options being set with versioned mode"), and the SDK reads the
decorator inside the sandbox, so a decorated workflow would fail on every unversioned worker.
The behaviour is therefore set by `VersionedRunner` on each completion, only on a versioned
worker.

`PATCHES` lists every `workflow.patched` / `workflow.deprecate_patch` name the workflows use,
with the day it was introduced and how far it is on the way to retirement (docs/operations.md,
"Retiring a patch"). tests/replay checks the list against the code and the replay corpus.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import (
    WorkerDeploymentConfig,
    WorkflowInstance,
    WorkflowInstanceDetails,
    WorkflowRunner,
)
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.workflow import _Definition

from config.settings import Settings
from guatu.core import constants as c

BEHAVIOURS: dict[str, VersioningBehavior] = {
    c.PROJECT_WORKFLOW: VersioningBehavior.AUTO_UPGRADE,
    c.LADDER_WORKFLOW: VersioningBehavior.AUTO_UPGRADE,
    c.APPEAL_WORKFLOW: VersioningBehavior.AUTO_UPGRADE,
    c.OBSERVATION_WORKFLOW: VersioningBehavior.AUTO_UPGRADE,
    c.OPPORTUNITY_WORKFLOW: VersioningBehavior.AUTO_UPGRADE,
    c.INTEREST_WORKFLOW: VersioningBehavior.AUTO_UPGRADE,
    c.RANKING_WORKFLOW: VersioningBehavior.PINNED,
    c.NOTICE_WORKFLOW: VersioningBehavior.PINNED,
}


class PatchStage(StrEnum):
    """Where a patch is on its way out. A retired patch is removed from PATCHES."""

    # `if workflow.patched(name)`: both branches in the code; histories from before the patch
    # (kept in tests/replay/histories, `predates` in the manifest) replay on the old branch.
    PATCHED = "patched"
    # `workflow.deprecate_patch(name)` and only the new branch: no open run predates the patch
    # any more, and the replay corpus holds no history from before it.
    DEPRECATED = "deprecated"


@dataclass(frozen=True)
class Patch:
    name: str
    workflows: tuple[str, ...]  # workflow types whose code calls it
    introduced: date  # the day the commit adding it was made
    stage: PatchStage
    what: str  # what the new branch does, in a line

    def open_runs_query(self, deployed_at: datetime) -> str:
        """Visibility query for the open runs that may still need the old branch: those whose
        current run started (or continued as new) before the patched code ran everywhere.
        Retire the old branch only once it counts none."""
        types = ", ".join(f"'{w}'" for w in self.workflows)
        return (
            f"WorkflowType IN ({types}) AND ExecutionStatus = 'Running' "
            f"AND StartTime < '{deployed_at.isoformat()}'"
        )


_P = PatchStage.PATCHED
PATCHES: tuple[Patch, ...] = (
    Patch(
        "projection-local-activity-2026-11",
        (c.PROJECT_WORKFLOW,),
        date(2026, 11, 25),
        _P,
        "the read-model projection as a local activity (superseded by the next one)",
    ),
    Patch(
        "projection-regular-activity-2026-11b",
        (c.PROJECT_WORKFLOW,),
        date(2026, 11, 25),
        _P,
        "the projection back to a regular activity",
    ),
    Patch(
        "late-data-revisions-2026-12",
        (c.PROJECT_WORKFLOW,),
        date(2026, 12, 1),
        _P,
        "late data revises past months (rules revision 1)",
    ),
    Patch(
        "report-write-through-2026-12",
        (c.PROJECT_WORKFLOW,),
        date(2026, 12, 1),
        _P,
        "an Update's rows written through by its door; no projection activity per Update; the"
        " deadline timer re-armed only when the next deadline moves",
    ),
    Patch(
        "lifecycle-bounded-state-2026-12",
        (c.PROJECT_WORKFLOW,),
        date(2026, 12, 1),
        _P,
        "bounded lifecycle state: narratives, notes, issue titles and resolved issues in PostgreSQL",
    ),
    Patch(
        "lifecycle-yearly-continue-2026-12",
        (c.PROJECT_WORKFLOW,),
        date(2026, 12, 1),
        _P,
        "a lifecycle continues as new at each programme-year boundary",
    ),
    Patch(
        "evaluation-before-close-2026-12",
        (c.PROJECT_WORKFLOW,),
        date(2026, 12, 1),
        _P,
        "a service project closes its 评估 stage only with a third-party evaluation recorded",
    ),
    Patch(
        "delivery-bounded-2026-12",
        (c.PROJECT_WORKFLOW, c.LADDER_WORKFLOW, c.APPEAL_WORKFLOW, c.NOTICE_WORKFLOW),
        date(2026, 12, 1),
        _P,
        "notice delivery bounded (12 attempts, 2 h); a failed notice stays in the outbox",
    ),
    Patch(
        "ranking-ladders-with-notices",
        (c.RANKING_WORKFLOW,),
        date(2026, 11, 25),
        _P,
        "ladders fed and notices written at the same time",
    ),
    Patch(
        "ranking-scheduled-period-detached",
        (c.RANKING_WORKFLOW,),
        date(2026, 12, 1),
        _P,
        "a scheduled round ranks its scheduled period, gated on data, child not awaited",
    ),
    Patch(
        "ranking-notices-detached",
        (c.RANKING_WORKFLOW,),
        date(2026, 12, 1),
        _P,
        "a round's notices handed to NoticeDelivery children",
    ),
    Patch(
        "ladder-escalate-while-draining",
        (c.LADDER_WORKFLOW,),
        date(2026, 12, 1),
        _P,
        "overdue plans escalated while deliveries drain before continue-as-new",
    ),
    Patch(
        "ladder-round-revisions",
        (c.LADDER_WORKFLOW,),
        date(2026, 12, 1),
        _P,
        "a revision of a round decides the ladder's last period again (marker only)",
    ),
    Patch(
        "ladder-forget-withdrawn-orders",
        (c.LADDER_WORKFLOW,),
        date(2026, 12, 1),
        _P,
        "withdrawn orders forgotten with the closed ones at continue-as-new",
    ),
    Patch(
        "ladder-bounded-state-2026-12",
        (c.LADDER_WORKFLOW,),
        date(2026, 12, 1),
        _P,
        "bounded ladder state: keys and levels kept, inputs in PostgreSQL, writes of changes",
    ),
    Patch(
        "ranking-off-loop-2026-12",
        (c.RANKING_WORKFLOW,),
        date(2026, 12, 1),
        _P,
        "freeze, compute and publish as one sync activity in the worker's process pool; the"
        " ladders fed by key",
    ),
)


def patch(name: str) -> Patch:
    for p in PATCHES:
        if p.name == name:
            return p
    raise KeyError(f"no patch {name!r} in guatu/core/versioning.py PATCHES")


def active_patches(workflow_type: str | None = None) -> list[Patch]:
    """Patches whose old branch is still in the code (stage PATCHED), oldest first."""
    return sorted(
        (
            p
            for p in PATCHES
            if p.stage is PatchStage.PATCHED
            and (workflow_type is None or workflow_type in p.workflows)
        ),
        key=lambda p: (p.introduced, p.name),
    )


def patch_table() -> str:
    """Every patch, one line each: introduced, stage, name, workflows."""
    rows = sorted(PATCHES, key=lambda p: (p.introduced, p.name))
    return "\n".join(
        f"{p.introduced.isoformat()}  {p.stage.value:<10}  {p.name:<38}  {', '.join(p.workflows)}"
        for p in rows
    )


def deployment_version(settings: Settings) -> WorkerDeploymentVersion | None:
    if not (settings.deployment_name and settings.build_id):
        return None
    return WorkerDeploymentVersion(settings.deployment_name, settings.build_id)


class _BehaviourInstance(WorkflowInstance):
    def __init__(self, inner: WorkflowInstance, behaviour: VersioningBehavior) -> None:
        self._inner = inner
        self._behaviour = behaviour

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        completion = self._inner.activate(act)
        if completion.HasField("successful"):
            completion.successful.versioning_behavior = self._behaviour.value
        return completion

    def get_serialization_context(self, command_info: Any) -> Any:
        return self._inner.get_serialization_context(command_info)

    def get_external_store_context(self, command_info: Any) -> Any:
        return self._inner.get_external_store_context(command_info)

    def get_info(self) -> Any:
        return self._inner.get_info()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class VersionedRunner(WorkflowRunner):
    """The sandboxed runner, stamping each workflow type's behaviour on its completions."""

    def __init__(
        self, behaviours: dict[str, VersioningBehavior], inner: WorkflowRunner | None = None
    ) -> None:
        self._behaviours = behaviours
        self._inner = inner or SandboxedWorkflowRunner()

    def prepare_workflow(self, defn: _Definition) -> None:
        self._inner.prepare_workflow(defn)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        instance = self._inner.create_instance(det)
        behaviour = self._behaviours.get(det.defn.name or "")
        return instance if behaviour is None else _BehaviourInstance(instance, behaviour)

    def set_worker_level_failure_exception_types(
        self, types: Sequence[type[BaseException]]
    ) -> None:
        self._inner.set_worker_level_failure_exception_types(types)


def worker_options(settings: Settings, workflows: Sequence[type]) -> dict[str, object]:
    """`Worker` options for versioning: none when unversioned; else the deployment config and
    the runner. Every registered workflow must have a behaviour here: a new workflow type
    without one would silently be pinned, and a long-lived pinned run keeps its old worker
    version alive for as long as it runs."""
    version = deployment_version(settings)
    if version is None:
        return {}
    names = [_Definition.must_from_class(w).name or "" for w in workflows]
    missing = [n for n in names if n not in BEHAVIOURS]
    if missing:
        raise ValueError(
            f"no versioning behaviour for workflow(s) {missing}: add them to "
            "guatu/core/versioning.py BEHAVIOURS"
        )
    return {
        "deployment_config": WorkerDeploymentConfig(
            version=version,
            use_worker_versioning=True,
            # Needed for the worker to accept workflows without a decorated behaviour; every
            # registered type gets its own from BEHAVIOURS through the runner.
            default_versioning_behavior=VersioningBehavior.PINNED,
        ),
        "workflow_runner": VersionedRunner(BEHAVIOURS),
    }


__all__ = [
    "BEHAVIOURS",
    "PATCHES",
    "Patch",
    "PatchStage",
    "VersionedRunner",
    "active_patches",
    "deployment_version",
    "patch",
    "patch_table",
    "worker_options",
]


if __name__ == "__main__":  # python -m guatu.core.versioning: the patches and their stages
    print(patch_table())
