"""Guatu's PostgreSQL roles and what each may do (docs/operations.md, "Database roles").

- `guatu_owner` owns the schema: the migrations run as it, nothing else does.
- `guatu_worker` (the activities, `guatu up`'s reference data) reads and writes rows of the
  read model (the notice channels it delivers to, their delivery status); it cannot change a
  table, nor read or write the API's tokens.
- `guatu_api` (the HTTP API and the CLI) reads the read model and writes only its own rows:
  tokens, idempotency keys, the audit log of what it refused, a notice's acknowledgement,
  the bureaus' notice channels (administrators).
- `guatu_reader` (the leaders' dashboard and reads) reads; it writes nothing and cannot see
  the tokens nor the channels' (sealed) secrets.

`roles_sql` creates the roles (a superuser or a role with CREATEROLE runs it once; the embedded
stack at every start); `GRANTS` are applied by the owner after every migration, so a table a
later migration adds is covered without another step. docs/sql/roles.sql is `roles_sql()`
for psql.
"""

from __future__ import annotations

from collections.abc import Mapping

OWNER = "guatu_owner"
API = "guatu_api"
WORKER = "guatu_worker"
READER = "guatu_reader"
ROLES = (OWNER, API, WORKER, READER)

# The API's own rows. A route that needs another write fails with "permission denied", in the
# tests first: add the table here, with the narrowest privilege that does.
_API_WRITES = (
    "GRANT INSERT, UPDATE, DELETE ON api_tokens, api_idempotency TO guatu_api",
    "GRANT INSERT ON audit_log TO guatu_api",
    # An Update's rows, written through by the door that sent it (guatu.lifecycle.projection):
    # inserted and (the project's snapshot, guarded by version) updated, never deleted.
    "GRANT INSERT, UPDATE ON projects TO guatu_api",
    "GRANT INSERT ON stage_history, progress_reports, light_history TO guatu_api",
    "GRANT INSERT, UPDATE ON project_issues TO guatu_api",
    "GRANT UPDATE (acknowledged_at) ON notifications TO guatu_api",
    # Administrators set a bureau's notice channels (guatu/channels/store.py).
    "GRANT INSERT, UPDATE, DELETE ON bureau_channels TO guatu_api",
    # 市民观察 photos are stored by the door before the workflow starts (guatu/society/service.py);
    # 第三方评估 evaluations and the bureaus' answers are written by the door, never updated.
    "GRANT INSERT, UPDATE, DELETE ON observation_photos TO guatu_api",
    "GRANT INSERT ON evaluations, evaluation_answers TO guatu_api",
    # Leaders and administrators manage 示范场景 scenes; the plan import adds members.
    "GRANT INSERT, UPDATE, DELETE ON scenes, scene_projects TO guatu_api",
)
_PRIVATE = "api_tokens, api_idempotency"  # token hashes and request hashes: the API's alone

GRANTS: dict[str, tuple[str, ...]] = {
    WORKER: (
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO guatu_worker",
        f"REVOKE ALL ON {_PRIVATE} FROM guatu_worker",
        "REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM guatu_worker",
        # It delivers through the bureaus' channels; administrators set them (the API's role).
        "REVOKE INSERT, UPDATE, DELETE ON bureau_channels FROM guatu_worker",
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO guatu_worker",
    ),
    API: (
        "GRANT SELECT ON ALL TABLES IN SCHEMA public TO guatu_api",
        *_API_WRITES,
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO guatu_api",
    ),
    READER: (
        "GRANT SELECT ON ALL TABLES IN SCHEMA public TO guatu_reader",
        f"REVOKE ALL ON {_PRIVATE} FROM guatu_reader",
        # Sealed channel secrets: no dashboard read needs them.
        "REVOKE ALL ON bureau_channels FROM guatu_reader",
    ),
}

_CREATE = """\
SET password_encryption = 'scram-sha-256';
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['guatu_owner', 'guatu_api', 'guatu_worker', 'guatu_reader'] LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I', r);
    END IF;
  END LOOP;
END $$;
"""

_SCHEMA = """\
DO $$
BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO guatu_owner, guatu_api, guatu_worker,'
                 ' guatu_reader', current_database());
END $$;
GRANT USAGE, CREATE ON SCHEMA public TO guatu_owner;
GRANT USAGE ON SCHEMA public TO guatu_api, guatu_worker, guatu_reader;
-- Tables made before the owner role existed (migrated as another role) pass to the owner, so
-- that the next migration, run as the owner, may alter them.
DO $$
DECLARE r record;
BEGIN
  FOR r IN
    SELECT c.relname, c.relkind FROM pg_class c
     WHERE c.relnamespace = 'public'::regnamespace
       AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
       AND c.relowner <> 'guatu_owner'::regrole
       -- a serial column's sequence follows its table
       AND NOT (c.relkind = 'S' AND EXISTS (
             SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
  LOOP
    EXECUTE format('ALTER %s %I OWNER TO guatu_owner',
                   CASE r.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                                  WHEN 'm' THEN 'MATERIALIZED VIEW'
                                  WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                   r.relname);
  END LOOP;
END $$;
"""


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def roles_sql(passwords: Mapping[str, str] | None = None) -> str:
    """The SQL that creates the roles in the current database (idempotent).

    Without `passwords`, the passwords are psql variables (`psql -v guatu_owner_password=…`);
    with them (the embedded stack, tests), literals.
    """
    lines = [
        '-- Guatu\'s PostgreSQL roles (docs/operations.md, "Database roles"); generated by',
        "-- guatu/core/roles.py. Run once as a superuser (or a role with CREATEROLE), connected",
        "-- to Guatu's database:",
        '--   psql "$ADMIN_URL" -v guatu_owner_password=… -v guatu_api_password=… \\',
        "--        -v guatu_worker_password=… -v guatu_reader_password=… -f roles.sql",
        "\\set ON_ERROR_STOP on" if passwords is None else "",
        _CREATE,
    ]
    for role in ROLES:
        secret = f":'{role}_password'" if passwords is None else _literal(passwords[role])
        lines.append(
            f"ALTER ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
            f"NOREPLICATION NOBYPASSRLS PASSWORD {secret};"
        )
    lines.append(_SCHEMA)
    return "\n".join(line for line in lines if line)


if __name__ == "__main__":  # `python -m guatu.core.roles > roles.sql`
    print(roles_sql())
