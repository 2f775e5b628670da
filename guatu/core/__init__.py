"""Shared plumbing every other package may use: the programme clock, names and labels,
PostgreSQL (pool, migrations, database roles), the notice delivery policy, the Temporal
connection, payload encryption, versioning, logs, metrics and traces, API tokens.

Nothing here knows a workflow, a route or a command.
"""
