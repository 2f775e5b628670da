"""What the generated OpenAPI schema cannot know by itself: answers and limits set at run time.

- Every operation with a request body may answer 400: a body that is not UTF-8 cannot even be
  parsed as JSON (FastAPI answers it before validation).
- `page_size` is capped by `GUATU_API_MAX_PAGE_SIZE`, a setting: the cap is written into the
  schema as the parameter's `maximum`, so a client (or Schemathesis) knows it up front.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

BAD_BODY = {
    "description": "The body cannot be parsed: not UTF-8 (or not JSON at all)",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}


def complete(schema: dict[str, Any], max_page_size: int) -> dict[str, Any]:
    """Add the 400 answer of body operations and the `page_size` cap to `schema` (in place)."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            if "requestBody" in operation:
                operation.setdefault("responses", {}).setdefault("400", BAD_BODY)
            for parameter in operation.get("parameters", []):
                if parameter.get("name") == "page_size" and parameter.get("in") == "query":
                    parameter.setdefault("schema", {})["maximum"] = max_page_size
    return schema


def install(app: FastAPI, max_page_size: int) -> None:
    """Serve the completed schema at `app.openapi_url` (FastAPI's own, completed once)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        return complete(generate(), max_page_size)  # generate() caches; complete is idempotent

    app.openapi = openapi  # type: ignore[method-assign]


__all__ = ["complete", "install"]
