"""API bearer tokens: created, verified and revoked here; shared by the HTTP API and the CLI.

A raw token looks like `gt_<id>_<secret>`: `id` (12 hex digits) names the token in listings,
audit rows and `revoke`; `secret` is 32 random bytes. Only the SHA-256 of the whole raw token
is stored, so a copy of the database gives no usable token. A token has one role:

- `bureau`  — a bureau system, scoped to the projects of one bureau (`bureau` is required);
- `manager` — project managers: start, import, plan change, suspend / resume / cancel;
- `leader`  — district leaders: read everything, rankings, escalations;
- `admin`   — token administration;
- `observer` — a recruited 市民观察员: files observations and rates the replies to them;
- `evaluator` — an accredited third-party agency (第三方评估), scoped to the programs it is
  engaged for (`programs` is required).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import asyncpg

TOKEN_PREFIX = "gt_"
_TOKEN_RE = re.compile(r"^gt_([0-9a-f]{12})_[A-Za-z0-9_-]{20,100}$")
# `last_used_at` is refreshed at most this often, so verification is not a write per request.
_TOUCH_EVERY = timedelta(minutes=5)


class Role(StrEnum):
    BUREAU = "bureau"
    MANAGER = "manager"
    LEADER = "leader"
    ADMIN = "admin"
    OBSERVER = "observer"
    EVALUATOR = "evaluator"


class TokenError(ValueError):
    """A token cannot be created as asked (unknown role, bureau missing or unknown)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: what the API knows about a verified token."""

    token_id: str
    role: Role
    bureau: str | None = None
    label: str = ""
    programs: tuple[str, ...] = ()  # an evaluator's engagement

    @property
    def actor(self) -> str:
        """The audit actor: always derived from the token, never from a request body."""
        name = f"{self.role.value}:{self.token_id}"
        return f"{name} ({self.label})" if self.label else name


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def token_id_of(raw: str) -> str | None:
    """The id embedded in a raw token, or None if it is not shaped like one of ours."""
    match = _TOKEN_RE.match(raw)
    return match.group(1) if match else None


async def create_token(
    pool: asyncpg.Pool,
    role: str,
    bureau: str | None = None,
    label: str = "",
    programs: list[str] | tuple[str, ...] = (),
) -> str:
    """Create a token and return the raw value: it is shown once and never stored."""
    try:
        parsed = Role(role)
    except ValueError:
        raise TokenError(
            f"unknown role {role!r}; one of {', '.join(r.value for r in Role)}"
        ) from None
    if parsed is Role.BUREAU and not bureau:
        raise TokenError("a bureau token needs the bureau code it acts for")
    if parsed is not Role.BUREAU and bureau:
        raise TokenError(f"a {parsed.value} token is not scoped to a bureau")
    if parsed is Role.EVALUATOR and not programs:
        raise TokenError("an evaluator token needs the programs it is engaged for")
    if parsed is not Role.EVALUATOR and programs:
        raise TokenError(f"a {parsed.value} token is not scoped to programs")
    if len(label) > 100:
        raise TokenError("the label is longer than 100 characters")
    token_id = secrets.token_hex(6)
    raw = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    async with pool.acquire() as conn:
        if bureau is not None and not await conn.fetchval(
            "SELECT 1 FROM bureaus WHERE code = $1", bureau
        ):
            raise TokenError(f"unknown bureau {bureau!r}")
        if programs:
            known = {r["code"] for r in await conn.fetch("SELECT code FROM programs")}
            unknown = sorted(set(programs) - known)
            if unknown:
                raise TokenError(f"unknown program(s) {', '.join(unknown)}")
        await conn.execute(
            "INSERT INTO api_tokens (id, token_hash, role, bureau, label, programs)"
            " VALUES ($1,$2,$3,$4,$5,$6)",
            token_id,
            hash_token(raw),
            parsed.value,
            bureau,
            label,
            sorted(set(programs)),
        )
    return raw


class RevokeRefused(TokenError):
    """A revocation that would lock the administrators out; `code`, `zh`, `en` say why."""

    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.code, self.zh, self.en = code, zh, en


async def revoke_token(pool: asyncpg.Pool, token_id: str, *, by: str | None = None) -> bool:
    """Revoke a token by its id. Returns False if no live token has that id.

    `by` is the id of the token asking (the API's admin): it may not revoke itself. The last
    live admin token is never revoked, by anyone: without it no token could be issued again.
    Raises `RevokeRefused` for either.
    """
    if by is not None and by == token_id:
        raise RevokeRefused(
            "cannot_revoke_own_token",
            "不能吊销正在使用的令牌；请用另一个管理员令牌操作",
            "a token cannot revoke itself; use another admin token",
        )
    async with pool.acquire() as conn, conn.transaction():
        # The live admin tokens, locked: two admins revoking each other at once are serialised,
        # and the second finds itself the last one.
        admins = {
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL"
                " ORDER BY id FOR UPDATE"
            )
        }
        if admins == {token_id}:
            raise RevokeRefused(
                "last_admin_token",
                "这是最后一个有效的管理员令牌，不能吊销；请先创建新的管理员令牌",
                "this is the last live admin token and cannot be revoked; "
                "create another admin token first",
            )
        done = await conn.fetchval(
            "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL"
            " RETURNING id",
            token_id,
        )
    return done is not None


async def verify_token(pool: asyncpg.Pool, raw: str) -> Principal | None:
    """The principal of a live token, or None for an unknown, malformed or revoked one."""
    if token_id_of(raw) is None:
        return None
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT id, role, bureau, label, programs, last_used_at FROM api_tokens"
            " WHERE token_hash = $1 AND revoked_at IS NULL",
            hash_token(raw),
        )
        if row is None:
            return None
        now = datetime.now(UTC)
        if row["last_used_at"] is None or now - row["last_used_at"] > _TOUCH_EVERY:
            await conn.execute(
                "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1", row["id"], now
            )
    return Principal(
        token_id=row["id"],
        role=Role(row["role"]),
        bureau=row["bureau"],
        label=row["label"],
        programs=tuple(row["programs"] or ()),
    )


async def list_tokens(pool: asyncpg.Pool, include_revoked: bool = False) -> list[dict[str, Any]]:
    """Every token without its hash, newest first."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id, role, bureau, label, programs, created_at, revoked_at, last_used_at"
            " FROM api_tokens WHERE $1 OR revoked_at IS NULL ORDER BY created_at DESC, id",
            include_revoked,
        )
    return [dict(r) for r in rows]


__all__ = [
    "Principal",
    "RevokeRefused",
    "Role",
    "TokenError",
    "create_token",
    "hash_token",
    "list_tokens",
    "revoke_token",
    "token_id_of",
    "verify_token",
]
