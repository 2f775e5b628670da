"""Notice delivery: one home for how long and how hard a notice is pushed to a bureau's
channels (its webhook, 企业微信 / 钉钉 robots, e-mail: guatu/channels, activities/notify.py).

ProjectLifecycle and BureauLadder deliver their notices in workflow code through `deliver`;
a ranking round hands each of its notices to a `NoticeDelivery` workflow of its own, so that
nothing a bureau's endpoint does can hold a round open. Delivery is bounded: about 37 minutes
of attempts (2 s doubling to 10 min, 12 attempts) within two hours at most. A webhook that
answers 4xx (other than 408 / 429) is told nothing more: that answer will not change by retrying.
A notice that could not be delivered stays in the outbox marked `failed` (with its last error
and attempt count) and is sent again by `guatu notices redeliver` or the admin API; the key
travels as Idempotency-Key, so a bureau that did receive it after all dedups it.

Imported by workflow code (through the sandbox): no database or HTTP imports here.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from guatu.core import constants as c
from guatu.core.notice import Notice

# Workflow runs recorded before deliveries were bounded keep retrying as they did.
PATCH_BOUNDED_DELIVERY = "delivery-bounded-2026-12"

# Error types the delivery activity raises: the bureau refused (4xx), or the last attempt failed.
WEBHOOK_REFUSED = "WebhookRefused"
WEBHOOK_FAILED = "WebhookFailed"

DELIVERY_ATTEMPTS = 12
DELIVERY_START_TO_CLOSE = timedelta(seconds=30)
DELIVERY_SCHEDULE_TO_CLOSE = timedelta(hours=2)
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=DELIVERY_ATTEMPTS,
    non_retryable_error_types=[WEBHOOK_REFUSED],
)
# Runs recorded before PATCH_BOUNDED_DELIVERY: retried without bound (replay must match).
LEGACY_DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
)

# A workflow writing its own rows and its outbox (the ladder's and an appeal's persist): the
# database comes back, so retry for as long as it takes, at most every 30 s.
PERSIST_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)

# 4xx answers that may change on a retry.
RETRYABLE_CLIENT_ERRORS = frozenset({408, 429})


class NoticeDeliveryInput(BaseModel):
    """Input of NoticeDelivery: one notice, as the outbox holds it."""

    notice: Notice
    redelivery: bool = False


async def deliver(notice: Notice) -> bool:
    """Deliver `notice` from workflow code. True once it is delivered (or waits in the bureau's
    inbox); False when delivery finally failed, the outbox row then says `failed`."""
    if not workflow.patched(PATCH_BOUNDED_DELIVERY):
        await workflow.execute_activity(
            c.ACTIVITY_DELIVER,
            notice,
            start_to_close_timeout=DELIVERY_START_TO_CLOSE,
            retry_policy=LEGACY_DELIVERY_RETRY,
        )
        return True
    try:
        await workflow.execute_activity(
            c.ACTIVITY_DELIVER,
            notice,
            start_to_close_timeout=DELIVERY_START_TO_CLOSE,
            schedule_to_close_timeout=DELIVERY_SCHEDULE_TO_CLOSE,
            retry_policy=DELIVERY_RETRY,
        )
    except ActivityError as err:
        workflow.logger.warning(
            "notice not delivered; it stays in the outbox as failed",
            extra={"notice": notice.key, "bureau": notice.bureau, "error": str(err.cause or err)},
        )
        return False
    return True
