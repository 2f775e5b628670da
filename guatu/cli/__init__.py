"""`guatu`: the command line, one module per sub-command group.

`main` holds the root app, `guatu up`, the CLI's logging and the wiring of the groups; `common`
the helpers every group shares (one-line errors, `--json`, connections to Temporal and
PostgreSQL, labels); every other module one group (`plan`, `project`, `report`, `ranking` with
`rounds` and `bulletin`, `token`, `appeal`, `society`, `notices`, `channels`, `opportunity`,
`scene`) or `simulate`.
"""
