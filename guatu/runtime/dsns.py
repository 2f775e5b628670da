"""Which DSN each of Guatu's database roles connects with: from the settings, or the embedded
PostgreSQL's roles with the passwords in the data directory. Here, beside the embedded server,
and not in guatu.core.db: core knows no runtime."""

from __future__ import annotations

from config.settings import Settings
from guatu.core.db import RoleDsns
from guatu.core.roles import API, OWNER, READER, WORKER
from guatu.runtime.stack import EmbeddedPostgres, load_credentials


def role_dsns(settings: Settings, port: int | None = None) -> RoleDsns:
    """From the settings (`DATABASE_URL`, `GUATU_DATABASE_URL_API|_WORKER|_READER`, each
    falling back to `DATABASE_URL`), or, for the embedded server, its roles with the passwords
    in the data directory."""
    if settings.database_url:
        url = settings.database_url
        return RoleDsns(
            owner=url,
            api=settings.database_url_api or url,
            worker=settings.database_url_worker or url,
            reader=settings.database_url_reader or url,
        )
    pg = EmbeddedPostgres(settings.data_dir, port=port or settings.postgres_port)
    if not load_credentials(settings.data_dir):
        # Never started with passwords: the DSN fails to connect, and says to whom.
        plain = f"postgresql://postgres@{pg.host}:{pg.port}/postgres"
        return RoleDsns(plain, plain, plain, plain)
    return RoleDsns(
        owner=pg.role_dsn(OWNER),
        api=pg.role_dsn(API),
        worker=pg.role_dsn(WORKER),
        reader=pg.role_dsn(READER),
    )
