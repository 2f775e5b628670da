"""Temporal workflows: orchestration only; the arithmetic lives in `guatu.lifecycle.rules`.

The list a worker registers is `workflows.registry.WORKFLOWS`; this package stays empty so
that the sandbox's per-run import of one workflow does not import the others.
"""
