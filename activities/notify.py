"""Delivery of notices to bureaus: outbox row → every channel of the bureau (guatu/channels).

Also the redelivery of notices that finally failed (`guatu notices redeliver`, the admin API):
it starts the same `NoticeDelivery` workflow, hence the same activity, as a round does.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import structlog
from temporalio import activity
from temporalio.client import Client
from temporalio.common import RetryPolicy, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError

from config.settings import Settings, get_settings
from guatu.channels import cards, senders, store
from guatu.channels.models import ChannelKind
from guatu.channels.secrets import ChannelKeys, SecretError
from guatu.channels.senders import ChannelFailure
from guatu.core import constants as c
from guatu.core.delivery import (
    DELIVERY_START_TO_CLOSE,
    WEBHOOK_FAILED,
    WEBHOOK_REFUSED,
    NoticeDeliveryInput,
)
from guatu.lifecycle.models import Notice

log = structlog.get_logger(__name__)

REDELIVER_LIMIT = 1000
# Each channel's send is bounded well inside the activity's start-to-close timeout, so that the
# outcome of every channel is recorded before Temporal gives the attempt up.
CHANNEL_DEADLINE_S = DELIVERY_START_TO_CLOSE.total_seconds() * 2 / 3


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
    """Delivers each notice once to every channel of its bureau (guatu/channels).

    The channels are the bureau's webhook (config/bureaus.json or set by an administrator),
    企业微信 and 钉钉 group robots and e-mail. Each channel's outcome is recorded as soon as it
    is known (`notice_deliveries`, one row per notice and channel), before the activity
    answers: a retry sends only to the channels that did not take the notice, so a robot that
    took it is not sent it again because the mail server was down. A bureau without any
    channel reads its notices from the inbox (API); delivery then only marks the notice as
    waiting there.

    A channel that fails retryably makes the activity raise, and Temporal retries with backoff
    until the bound of `guatu.core.delivery`; a channel that refuses (a 4xx, a robot errcode other
    than a rate limit, an SMTP 5xx, a secret that cannot be read) is not tried again in this
    delivery. When nothing is left to retry, or on the attempt Temporal will not follow, the
    notice is marked `failed` (with each channel's error); `guatu notices redeliver` then
    sends it again to the channels that failed only. `max_attempts` caps the attempts below
    the workflow's retry policy (tests use it to reach the end in seconds).
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        http: httpx.AsyncClient,
        max_attempts: int | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.pool = pool
        self.http = http
        self.max_attempts = max_attempts
        self.settings = settings or get_settings()
        self.keys = ChannelKeys(self.settings)

    @activity.defn(name=c.ACTIVITY_DELIVER)
    async def deliver_notice(self, notice: Notice) -> str:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT n.status, b.name_zh AS bureau_name, p.name_zh AS project_name"
                " FROM notifications n LEFT JOIN bureaus b ON b.code = n.bureau"
                " LEFT JOIN projects p ON p.code = n.project WHERE n.key = $1",
                notice.key,
            )
            if row is None:
                raise ApplicationError(f"notice {notice.key} is not in the outbox")
            if row["status"] == "delivered":
                return "delivered"
            channels = (
                await store.channels_of(conn, notice.bureau)
                if row["bureau_name"] is not None
                else []
            )
            if not channels:
                await conn.execute(
                    "UPDATE notifications SET status = 'inbox' WHERE key = $1", notice.key
                )
                return "inbox"
            # A redelivered notice (and its failed channels) is pending again while it is tried.
            statuses = await store.begin_attempt(
                conn, notice.key, channels, redelivery=row["status"] == "failed"
            )
            await conn.execute(
                "UPDATE notifications SET attempts = attempts + 1, failed_at = NULL,"
                " status = CASE WHEN status = 'failed' THEN 'pending' ELSE status END"
                " WHERE key = $1",
                notice.key,
            )
        card = cards.Card.of(notice, row["bureau_name"], row["project_name"])
        todo = [ch for ch in channels if statuses.get(ch.kind) == "pending"]
        final = self._final()
        outcomes = await asyncio.gather(*(self._send(ch, notice, card, final) for ch in todo))
        errors = {ch.kind: f for ch, f in zip(todo, outcomes, strict=True) if f is not None}
        for ch in channels:
            if statuses.get(ch.kind) == "failed":  # refused earlier in this delivery
                errors.setdefault(
                    ch.kind, ChannelFailure(await self._last_error(notice, ch), refused=True)
                )
        if not errors:
            async with self.pool.acquire() as conn:
                await conn.execute(
                    "UPDATE notifications SET status = 'delivered', delivered_at = now(),"
                    " last_error = NULL, failed_at = NULL WHERE key = $1",
                    notice.key,
                )
            log.info(
                "notice delivered",
                notice=notice.key,
                bureau=notice.bureau,
                channels=[ch.kind.value for ch in todo],
            )
            return "delivered"
        refused = all(f.refused for f in errors.values())
        text = "; ".join(
            f.error if len(channels) == 1 else f"{kind.value}: {f.error}"
            for kind, f in errors.items()
        )
        await self._failed(notice, text, refused)
        retryable = not refused and not final
        raise ApplicationError(
            f"bureau {notice.bureau}: {text}",
            type=WEBHOOK_REFUSED if refused else WEBHOOK_FAILED,
            non_retryable=not retryable,
        )

    async def _send(
        self, channel: store.Channel, notice: Notice, card: cards.Card, final: bool
    ) -> ChannelFailure | None:
        """Send to one channel and record the outcome at once; the failure, if any."""
        try:
            async with asyncio.timeout(CHANNEL_DEADLINE_S):
                await self._dispatch(channel, notice, card)
        except TimeoutError:
            failure = ChannelFailure(f"no answer within {CHANNEL_DEADLINE_S} s", refused=False)
        except ChannelFailure as err:
            failure = err
        except SecretError as err:
            failure = ChannelFailure(f"secret: {err}", refused=True)
        else:
            await store.record_delivered(self.pool, notice.key, channel.kind)
            return None
        await store.record_failed(
            self.pool, notice.key, channel.kind, failure.error, final or failure.refused
        )
        log.warning(
            "channel delivery failed",
            notice=notice.key,
            bureau=notice.bureau,
            channel=channel.kind.value,
            refused=failure.refused,
            error=failure.error,
            attempt=activity.info().attempt,
        )
        return failure

    async def _dispatch(self, channel: store.Channel, notice: Notice, card: cards.Card) -> None:
        secrets = channel.reveal(self.keys)
        conf = channel.settings
        if channel.kind is ChannelKind.WEBHOOK:
            await senders.post_webhook(self.http, conf["url"], notice)
        elif channel.kind is ChannelKind.WECOM:
            await senders.post_wecom(self.http, conf["url"], secrets["key"], card)
        elif channel.kind is ChannelKind.DINGTALK:
            await senders.post_dingtalk(
                self.http,
                conf["url"],
                secrets["access_token"],
                secrets.get("secret"),
                card,
                int(time.time() * 1000),
            )
        else:
            refused = await senders.send_email(
                self.settings, conf, secrets.get("password"), card, notice
            )
            if refused:
                log.warning(
                    "some recipients refused the notice's mail",
                    notice=notice.key,
                    bureau=notice.bureau,
                    refused=sorted(refused),
                )

    async def _last_error(self, notice: Notice, channel: store.Channel) -> str:
        value = await self.pool.fetchval(
            "SELECT last_error FROM notice_deliveries WHERE notice_key = $1 AND channel = $2",
            notice.key,
            channel.kind.value,
        )
        return str(value or "refused")

    def _final(self) -> bool:
        return last_attempt(activity.info(), self.max_attempts)

    async def _failed(self, notice: Notice, error: str, refused: bool) -> None:
        final = refused or self._final()
        async with self.pool.acquire() as conn:
            await conn.execute(
                "UPDATE notifications SET last_error = $2,"
                " status = CASE WHEN $3 THEN 'failed' ELSE status END,"
                " failed_at = CASE WHEN $3 THEN now() ELSE NULL END WHERE key = $1",
                notice.key,
                error[:500],
                final,
            )
        if final:
            await store.close_failed(self.pool, notice.key)
        attempt = activity.info().attempt
        if final:
            log.error(
                "notice delivery failed; it stays in the outbox as failed",
                notice=notice.key,
                bureau=notice.bureau,
                attempt=attempt,
                refused=refused,
                error=error,
            )
        else:
            log.warning(
                "notice delivery failed",
                notice=notice.key,
                bureau=notice.bureau,
                attempt=attempt,
                error=error,
            )


def _notice_of(row: asyncpg.Record) -> Notice:
    return Notice(
        key=row["key"],
        bureau=row["bureau"],
        project=row["project"] or "",
        kind=row["kind"],
        title_zh=row["title_zh"],
        body_zh=row["body_zh"],
        body_en=row["body_en"],
        created_at=row["created_at"],
        deadline=row["deadline"],
    )


async def redeliver(
    client: Client,
    pool: asyncpg.Pool,
    *,
    bureau: str | None = None,
    key: str | None = None,
    task_queue: str = c.TASK_QUEUE,
) -> list[dict[str, Any]]:
    """Send the outbox's failed notices again (of one bureau, or one key): each through its
    `NoticeDelivery` workflow. A delivery of the key still running is joined, not doubled."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT key, bureau, project, kind, title_zh, body_zh, body_en, created_at, deadline,"
            " attempts, last_error FROM notifications WHERE status = 'failed'"
            " AND ($1::text IS NULL OR bureau = $1) AND ($2::text IS NULL OR key = $2)"
            " ORDER BY created_at, key LIMIT $3",
            bureau,
            key,
            REDELIVER_LIMIT,
        )
    started: list[dict[str, Any]] = []
    for row in rows:
        workflow_id = c.notice_delivery_workflow_id(row["key"])
        await client.start_workflow(
            c.NOTICE_WORKFLOW,
            NoticeDeliveryInput(notice=_notice_of(row), redelivery=True),
            id=workflow_id,
            task_queue=task_queue,
            result_type=bool,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        )
        started.append(
            {
                "key": row["key"],
                "bureau": row["bureau"],
                "attempts": row["attempts"],
                "last_error": row["last_error"],
                "workflow_id": workflow_id,
            }
        )
    log.info("failed notices redelivered", count=len(started), bureau=bureau, key=key)
    return started
