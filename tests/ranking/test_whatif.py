"""What-if replay over five years of the 243-project sample programme, in memory.

The snapshots are synthetic (seeded bureau behaviour written straight from the sample plans,
see guatu/ranking/sample.py); the replay runs the very functions rounds and ladders use.
"""

from __future__ import annotations

import time

from guatu.lifecycle.programme import load_bureaus, load_sample_plans
from guatu.ranking.models import Level
from guatu.ranking.periods import periods_between
from guatu.ranking.rulesets import canonical_json, load_ruleset
from guatu.ranking.sample import synthetic_snapshots
from guatu.whatif.replay import replay, what_if_snapshots

PERIODS = (
    periods_between("month", "2021-01", "2025-12")
    + periods_between("quarter", "2021-Q1", "2025-Q4")
    + periods_between("year", "2021", "2025")
)


def test_five_years_of_the_programme_under_both_rule_sets_in_seconds() -> None:
    plans = load_sample_plans(2021)
    assert len(plans) == 243 and len(PERIODS) == 60 + 20 + 5
    started = time.perf_counter()
    snapshots = synthetic_snapshots(
        plans, PERIODS, seed=7, bureau_names={b.code: b.name_zh for b in load_bureaus()}
    )
    built = time.perf_counter() - started
    result = what_if_snapshots(snapshots, load_ruleset("default"), load_ruleset("sanya"))
    replayed = result["summary"]["seconds"]
    print(
        f"\n5 years × 243 projects: snapshots {built:.2f} s, what-if of "
        f"{len(PERIODS)} periods under 2 rule sets {replayed:.2f} s"
    )
    assert replayed < 30, "the replay should take seconds, not minutes"
    summary = result["summary"]
    assert summary["periods"] == 85 and summary["projects"] == 243
    # The two shipped rule sets disagree on the sample: ranks, lists and ladder steps.
    assert summary["bureau_rank_changes"] > 0
    assert summary["list_changes"] > 0
    assert summary["ladder_changes"] > 0
    first = result["periods"][0]
    started_bureaus = {p.bureau for p in snapshots[0].projects}
    assert first["period"] == "2021-01" and len(first["bureaus"]) == len(started_bureaus)
    assert len(result["periods"][-1]["bureaus"]) == 15  # every bureau but xfb owns projects
    assert {"baseline", "candidate"} <= set(first["bureaus"][0])


def test_the_same_rules_reproduce_themselves_exactly() -> None:
    plans = load_sample_plans(2021)
    periods = periods_between("month", "2022-01", "2022-06")
    snapshots = synthetic_snapshots(plans, periods, seed=11)
    rules = load_ruleset("default")
    one = [canonical_json(r.model_dump(mode="json")) for r in replay(snapshots, rules)]
    two = [canonical_json(r.model_dump(mode="json")) for r in replay(snapshots, rules)]
    assert one == two
    same = what_if_snapshots(snapshots, rules, rules)["summary"]
    assert (
        same["bureau_rank_changes"],
        same["list_changes"],
        same["ladder_changes"],
        same["project_rank_changes"],
    ) == (0, 0, 0, 0)
    # Movement in a replay is measured against the previous month of the range.
    second = replay(snapshots, rules)[1]
    assert second.context.previous_period == "2022-01"
    assert all(r.movement is not None for r in second.levels[Level.BUREAU].rows)
