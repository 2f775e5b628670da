"""RankingRound: one 竞进比拼 round for one period under one rule set.

Steps, each an idempotent activity (the workflow only orchestrates):
1. freeze the inputs of every project at period close (reused if the period is frozen);
2. compute scores, ranks, movement and red/black lists from the frozen snapshot and store them
   (a re-run recomputes and must reproduce the stored bytes);
3. feed each ranked bureau's BureauLadder (`record_period`, idempotent per rule set + period);
4. write each bureau's rank notice and the leaders' office summary to the outbox and deliver
   them (exactly once per key).

Started by a Temporal Schedule with `period=None`, such a run ranks the last period of `kind`
closed at its *scheduled* time (Asia/Shanghai; a backfill over 1 October and 1 November ranks
September and October), and hands the round to the business-key workflow
`ranking_round_workflow_id(period, ruleset)` as a child it does not wait for, so every round of
a period has one ID whether it was scheduled or triggered on demand, and no round holds the
schedule's next run. A scheduled period before any project has data for it is skipped (see
`activities/round_gate.py`); a round started on demand always runs.

Nothing waits on a bureau's webhook: each notice is handed to its own `NoticeDelivery`.

A refreeze (`refreeze=True`, started by `service.revise_round` under the revision's own ID
`ranking_round_workflow_id(period, ruleset, N)`) freezes the period's inputs again and
publishes revision N of the round: the ladders decide again what changed (and only that), the
leaders' office gets a 更正通报. A plain re-run re-verifies the latest revision.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from guatu.core import constants as c
    from guatu.core.clock import business_now, local_date
    from guatu.core.delivery import LEGACY_DELIVERY_RETRY, NoticeDeliveryInput
    from guatu.lifecycle.models import Notice
    from guatu.ranking.messages import (
        ComputeInput,
        ComputeResult,
        FeedLadderInput,
        FeedLadderResult,
        FreezeInput,
        FreezeResult,
        PeriodDataInput,
        PeriodDataResult,
        RankingRoundInput,
        RoundNoticesInput,
        RoundResult,
    )
    from guatu.ranking.periods import PeriodError, last_closed, parse_period

STEP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
# Feed the ladders and write the notices at the same time (histories before it: one then the other).
PATCH_LADDERS_WITH_NOTICES = "ranking-ladders-with-notices"
# Scheduled runs: the period of the scheduled time, a data gate, and a child not waited for
# (histories before it: the period of workflow.now(), and the child's result awaited).
PATCH_SCHEDULED_DETACHED = "ranking-scheduled-period-detached"
# The round's notices go to NoticeDelivery workflows (before it: delivered here, awaited).
PATCH_NOTICES_DETACHED = "ranking-notices-detached"
# Set by Temporal on every run a schedule starts (also by a backfill): its nominal time.
SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


@workflow.defn(name=c.RANKING_WORKFLOW)
class RankingRound:
    @workflow.run
    async def run(self, input: RankingRoundInput) -> RoundResult:
        period = input.period
        if period is None:
            at = workflow.now()
            if workflow.patched(PATCH_SCHEDULED_DETACHED):
                at = _scheduled_time() or at
            today = local_date(business_now(input.clock, at))
            period = last_closed(input.kind, today).key
        try:
            parse_period(period)
        except PeriodError as err:
            raise ApplicationError(
                str(err), {"code": "bad_period"}, type="InputRejected", non_retryable=True
            ) from None
        target_id = c.ranking_round_workflow_id(period, input.ruleset_id)
        if input.refreeze:
            # A revision runs under its own ID (`…-rN`); it never hands itself over.
            target_id = workflow.info().workflow_id
        elif workflow.info().workflow_id != target_id:
            return await self._delegate(input, period, target_id)

        frozen: FreezeResult = await workflow.execute_activity(
            c.ACTIVITY_RANKING_FREEZE,
            FreezeInput(
                period=period, refreeze=input.refreeze, reason=input.reason, actor=input.actor
            ),
            result_type=FreezeResult,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=STEP_RETRY,
        )
        computed: ComputeResult = await workflow.execute_activity(
            c.ACTIVITY_RANKING_COMPUTE,
            ComputeInput(
                period=period,
                ruleset_id=input.ruleset_id,
                workflow_id=target_id,
                refreeze=input.refreeze,
                reason=input.reason,
                actor=input.actor,
                snapshot_sha256=frozen.sha256 if input.refreeze else "",
            ),
            result_type=ComputeResult,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=STEP_RETRY,
        )
        workflow.logger.info(
            "round computed",
            extra={
                "period": period,
                "ruleset": input.ruleset_id,
                "snapshot": frozen.sha256[:12],
                "results": computed.results_sha256[:12],
                "reproduced": computed.reproduced,
                "revision": computed.revision,
            },
        )
        if workflow.patched(PATCH_LADDERS_WITH_NOTICES):
            # The ladders and the round's notices depend only on the computed round: together.
            ladders, notices = await asyncio.gather(
                self._ladders(input, computed), self._notices(input, period, computed.revision)
            )
        else:
            ladders = await self._ladders(input, computed)
            notices = await self._notices(input, period, computed.revision)
        return RoundResult(
            period=period,
            ruleset_id=input.ruleset_id,
            ruleset_version=computed.ruleset_version,
            snapshot_sha256=computed.snapshot_sha256,
            results_sha256=computed.results_sha256,
            reproduced=computed.reproduced,
            bureaus=len(computed.outcomes),
            red_list=computed.red_list,
            black_list=computed.black_list,
            exempted=computed.exempted,
            ladders=ladders,
            notices=len(notices),
            revision=computed.revision,
        )

    async def _ladders(
        self, input: RankingRoundInput, computed: ComputeResult
    ) -> list[FeedLadderResult]:
        if not input.feed_ladders:
            return []
        return list(
            await asyncio.gather(
                *(
                    workflow.execute_activity(
                        c.ACTIVITY_RANKING_FEED_LADDER,
                        FeedLadderInput(
                            outcome=o,
                            ladder=computed.ladder,
                            exemption=computed.exemption,
                            clock=input.clock,
                            revision=computed.revision,
                            reason=computed.reason,
                            actor=computed.actor,
                        ),
                        result_type=FeedLadderResult,
                        start_to_close_timeout=timedelta(minutes=2),
                        retry_policy=STEP_RETRY,
                    )
                    for o in computed.outcomes
                )
            )
        )

    async def _notices(self, input: RankingRoundInput, period: str, revision: int) -> list[Notice]:
        if not input.notify:
            return []
        notices: list[Notice] = await workflow.execute_activity(
            c.ACTIVITY_RANKING_NOTICES,
            RoundNoticesInput(period=period, ruleset_id=input.ruleset_id, revision=revision),
            result_type=list[Notice],
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=STEP_RETRY,
        )
        if workflow.patched(PATCH_NOTICES_DETACHED):
            await asyncio.gather(*(self._hand_off(n) for n in notices))
            return notices
        await asyncio.gather(
            *(
                workflow.execute_activity(
                    c.ACTIVITY_DELIVER,
                    n,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=LEGACY_DELIVERY_RETRY,
                )
                for n in notices
            )
        )
        return notices

    async def _hand_off(self, notice: Notice) -> None:
        """Start the notice's delivery and return once it is started, not once it is done."""
        try:
            await workflow.start_child_workflow(
                c.NOTICE_WORKFLOW,
                NoticeDeliveryInput(notice=notice),
                id=c.notice_delivery_workflow_id(notice.key),
                result_type=bool,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            pass  # this key's delivery is running already (an earlier run of the round)

    async def _delegate(self, input: RankingRoundInput, period: str, target_id: str) -> RoundResult:
        if workflow.patched(PATCH_SCHEDULED_DETACHED):
            return await self._start_detached(input, period, target_id)
        try:
            result: RoundResult = await workflow.execute_child_workflow(
                c.RANKING_WORKFLOW,
                input.model_copy(update={"period": period}),
                id=target_id,
                result_type=RoundResult,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            # The same round is running already (triggered by hand): nothing to add.
            return RoundResult(period=period, ruleset_id=input.ruleset_id, delegated_to=target_id)
        return result.model_copy(update={"delegated_to": target_id})

    async def _start_detached(
        self, input: RankingRoundInput, period: str, target_id: str
    ) -> RoundResult:
        """Start the business-key round and return: the schedule's next run never waits for it
        (the round's own ID keeps a period from running twice at once)."""
        if input.period is None:
            gate: PeriodDataResult = await workflow.execute_activity(
                c.ACTIVITY_ROUND_HAS_DATA,
                PeriodDataInput(period=period),
                result_type=PeriodDataResult,
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=STEP_RETRY,
            )
            if not gate.has_data:
                workflow.logger.info(
                    "scheduled round skipped",
                    extra={"period": period, "ruleset": input.ruleset_id, "reason": gate.reason},
                )
                return RoundResult(period=period, ruleset_id=input.ruleset_id, skipped=gate.reason)
        try:
            await workflow.start_child_workflow(
                c.RANKING_WORKFLOW,
                input.model_copy(update={"period": period}),
                id=target_id,
                result_type=RoundResult,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            pass  # the same round is running already (triggered by hand): nothing to add
        return RoundResult(period=period, ruleset_id=input.ruleset_id, delegated_to=target_id)


def _scheduled_time() -> datetime | None:
    """The nominal time of a scheduled run (None when a person started it)."""
    return workflow.info().typed_search_attributes.get(SCHEDULED_START)
