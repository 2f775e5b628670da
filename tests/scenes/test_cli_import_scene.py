"""`guatu plan import` with the 示范场景 column: an unknown scene starts nothing; otherwise the
started projects join their scenes."""

from __future__ import annotations

import contextlib
import uuid
from datetime import date
from pathlib import Path

import asyncpg
import httpx
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.core import constants as c
from guatu.lifecycle.models import ProjectKind
from guatu.plan_file.write import write_plans
from guatu.scenes import store
from guatu.scenes.models import SceneBody
from tests.cli.test_cli_live import BUREAU, as_json, cli
from tests.helpers import make_plan, running_worker


def _with_scenes(path: Path, scenes: list[str]) -> Path:
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    col = [h.split(" / ")[-1] for h in lines[0].split(",")].index("scene")
    rows = [line.split(",") for line in lines[1:]]
    for row, scene in zip(rows, scenes, strict=True):
        row[col] = scene
    out = path.with_name(f"{path.stem}-{uuid.uuid4().hex[:4]}.csv")
    out.write_text("\n".join([lines[0], *(",".join(r) for r in rows)]), encoding="utf-8")
    return out


async def test_plan_import_scene_column(
    dev_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    settings: Settings,
    pg_dsn: str,
    tmp_path: Path,
) -> None:
    client = dev_env.client
    scene = f"S-CLI{uuid.uuid4().hex[:6].upper()}"
    await store.put_scene(
        pool, scene, SceneBody(name_zh="命令行导入场景", program="P06", lead_bureau=BUREAU),
        actor="test",
    )  # fmt: skip
    prefix = f"CLS-{uuid.uuid4().hex[:8].upper()}"
    plans = [
        make_plan(ProjectKind.SERVICE, start=date(2026, 3, 2), bureau=BUREAU, code=f"{prefix}-{i}")
        for i in (1, 2)
    ]
    base = write_plans(plans, tmp_path / "plan.csv")
    async with running_worker(client, pool, http, settings) as task_queue:
        env = {
            "GUATU_TEMPORAL_ADDRESS": client.service_client.config.target_host,
            "GUATU_TEMPORAL_NAMESPACE": client.namespace,
            "GUATU_TASK_QUEUE": task_queue,
            "DATABASE_URL": pg_dsn,
        }
        try:
            refused = await cli(["plan", "import", str(_with_scenes(base, [scene, "S-NONE"]))], env)
            assert refused.exit_code == 1
            assert "计划表中的示范场景不存在：S-NONE" in refused.output
            count = await client.count_workflows(
                f"WorkflowId = '{c.project_workflow_id(plans[0].code)}'"
            )
            assert count.count == 0  # nothing started

            done = as_json(
                await cli(["plan", "import", str(_with_scenes(base, [scene, ""])), "--json"], env)
            )
            assert done["started"] == 2 and done["scenes"] == {scene: 1}
            assert (await store.get_scene(pool, scene)).projects == [plans[0].code]
        finally:
            for p in plans:
                with contextlib.suppress(Exception):
                    await client.get_workflow_handle(c.project_workflow_id(p.code)).terminate()
            await store.delete_scene(pool, scene, actor="test")
