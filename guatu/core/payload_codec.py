"""Payload encryption: AES-GCM with key ids and rotation, composed with Guatu's data converter.

Every payload Guatu hands to Temporal (workflow inputs and results, update and signal
arguments, activity arguments, memos) is encrypted with the *current* key before it leaves the
process; Temporal stores ciphertext. Keys come from `GUATU_PAYLOAD_KEYS`, newest first:

- a JSON list: `[{"id": "2026-10", "key": "<base64 of 32 bytes>"}, {"id": "2026-01", ...}]`, or
- `id:base64key,id2:base64key2`.

The first key encrypts; every listed key decrypts, so a key is rotated by putting a new one in
front and keeping the old one until no open history holds payloads written with it. A payload
without our encoding (histories written before encryption was switched on) passes through, and
one encrypted with a key id that is not listed fails loudly with that id in the message.

The embedded stack needs no setting: `guatu up` generates a key into the data directory
(`payload_keys.json`, mode 0600) on its first start (docs/operations.md says why).

The payload layout follows temporalio/samples-python `encryption/` (metadata `encoding:
binary/encrypted` and `encryption-key-id`, data = 12-byte nonce + AES-GCM ciphertext of the
serialized inner payload), so Temporal's tools and other SDKs' samples recognise it; the key id
is also bound as associated data, so a payload relabelled with another key id does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, PayloadCodec

from config.settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12
KEY_BYTES = 32  # AES-256
KEY_FILE = "payload_keys.json"
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

log = structlog.get_logger("guatu.core.payload_codec")


class PayloadKeyError(ValueError):
    """A key list that cannot be used, or a payload that none of the keys can open."""


@dataclass(frozen=True)
class PayloadKey:
    id: str
    key: bytes = dataclasses.field(repr=False)

    def __post_init__(self) -> None:
        if not _KEY_ID.match(self.id):
            raise PayloadKeyError(
                f"payload key id {self.id!r} must be 1-64 characters of A-Z a-z 0-9 . _ -"
            )
        if len(self.key) != KEY_BYTES:
            raise PayloadKeyError(
                f"payload key {self.id!r} has {len(self.key)} bytes; "
                f"AES-256 needs {KEY_BYTES} (base64 of 32 random bytes)"
            )

    @classmethod
    def generate(cls, key_id: str) -> PayloadKey:
        return cls(key_id, AESGCM.generate_key(bit_length=KEY_BYTES * 8))

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "key": base64.b64encode(self.key).decode()}


def _decode_key(key_id: str, text: str) -> PayloadKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise PayloadKeyError(f"payload key {key_id!r} is not valid base64") from None
    return PayloadKey(key_id, raw)


def parse_keys(text: str) -> list[PayloadKey]:
    """The keys of `GUATU_PAYLOAD_KEYS`, newest (the one that encrypts) first."""
    text = text.strip()
    if text.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as err:
            raise PayloadKeyError(f"GUATU_PAYLOAD_KEYS is not valid JSON: {err}") from None
        if not all(
            isinstance(i, dict) and isinstance(i.get("id"), str) and isinstance(i.get("key"), str)
            for i in items
        ):
            raise PayloadKeyError('GUATU_PAYLOAD_KEYS: every entry needs "id" and "key" strings')
        keys = [_decode_key(i["id"], i["key"]) for i in items]
    else:
        keys = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            key_id, sep, value = part.partition(":")
            if not sep:
                raise PayloadKeyError("GUATU_PAYLOAD_KEYS: write each key as id:base64key")
            keys.append(_decode_key(key_id.strip(), value))
    if not keys:
        raise PayloadKeyError("GUATU_PAYLOAD_KEYS holds no key")
    ids = [k.id for k in keys]
    if len(set(ids)) != len(ids):
        raise PayloadKeyError(f"GUATU_PAYLOAD_KEYS repeats a key id: {ids}")
    return keys


class EncryptionCodec(PayloadCodec):
    """Encrypts with the first key; decrypts with whichever listed key a payload names.

    AES-GCM on payloads of at most a few hundred KiB costs microseconds, so it runs inline on
    the event loop like the rest of the data converter.
    """

    def __init__(self, keys: Sequence[PayloadKey]) -> None:
        if not keys:
            raise PayloadKeyError("the payload codec needs at least one key")
        self.current = keys[0].id
        self._ciphers = {k.id: AESGCM(k.key) for k in keys}

    @property
    def key_ids(self) -> list[str]:
        return list(self._ciphers)

    async def encode(self, payloads: Iterable[Payload]) -> list[Payload]:
        cipher, key_id = self._ciphers[self.current], self.current.encode()
        out = []
        for p in payloads:
            nonce = os.urandom(NONCE_BYTES)
            out.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id},
                    data=nonce + cipher.encrypt(nonce, p.SerializeToString(), key_id),
                )
            )
        return out

    async def decode(self, payloads: Iterable[Payload]) -> list[Payload]:
        return [self._open(p) for p in payloads]

    def _open(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before encryption was on: plain, readable as it is
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadKeyError(
                f"payload encrypted with key id {key_id!r}, which is not in GUATU_PAYLOAD_KEYS "
                f"(known: {', '.join(self._ciphers)}); add that key back to read it"
            )
        data = payload.data
        try:
            inner = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], key_id.encode())
        except InvalidTag:
            raise PayloadKeyError(
                f"payload labelled with key id {key_id!r} does not decrypt with that key "
                "(a different key under the same id, or a damaged payload)"
            ) from None
        return Payload.FromString(inner)


def load_or_create_key_file(path: Path) -> list[PayloadKey]:
    """The embedded stack's keys, kept beside its data (mode 0600); one is generated on the
    first start. The file has the JSON-list shape of GUATU_PAYLOAD_KEYS."""
    if path.exists():
        return parse_keys(path.read_text(encoding="utf-8"))
    path.parent.mkdir(parents=True, exist_ok=True)
    key = PayloadKey.generate("k1")
    # O_EXCL: two processes starting at once must not each write (and use) a key of their own.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return parse_keys(path.read_text(encoding="utf-8"))
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump([key.to_json()], f, indent=2)
    log.info("payload key generated", path=str(path), key_id=key.id)
    return [key]


def payload_keys(settings: Settings, embedded: bool | None = None) -> list[PayloadKey] | None:
    """The keys in force: GUATU_PAYLOAD_KEYS if set; else, for the embedded Temporal of the
    settings' data directory (`embedded`, default `settings.embedded_temporal`), that
    directory's key file (created on first use); else none (payloads stay plain)."""
    if settings.payload_keys is not None:
        return parse_keys(settings.payload_keys.get_secret_value())
    if settings.embedded_temporal if embedded is None else embedded:
        return load_or_create_key_file(settings.data_dir / KEY_FILE)
    # Said once as a warning by the long-running processes (`warn_if_plain`); a CLI command
    # keeps its stderr to its own one-line answer.
    log.info("payload encryption off", temporal=settings.temporal_target)
    return None


def warn_if_plain(settings: Settings) -> None:
    """At the start of a worker or `guatu up`: payloads to an external Temporal without keys
    are stored in clear text — an operator must hear it."""
    if settings.payload_keys is None and not settings.embedded_temporal:
        log.warning(
            "payload encryption off: GUATU_PAYLOAD_KEYS is not set for the external "
            "Temporal, so workflow payloads are stored in clear text",
            temporal=settings.temporal_target,
        )


def with_codec(converter: DataConverter, keys: Sequence[PayloadKey] | None) -> DataConverter:
    if not keys:
        return converter
    return dataclasses.replace(converter, payload_codec=EncryptionCodec(keys))


def data_converter(settings: Settings, embedded: bool | None = None) -> DataConverter:
    """Guatu's converter (pydantic models as JSON) with the payload codec when keys are in
    force (`embedded` as in `payload_keys`)."""
    return with_codec(pydantic_data_converter, payload_keys(settings, embedded))


__all__ = [
    "ENCODING",
    "KEY_ID_METADATA",
    "EncryptionCodec",
    "PayloadKey",
    "PayloadKeyError",
    "data_converter",
    "load_or_create_key_file",
    "parse_keys",
    "payload_keys",
    "with_codec",
]
