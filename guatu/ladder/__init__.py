"""激励奖惩: each bureau's reward/penalty ladder (督办台账), fed by the ranking rounds.

Owns what `BureauLadder` (workflows/bureau_ladder.py) decides and remembers: the black-list rungs
(通报 → 约谈 → 督办), stepping down, 通报表扬 and award recommendations, 督办单 for projects red
months running, correction plans and their escalation, force-majeure exemptions, and the
withdrawal of decisions a revised round no longer supports.

Modules (import what you need; this package imports nothing on its own so that the workflow
sandbox only ever sees the pure ones: `store`, `queries` and `service` are not for workflow
code):

- `models`: the ladder's state, decisions, orders and messages (pydantic).
- `rules`: the pure ladder step, the standing a leader reads, what a ladder may forget.
- `notices`: the Chinese notice of each decision (bureau and leaders' office copy).
- `ledger`, `book`: `LadderBook`, the decisions of BureauLadder without Temporal (pure, unit-tested),
  on the bookkeeping of `LadderLedger` (clock, batches, idempotency, what is forgotten).
- `checks`, `decisions`: what an update is refused for; the decision records the book writes.
- `store`: the ladder's rows in PostgreSQL and the state it restarts from (asyncpg).
- `queries`: a bureau's standing as leaders read it, from PostgreSQL (asyncpg).
- `service`: Temporal-facing helpers — `ensure_ladder` (the one way a ladder is started or
  restarted), exemptions, correction plans, the live standing.
"""
