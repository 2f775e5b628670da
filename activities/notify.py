"""Delivery of notices to bureaus: outbox row → POST to the bureau's webhook, key in a header."""

from __future__ import annotations

import asyncpg
import httpx
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from guatu.constants import ACTIVITY_DELIVER
from guatu.models import Notice

log = structlog.get_logger(__name__)


class NotifyActivities:
    """Delivers each notice at most once per successful POST; the receiver dedups by key.

    A bureau without a webhook reads its notices from the inbox (API); delivery then only marks
    the notice as waiting there. A failing webhook raises, and Temporal retries with backoff.
    """

    def __init__(self, pool: asyncpg.Pool, http: httpx.AsyncClient) -> None:
        self.pool = pool
        self.http = http

    @activity.defn(name=ACTIVITY_DELIVER)
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
            await conn.execute(
                "UPDATE notifications SET attempts = attempts + 1 WHERE key = $1", notice.key
            )
        try:
            response = await self.http.post(
                url,
                json=notice.model_dump(mode="json"),
                headers={"Idempotency-Key": notice.key},
            )
            response.raise_for_status()
        except httpx.HTTPError as err:
            async with self.pool.acquire() as conn:
                await conn.execute(
                    "UPDATE notifications SET last_error = $2 WHERE key = $1",
                    notice.key, f"{type(err).__name__}: {err}"[:500],
                )
            log.warning("webhook delivery failed", notice=notice.key, bureau=notice.bureau,
                        attempt=activity.info().attempt, error=str(err))
            raise ApplicationError(f"bureau {notice.bureau} webhook failed: {err}") from err
        async with self.pool.acquire() as conn:
            await conn.execute(
                "UPDATE notifications SET status = 'delivered', delivered_at = now(),"
                " last_error = NULL WHERE key = $1",
                notice.key,
            )
        log.info("notice delivered", notice=notice.key, bureau=notice.bureau)
        return "delivered"
