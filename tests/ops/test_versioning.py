"""Versioned workers (issue 12, deliverable 4): with GUATU_DEPLOYMENT_NAME and GUATU_BUILD_ID
the worker registers its deployment version on the dev server, long-lived workflows run
AUTO_UPGRADE and short ones PINNED; unset, the worker is unversioned as before."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import VersioningBehavior as ApiBehaviour
from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    SetWorkerDeploymentCurrentVersionRequest,
)
from temporalio.client import Client, WorkflowHandle
from temporalio.common import VersioningBehavior
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.core import constants as c
from guatu.core.clock import local_date, month_key
from guatu.core.delivery import NoticeDeliveryInput
from guatu.core.versioning import BEHAVIOURS, worker_options
from guatu.lifecycle.models import Notice, ProgressReportInput, ProjectKind, TimerPolicy
from guatu.lifecycle.service import project_status, send_update, start_project
from tests.helpers import add_bureau, eventually, make_plan, running_worker
from worker import build_worker
from workflows.project_lifecycle import ProjectLifecycle
from workflows.registry import WORKFLOWS


def test_every_workflow_has_the_behaviour_of_its_lifetime() -> None:
    # Written out by hand: years-long runs move to new code (AUTO_UPGRADE, with patches), runs
    # of minutes finish where they started (PINNED).
    assert BEHAVIOURS == {
        "ProjectLifecycle": VersioningBehavior.AUTO_UPGRADE,
        "BureauLadder": VersioningBehavior.AUTO_UPGRADE,
        "RankingAppeal": VersioningBehavior.AUTO_UPGRADE,
        "CitizenObservation": VersioningBehavior.AUTO_UPGRADE,
        "OpportunityListing": VersioningBehavior.AUTO_UPGRADE,
        "OpportunityInterest": VersioningBehavior.AUTO_UPGRADE,
        "RankingRound": VersioningBehavior.PINNED,
        "NoticeDelivery": VersioningBehavior.PINNED,
    }
    assert worker_options(Settings(), WORKFLOWS) == {}  # unset: unversioned, as before
    assert worker_options(Settings(deployment_name="guatu"), WORKFLOWS) == {}  # both needed
    options = worker_options(Settings(deployment_name="guatu", build_id="2026.10.1"), WORKFLOWS)
    config = options["deployment_config"]
    assert config.version.deployment_name == "guatu"  # type: ignore[attr-defined]
    assert config.version.build_id == "2026.10.1"  # type: ignore[attr-defined]


@workflow.defn(name="Unlisted")
class Unlisted:
    @workflow.run
    async def run(self) -> None:
        return None


def test_a_workflow_without_a_behaviour_is_refused() -> None:
    with pytest.raises(
        ValueError,
        match=r"no versioning behaviour for workflow\(s\) "
        r"\['Unlisted'\]",
    ):
        worker_options(Settings(deployment_name="g", build_id="b"), [*WORKFLOWS, Unlisted])


async def _behaviour(handle: WorkflowHandle) -> tuple[int, str]:  # type: ignore[type-arg]
    info = (await handle.describe()).raw_description.workflow_execution_info.versioning_info
    return info.behavior, info.deployment_version.build_id


async def test_versioned_worker_registers_its_version(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool, http: httpx.AsyncClient
) -> None:
    client: Client = dev_env.client
    deployment, build = f"guatu-test-{uuid.uuid4().hex[:8]}", "build-1"
    settings = Settings(graceful_shutdown_seconds=2, deployment_name=deployment, build_id=build)
    bureau = await add_bureau(pool, None)
    handles: list[WorkflowHandle] = []  # type: ignore[type-arg]
    async with running_worker(client, pool, http, settings) as task_queue:
        try:
            request = DescribeWorkerDeploymentRequest(
                namespace=client.namespace, deployment_name=deployment
            )

            async def registered() -> list[str]:
                with contextlib.suppress(Exception):  # NotFound until the first poll lands
                    described = await client.workflow_service.describe_worker_deployment(request)
                    return [
                        v.deployment_version.build_id
                        for v in described.worker_deployment_info.version_summaries
                    ]
                return []

            assert await eventually(registered, timeout=30) == [build]
            # Until it is made current, new workflows are not routed to the new version; the
            # rollout in docs/operations.md does this step with `temporal worker deployment`.
            await client.workflow_service.set_worker_deployment_current_version(
                SetWorkerDeploymentCurrentVersionRequest(
                    namespace=client.namespace,
                    deployment_name=deployment,
                    build_id=build,
                    identity="test",
                )
            )
            described = await client.workflow_service.describe_worker_deployment(request)
            current = described.worker_deployment_info.routing_config.current_deployment_version
            assert (current.deployment_name, current.build_id) == (deployment, build)

            plan = make_plan(
                ProjectKind.SERVICE,
                start=local_date(datetime.now(UTC)),
                bureau=bureau,
                milestone_days=[300, 320, 340],
            )
            await start_project(client, plan, TimerPolicy(), task_queue=task_queue, index=False)
            lifecycle = client.get_workflow_handle(c.project_workflow_id(plan.code))
            handles.append(lifecycle)
            notice = Notice(
                key=f"versioning-{uuid.uuid4().hex}",
                bureau=bureau,
                project=plan.code,
                kind="test",
                title_zh="测试",
                body_zh="测试",
                created_at=datetime.now(UTC),
            )
            delivery = await client.start_workflow(
                c.NOTICE_WORKFLOW,
                NoticeDeliveryInput(notice=notice),
                id=f"notice-versioning-{uuid.uuid4().hex}",
                task_queue=task_queue,
            )
            handles.append(delivery)
            auto = (ApiBehaviour.VERSIONING_BEHAVIOR_AUTO_UPGRADE, build)
            pinned = (ApiBehaviour.VERSIONING_BEHAVIOR_PINNED, build)
            assert await eventually(lambda: _is(lifecycle, auto), timeout=30)
            assert await eventually(lambda: _is(delivery, pinned), timeout=30)
        finally:
            for handle in handles:
                with contextlib.suppress(Exception):
                    await handle.terminate()


async def _is(handle: WorkflowHandle, expected: tuple[int, str]) -> bool:  # type: ignore[type-arg]
    return await _behaviour(handle) == expected


async def test_first_versioned_rollout_takes_over_running_lifecycles(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool, http: httpx.AsyncClient
) -> None:
    """docs/operations.md, "Shipping a version", step 1: a lifecycle started on an unversioned
    worker continues on the versioned one once its version is made current."""
    client: Client = dev_env.client
    deployment, build = f"guatu-test-{uuid.uuid4().hex[:8]}", "build-1"
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    bureau = await add_bureau(pool, None)
    today = local_date(datetime.now(UTC))
    plan = make_plan(
        ProjectKind.SERVICE, start=today, bureau=bureau, milestone_days=[300, 320, 340]
    )
    handle = client.get_workflow_handle(c.project_workflow_id(plan.code))
    unversioned = Settings(graceful_shutdown_seconds=2)
    try:
        async with build_worker(client, pool, http, unversioned, task_queue=task_queue):
            await start_project(client, plan, TimerPolicy(), task_queue=task_queue, index=False)
            assert (await project_status(client, plan.code)).code == plan.code
        versioned = Settings(
            graceful_shutdown_seconds=2, deployment_name=deployment, build_id=build
        )
        async with build_worker(client, pool, http, versioned, task_queue=task_queue):
            request = DescribeWorkerDeploymentRequest(
                namespace=client.namespace, deployment_name=deployment
            )

            async def polling() -> bool:
                with contextlib.suppress(Exception):
                    await client.workflow_service.describe_worker_deployment(request)
                    return True
                return False

            assert await eventually(polling, timeout=30)
            await client.workflow_service.set_worker_deployment_current_version(
                SetWorkerDeploymentCurrentVersionRequest(
                    namespace=client.namespace,
                    deployment_name=deployment,
                    build_id=build,
                    identity="test",
                )
            )
            report = ProgressReportInput(
                bureau=bureau,
                idempotency_key="after-rollout",
                month=month_key(today),
                investment_wan=10,
                physical_progress_pct=5,
            )
            result = await send_update(client, plan.code, ProjectLifecycle.submit_report, report)
            assert result.accepted
            auto = (ApiBehaviour.VERSIONING_BEHAVIOR_AUTO_UPGRADE, build)
            assert await eventually(lambda: _is(handle, auto), timeout=30)
    finally:
        with contextlib.suppress(Exception):
            await handle.terminate()
