-- Read model of the project lifecycles: written only by activities, read by the API and rankings.

CREATE TABLE bureaus (
    code        text PRIMARY KEY,
    name_zh     text NOT NULL,
    name_en     text NOT NULL,
    webhook_url text
);

CREATE TABLE programs (
    code        text PRIMARY KEY,
    number      int  NOT NULL,
    name_zh     text NOT NULL,
    name_en     text NOT NULL,
    lead_bureau text NOT NULL REFERENCES bureaus (code)
);

-- Current snapshot of each project; `version` only grows, so a stale write never wins.
CREATE TABLE projects (
    code                           text PRIMARY KEY,
    name_zh                        text NOT NULL,
    program                        text NOT NULL,
    bureau                         text NOT NULL,
    kind                           text NOT NULL,
    stage                          text NOT NULL,
    status                         text NOT NULL,
    light                          text NOT NULL,
    explanations                   jsonb NOT NULL DEFAULT '[]',
    total_investment_wan           double precision NOT NULL,
    planned_investment_to_date_wan double precision NOT NULL,
    actual_investment_wan          double precision NOT NULL,
    physical_progress_pct          double precision NOT NULL,
    milestones                     jsonb NOT NULL DEFAULT '[]',
    open_issues                    int NOT NULL DEFAULT 0,
    last_report_month              text,
    red_months                     jsonb NOT NULL DEFAULT '[]',
    plan                           jsonb NOT NULL,
    business_today                 date NOT NULL,
    version                        bigint NOT NULL,
    runs                           int NOT NULL DEFAULT 1,
    updated_at                     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_program ON projects (program);
CREATE INDEX projects_bureau ON projects (bureau);
CREATE INDEX projects_stage ON projects (stage);
CREATE INDEX projects_light ON projects (light);

CREATE TABLE stage_history (
    key         text PRIMARY KEY,
    project     text NOT NULL,
    step        text,
    stage       text NOT NULL,
    on_date     date NOT NULL,
    planned     date,
    recorded_at timestamptz NOT NULL,
    actor       text NOT NULL,
    bureau      text NOT NULL,
    note        text NOT NULL DEFAULT ''
);
CREATE INDEX stage_history_project ON stage_history (project, recorded_at);

-- Every version of every monthly report; a correction adds a row with a higher `corrected`.
CREATE TABLE progress_reports (
    project                    text NOT NULL,
    month                      text NOT NULL,
    corrected                  int NOT NULL,
    investment_wan             double precision NOT NULL,
    cumulative_investment_wan  double precision NOT NULL,
    physical_progress_pct      double precision NOT NULL,
    narrative                  text NOT NULL DEFAULT '',
    received_at                timestamptz NOT NULL,
    on_time                    boolean NOT NULL,
    actor                      text NOT NULL,
    PRIMARY KEY (project, month, corrected)
);

CREATE TABLE light_history (
    key          text PRIMARY KEY,
    project      text NOT NULL,
    at           timestamptz NOT NULL,
    light        text NOT NULL,
    previous     text NOT NULL,
    explanations jsonb NOT NULL
);
CREATE INDEX light_history_project ON light_history (project, at);

-- Outbox: one row per decision a bureau must hear about; the key is sent as Idempotency-Key.
CREATE TABLE notifications (
    key             text PRIMARY KEY,
    bureau          text NOT NULL,
    project         text,
    kind            text NOT NULL,
    title_zh        text NOT NULL,
    body_zh         text NOT NULL,
    body_en         text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    deadline        date,
    status          text NOT NULL DEFAULT 'pending',  -- pending | delivered | inbox
    attempts        int NOT NULL DEFAULT 0,
    delivered_at    timestamptz,
    last_error      text,
    acknowledged_at timestamptz
);
CREATE INDEX notifications_bureau ON notifications (bureau, created_at);

-- Every accepted and every rejected input. Accepted rows are keyed by project and idempotency
-- key (written once by the lifecycle); rejected rows are written by the door that was refused.
CREATE TABLE audit_log (
    id              bigserial PRIMARY KEY,
    key             text UNIQUE,
    at              timestamptz NOT NULL,
    actor           text NOT NULL,
    bureau          text NOT NULL,
    project         text,
    action          text NOT NULL,
    idempotency_key text,
    accepted        boolean NOT NULL,
    before          jsonb NOT NULL DEFAULT '{}',
    after           jsonb NOT NULL DEFAULT '{}',
    reason          text NOT NULL DEFAULT '',
    channel         text NOT NULL DEFAULT 'workflow'
);
CREATE INDEX audit_log_project ON audit_log (project, at);
