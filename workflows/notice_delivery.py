"""NoticeDelivery: one notice pushed to its bureau's webhook, apart from whoever decided it.

A ranking round hands each of its notices to one of these (a child it does not wait for), and
a redelivery of a failed notice starts one again: the round completes whatever the bureau's
endpoint does, and the bounds of `guatu.core.delivery` apply the same way everywhere. The workflow ID
is the notice key's (`notice_delivery_workflow_id`), so a key has one delivery at a time.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from guatu.core import constants as c
    from guatu.core.delivery import NoticeDeliveryInput, deliver


@workflow.defn(name=c.NOTICE_WORKFLOW)
class NoticeDelivery:
    @workflow.run
    async def run(self, input: NoticeDeliveryInput) -> bool:
        return await deliver(input.notice)


__all__ = ["NoticeDelivery"]
