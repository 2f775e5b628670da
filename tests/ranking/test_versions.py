"""A rule-set version bump on a live programme (real dev server and read model): a round published
under `default` v1 keeps re-verifying byte for byte under v1 — plain re-runs and refreeze
revisions alike — after the file moved to v2, while the next period is ranked under v2; and the
kept v1 body answers a what-if (`default@1`).

Figures: the hand-computed fixture (tests/ranking/fixture.py). For 2031-03 both versions give the
same scores (see test_rules.py), but not the same published bytes: v2's investment line reads
the year's plan, so a re-run that used v2 on a v1 round would fail `not_reproducible`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.ranking import queries, rulesets, service
from guatu.ranking.rulesets import RULES_DIR, load_ruleset, ruleset_canonical, sha256
from guatu.whatif import replay as whatif
from tests.helpers import running_worker
from tests.ranking import fixture
from tests.ranking.conftest import end_ladders, fetch, prefix

REASON = "核实后重新冻结：规则集升版后复核 2031 年 3 月"


def _v1_as_current(tmp: Path) -> Path:
    """A rules directory as it was before v2: default.json is the kept v1 body."""
    shutil.copy(RULES_DIR / "versions" / "default.v1.json", tmp / "default.json")
    shutil.copy(RULES_DIR / "sanya.json", tmp / "sanya.json")
    return tmp


def _investment_line(row: dict) -> dict:  # type: ignore[type-arg]
    return next(x for x in row["breakdown"] if x["key"] == "investment_ratio")


async def test_v1_round_reverifies_under_v1_and_the_next_period_is_v2(
    dev_env: WorkflowEnvironment,
    fresh_pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    px = prefix()
    bureaus = await fixture.add_bureaus(fresh_pool, px, None)
    a, b, cc, d = bureaus
    await fixture.insert(fresh_pool, px)
    client = dev_env.client
    async with running_worker(client, fresh_pool, http, settings) as tq:
        try:
            # 1. Published while config/rules/default.json was still v1.
            monkeypatch.setattr(rulesets, "RULES_DIR", _v1_as_current(tmp_path))
            first = await (await service.trigger_round(client, "2031-03", task_queue=tq)).result()
            # test_rules.py: b 106.00, c 89.25, a 51.25, d 7.00; red b, c; black a, d.
            assert (first.ruleset_version, first.red_list, first.black_list) == (1, [b, cc], [a, d])
            stored = await fetch(
                fresh_pool, "SELECT version, sha256 FROM ranking_rulesets WHERE id = 'default'"
            )
            assert [(r["version"], r["sha256"]) for r in stored] == [
                (1, sha256(ruleset_canonical(load_ruleset("default", RULES_DIR, 1))))
            ]

            # 2. The file moves to v2 (this repository's config/rules/default.json).
            monkeypatch.undo()
            assert load_ruleset("default").version == 2
            again = await (await service.trigger_round(client, "2031-03", task_queue=tq)).result()
            assert (again.reproduced, again.ruleset_version, again.revision) == (True, 1, 1)
            assert (again.snapshot_sha256, again.results_sha256) == (
                first.snapshot_sha256,
                first.results_sha256,
            )
            march = await queries.get_ranking(fresh_pool, "project", "2031-03")
            assert march["ruleset"]["version"] == 1
            a1 = next(r for r in march["rows"] if r["code"] == f"{px.upper()}-A1")
            # v1's words: cumulative 600 of 500 planned on the whole-span line = 120 %.
            assert _investment_line(a1)["inputs"]["basis"] == "cumulative"
            assert (
                "累计完成投资 600.00 万元，为序时计划 500.00 万元的 120.00%"
                in _investment_line(a1)["text_zh"]
            )

            # 3. A refreeze corrects inputs, not rules: revision 2 is still computed under v1.
            revised = await (
                await service.revise_round(
                    client, "2031-03", reason=REASON, actor="李科长", task_queue=tq, pool=fresh_pool
                )
            ).result()
            assert (revised.revision, revised.ruleset_version, revised.reproduced) == (2, 1, False)
            # Nothing changed in the read model: the same ranks and lists as revision 1.
            assert (revised.red_list, revised.black_list) == ([b, cc], [a, d])
            verified = await (
                await service.trigger_round(client, "2031-03", task_queue=tq)
            ).result()
            assert (verified.reproduced, verified.ruleset_version, verified.revision) == (
                True,
                1,
                2,
            )

            # 4. The next period is ranked under v2. 2031-04 closes 2031-05-01; no April report.
            # A1: this year's 600 of the year's plan 1,000 (span Feb–May, 时间进度 3/4) → 750 to
            #   date → 600/750 = 0.80 → 48.00; milestones due 3 (construction permit 04-20
            #   too), met 2 → 25 × 0.6667 = 16.67; April report missing → 0; no red April.
            #   = 64.67. (Under v1: 80 of 100 days planned → 800, 0.75 → 45.00 → 61.67.)
            # A2: 900 of 2,250 = 0.40 → 24.00; milestones 0 of 3 (land use late); report 0
            #   → 24.00. (v1: 900/2400 = 0.375 → 22.50.)
            # Bureau a: (64.67 × 1000 + 24 × 3000) / 4000 = 136670 / 4000 = 34.1675 → 34.17.
            #   (v1: (61.67 × 1000 + 22.5 × 3000) / 4000 = 129170 / 4000 = 32.2925 → 32.29.)
            april = await (await service.trigger_round(client, "2031-04", task_queue=tq)).result()
            assert (april.ruleset_version, april.reproduced) == (2, False)
            projects = {
                r["code"]: r
                for r in (await queries.get_ranking(fresh_pool, "project", "2031-04"))["rows"]
            }
            assert projects[f"{px.upper()}-A1"]["score"] == 64.67
            assert projects[f"{px.upper()}-A2"]["score"] == 24.0
            assert _investment_line(projects[f"{px.upper()}-A1"])["inputs"]["basis"] == "year_plan"
            april_a = next(
                r
                for r in (await queries.get_ranking(fresh_pool, "bureau", "2031-04"))["rows"]
                if r["code"] == a
            )
            assert april_a["score"] == 34.17
            stored = await fetch(
                fresh_pool,
                "SELECT version FROM ranking_rulesets WHERE id = 'default' ORDER BY version",
            )
            assert [r["version"] for r in stored] == [1, 2]
            rounds = await fetch(
                fresh_pool, "SELECT period, ruleset_version FROM ranking_rounds ORDER BY period"
            )
            assert [(r["period"], r["ruleset_version"]) for r in rounds] == [
                ("2031-03", 1),
                ("2031-04", 2),
            ]

            # 5. What-if under the kept v1 body, beside the published v2 round of April.
            what = await whatif.what_if(fresh_pool, ["2031-04"], "default@1")
            assert (what["baseline"]["version"], what["candidate"]["version"]) == (2, 1)
            assert what["verified"] == {"2031-04": True}
            row_a = next(x for x in what["periods"][0]["bureaus"] if x["code"] == a)
            assert (row_a["baseline"]["score"], row_a["candidate"]["score"]) == (34.17, 32.29)
        finally:
            await end_ladders(client, bureaus)
