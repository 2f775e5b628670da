"""Connecting to Temporal from settings: address, namespace, TLS files or API key."""

from __future__ import annotations

import asyncio
import time

import structlog
from temporalio.client import Client
from temporalio.service import TLSConfig

from config.settings import Settings
from guatu.core import metrics, tracing
from guatu.core.payload_codec import data_converter


def tls_config(settings: Settings) -> TLSConfig | bool:
    if not (settings.temporal_tls_cert or settings.temporal_tls_ca):
        # Temporal Cloud with an API key needs TLS without client certificates.
        return bool(settings.temporal_api_key)
    return TLSConfig(
        server_root_ca_cert=settings.temporal_tls_ca.read_bytes()
        if settings.temporal_tls_ca
        else None,
        client_cert=settings.temporal_tls_cert.read_bytes() if settings.temporal_tls_cert else None,
        client_private_key=settings.temporal_tls_key.read_bytes()
        if settings.temporal_tls_key
        else None,
        domain=settings.temporal_tls_server_name,
    )


log = structlog.get_logger("guatu.core.temporal_client")

# Transient answers from a frontend that is starting or restarting; anything else (bad TLS,
# wrong namespace, refused API key) fails at once so the operator sees it.
_STARTING = ("Frontend is not healthy yet", "Unavailable", "connection refused")


async def connect(
    settings: Settings, target: str | None = None, ready_timeout: float = 30.0
) -> Client:
    """Connect, waiting up to `ready_timeout` seconds for a frontend that is still starting."""
    deadline = time.monotonic() + ready_timeout
    delay = 0.2
    # Payloads are encrypted when keys are in force (guatu/core/payload_codec.py); the worker built
    # on this client encodes and decodes with the same converter. An explicit `target` is not
    # the embedded server of the settings' data directory, so its key file does not apply.
    converter = data_converter(settings, embedded=settings.embedded_temporal and target is None)
    while True:
        try:
            return await Client.connect(
                target or settings.temporal_target,
                namespace=settings.temporal_namespace,
                tls=tls_config(settings),
                api_key=settings.temporal_api_key,
                data_converter=converter,
                runtime=metrics.temporal_runtime(settings),
                interceptors=tracing.temporal_interceptors(settings),
            )
        except RuntimeError as exc:
            if time.monotonic() + delay > deadline or not any(m in str(exc) for m in _STARTING):
                raise
            log.warning(
                "temporal_not_ready",
                target=target or settings.temporal_target,
                error=str(exc),
                retry_in=delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
