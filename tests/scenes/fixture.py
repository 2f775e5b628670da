"""A small programme in the read model with scenes and internal data that must never go public.

Two programs, four projects (rows written as their lifecycles would), two scenes. By hand:
| project | program | bureau | light | total | planned to date | actual |
|---|---|---|---|---:|---:|---:|
| PUB-1 | P07 | xzspj | green  | 10000 | 4000 | 4200 |
| PUB-2 | P07 | xzspj | yellow |  5000 | 2000 | 1500 |
| PUB-3 | P10 | mzj   | red    |  3000 | 1000 |  200 |
| PUB-4 | P10 | mzj   | green  |  2000 |  500 |  500 |
Totals: 20000 total, 7500 planned, 6400 actual → 85.3 % of plan to date; 2 green, 1 yellow,
1 red. P07: 15000 / 6000 / 5700 → 95.0 %; P10: 5000 / 1500 / 700 → 46.7 %.
Scene S-JQJA (P07, xzspj): PUB-1, PUB-2, PUB-3 → 5900 / 7000 = 0.8429 < 0.90, 1 red of 3 ≥ a
third → red. Scene S-ELDER (P10, mzj): PUB-4 → 500 / 500 = 1.0, all green → green.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from guatu.core.tokens import create_token
from guatu.lifecycle.models import ProjectKind
from guatu.scenes import store
from guatu.scenes.models import SceneBody
from tests.helpers import make_plan

INTERNAL_NOTE = "内部意见：请勿外传 INTERNAL-NOTE-7731"
SECRET_WEBHOOK = "https://secret.example/hook-7731"
ROWS = [
    ("PUB-1", "江安河沿线24小时自助服务终端布设", "P07", "xzspj", "green", 10000.0, 4000.0, 4200.0),
    ("PUB-2", "九曲江安·十里光华就近办示范场景", "P07", "xzspj", "yellow", 5000.0, 2000.0, 1500.0),
    ("PUB-3", "红桥社区养老服务综合体", "P10", "mzj", "red", 3000.0, 1000.0, 200.0),
    ("PUB-4", "江浦路社区儿童友好场景", "P10", "mzj", "green", 2000.0, 500.0, 500.0),
]


async def seed(pool: asyncpg.Pool) -> dict[str, Any]:
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE bureaus SET webhook_url = $1 WHERE code = 'xzspj'", SECRET_WEBHOOK
        )
        for code, name, program, bureau, light, total, planned, actual in ROWS:
            plan = make_plan(
                ProjectKind.SERVICE, start=date(2026, 1, 5), bureau=bureau, total=total, code=code
            ).model_copy(update={"program": program, "name_zh": name, "illustrative": True})
            await conn.execute(
                "INSERT INTO projects (code, name_zh, program, bureau, kind, stage, status, light,"
                " explanations, total_investment_wan, planned_investment_to_date_wan,"
                " actual_investment_wan, physical_progress_pct, milestones, plan, business_today,"
                " version) VALUES ($1,$2,$3,$4,'service','implementing','active',$5,$6,$7,$8,$9,"
                " 0,$10,$11,$12,1)",
                code,
                name,
                program,
                bureau,
                light,
                [{"rule": "internal", "text_zh": INTERNAL_NOTE, "text_en": INTERNAL_NOTE}],
                total,
                planned,
                actual,
                [{"step": "implementing", "result": "met"}, {"step": "done", "result": "pending"}],
                plan.model_dump(mode="json"),
                date(2026, 10, 15),
            )
        await conn.execute(
            "INSERT INTO audit_log (key, at, actor, bureau, action, accepted, reason)"
            " VALUES ('pub-test', now(), 'leader:secret-actor', 'xzspj', 'x', true, $1)",
            INTERNAL_NOTE,
        )
    await store.put_scene(
        pool,
        "S-JQJA",
        SceneBody(
            name_zh="九曲江安·十里光华",
            name_en="Jiang'an river scene",
            program="P07",
            lead_bureau="xzspj",
            description="江安河沿线 24 小时自助服务终端与就近办",
            projects=["PUB-1", "PUB-2", "PUB-3"],
        ),
        actor="leader:secret-actor",
        illustrative=True,
    )
    await store.put_scene(
        pool,
        "S-ELDER",
        SceneBody(
            name_zh="社区养老服务示范场景",
            program="P10",
            lead_bureau="mzj",
            projects=["PUB-4"],
        ),
        actor="leader:secret-actor",
    )
    token = await create_token(pool, "leader", None, "领导令牌 secret-label")
    return {"token": token}
