-- The HTTP API: bearer tokens (stored as SHA-256 hashes) and idempotency keys of requests.

CREATE TABLE api_tokens (
    id          text PRIMARY KEY,
    token_hash  text NOT NULL UNIQUE,          -- hex SHA-256 of the raw token; the raw token is never stored
    role        text NOT NULL CHECK (role IN ('bureau', 'manager', 'leader', 'admin')),
    bureau      text REFERENCES bureaus (code),
    label       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    last_used_at timestamptz,
    CHECK ((role = 'bureau') = (bureau IS NOT NULL))
);

-- One row per (project, Idempotency-Key) the API has passed on to a workflow. A key reused
-- with another body (or for another action) is refused with 409 instead of silently returning
-- the first request's result.
CREATE TABLE api_idempotency (
    project      text NOT NULL,
    key          text NOT NULL,
    action       text NOT NULL,
    request_hash text NOT NULL,
    token_id     text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project, key)
);
CREATE INDEX api_idempotency_created ON api_idempotency (created_at);
