-- Issues a bureau raised in its reports (问题台账), raised and resolved, with their titles.
-- Lifecycles under patch `lifecycle-bounded-state-2026-12` keep only the ids of open issues in
-- their state (what validation needs); the titles and the resolved issues live here. `version`
-- is the lifecycle's version at the last change, so that rows written out of order (a door's
-- write-through and the run's own projection) keep the newest: see guatu.lifecycle.projection.
CREATE TABLE project_issues (
    project        text NOT NULL,
    id             text NOT NULL,
    title          text NOT NULL DEFAULT '',
    raised_month   text NOT NULL,
    resolved_month text,
    version        int NOT NULL,
    PRIMARY KEY (project, id)
);
CREATE INDEX project_issues_open ON project_issues (project) WHERE resolved_month IS NULL;
