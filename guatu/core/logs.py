"""structlog for everything, including stdlib records from the Temporal SDK and workflow.logger.

Two renderers (docs/operations.md, "Logs"): coloured lines for a person when the log stream is
a terminal, one JSON object per line otherwise (`GUATU_LOG_FORMAT=auto|console|json`; the older
`GUATU_LOG_JSON=true|false` still chooses when the format is left at auto).

Every line carries the context it has: what is bound with structlog's contextvars (the API binds
the caller's role, bureau and the project of the path), the workflow of a `workflow.logger`
record (the SDK attaches a `temporal_workflow` dict, lifted into `workflow_id` / `run_id` /
`workflow_type`), the workflow and activity of any line logged inside an activity, and the
project or bureau a workflow id names (`project-<code>`, `ladder-<bureau>`).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, MutableMapping
from typing import IO, TYPE_CHECKING, Any

import structlog
import temporalio.activity
import temporalio.workflow

from guatu.core import constants as c

if TYPE_CHECKING:
    from config.settings import Settings

FORMATS = ("auto", "console", "json")
_PROJECT_PREFIX = c.project_workflow_id("")
_LADDER_PREFIX = c.bureau_ladder_workflow_id("")


def resolve_format(
    fmt: str = "auto", json: bool | None = None, stream: IO[str] | None = None
) -> str:
    """`console` or `json`: as set, else by `json` (GUATU_LOG_JSON), else by the stream."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {FORMATS}, not {fmt!r}")
    if fmt != "auto":
        return fmt
    if json is not None:
        return "json" if json else "console"
    target = stream if stream is not None else sys.stderr
    isatty = getattr(target, "isatty", None)
    return "console" if isatty is not None and isatty() else "json"


def add_context(_: Any, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    """Workflow, activity, project and bureau, where the line has them."""
    for key in ("temporal_workflow", "temporal_activity"):
        details = event.pop(key, None)
        if isinstance(details, Mapping):
            for name in ("workflow_id", "run_id", "workflow_type", "activity_type"):
                if details.get(name) is not None:
                    event.setdefault(name, details[name])
    if "workflow_id" not in event and temporalio.activity.in_activity():
        info = temporalio.activity.info()
        event["workflow_id"] = info.workflow_id
        event.setdefault("activity_type", info.activity_type)
    workflow_id = event.get("workflow_id")
    if isinstance(workflow_id, str):
        if workflow_id.startswith(_PROJECT_PREFIX):
            event.setdefault("project", workflow_id[len(_PROJECT_PREFIX) :])
        elif workflow_id.startswith(_LADDER_PREFIX):
            event.setdefault("bureau", workflow_id[len(_LADDER_PREFIX) :])
    return event


def configure(
    level: str = "INFO",
    json: bool | None = None,
    *,
    fmt: str = "auto",
    stream: IO[str] | None = None,
) -> str:
    """Configure structlog and the stdlib root logger; returns the format chosen."""
    # The workflow/activity context goes into its own keys, not into the message text.
    temporalio.workflow.logger.workflow_info_on_message = False
    temporalio.activity.logger.activity_info_on_message = False
    target = stream if stream is not None else sys.stderr
    chosen = resolve_format(fmt, json, target)
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        add_context,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor
    if chosen == "json":
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False)
    else:
        isatty = getattr(target, "isatty", None)
        renderer = structlog.dev.ConsoleRenderer(
            colors=isatty is not None and isatty(),
            exception_formatter=structlog.dev.plain_traceback,
        )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(target)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return chosen


def configure_from(settings: Settings, stream: IO[str] | None = None) -> str:
    return configure(settings.log_level, settings.log_json, fmt=settings.log_format, stream=stream)
