"""Guatu (挂图): the wall-chart engine's code, one package per concept, in layers.

- `core`: plumbing under everything (clock, names, PostgreSQL, notices and delivery, Temporal
  connection, logs, metrics, tokens); imports no other guatu package.
- `lifecycle`, `ranking`, `appeals`, `channels`, `plan_file`: the domain; they never import
  the workflows, the activities, `api`, `cli` or `runtime`.
- `api`, `cli`, `runtime`: the doors (HTTP API and dashboard, command line) and `guatu up`.

The Temporal shells (`workflows/`, `activities/`, `worker.py`) sit between the doors and the
domain. The layers are contracts in pyproject.toml (`lint-imports`, in `make test`).
"""
