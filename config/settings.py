"""One typed settings object, read from the environment (prefix GUATU_) and `.env`.

Everything that differs between a laptop and production lives here: Temporal address,
namespace, TLS files or API key, the database URL, ports and the data directory. When
`GUATU_TEMPORAL_ADDRESS` or `DATABASE_URL` is set, nothing embedded is started for it.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = Path(__file__).resolve().parent

# The embedded dev server's SQLite (GUATU_TEMPORAL_SQLITE_PRAGMAS, a JSON list of PRAGMA=VALUE).
# WAL keeps SQLite's default synchronous=FULL (every acknowledged commit is on disk) at one fsync
# per commit instead of the rollback journal's several: ×1.5 lifecycle throughput on the bench.
TEMPORAL_SQLITE_PRAGMAS = ("journal_mode=wal",)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GUATU_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    # Temporal: empty address → start the embedded dev server.
    temporal_address: str | None = None
    temporal_namespace: str = "default"
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    temporal_tls_server_name: str | None = None
    temporal_api_key: str | None = None
    task_queue: str = "guatu-projects"

    # Embedded Temporal dev server.
    temporal_ip: str = "127.0.0.1"
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    temporal_sqlite_pragmas: list[str] = Field(
        default_factory=lambda: list(TEMPORAL_SQLITE_PRAGMAS)
    )

    # PostgreSQL: empty → start the embedded server. `DATABASE_URL` is accepted unprefixed.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("GUATU_DATABASE_URL", "DATABASE_URL")
    )
    postgres_port: int = 55432
    db_pool_min: int = 2
    db_pool_max: int = 10

    data_dir: Path = ROOT / ".guatu"

    # HTTP API.
    api_host: str = "127.0.0.1"
    api_port: int = 8000

    # Programme.
    programme_start_year: int = Field(default_factory=lambda: date.today().year)
    clock_scale: float = 1.0
    load_sample: bool = True

    # Worker.
    max_concurrent_activities: int = 200
    max_cached_workflows: int = 20000
    graceful_shutdown_seconds: int = 30
    webhook_timeout_seconds: float = 10.0
    # Read-model sweeper (guatu.runtime.sweeper): every N seconds, open projects whose read model
    # is behind their run (a door died between an Update and its write) are caught up. 0: off.
    sweep_seconds: float = 300.0

    log_level: str = "INFO"
    # Kept for compatibility: GUATU_LOG_JSON=true/false means json/console when GUATU_LOG_FORMAT
    # is left at auto.
    log_json: bool | None = None

    # Logs: auto = coloured lines for a person when the log stream is a terminal, JSON otherwise.
    log_format: Literal["auto", "console", "json"] = "auto"

    # PostgreSQL roles (docs/operations.md, "Database roles"): DATABASE_URL is the owner's
    # (migrations); the API (and the CLI), the worker and the leaders' reads connect with their
    # own, each falling back to DATABASE_URL. The embedded stack sets all four itself.
    database_url_api: str | None = None
    database_url_worker: str | None = None
    database_url_reader: str | None = None

    # Metrics and traces (docs/operations.md, "Metrics" and "Traces").
    # `/metrics` on the API port, with the Temporal SDK's own series; false: no route, no exporter.
    metrics_enabled: bool = True
    # Where the SDK's Prometheus exporter listens (host:port, loopback): `/metrics` reads it
    # there and appends it. Empty: a free loopback port chosen at start.
    temporal_metrics_address: str | None = None
    # The standalone worker (`python worker.py`) serves `/metrics` on this port; unset: it does not.
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int | None = None
    # OTLP/HTTP collector for traces (the standard variable, e.g. http://collector:4318); unset:
    # no tracing at all, no interceptor, no instrumentation.
    otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT", "GUATU_OTLP_ENDPOINT"),
    )

    # Payload encryption (guatu/core/payload_codec.py, docs/operations.md "Payload encryption"):
    # keys newest first, as a JSON list [{"id": …, "key": base64 of 32 bytes}, …] or
    # "id:base64,id2:base64". Unset: the embedded stack keeps its own key in the data directory;
    # an external Temporal gets clear-text payloads (with a warning).
    payload_keys: SecretStr | None = None
    # Origins of the Temporal Web UI allowed to call the codec endpoint (/codec) from a browser;
    # empty: the embedded UI (http://<temporal_ip>:<temporal_ui_port> and localhost).
    codec_cors_origins: list[str] = Field(default_factory=list)

    # Worker Deployment Versioning (docs/operations.md "Rolling out a new worker version"):
    # both set → the worker polls as version <deployment_name>.<build_id>; unset → unversioned.
    deployment_name: str | None = None
    build_id: str | None = None

    # Notice channels (guatu/channels, docs/operations.md "Channels"). Keys that encrypt the
    # robot keys and SMTP passwords kept in PostgreSQL, in the shape of GUATU_PAYLOAD_KEYS;
    # unset: `channel_keys.json` in the data directory (mode 0600, made at first use).
    channel_keys: SecretStr | None = None
    # The district's mail server, for e-mail channels that name none of their own.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = None
    smtp_timeout_seconds: float = 10.0

    @property
    def embedded_temporal(self) -> bool:
        return not self.temporal_address

    @property
    def embedded_postgres(self) -> bool:
        return not self.database_url

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"{self.temporal_ip}:{self.temporal_port}"

    @property
    def codec_origins(self) -> list[str]:
        if self.codec_cors_origins:
            return self.codec_cors_origins
        return [
            f"http://{self.temporal_ip}:{self.temporal_ui_port}",
            f"http://localhost:{self.temporal_ui_port}",
        ]


@lru_cache
def get_settings() -> Settings:
    return Settings()
