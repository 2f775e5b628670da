-- 市民观察 citizen observations and 第三方评估 third-party evaluations (guatu/society).

-- Two new token roles: `observer` (a recruited 市民观察员) and `evaluator` (an accredited
-- agency, scoped to the programs it is engaged for: `programs`).
ALTER TABLE api_tokens DROP CONSTRAINT IF EXISTS api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('bureau', 'manager', 'leader', 'admin', 'observer', 'evaluator'));
ALTER TABLE api_tokens ADD COLUMN programs text[] NOT NULL DEFAULT '{}';

-- One row per observation, written only by the CitizenObservation workflow's activity
-- (activities/society.py); `version` only grows. `observer` is the observer's token id: never
-- published (guatu.society.figures publishes counts only).
CREATE TABLE observations (
    id                 text PRIMARY KEY,      -- <target>-<yyyymmdd>-<observer>-<n>
    workflow_id        text NOT NULL,
    target_kind        text NOT NULL,         -- project | scene
    target             text NOT NULL,
    target_name        text NOT NULL DEFAULT '',
    bureau             text NOT NULL,
    bureau_name        text NOT NULL DEFAULT '',
    program            text NOT NULL DEFAULT '',
    observer           text NOT NULL,
    category           text NOT NULL,         -- progress | quality | safety | nuisance | service
    rating             int  NOT NULL CHECK (rating BETWEEN 1 AND 5),
    text               text NOT NULL,
    wants_reply        boolean NOT NULL,
    photos             jsonb NOT NULL DEFAULT '[]',
    status             text NOT NULL,
    filed_at           timestamptz NOT NULL,
    reply_due          date,
    remind_on          date,
    reminded_at        timestamptz,
    overdue_at         timestamptz,
    reply              text NOT NULL DEFAULT '',
    replied_by         text NOT NULL DEFAULT '',
    replied_at         timestamptz,
    reply_on_time      boolean,
    rating_due         date,
    satisfaction       text,                  -- satisfied | unsatisfied
    rating_comment     text NOT NULL DEFAULT '',
    rated_at           timestamptz,
    escalated_at       timestamptz,
    escalation_reason  text NOT NULL DEFAULT '',
    office_due         date,
    office_overdue_at  timestamptz,
    resolution         text NOT NULL DEFAULT '',
    resolved_by        text NOT NULL DEFAULT '',
    closed_at          timestamptz,
    calendar_note      text NOT NULL DEFAULT '',
    filing_key         text NOT NULL DEFAULT '',
    version            bigint NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX observations_target ON observations (target_kind, target, filed_at);
CREATE INDEX observations_bureau ON observations (bureau, filed_at);
CREATE INDEX observations_observer ON observations (observer, filed_at);

-- Photos, stored by the door before the observation's workflow starts (never in history).
CREATE TABLE observation_photos (
    observation_id text NOT NULL,
    seq            int  NOT NULL,
    content_type   text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png')),
    size           int  NOT NULL,
    sha256         text NOT NULL,
    body           bytea NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (observation_id, seq)
);

-- Third-party evaluations: immutable once inserted (the API may insert, never update); a
-- correction is a new version naming the one it supersedes, with a reason.
CREATE TABLE evaluations (
    id              text PRIMARY KEY,          -- <subject>-<code>-<year>-v<version>
    subject         text NOT NULL,             -- project | program
    project         text NOT NULL DEFAULT '',
    program         text NOT NULL,
    bureau          text NOT NULL,             -- the evaluated bureau (project's; program's lead)
    year            int  NOT NULL,
    version         int  NOT NULL,
    supersedes      text REFERENCES evaluations (id),
    reason          text NOT NULL DEFAULT '',
    indicators      jsonb NOT NULL,
    score           double precision NOT NULL, -- weighted mean of the indicators, 2 decimals
    conclusion      text NOT NULL,
    report_name     text NOT NULL DEFAULT '',
    report_type     text NOT NULL DEFAULT '',
    report          bytea,
    report_sha256   text NOT NULL DEFAULT '',
    evaluator       text NOT NULL,             -- the evaluator's token id
    evaluator_label text NOT NULL DEFAULT '',
    filing_key      text NOT NULL,
    submitted_at    timestamptz NOT NULL,
    UNIQUE (subject, project, program, year, version),
    UNIQUE (evaluator, filing_key)
);
CREATE INDEX evaluations_bureau ON evaluations (bureau, submitted_at);

-- The evaluated bureau's answer to one version (one answer per version).
CREATE TABLE evaluation_answers (
    evaluation_id text PRIMARY KEY REFERENCES evaluations (id),
    bureau        text NOT NULL,
    text          text NOT NULL,
    actor         text NOT NULL,
    answered_at   timestamptz NOT NULL
);
