"""Bearer-token authentication, role checks, the per-token rate limit and who the client is."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from guatu.api.errors import ApiError, retry_later, unauthorized
from guatu.core.tokens import Principal, Role

if TYPE_CHECKING:
    from starlette.requests import Request

ROLE_ZH = {
    Role.BUREAU: "部门",
    Role.MANAGER: "项目管理",
    Role.LEADER: "领导",
    Role.ADMIN: "管理员",
    Role.OBSERVER: "市民观察员",
    Role.EVALUATOR: "第三方评估机构",
}


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class RateLimiter:
    """A token bucket per API token, in memory (one API process; restarts refill every bucket).

    Each request takes one token; a bucket holds at most `burst` and refills at `rate` per
    second. An empty bucket answers 429 with `Retry-After` (whole seconds until one token).
    """

    rate: float
    burst: int
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def _now(self) -> float:
        return time.monotonic()

    max_keys: int = 10_000

    def _prune(self, now: float) -> None:
        """Forget buckets that have refilled: they behave exactly like new ones."""
        self._buckets = {
            k: b
            for k, b in self._buckets.items()
            if b.tokens + (now - b.at) * self.rate < self.burst
        }

    def take(self, key: str) -> float | None:
        """Take one token for `key`; None if granted, else seconds until the next token."""
        now = self._now()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._prune(now)
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self.rate if self.rate > 0 else 3600.0

    def peek(self, key: str) -> float | None:
        """Seconds until `key` has a token again, or None if it has one (nothing taken)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return None
        tokens = min(float(self.burst), bucket.tokens + (self._now() - bucket.at) * self.rate)
        return None if tokens >= 1.0 else (1.0 - tokens) / self.rate if self.rate > 0 else 3600.0

    def check(self, principal: Principal) -> None:
        wait = self.take(principal.token_id)
        if wait is not None:
            raise retry_later(
                wait,
                "rate_limited",
                "请求过于频繁，请 {seconds} 秒后重试",
                "too many requests; retry in {seconds} s",
            )


def too_many_failures(wait: float) -> ApiError:
    return retry_later(
        wait,
        "too_many_failed_logins",
        "无效令牌尝试过多，请 {seconds} 秒后重试",
        "too many requests with invalid tokens; retry in {seconds} s",
    )


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Addresses or CIDR blocks (`10.0.0.1`, `10.0.0.0/8`, `::1`); ValueError names a bad one."""
    networks = []
    for value in values:
        text = value.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or CIDR block: {text!r}") from None
    return tuple(networks)


def _trusted(address: str, trusted: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(
    peer: str | None, forwarded_for: str | None, trusted: Sequence[IPNetwork]
) -> str:
    """The client of a request, as the nearest proxy we trust reports it.

    `X-Forwarded-For` is read only when the connection itself comes from a trusted proxy, and
    then from the right: every proxy appends the address it saw, so the first hop that is not a
    trusted proxy is the client; anything further left was written by that client and may be
    forged. With no trusted proxies (the default) the header is ignored, loopback included.
    """
    if peer is None:
        return "-"
    if not forwarded_for or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop[:100]
    return hops[0][:100] if hops else peer


def request_client(request: Request, trusted: Sequence[IPNetwork]) -> str:
    """The client of `request`: `client_address` of its peer and its X-Forwarded-For headers."""
    return client_address(
        request.client.host if request.client else None,
        ",".join(request.headers.getlist("x-forwarded-for")),
        trusted,
    )


def parse_bearer(header: str | None) -> str:
    """The raw token of an `Authorization: Bearer …` header; 401 if absent or malformed."""
    if not header:
        raise unauthorized(
            "missing_token",
            "缺少访问令牌（Authorization: Bearer …）",
            "missing bearer token (Authorization: Bearer …)",
        )
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise unauthorized("invalid_token", "访问令牌格式错误", "malformed bearer token")
    return value.strip()


def check_role(principal: Principal, roles: frozenset[Role]) -> None:
    if principal.role not in roles:
        allowed_zh = "、".join(ROLE_ZH[r] for r in sorted(roles))
        allowed_en = ", ".join(sorted(r.value for r in roles))
        raise ApiError(
            403,
            "forbidden",
            f"该操作仅限{allowed_zh}令牌",
            f"this action needs a token of role {allowed_en}",
        )


__all__ = [
    "RateLimiter",
    "check_role",
    "client_address",
    "parse_bearer",
    "parse_networks",
    "too_many_failures",
]
