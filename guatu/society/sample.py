"""Illustrative 市民观察 and 第三方评估 for `make run` (示例数据, like the sample programme).

A few observations and evaluations on sample projects, through the real doors, every text
marked 【示例】: an open 扰民 observation awaiting its bureau's reply (working-day deadline), a
服务 observation answered and rated 满意, a 质量 observation that asks for no answer, one on the
first demonstration scene (when scenes are loaded), a program evaluation of 营商环境 (P07, the
article's third-party evaluation of the business environment) and a project evaluation of a
全龄友好 service project. Idempotent (fixed keys): a second start adds nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import structlog
from temporalio.client import Client

from guatu.core.clock import local_date
from guatu.society import evaluations, service
from guatu.society.models import (
    Category,
    EvaluationFiling,
    EvaluationSubject,
    Indicator,
    ObservationFiling,
    RateInput,
    ReplyInput,
    Satisfaction,
    TargetKind,
)

log = structlog.get_logger(__name__)
OBSERVER = "sample-observer"
AGENCY = "sample-agency"
MARK = "【示例】"


async def _project(conn: asyncpg.Connection, program: str, kind: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT code, bureau, program FROM projects WHERE program = $1 AND kind = $2"
        " AND status = 'active' ORDER BY code LIMIT 1",
        program,
        kind,
    )


async def seed_society_sample(client: Client, pool: asyncpg.Pool, task_queue: str) -> int:
    """Seed the illustrative observations and evaluations; returns how many were new."""
    async with pool.acquire() as conn:
        nuisance = await _project(conn, "P06", "engineering")
        served = await _project(conn, "P10", "service")
        quality = await _project(conn, "P07", "service") or await _project(
            conn, "P07", "engineering"
        )
    new = 0
    year = local_date(datetime.now(UTC)).year
    if nuisance is not None:
        v = await service.submit_observation(
            client,
            pool,
            ObservationFiling(
                target=nuisance["code"],
                category=Category.NUISANCE,
                rating=2,
                text=f"{MARK}工地夜间22点后仍有高噪声作业，附近居民反映休息受影响",
                observer=OBSERVER,
                idempotency_key="sample-observation-1",
            ),
            task_queue=task_queue,
            channel="sample",
        )
        new += not v.duplicate
    if served is not None:
        v = await service.submit_observation(
            client,
            pool,
            ObservationFiling(
                target=served["code"],
                category=Category.SERVICE,
                rating=4,
                text=f"{MARK}社区养老服务中心开放时间短，建议周末延长开放",
                observer=OBSERVER,
                idempotency_key="sample-observation-2",
            ),
            task_queue=task_queue,
            channel="sample",
        )
        new += not v.duplicate
        if v.replied_at is None:
            v = await service.reply_observation(
                client,
                pool,
                v.id,
                ReplyInput(
                    text=f"{MARK}已协调运营方自下月起周末开放至18点",
                    bureau=served["bureau"],
                    actor="sample",
                    role="bureau",
                    idempotency_key="sample-reply-2",
                ),
                channel="sample",
            )
        if v.rated_at is None:
            await service.rate_observation(
                client,
                pool,
                v.id,
                RateInput(
                    satisfaction=Satisfaction.SATISFIED,
                    comment=f"{MARK}答复及时",
                    observer=OBSERVER,
                    role="observer",
                    idempotency_key="sample-rate-2",
                ),
                channel="sample",
            )
    if quality is not None:
        v = await service.submit_observation(
            client,
            pool,
            ObservationFiling(
                target=quality["code"],
                category=Category.QUALITY,
                rating=5,
                text=f"{MARK}24小时自助服务终端运行良好，办事方便",
                wants_reply=False,
                observer=OBSERVER,
                idempotency_key="sample-observation-3",
            ),
            task_queue=task_queue,
            channel="sample",
        )
        new += not v.duplicate
    async with pool.acquire() as conn:
        scene = (
            await conn.fetchval("SELECT code FROM scenes ORDER BY code LIMIT 1")
            if await conn.fetchval("SELECT to_regclass('scenes')") is not None
            else None
        )
    if scene is not None:
        v = await service.submit_observation(
            client,
            pool,
            ObservationFiling(
                target_kind=TargetKind.SCENE,
                target=scene,
                category=Category.SERVICE,
                rating=5,
                text=f"{MARK}江安河沿线24小时自助服务终端夜间也能办事，很方便",
                wants_reply=False,
                observer=OBSERVER,
                idempotency_key="sample-observation-4",
            ),
            task_queue=task_queue,
            channel="sample",
        )
        new += not v.duplicate
    programs = ["P07", "P10"]
    row = await evaluations.submit_evaluation(
        pool,
        EvaluationFiling(
            subject=EvaluationSubject.PROGRAM,
            program="P07",
            year=year,
            indicators=[
                Indicator(key="efficiency", name_zh="政务服务效率", score=88, weight=2),
                Indicator(key="fairness", name_zh="市场准入公平", score=82),
                Indicator(key="satisfaction", name_zh="企业满意度", score=79),
            ],
            conclusion=f"{MARK}营商环境总体良好，企业满意度仍有提升空间（虚构示例）",
            evaluator=AGENCY,
            evaluator_label="示例评估机构（虚构）",
            programs=programs,
            idempotency_key="sample-evaluation-1",
        ),
        client=client,
        channel="sample",
    )
    new += not row["duplicate"]
    if served is not None:
        row = await evaluations.submit_evaluation(
            pool,
            EvaluationFiling(
                subject=EvaluationSubject.PROJECT,
                project=served["code"],
                year=year,
                indicators=[
                    Indicator(key="coverage", name_zh="服务覆盖率", score=90),
                    Indicator(key="satisfaction", name_zh="群众满意度", score=84),
                ],
                conclusion=f"{MARK}项目按计划实施，服务覆盖率达标（虚构示例）",
                evaluator=AGENCY,
                evaluator_label="示例评估机构（虚构）",
                programs=programs,
                idempotency_key="sample-evaluation-2",
            ),
            client=client,
            channel="sample",
        )
        new += not row["duplicate"]
    log.info("illustrative observations and evaluations in place", new=new)
    return new
