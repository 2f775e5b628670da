"""uvicorn without its own signal handlers: the process that serves (`guatu up`, the worker's
metrics endpoint) owns SIGINT / SIGTERM and stops the server itself."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import uvicorn


class QuietServer(uvicorn.Server):
    """A uvicorn server that leaves the process's signals alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
