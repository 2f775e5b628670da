-- 竞进比拼 and 激励奖惩: rule sets, frozen snapshots, round results, ladders and their decisions.
-- Written only by activities (activities/ranking.py); read by guatu.ranking.queries.

-- Every rule set version ever used, as canonical JSON: one body per (id, version), forever.
CREATE TABLE ranking_rulesets (
    id            text NOT NULL,
    version       int  NOT NULL,
    body          text NOT NULL,
    sha256        text NOT NULL,
    first_used_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, version)
);

-- Inputs of every project in scope, frozen once per period at close (canonical JSON).
CREATE TABLE ranking_snapshots (
    period     text PRIMARY KEY,
    kind       text NOT NULL,
    close_date date NOT NULL,
    frozen_at  timestamptz NOT NULL,
    projects   int  NOT NULL,
    body       text NOT NULL,
    sha256     text NOT NULL
);

-- One published round per period and rule set. `context` (previous ranks, exemptions) is
-- frozen at the first computation; `results` is the canonical JSON every re-run must reproduce.
CREATE TABLE ranking_rounds (
    period          text NOT NULL REFERENCES ranking_snapshots (period),
    ruleset_id      text NOT NULL,
    ruleset_version int  NOT NULL,
    kind            text NOT NULL,
    close_date      date NOT NULL,
    snapshot_sha256 text NOT NULL,
    context         text NOT NULL,
    results         text NOT NULL,
    results_sha256  text NOT NULL,
    workflow_id     text NOT NULL DEFAULT '',
    computed_at     timestamptz NOT NULL DEFAULT now(),
    verified_at     timestamptz,
    verifications   int NOT NULL DEFAULT 0,
    PRIMARY KEY (period, ruleset_id),
    FOREIGN KEY (ruleset_id, ruleset_version) REFERENCES ranking_rulesets (id, version)
);
CREATE INDEX ranking_rounds_close ON ranking_rounds (ruleset_id, kind, close_date);

-- The rows of each round, flattened for the leaders' queries (derived from `results`).
CREATE TABLE ranking_entries (
    period           text NOT NULL,
    ruleset_id       text NOT NULL,
    level            text NOT NULL,  -- bureau | program | project
    code             text NOT NULL,
    name_zh          text NOT NULL,
    rank             int  NOT NULL,
    of_count         int  NOT NULL,
    score            double precision NOT NULL,
    previous_rank    int,
    movement         int,
    list             text,           -- red | black | NULL
    target_met       boolean NOT NULL,
    exempted         boolean NOT NULL DEFAULT false,
    investment_ratio double precision NOT NULL,
    weight           double precision NOT NULL,
    members          int NOT NULL,
    bureau           text,
    program          text,
    breakdown        jsonb NOT NULL,
    PRIMARY KEY (period, ruleset_id, level, code),
    FOREIGN KEY (period, ruleset_id) REFERENCES ranking_rounds (period, ruleset_id)
);
CREATE INDEX ranking_entries_code ON ranking_entries (level, code);

-- Force-majeure exemptions from a period's black list, granted through the bureau's ladder.
CREATE TABLE ranking_exemptions (
    bureau     text NOT NULL,
    period     text NOT NULL,
    reason     text NOT NULL,
    actor      text NOT NULL,
    role       text NOT NULL,
    granted_at timestamptz NOT NULL,
    key        text NOT NULL DEFAULT '',
    PRIMARY KEY (bureau, period)
);

-- Every ladder decision with its explanation, inputs and rule version (the key is the
-- notice key: one decision, one notice).
CREATE TABLE ladder_decisions (
    key             text PRIMARY KEY,
    bureau          text NOT NULL,
    period          text NOT NULL,
    ruleset_id      text NOT NULL,
    ruleset_version int  NOT NULL,
    track           text NOT NULL,
    kind            text NOT NULL,
    level_before    int  NOT NULL,
    level_after     int  NOT NULL,
    project         text,
    order_id        text,
    deadline        date,
    lines_zh        jsonb NOT NULL,
    lines_en        jsonb NOT NULL,
    inputs          jsonb NOT NULL,
    decided_at      timestamptz NOT NULL
);
CREATE INDEX ladder_decisions_bureau ON ladder_decisions (bureau, decided_at);

-- 督办 and 督办单: correction plans due by a deadline, escalated once when missed.
CREATE TABLE ladder_orders (
    id              text PRIMARY KEY,
    bureau          text NOT NULL,
    kind            text NOT NULL,  -- supervision | project_supervision
    project         text,
    project_name    text NOT NULL DEFAULT '',
    period          text NOT NULL,
    ruleset_id      text NOT NULL,
    ruleset_version int  NOT NULL,
    track           text NOT NULL,
    issued_at       timestamptz NOT NULL,
    due             date NOT NULL,
    status          text NOT NULL,  -- open | escalated | plan_submitted | closed
    plan            text NOT NULL DEFAULT '',
    plan_actor      text NOT NULL DEFAULT '',
    submitted_at    timestamptz,
    plan_on_time    boolean,
    escalated_at    timestamptz,
    closed_at       timestamptz,
    decision_key    text NOT NULL DEFAULT '',
    version         bigint NOT NULL
);
CREATE INDEX ladder_orders_open ON ladder_orders (bureau, status);

-- Each ladder's whole state as of its last write (`version` only grows): the standing leaders
-- read, and what a ladder restarts from if its workflow is ever lost.
CREATE TABLE ladder_standing (
    bureau     text PRIMARY KEY,
    state      jsonb NOT NULL,
    version    bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
