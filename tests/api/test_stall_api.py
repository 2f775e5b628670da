"""The API side of issue 8, deliverable 6: a bug inside an update validator is a server error
(500, logged with its trace), never a refusal — the bureau is not told its report broke a rule
it did not break, and nothing is audited as refused; an admin resends failed notices.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta

import pytest
from pydantic import BaseModel
from structlog.testing import capture_logs
from temporalio import workflow
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from guatu.core.clock import month_key
from guatu.core.validator_guard import VALIDATOR_FAILED, guarded
from guatu.lifecycle.book import LifecycleBook
from guatu.lifecycle.rules.validation import InputRejected
from guatu.lifecycle.service import rejection_of
from tests.api.conftest import World, today


async def test_a_validator_bug_answers_500_and_is_logged(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    plan = await world.start(world.plan(world.bureau_a, total=1000.0))

    def broken_check(self: LifecycleBook, data: object) -> None:
        raise KeyError("month")  # an unguarded lookup: our bug, not the bureau's mistake

    monkeypatch.setattr(LifecycleBook, "check_report", broken_check)
    report = {"month": month_key(today()), "investment_wan": 10, "physical_progress_pct": 5}
    with caplog.at_level(logging.ERROR), capture_logs() as api_logs:
        r = await world.call(
            "a", "POST", f"/api/v1/projects/{plan.code}/reports", headers=world.key(), json=report
        )
    assert r.status_code == 500, r.text
    assert r.json()["code"] == "internal_error"
    # The API logs it as an error with the trace the worker sent along, down to the bug's line.
    logged = [e for e in api_logs if e["event"] == "update failed on the server"]
    assert len(logged) == 1 and logged[0]["log_level"] == "error"
    assert logged[0]["type"] == "ValidatorFailed" and logged[0]["exc_info"] is not None
    assert 'raise KeyError("month")' in logged[0]["worker_trace"]
    # The worker logged it too, with its traceback.
    worker = [rec for rec in caplog.records if "a bug, not a refusal" in rec.getMessage()]
    assert worker and worker[0].exc_info is not None
    # Not a refusal: nothing audited as refused, nothing written.
    rows = await world.rows(
        "SELECT accepted FROM audit_log WHERE project = $1 AND NOT accepted", plan.code
    )
    assert rows == []
    monkeypatch.undo()
    # The fixed code accepts the same report.
    r = await world.call(
        "a", "POST", f"/api/v1/projects/{plan.code}/reports", headers=world.key(), json=report
    )
    assert r.status_code == 200, r.text


class Probe(BaseModel):
    value: str


@workflow.defn(name="ValidatorProbe", sandboxed=False)
class ValidatorProbe:
    """The guard the ladder's validators wear (`@guarded`), on a workflow of the test's own."""

    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.done)

    @workflow.update
    def probe(self, data: Probe) -> str:
        self.done = True
        return data.value

    @probe.validator
    @guarded
    def _validate_probe(self, data: Probe) -> None:
        if data.value == "refuse":
            raise InputRejected("bad_value", "取值无效", "bad value")
        if data.value == "refuse-ladder-style":
            raise InputRejected("bad_value", "取值无效", "bad value").as_application_error()
        if data.value == "bug":
            int("2026-13")  # an unguarded parse: ValueError


async def test_guarded_validators_refuse_only_on_refusals(dev_env: WorkflowEnvironment) -> None:
    client = dev_env.client
    tq = f"tq-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=tq,
        workflows=[ValidatorProbe],
        graceful_shutdown_timeout=timedelta(seconds=2),
    ):
        handle = await client.start_workflow(
            ValidatorProbe.run, id=f"probe-{uuid.uuid4().hex}", task_queue=tq
        )
        for value in ("refuse", "refuse-ladder-style"):
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await handle.execute_update(ValidatorProbe.probe, Probe(value=value))
            rejected = rejection_of(refused.value)
            assert rejected is not None and rejected.code == "bad_value"
        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await handle.execute_update(ValidatorProbe.probe, Probe(value="bug"))
        assert rejection_of(failed.value) is None  # not a refusal …
        cause = failed.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == VALIDATOR_FAILED  # … a bug
        assert "ValueError" in cause.message
        assert (
            isinstance(cause.__cause__, ApplicationError) and cause.__cause__.type == "ValueError"
        )
        # The workflow is unharmed: a good update goes through.
        assert await handle.execute_update(ValidatorProbe.probe, Probe(value="ok")) == "ok"
        await handle.result()


async def test_admin_redelivers_failed_notices_through_the_api(world: World) -> None:
    """Only an admin may resend; a failed notice goes out again under its own key."""
    key = f"test:{uuid.uuid4().hex}"
    async with world.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO notifications (key, bureau, project, kind, title_zh, body_zh, created_at,"
            " status, attempts, last_error) VALUES ($1, $2, NULL, 'test', '标题', '正文', now(),"
            " 'failed', 12, 'ConnectError: refused')",
            key,
            world.bureau_a,
        )
    body = {"bureau": world.bureau_a}
    for who in ("a", "manager", "leader"):
        r = await world.call(who, "POST", "/api/v1/notices/redeliver", json=body)
        assert r.status_code == 403, (who, r.text)
    r = await world.call("admin", "POST", "/api/v1/notices/redeliver", json=body)
    assert r.status_code == 200, r.text
    assert [(n["key"], n["attempts"]) for n in r.json()["redelivered"]] == [(key, 12)]
    # bureau_a has no webhook: the notice now waits in its inbox (the API's GET /notifications).
    rows = await world.rows("SELECT status FROM notifications WHERE key = $1", key)
    for _ in range(100):
        rows = await world.rows("SELECT status FROM notifications WHERE key = $1", key)
        if rows[0]["status"] != "failed":
            break
        await asyncio.sleep(0.1)
    assert rows[0]["status"] == "inbox"
    r = await world.call("admin", "POST", "/api/v1/notices/redeliver", json={"key": key})
    assert r.json() == {"redelivered": []}  # nothing failed any more
    r = await world.call("admin", "POST", "/api/v1/notices/redeliver", json={"nope": 1})
    assert r.status_code == 422
