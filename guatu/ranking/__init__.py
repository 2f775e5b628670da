"""竞进比拼 and 激励奖惩: ranking rounds, red and black lists, reward/penalty ladders.

Modules (import what you need; this package imports nothing on its own so that the workflow
sandbox only ever sees the pure ones):

- `periods`: period keys ("2026-11", "2026-Q4", "2026") and their calendar arithmetic.
- `models`: rule sets, frozen snapshots, results, ladder state and messages (pydantic).
- `rulesets`: loading versioned rule sets from `config/rules/*.json`.
- `rules`: the pure scoring, ranking, list and ladder functions (workflows, activities and the
  what-if replay all call these).
- `notices`: Chinese notices for rankings and ladder decisions.
- `snapshot`: freezing per-project inputs from the read model at period close (asyncpg).
- `queries`: leaders' ranking queries served from PostgreSQL (asyncpg).
- `whatif`: re-evaluating frozen snapshots under another rule set.
- `sample`: synthetic frozen snapshots of the sample programme (what-if benchmark only).
- `revisions`: re-frozen rounds (更正): what changed between revisions.
- `trends`: the year's series (investment against plan, rank movement, light counts).
- `bulletin`, `bulletin_doc`, `bulletin_chart`: the monthly 通报 (its rows, the Word document,
  the chart).
- `canonical`: the canonical serialisation that makes re-runs byte-identical.
- `service`: Temporal-facing helpers (schedules, on-demand rounds, exemptions, correction plans).
"""
