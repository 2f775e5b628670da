"""Errors of the HTTP API: one JSON shape, status codes that mean what they say.

Every error body is `{"code": ..., "zh": ..., "en": ..., "details": ...}`: a stable machine
code, a Chinese message first and its English twin. 503 always carries `Retry-After`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable
from typing import Any, TypeVar

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

log = structlog.get_logger("guatu.api")

T = TypeVar("T")

RETRY_AFTER_SECONDS = 5
# Updates of one project finish within a second or so: a crowd waiting for a slot retries soon.
UPDATE_RETRY_AFTER_SECONDS = 1


class ErrorBody(BaseModel):
    """What every error response carries."""

    code: str
    zh: str
    en: str
    details: Any = None


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        zh: str,
        en: str,
        *,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {en}")
        self.status, self.code, self.zh, self.en = status, code, zh, en
        self.details = details
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        body = ErrorBody(code=self.code, zh=self.zh, en=self.en, details=self.details)
        return JSONResponse(
            body.model_dump(mode="json"), status_code=self.status, headers=self.headers
        )


def unauthorized(code: str, zh: str, en: str) -> ApiError:
    return ApiError(401, code, zh, en, headers={"WWW-Authenticate": 'Bearer realm="guatu"'})


def not_found(code: str = "project_not_found", zh: str = "项目", en: str = "project") -> ApiError:
    """404 `code`: "no such <en> (or not yours)", `zh` the thing's Chinese name.

    The same answer for a thing that does not exist and one of another bureau (or observer): a
    token learns nothing about what is not its own.
    """
    return ApiError(404, code, f"{zh}不存在或无权访问", f"no such {en} (or not yours)")


def unavailable(service: str, reason: str = "") -> ApiError:
    names = {
        "temporal": ("工作流服务", "the workflow service (Temporal)"),
        "database": ("数据库", "the database (PostgreSQL)"),
        "ranking": ("排名服务", "the ranking service"),
    }
    zh, en = names.get(service, (service, service))
    return ApiError(
        503,
        f"{service}_unavailable",
        f"{zh}暂时不可用，请稍后重试",
        f"{en} is unavailable; retry later",
        details={"reason": reason[:300]} if reason else None,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


# Errors that mean "PostgreSQL cannot be reached or is going away", not "bad SQL".
DB_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)

# Temporal answers that mean "the service cannot answer now"; NOT_FOUND etc. are handled apart.
_TEMPORAL_UNAVAILABLE = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.CANCELLED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.ABORTED,
    RPCStatusCode.UNKNOWN,
    RPCStatusCode.INTERNAL,
}


def retry_later(wait: float, code: str, zh: str, en: str) -> ApiError:
    """429 `code` for a caller over an allowance, to retry in `wait` seconds (rounded up, at least
    1): `Retry-After` carries them, and `zh` / `en` may name them as `{seconds}`."""
    seconds = max(1, math.ceil(wait))
    return ApiError(
        429,
        code,
        zh.format(seconds=seconds),
        en.format(seconds=seconds),
        headers={"Retry-After": str(seconds)},
    )


def too_many_updates(limit: int | None = None) -> ApiError:
    """429 for a project with as many updates in flight as it may have (Temporal admits at most
    10 per workflow; more would wait in the SDK's retries and end as 503)."""
    zh_limit, en_limit = (f"（最多 {limit} 个）", f" (at most {limit})") if limit else ("", "")
    return ApiError(
        429,
        "too_many_updates",
        f"该项目正在处理的请求已达上限{zh_limit}，请 {UPDATE_RETRY_AFTER_SECONDS} 秒后重试",
        f"too many updates of this project in flight{en_limit}; retry in "
        f"{UPDATE_RETRY_AFTER_SECONDS} s",
        headers={"Retry-After": str(UPDATE_RETRY_AFTER_SECONDS)},
    )


def rpc_error(err: RPCError) -> ApiError | None:
    """Map a Temporal RPC failure to an API error, or None if it is not one we know."""
    message = str(err)
    if err.status == RPCStatusCode.RESOURCE_EXHAUSTED and "in-flight updates" in message:
        # The workflow's own limit, not an outage: the caller sent too much at once.
        return too_many_updates()
    if err.status == RPCStatusCode.NOT_FOUND:
        if "completed" in message.lower():
            return ApiError(
                409,
                "project_finished",
                "项目已结束，不再接受操作",
                "the project has ended and accepts no more input",
            )
        return not_found()
    if err.status == RPCStatusCode.ALREADY_EXISTS:
        return ApiError(409, "already_exists", "该项目已存在", "the project already exists")
    if err.status in _TEMPORAL_UNAVAILABLE:
        return unavailable("temporal", message)
    if err.status == RPCStatusCode.FAILED_PRECONDITION and "workflow task" in message.lower():
        # The project's workflow task is being retried (e.g. after a worker crash): transient.
        return unavailable("temporal", message)
    return None


async def temporal_call(awaitable: Awaitable[T], timeout: float) -> T:
    """Await a Temporal call with a deadline; unreachable or slow → 503, never a hang."""
    try:
        async with asyncio.timeout(timeout):
            return await awaitable
    except TimeoutError:
        raise unavailable("temporal", f"no answer within {timeout:g} s") from None
    except WorkflowUpdateRPCTimeoutOrCancelledError as err:
        raise unavailable("temporal", str(err)) from None
    except RPCError as err:
        mapped = rpc_error(err)
        if mapped is None:
            raise
        raise mapped from None
    except DB_UNAVAILABLE as err:
        # send_update audits rejections in PostgreSQL inside the same call.
        raise unavailable("database", f"{type(err).__name__}: {err}") from None
    except RuntimeError as err:
        # A lazily connected client that cannot reach the server fails its first call so.
        if "client connect" not in str(err).lower():
            raise
        raise unavailable("temporal", str(err)) from None


async def db_call(awaitable: Awaitable[T], timeout: float) -> T:
    """Await a PostgreSQL read or write with a deadline; unreachable or slow → 503."""
    try:
        async with asyncio.timeout(timeout):
            return await awaitable
    except TimeoutError:
        raise unavailable("database", f"no answer within {timeout:g} s") from None
    except DB_UNAVAILABLE as err:
        raise unavailable("database", f"{type(err).__name__}: {err}") from None


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for error in exc.errors():
        # The offending input is not echoed back: it may be large or sensitive.
        details.append(
            {
                "loc": list(error.get("loc", ())),
                "msg": error.get("msg", ""),
                "type": error.get("type", ""),
            }
        )
    return details


_STATUS_TEXT = {
    400: (
        "bad_request",
        "请求体无法解析（须为 UTF-8 编码的 JSON）",
        "the request body cannot be parsed (send UTF-8 encoded JSON)",
    ),
    404: ("not_found", "资源不存在", "not found"),
    405: ("method_not_allowed", "不支持该请求方法", "method not allowed"),
    413: ("body_too_large", "请求体过大", "request body too large"),
    415: ("unsupported_media_type", "不支持的内容类型", "unsupported media type"),
}


def _remote_trace(err: BaseException | None) -> str:
    """The stack traces the worker recorded along a Temporal failure's cause chain."""
    traces = []
    while err is not None:
        failure = getattr(err, "failure", None)
        if failure is not None and failure.stack_trace:
            traces.append(f"{type(err).__name__}: {err}\n{failure.stack_trace}")
        err = err.__cause__
    return "\n".join(traces)


_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the request's path answers, and OPTIONS."""
    methods = {"OPTIONS"}
    # Routes of included routers too (FastAPI keeps them behind one entry per router).
    for route in iter_route_contexts(request.app.router.routes):
        route_methods = route.methods
        if route_methods and route.matches(request.scope)[0] is not Match.NONE:
            methods |= set(route_methods)
    return sorted(methods, key=lambda m: (_METHOD_ORDER.index(m) if m in _METHOD_ORDER else 99, m))


def install(app: FastAPI) -> None:
    """Register the error handlers on `app`."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return ApiError(
            422,
            "invalid_input",
            "请求内容不符合接口要求（见 details）",
            "the request does not match the API (see details)",
            details=_validation_details(exc),
        ).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names the methods of the first route of the path only (GET and POST
            # of /projects live in two routes): every method of the path, and OPTIONS answers.
            headers["Allow"] = ", ".join(allowed_methods(request))
            if request.method == "OPTIONS":
                return Response(status_code=204, headers=headers)
        code, zh, en = _STATUS_TEXT.get(
            exc.status_code, ("http_error", "请求失败", "request failed")
        )
        return ApiError(
            exc.status_code,
            code,
            zh,
            en,
            details=exc.detail if isinstance(exc.detail, dict | list) else None,
            headers=headers,
        ).response()

    # Safety nets: a dependency that reached PostgreSQL or Temporal without the helpers above
    # still answers 503 instead of 500.
    @app.exception_handler(asyncpg.PostgresConnectionError)
    @app.exception_handler(asyncpg.InterfaceError)
    @app.exception_handler(OSError)
    async def _db_down(_: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable", error=str(exc))
        return unavailable("database", f"{type(exc).__name__}: {exc}").response()

    # An update that failed without a refusal (a refusal became `Rejected` and a 422 before
    # reaching here): a bug in a validator or a handler. Ours, not the caller's: 500, logged
    # with the trace the worker sent along.
    @app.exception_handler(WorkflowUpdateFailedError)
    async def _update_failed(request: Request, exc: WorkflowUpdateFailedError) -> JSONResponse:
        cause = exc.cause
        log.error(
            "update failed on the server",
            path=request.url.path,
            error=f"{type(cause).__name__}: {cause}",
            type=getattr(cause, "type", None),
            worker_trace=_remote_trace(cause),
            exc_info=exc,
        )
        return ApiError(
            500,
            "internal_error",
            "服务器内部错误，已记录，请联系管理员",
            "internal server error; it was logged, contact the administrator",
        ).response()

    @app.exception_handler(RPCError)
    async def _rpc(_: Request, exc: RPCError) -> JSONResponse:
        mapped = rpc_error(exc)
        if mapped is None:
            log.error("unexpected temporal error", error=str(exc), status=str(exc.status))
            mapped = unavailable("temporal", str(exc))
        return mapped.response()


__all__ = [
    "WRITE_ERRORS",
    "ApiError",
    "ErrorBody",
    "db_call",
    "install",
    "not_found",
    "retry_later",
    "rpc_error",
    "temporal_call",
    "too_many_updates",
    "unauthorized",
    "unavailable",
]


_DESCRIPTIONS = {
    401: "Missing, unknown or revoked token",
    403: "The token's role may not do this",
    404: "No such project (a bureau token also gets 404 for another bureau's project)",
    409: "Conflict: Idempotency-Key reused for another request, the project ended / exists, or "
    "a token that must stay (own, last admin)",
    413: "Request body too large",
    415: "Unsupported content type",
    422: "Invalid input, or refused by the project's rules (code, zh, en)",
    429: "Rate limit of this token, or too many updates of one project in flight (see Retry-After)",
    500: "A server error (logged); never the caller's mistake",
    503: "Temporal or PostgreSQL unavailable (see Retry-After)",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of the error answers a route may give."""
    return {
        code: {"model": ErrorBody, "description": _DESCRIPTIONS[code]}
        for code in (401, 429, 503, *codes)
    }


# What a write of one thing (a project's update, a reply to an observation) may answer besides
# 200: the token may not, no such thing, key reused or thing ended, body too large, refused.
WRITE_ERRORS = responses(403, 404, 409, 413, 422)
