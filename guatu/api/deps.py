"""What routes depend on: the API context and the caller's principal, as Annotated types."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any

import asyncpg
import structlog
from fastapi import Depends, Header, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from temporalio.client import Client

from config.settings import Settings
from guatu.api.auth import (
    IPNetwork,
    RateLimiter,
    check_role,
    parse_bearer,
    parse_networks,
    request_client,
    too_many_failures,
)
from guatu.api.errors import ApiError, db_call, too_many_updates, unauthorized
from guatu.core.tokens import Principal, Role, token_id_of, verify_token
from guatu.lifecycle.models import TimerPolicy


class ApiOptions(BaseSettings):
    """Limits and deadlines of the API (environment: `GUATU_API_*`)."""

    model_config = SettingsConfigDict(
        env_prefix="GUATU_API_",
        env_file=".env",
        env_ignore_empty=True,
        extra="ignore",
        populate_by_name=True,
    )

    body_limit_bytes: int = Field(default=256 * 1024, description="413 above this")
    import_body_limit_bytes: int = Field(
        default=8 * 1024 * 1024, description="413 above this on the bulk import"
    )
    max_page_size: int = 200
    max_import_plans: int = 1000
    rate_per_second: float = Field(default=20.0, description="Per-token refill rate")
    rate_burst: int = Field(default=100, description="Per-token bucket size")
    failed_auth_per_second: float = Field(
        default=1.0,
        description="Per token id and client (or per client without a token): "
        "refill of its allowance of 401s",
    )
    failed_auth_burst: int = Field(
        default=30,
        description="Per token id and client (or per "
        "client without a token): 401s in a "
        "row before 429",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        validation_alias="GUATU_TRUSTED_PROXIES",
        description="Reverse proxies whose X-Forwarded-For is believed (addresses or CIDR "
        "blocks, comma-separated); empty: the header is ignored, loopback included",
    )
    temporal_timeout_seconds: float = Field(default=10.0, description="Starts and queries")
    update_timeout_seconds: float = Field(default=20.0, description="Updates (wait for the worker)")
    db_timeout_seconds: float = 5.0
    ready_timeout_seconds: float = 2.0
    import_concurrency: int = 16
    updates_per_project: int = Field(
        default=8,
        ge=1,
        le=10,
        description="Updates of one project in flight at once from this API process; more "
        "answer 429 at once (Temporal admits at most 10 per workflow)",
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.replace(",", " ").split()
        parse_networks(value)  # a typo must stop the start, not trust nothing silently
        return value

    @cached_property
    def trusted_networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.trusted_proxies)


@dataclass
class InFlight:
    """Updates in flight per workflow in this process: one over `limit` answers 429 at once.

    Temporal admits at most 10 updates in flight per workflow; the SDK retries the rest for
    10–20 s and then fails (503). Counting here (one event loop, no await between the check and
    the count) turns the crowd into an immediate 429 that nothing of was applied.
    """

    counts: dict[str, int] = field(default_factory=dict)

    @contextmanager
    def hold(self, key: str, limit: int) -> Iterator[None]:
        held = self.counts.get(key, 0)
        if held >= limit:
            raise too_many_updates(limit)
        self.counts[key] = held + 1
        try:
            yield
        finally:
            left = self.counts[key] - 1
            if left:
                self.counts[key] = left
            else:
                del self.counts[key]


@dataclass
class ApiContext:
    client: Client
    pool: asyncpg.Pool
    settings: Settings
    options: ApiOptions
    task_queue: str
    policy: TimerPolicy
    limiter: RateLimiter
    auth_failures: RateLimiter
    updates: InFlight = field(default_factory=InFlight)
    read_pool: asyncpg.Pool | None = None

    @property
    def reads(self) -> asyncpg.Pool:
        """The pool of the leaders' reads and the dashboard: a role that cannot write."""
        return self.read_pool or self.pool


def get_context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.guatu
    return ctx


Context = Annotated[ApiContext, Depends(get_context)]

_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer gt_…`")


async def get_principal(
    request: Request,
    ctx: Context,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The verified caller; a good token is rate-limited per token.

    Failures are counted per presented token id and client (a token of ours that does not
    verify) or per client (no token, or not shaped like one of ours), the client as a trusted
    proxy reports it. A key that keeps failing answers 429 before its token is looked up, but
    only that key: no one else's failures, from the same address or behind the same proxy, lock
    out a token that verifies. (Guessing a token's 256-bit secret is hopeless either way; the
    allowance keeps a broken client from hammering the database.)
    """
    client = request_client(request, ctx.options.trusted_networks)
    header = request.headers.get("authorization")
    token_id = token_id_of(header.partition(" ")[2].strip()) if header else None
    key = f"token:{token_id}@{client}" if token_id else f"client:{client}"
    wait = ctx.auth_failures.peek(key)
    if wait is not None:
        raise too_many_failures(wait)
    try:
        raw = parse_bearer(header)
        principal = await db_call(verify_token(ctx.pool, raw), ctx.options.db_timeout_seconds)
        if principal is None:
            raise unauthorized(
                "invalid_token", "访问令牌无效或已吊销", "the token is unknown or revoked"
            )
    except ApiError as err:
        if err.status == 401:
            ctx.auth_failures.take(key)
        raise
    ctx.limiter.check(principal)
    request.state.principal = principal
    # Each request runs in a task of its own: these stay on the lines of this request only.
    structlog.contextvars.bind_contextvars(
        role=principal.role.value,
        token_id=principal.token_id,
        **({"bureau": principal.bureau} if principal.bureau else {}),
    )
    return principal


def require(*roles: Role):  # type: ignore[no-untyped-def]
    allowed = frozenset(roles)

    async def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        check_role(principal, allowed)
        return principal

    return dependency


AnyRole = Annotated[Principal, Depends(get_principal)]
BureauOnly = Annotated[Principal, Depends(require(Role.BUREAU))]
ManagerOnly = Annotated[Principal, Depends(require(Role.MANAGER))]
LeaderOnly = Annotated[Principal, Depends(require(Role.LEADER))]
AdminOnly = Annotated[Principal, Depends(require(Role.ADMIN))]
# Project reads: a bureau sees its own projects only (foreign ones answer 404).
ProjectReader = Annotated[Principal, Depends(require(Role.BUREAU, Role.MANAGER, Role.LEADER))]
BureauOrLeader = Annotated[Principal, Depends(require(Role.BUREAU, Role.LEADER))]

BUREAU_PATTERN = r"^[a-z][a-z0-9_]{1,39}$"
PROGRAM_PATTERN = r"^[A-Za-z0-9_-]{1,40}$"
PROJECT_PATTERN = r"^[A-Z0-9][A-Z0-9-]{1,39}$"


async def _project_code(
    code: Annotated[str, Path(pattern=PROJECT_PATTERN, description="Project code, e.g. P03-012")],
) -> str:
    structlog.contextvars.bind_contextvars(project=code)  # on every log line of the request
    return code


ProjectCodePath = Annotated[str, Depends(_project_code)]
IdempotencyKeyHeader = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[\x21-\x7e]{1,200}$",
        description="Unique per request you mean once (1–200 printable ASCII characters). "
        "Retrying with the same key and body returns the first result; the same key "
        "with another body answers 409.",
    ),
]


class Paging(BaseModel):
    """The `page` and `page_size` query parameters of a list (`PageQuery`)."""

    page: int
    page_size: int

    @property
    def limit(self) -> int:
        """The rows of one page (a query's LIMIT)."""
        return self.page_size

    @property
    def offset(self) -> int:
        """The rows before this page (a query's OFFSET)."""
        return (self.page - 1) * self.page_size

    def answer(self, found: dict[str, Any]) -> Any:
        """A list's JSON answer: what the query `found` (items, total) with this page's numbers."""
        return jsonable_encoder({**found, "page": self.page, "page_size": self.page_size})


def paging(
    request: Request,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[
        int, Query(ge=1, description="At most GUATU_API_MAX_PAGE_SIZE (200 by default)")
    ] = 50,
) -> Paging:
    cap = get_context(request).options.max_page_size
    if page_size > cap:
        raise ApiError(
            422,
            "page_size_too_large",
            f"每页最多 {cap} 条",
            f"page_size is at most {cap}",
            details={"max_page_size": cap},
        )
    return Paging(page=page, page_size=page_size)


PageQuery = Annotated[Paging, Depends(paging)]

__all__ = [
    "AdminOnly",
    "AnyRole",
    "ApiContext",
    "ApiOptions",
    "BureauOnly",
    "Context",
    "IdempotencyKeyHeader",
    "LeaderOnly",
    "ManagerOnly",
    "BureauOrLeader",
    "BUREAU_PATTERN",
    "PROGRAM_PATTERN",
    "PROJECT_PATTERN",
    "PageQuery",
    "ProjectCodePath",
    "ProjectReader",
    "get_context",
    "get_principal",
    "require",
]
