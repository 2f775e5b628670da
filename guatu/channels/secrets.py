"""Channel secrets at rest: AES-GCM with key ids, or a reference to the environment.

A secret an administrator gives is stored as `enc:<key id>:<base64 of nonce + ciphertext>`,
encrypted with the first of the channel keys; `env:NAME` is stored as it is and read from the
worker's environment at each delivery (the secret then never enters PostgreSQL). The row's
bureau, channel and field are the associated data, so a ciphertext copied to another row does
not open.

The keys are handled as the payload codec's (`guatu.core.payload_codec`: same shapes, same rotation:
newest first, every listed key decrypts): `GUATU_CHANNEL_KEYS`, else `channel_keys.json` in the
data directory (mode 0600, generated at first use). The API, the CLI and every worker must see
the same keys: with more than one host, set `GUATU_CHANNEL_KEYS` (docs/operations.md
"Channels").
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from functools import cached_property

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from config.settings import Settings
from guatu.channels.models import ENV_PREFIX
from guatu.core.payload_codec import (
    NONCE_BYTES,
    PayloadKey,
    PayloadKeyError,
    load_or_create_key_file,
    parse_keys,
)

ENC_PREFIX = "enc:"
KEY_FILE = "channel_keys.json"


class SecretError(ValueError):
    """A stored secret that cannot be read: an unknown key id, a damaged value, a missing
    environment variable. Retrying does not help; the administrator must act."""


class SecretBox:
    """Seals with the first key, opens with whichever listed key a value names."""

    def __init__(self, keys: Sequence[PayloadKey]) -> None:
        if not keys:
            raise SecretError("channel secrets need at least one key")
        self.current = keys[0].id
        self._ciphers = {k.id: AESGCM(k.key) for k in keys}

    def seal(self, value: str, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        data = nonce + self._ciphers[self.current].encrypt(nonce, value.encode(), context.encode())
        return f"{ENC_PREFIX}{self.current}:{base64.b64encode(data).decode()}"

    def open(self, stored: str, context: str) -> str:
        key_id, _, text = stored.removeprefix(ENC_PREFIX).partition(":")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise SecretError(
                f"channel secret encrypted with key id {key_id!r}, which is not "
                f"among the channel keys ({', '.join(self._ciphers)})"
            )
        try:
            data = base64.b64decode(text, validate=True)
            return cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], context.encode()).decode()
        except (binascii.Error, ValueError, InvalidTag):
            raise SecretError(
                f"channel secret of {context} does not decrypt with key "
                f"{key_id!r} (another key under that id, or a damaged value)"
            ) from None


class ChannelKeys:
    """The channel keys of `settings`, loaded at first use: a bureau without encrypted secrets
    never needs them (and no key file is created for it)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def box(self) -> SecretBox:
        try:
            if self.settings.channel_keys is not None:
                keys = parse_keys(self.settings.channel_keys.get_secret_value())
            else:
                keys = load_or_create_key_file(self.settings.data_dir / KEY_FILE)
        except PayloadKeyError as err:
            raise SecretError(
                f"channel keys (GUATU_CHANNEL_KEYS or {KEY_FILE}): "
                f"{str(err).replace('GUATU_PAYLOAD_KEYS', 'the key list')}"
            ) from None
        return SecretBox(keys)

    def store(self, value: str, context: str) -> str:
        """What the table keeps for a secret as given (`env:NAME` stays a reference)."""
        return value if value.startswith(ENV_PREFIX) else self.box.seal(value, context)

    def reveal(self, stored: str, context: str) -> str:
        if stored.startswith(ENV_PREFIX):
            name = stored[len(ENV_PREFIX) :]
            value = os.environ.get(name)
            if not value:
                raise SecretError(
                    f"environment variable {name} (the secret of {context}) is "
                    "not set for the worker"
                )
            return value
        if stored.startswith(ENC_PREFIX):
            return self.box.open(stored, context)
        raise SecretError(f"the secret of {context} is stored in an unknown form")


def masked(stored: str) -> str:
    """How a stored secret is shown: never its value; a reference by its variable name."""
    return stored if stored.startswith(ENV_PREFIX) else "set"


def context_of(bureau: str, channel: str, field: str) -> str:
    return f"{bureau}/{channel}/{field}"


__all__ = [
    "ENC_PREFIX",
    "KEY_FILE",
    "ChannelKeys",
    "SecretBox",
    "SecretError",
    "context_of",
    "masked",
]
