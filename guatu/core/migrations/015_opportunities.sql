-- 机会清单 opportunity lists (guatu/opportunities): one row per published opportunity, written only
-- by the OpportunityListing workflow's activity, and one per expression of interest, written only
-- by OpportunityInterest's (activities/opportunities.py). `version` only grows.
CREATE TABLE opportunities (
    id              text PRIMARY KEY,             -- <subject>.<kind>.<closes yyyymmdd>
    workflow_id     text NOT NULL,
    subject_kind    text NOT NULL,                -- project | scene
    subject         text NOT NULL,
    subject_name_zh text NOT NULL DEFAULT '',
    bureau          text NOT NULL,                -- the responsible bureau (answers interests)
    bureau_name     text NOT NULL DEFAULT '',
    kind            text NOT NULL,                -- investment | operation | procurement | venue
    title_zh        text NOT NULL,
    description     text NOT NULL DEFAULT '',
    amount_wan      double precision,             -- NULL: 面议
    conditions      text NOT NULL DEFAULT '',
    closes_on       date NOT NULL,
    status          text NOT NULL,                -- open | closed
    published_by    text NOT NULL DEFAULT '',
    published_at    timestamptz NOT NULL,
    closed_at       timestamptz,
    closed_by       text NOT NULL DEFAULT '',
    close_reason    text NOT NULL DEFAULT '',
    interests       int NOT NULL DEFAULT 0,
    version         bigint NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX opportunities_status ON opportunities (status, closes_on);
CREATE INDEX opportunities_subject ON opportunities (subject);

CREATE TABLE opportunity_interests (
    id                  text PRIMARY KEY,         -- <opportunity>.<uscc>
    workflow_id         text NOT NULL,
    opportunity_id      text NOT NULL,
    opportunity_title   text NOT NULL,
    bureau              text NOT NULL,
    bureau_name         text NOT NULL DEFAULT '',
    company_name        text NOT NULL,
    uscc                text NOT NULL,
    contact_name        text NOT NULL,
    contact_phone       text NOT NULL,
    contact_email       text NOT NULL DEFAULT '',
    message             text NOT NULL DEFAULT '',
    status              text NOT NULL,            -- waiting | reminded | overdue | escalated | responded | signed | not_concluded
    submitted_at        timestamptz NOT NULL,
    respond_due         date NOT NULL,
    remind_at           timestamptz,
    overdue_at          timestamptz NOT NULL,
    office_due          date NOT NULL,
    escalate_at         timestamptz NOT NULL,
    deadline_explain    text NOT NULL DEFAULT '',
    reminded_at         timestamptz,
    overdue_notified_at timestamptz,
    escalated_at        timestamptz,
    reply               text NOT NULL DEFAULT '',
    replied_by          text NOT NULL DEFAULT '',
    replied_at          timestamptz,
    replied_late        boolean NOT NULL DEFAULT false,
    outcome             text,                     -- signed | not_concluded
    outcome_note        text NOT NULL DEFAULT '',
    outcome_amount_wan  double precision,
    outcome_by          text NOT NULL DEFAULT '',
    outcome_at          timestamptz,
    version             bigint NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX opportunity_interests_opportunity ON opportunity_interests (opportunity_id);
CREATE INDEX opportunity_interests_bureau ON opportunity_interests (bureau, status, respond_due);
