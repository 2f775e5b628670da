"""The channel table (`bureau_channels`) and the per-channel delivery status (`notice_deliveries`).

Administrators (API, CLI, as `guatu_api`) set, list and remove a bureau's channels; every
change is in the audit log with the secrets masked. The worker (`guatu_worker`) reads the
channels of a notice's bureau and writes one status row per notice and channel, so that a
channel that took a notice is never sent it again when another channel of the same bureau
fails and the delivery is retried.

A bureau's webhook may also come from config/bureaus.json (`bureaus.webhook_url`, as before
channels existed); a webhook channel set by an administrator takes its place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from guatu.channels.models import ChannelError, ChannelKind, parse_settings
from guatu.channels.secrets import ChannelKeys, context_of, masked
from guatu.core.records import audit_accepted

SOURCE_ADMIN = "admin"
SOURCE_CONFIG = "config"  # the webhook of config/bureaus.json


@dataclass(frozen=True)
class Channel:
    """One channel of a bureau as stored: plain settings, secrets still sealed."""

    bureau: str
    kind: ChannelKind
    settings: dict[str, Any]
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    source: str = SOURCE_ADMIN
    updated_at: datetime | None = None
    updated_by: str = ""

    def view(self) -> dict[str, Any]:
        """What an administrator is shown: settings, and of each secret only whether it is set
        (or which environment variable holds it)."""
        return {
            "channel": self.kind.value,
            "settings": self.settings,
            "secrets": {k: masked(v) for k, v in sorted(self.secrets.items())},
            "source": self.source,
            "updated_at": self.updated_at,
            "updated_by": self.updated_by,
        }

    def reveal(self, keys: ChannelKeys) -> dict[str, str]:
        """The secrets in clear, for one delivery (raises SecretError)."""
        return {
            k: keys.reveal(v, context_of(self.bureau, self.kind.value, k))
            for k, v in self.secrets.items()
        }


def _channel(row: asyncpg.Record) -> Channel:
    return Channel(
        bureau=row["bureau"],
        kind=ChannelKind(row["channel"]),
        settings=dict(row["settings"]),
        secrets=dict(row["secrets"]),
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
    )


async def _bureau_row(conn: asyncpg.Connection, bureau: str) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT code, webhook_url FROM bureaus WHERE code = $1", bureau)
    if row is None:
        raise ChannelError("bureau_not_found", f"单位「{bureau}」不存在", f"no bureau {bureau!r}")
    return row


async def channels_of(conn: asyncpg.Connection, bureau: str) -> list[Channel]:
    """The bureau's channels, the config webhook included unless an administrator set one."""
    row = await _bureau_row(conn, bureau)
    found = [
        _channel(r)
        for r in await conn.fetch(
            "SELECT bureau, channel, settings, secrets, updated_at, updated_by FROM bureau_channels"
            " WHERE bureau = $1 ORDER BY channel",
            bureau,
        )
    ]
    if row["webhook_url"] and all(c.kind is not ChannelKind.WEBHOOK for c in found):
        found.insert(
            0,
            Channel(
                bureau=bureau,
                kind=ChannelKind.WEBHOOK,
                settings={"url": row["webhook_url"]},
                source=SOURCE_CONFIG,
            ),
        )
    return sorted(found, key=lambda c: list(ChannelKind).index(c.kind))


async def list_channels(pool: asyncpg.Pool, bureau: str) -> list[Channel]:
    async with pool.acquire() as conn:
        return await channels_of(conn, bureau)


def _audited(channel: Channel | None) -> dict[str, Any]:
    if channel is None:
        return {}
    view = channel.view()
    return {"channel": view["channel"], "settings": view["settings"], "secrets": view["secrets"]}


async def set_channel(
    pool: asyncpg.Pool,
    keys: ChannelKeys,
    bureau: str,
    kind: ChannelKind,
    body: Any,
    *,
    actor: str,
    door: str = "api",
) -> Channel:
    """Validate and store (replace) the bureau's channel of `kind`. Raises ChannelError."""
    plain, given = parse_settings(kind, body)
    # Encrypt before the transaction: a missing or broken key refuses the whole change.
    sealed = {k: keys.store(v, context_of(bureau, kind.value, k)) for k, v in given.items()}
    async with pool.acquire() as conn, conn.transaction():
        await _bureau_row(conn, bureau)
        before = await conn.fetchrow(
            "SELECT bureau, channel, settings, secrets, updated_at, updated_by"
            " FROM bureau_channels WHERE bureau = $1 AND channel = $2 FOR UPDATE",
            bureau,
            kind.value,
        )
        row = await conn.fetchrow(
            "INSERT INTO bureau_channels (bureau, channel, settings, secrets, updated_at,"
            " updated_by) VALUES ($1, $2, $3, $4, now(), $5)"
            " ON CONFLICT (bureau, channel) DO UPDATE SET settings = excluded.settings,"
            " secrets = excluded.secrets, updated_at = excluded.updated_at,"
            " updated_by = excluded.updated_by"
            " RETURNING bureau, channel, settings, secrets, updated_at, updated_by",
            bureau,
            kind.value,
            plain,
            sealed,
            actor,
        )
        channel = _channel(row)
        await audit_accepted(
            conn,
            "channel",
            actor,
            bureau,
            "channel_set",
            _audited(_channel(before) if before else None),
            _audited(channel),
            door,
        )
    return channel


async def remove_channel(
    pool: asyncpg.Pool, bureau: str, kind: ChannelKind, *, actor: str, door: str = "api"
) -> Channel | None:
    """Remove the bureau's channel of `kind`; None if an administrator had set none."""
    async with pool.acquire() as conn, conn.transaction():
        await _bureau_row(conn, bureau)
        row = await conn.fetchrow(
            "DELETE FROM bureau_channels WHERE bureau = $1 AND channel = $2"
            " RETURNING bureau, channel, settings, secrets, updated_at, updated_by",
            bureau,
            kind.value,
        )
        if row is None:
            return None
        channel = _channel(row)
        await audit_accepted(
            conn, "channel", actor, bureau, "channel_removed", _audited(channel), {}, door
        )
    return channel


# ---------------------------------------------------------------------------------------------
# Delivery status (the worker)
# ---------------------------------------------------------------------------------------------


async def begin_attempt(
    conn: asyncpg.Connection, key: str, channels: list[Channel], redelivery: bool
) -> dict[ChannelKind, str]:
    """Open the notice's status rows for `channels`; on a redelivery the channels that failed
    are pending again. Returns each channel's status: only `pending` ones are sent."""
    async with conn.transaction():
        if redelivery:
            await conn.execute(
                "UPDATE notice_deliveries SET status = 'pending', failed_at = NULL"
                " WHERE notice_key = $1 AND status = 'failed'",
                key,
            )
        await conn.executemany(
            "INSERT INTO notice_deliveries (notice_key, channel) VALUES ($1, $2)"
            " ON CONFLICT DO NOTHING",
            [(key, c.kind.value) for c in channels],
        )
        rows = await conn.fetch(
            "SELECT channel, status FROM notice_deliveries WHERE notice_key = $1", key
        )
    return {ChannelKind(r["channel"]): r["status"] for r in rows}


async def record_delivered(pool: asyncpg.Pool, key: str, kind: ChannelKind) -> None:
    await pool.execute(
        "UPDATE notice_deliveries SET status = 'delivered', attempts = attempts + 1,"
        " delivered_at = now(), failed_at = NULL, last_error = NULL"
        " WHERE notice_key = $1 AND channel = $2",
        key,
        kind.value,
    )


async def record_failed(
    pool: asyncpg.Pool, key: str, kind: ChannelKind, error: str, final: bool
) -> None:
    await pool.execute(
        "UPDATE notice_deliveries SET attempts = attempts + 1, last_error = $3,"
        " status = CASE WHEN $4 THEN 'failed' ELSE status END,"
        " failed_at = CASE WHEN $4 THEN now() ELSE NULL END"
        " WHERE notice_key = $1 AND channel = $2",
        key,
        kind.value,
        error[:500],
        final,
    )


async def close_failed(pool: asyncpg.Pool, key: str) -> None:
    """The delivery gives up: the channels still pending are failed too."""
    await pool.execute(
        "UPDATE notice_deliveries SET status = 'failed', failed_at = now()"
        " WHERE notice_key = $1 AND status = 'pending'",
        key,
    )


__all__ = [
    "SOURCE_ADMIN",
    "SOURCE_CONFIG",
    "Channel",
    "begin_attempt",
    "channels_of",
    "close_failed",
    "list_channels",
    "record_delivered",
    "record_failed",
    "remove_channel",
    "set_channel",
]
