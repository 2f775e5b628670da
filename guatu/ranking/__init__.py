"""竞进比拼: ranking rounds, scores, red and black lists (the ladders they feed: `guatu.ladder`).

Modules (import what you need; this package imports nothing on its own so that the workflow
sandbox only ever sees the pure ones):

- `periods`: period keys ("2026-11", "2026-Q4", "2026") and their calendar arithmetic.
- `models`: rule sets (with the ladder's rules), frozen snapshots and results (pydantic).
- `actions`: the names of what a ranking leads to (the ladders' actions and order states).
- `messages`: inputs and results of the RankingRound workflow and its activities.
- `rulesets`: loading versioned rule sets from `config/rules/*.json`.
- `scoring`, `ranks`, `rules`: the pure scoring of a project, the ranking of bureaus, programs
  and projects with ties and lists, and a whole round (activities and the what-if replay all
  call these).
- `notices`: Chinese notices for rankings and revised rounds.
- `snapshot`: freezing per-project inputs from the read model at period close (asyncpg).
- `queries`: leaders' ranking queries served from PostgreSQL (asyncpg).
- `sample`: synthetic frozen snapshots of the sample programme (what-if benchmark only).
- `revisions`: re-frozen rounds (更正): what changed between revisions.
- `trends`: the year's series (investment against plan, rank movement, light counts).
- `bulletin`, `bulletin_doc`, `bulletin_chart`: the monthly 通报 (its rows, the Word document,
  the chart).
- `canonical`: the canonical serialisation that makes re-runs byte-identical.
- `service`: Temporal-facing helpers (schedules, on-demand rounds, exemptions, correction plans).
"""
