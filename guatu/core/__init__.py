"""Shared plumbing every other package may use: the programme clock (`clock`), names and IDs
(`constants`), PostgreSQL (`db`: pool, migrations, `RoleDsns`; `roles`: database roles), a
notice and its delivery policy (`notice`, `delivery`), the refusal of bad input (`refusal`) and
the validator guard, the Temporal connection, payload encryption, worker versioning, logs,
metrics and traces, uvicorn without signal handlers (`serving`), API tokens.

Nothing here knows a workflow, a route or a command, nor any other guatu package.
"""
