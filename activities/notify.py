"""Delivery of notices to bureaus: outbox row → POST to the bureau's webhook, key in a header.

Also the redelivery of notices that finally failed (`guatu notices redeliver`, the admin API):
it starts the same `NoticeDelivery` workflow, hence the same activity, as a round does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import structlog
from temporalio import activity
from temporalio.client import Client
from temporalio.common import RetryPolicy, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError

from guatu import constants as c
from guatu.delivery import (
    RETRYABLE_CLIENT_ERRORS,
    WEBHOOK_FAILED,
    WEBHOOK_REFUSED,
    NoticeDeliveryInput,
)
from guatu.models import Notice

log = structlog.get_logger(__name__)

REDELIVER_LIMIT = 1000


def _next_delay(policy: RetryPolicy, attempt: int) -> timedelta:
    delay = policy.initial_interval * policy.backoff_coefficient ** (attempt - 1)
    return min(delay, policy.maximum_interval) if policy.maximum_interval else delay


def last_attempt(info: activity.Info, cap: int | None = None) -> bool:
    """Whether Temporal will not try this delivery again after this attempt fails: its maximum
    attempts are spent, or the next attempt would start after the schedule-to-close deadline."""
    policy = info.retry_policy
    limits = [n for n in (policy.maximum_attempts if policy else 0, cap or 0) if n > 0]
    if limits and info.attempt >= min(limits):
        return True
    if policy is not None and info.schedule_to_close_timeout:
        deadline = info.scheduled_time + info.schedule_to_close_timeout
        return datetime.now(UTC) + _next_delay(policy, info.attempt) >= deadline
    return False


class NotifyActivities:
    """Delivers each notice at most once per successful POST; the receiver dedups by key.

    A bureau without a webhook reads its notices from the inbox (API); delivery then only marks
    the notice as waiting there. A failing webhook raises, and Temporal retries with backoff
    until the bound of `guatu.delivery`; the attempt that Temporal will not follow marks the
    outbox row `failed`. `max_attempts` caps the attempts below the workflow's retry policy
    (tests use it to reach the end in seconds).
    """

    def __init__(self, pool: asyncpg.Pool, http: httpx.AsyncClient,
                 max_attempts: int | None = None) -> None:
        self.pool = pool
        self.http = http
        self.max_attempts = max_attempts

    @activity.defn(name=c.ACTIVITY_DELIVER)
    async def deliver_notice(self, notice: Notice) -> str:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT n.status, b.webhook_url FROM notifications n"
                " LEFT JOIN bureaus b ON b.code = n.bureau WHERE n.key = $1",
                notice.key,
            )
            if row is None:
                raise ApplicationError(f"notice {notice.key} is not in the outbox")
            if row["status"] == "delivered":
                return "delivered"
            url = row["webhook_url"]
            if not url:
                await conn.execute(
                    "UPDATE notifications SET status = 'inbox' WHERE key = $1", notice.key
                )
                return "inbox"
            # A redelivered notice is pending again while it is being tried.
            await conn.execute(
                "UPDATE notifications SET attempts = attempts + 1, failed_at = NULL,"
                " status = CASE WHEN status = 'failed' THEN 'pending' ELSE status END"
                " WHERE key = $1", notice.key
            )
        refused = False
        try:
            response = await self.http.post(
                url,
                json=notice.model_dump(mode="json"),
                headers={"Idempotency-Key": notice.key},
            )
            response.raise_for_status()
        except httpx.HTTPStatusError as err:
            status = err.response.status_code
            refused = 400 <= status < 500 and status not in RETRYABLE_CLIENT_ERRORS
            await self._failed(notice, f"HTTP {status}: {err}", refused)
            raise ApplicationError(f"bureau {notice.bureau} webhook answered {status}",
                                   type=WEBHOOK_REFUSED if refused else WEBHOOK_FAILED,
                                   non_retryable=refused or self._final()) from err
        except httpx.HTTPError as err:
            await self._failed(notice, f"{type(err).__name__}: {err}", False)
            raise ApplicationError(f"bureau {notice.bureau} webhook failed: {err}",
                                   type=WEBHOOK_FAILED, non_retryable=self._final()) from err
        async with self.pool.acquire() as conn:
            await conn.execute(
                "UPDATE notifications SET status = 'delivered', delivered_at = now(),"
                " last_error = NULL, failed_at = NULL WHERE key = $1",
                notice.key,
            )
        log.info("notice delivered", notice=notice.key, bureau=notice.bureau)
        return "delivered"

    def _final(self) -> bool:
        return last_attempt(activity.info(), self.max_attempts)

    async def _failed(self, notice: Notice, error: str, refused: bool) -> None:
        final = refused or self._final()
        async with self.pool.acquire() as conn:
            await conn.execute(
                "UPDATE notifications SET last_error = $2,"
                " status = CASE WHEN $3 THEN 'failed' ELSE status END,"
                " failed_at = CASE WHEN $3 THEN now() ELSE NULL END WHERE key = $1",
                notice.key, error[:500], final,
            )
        attempt = activity.info().attempt
        if final:
            log.error("notice delivery failed; it stays in the outbox as failed", notice=notice.key,
                      bureau=notice.bureau, attempt=attempt, refused=refused, error=error)
        else:
            log.warning("webhook delivery failed", notice=notice.key, bureau=notice.bureau,
                        attempt=attempt, error=error)


def _notice_of(row: asyncpg.Record) -> Notice:
    return Notice(key=row["key"], bureau=row["bureau"], project=row["project"] or "",
                  kind=row["kind"], title_zh=row["title_zh"], body_zh=row["body_zh"],
                  body_en=row["body_en"], created_at=row["created_at"], deadline=row["deadline"])


async def redeliver(client: Client, pool: asyncpg.Pool, *, bureau: str | None = None,
                    key: str | None = None, task_queue: str = c.TASK_QUEUE) -> list[dict[str, Any]]:
    """Send the outbox's failed notices again (of one bureau, or one key): each through its
    `NoticeDelivery` workflow. A delivery of the key still running is joined, not doubled."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT key, bureau, project, kind, title_zh, body_zh, body_en, created_at, deadline,"
            " attempts, last_error FROM notifications WHERE status = 'failed'"
            " AND ($1::text IS NULL OR bureau = $1) AND ($2::text IS NULL OR key = $2)"
            " ORDER BY created_at, key LIMIT $3",
            bureau, key, REDELIVER_LIMIT,
        )
    started: list[dict[str, Any]] = []
    for row in rows:
        workflow_id = c.notice_delivery_workflow_id(row["key"])
        await client.start_workflow(
            c.NOTICE_WORKFLOW, NoticeDeliveryInput(notice=_notice_of(row), redelivery=True),
            id=workflow_id, task_queue=task_queue, result_type=bool,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        )
        started.append({"key": row["key"], "bureau": row["bureau"], "attempts": row["attempts"],
                        "last_error": row["last_error"], "workflow_id": workflow_id})
    log.info("failed notices redelivered", count=len(started), bureau=bureau, key=key)
    return started
