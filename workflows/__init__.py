"""Temporal workflows: orchestration only; the arithmetic lives in `guatu.rules`."""

from workflows.project_lifecycle import ProjectLifecycle

WORKFLOWS: list[type] = [ProjectLifecycle]

__all__ = ["WORKFLOWS", "ProjectLifecycle"]
