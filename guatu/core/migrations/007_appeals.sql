-- 申诉 appeals against published ranking rounds: one row per appeal, written only by the
-- RankingAppeal workflow's activity (activities/appeals.py); `version` only grows.
CREATE TABLE appeals (
    id                   text PRIMARY KEY,          -- <ruleset>-<period>-<bureau>-<item>-r<revision>
    workflow_id          text NOT NULL,
    bureau               text NOT NULL,
    bureau_name          text NOT NULL DEFAULT '',
    period               text NOT NULL,
    ruleset_id           text NOT NULL,
    revision             int  NOT NULL,             -- the revision of the round appealed
    item                 text NOT NULL,             -- score | list | order
    project              text NOT NULL DEFAULT '',
    order_id             text NOT NULL DEFAULT '',
    subject_zh           text NOT NULL,
    status               text NOT NULL,             -- open | reminded | escalated | accepted | rejected
    reason               text NOT NULL,
    evidence             text NOT NULL DEFAULT '',
    filed_by             text NOT NULL,
    filed_at             timestamptz NOT NULL,
    published_at         timestamptz NOT NULL,
    decision_due         date NOT NULL,
    remind_at            timestamptz,
    escalate_at          timestamptz NOT NULL,
    office_due           date NOT NULL,             -- 区幸福办's deadline once escalated
    reminded_at          timestamptz,
    escalated_at         timestamptz,
    office_overdue_at    timestamptz,
    decision             text,                      -- accept | reject
    decision_reason      text NOT NULL DEFAULT '',
    decided_by           text NOT NULL DEFAULT '',
    decided_at           timestamptz,
    revision_workflow_id text NOT NULL DEFAULT '',  -- the superseding revision an acceptance led to
    revised_to           int,
    version              bigint NOT NULL,
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX appeals_bureau ON appeals (bureau, filed_at);
CREATE INDEX appeals_status ON appeals (status, decision_due);
