-- Revisions of a ranking round (guatu.ranking.revisions): `--refreeze --reason` freezes a
-- period's inputs again and publishes revision 2, 3, … of its round.
--
-- `ranking_snapshots`, `ranking_rounds` and `ranking_entries` keep holding the latest revision
-- (what every query, notice and later round reads). A revision moves the row it supersedes,
-- untouched and with its hashes, to an archive table first: the hot path of an ordinary round
-- writes nothing more than before.

ALTER TABLE ranking_snapshots
    ADD COLUMN revision int  NOT NULL DEFAULT 1,
    ADD COLUMN reason   text NOT NULL DEFAULT '',
    ADD COLUMN actor    text NOT NULL DEFAULT '',
    ADD COLUMN run_id   text NOT NULL DEFAULT '';  -- the workflow run that froze it (retries reuse it)

ALTER TABLE ranking_rounds
    ADD COLUMN revision          int  NOT NULL DEFAULT 1,
    ADD COLUMN snapshot_revision int  NOT NULL DEFAULT 1,
    ADD COLUMN reason            text NOT NULL DEFAULT '',
    ADD COLUMN actor             text NOT NULL DEFAULT '',
    ADD COLUMN run_id            text NOT NULL DEFAULT '',
    ADD COLUMN changes           jsonb;  -- what changed from the previous revision (NULL for 1)

-- Superseded snapshot revisions, byte for byte.
CREATE TABLE ranking_snapshot_archive (
    period        text NOT NULL REFERENCES ranking_snapshots (period),
    revision      int  NOT NULL,
    kind          text NOT NULL,
    close_date    date NOT NULL,
    frozen_at     timestamptz NOT NULL,
    projects      int  NOT NULL,
    body          text NOT NULL,
    sha256        text NOT NULL,
    reason        text NOT NULL,
    actor         text NOT NULL,
    run_id        text NOT NULL,
    superseded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (period, revision)
);
CREATE INDEX ranking_snapshot_archive_sha ON ranking_snapshot_archive (period, sha256);

-- Superseded round revisions: results and context byte for byte, with their hashes. Their
-- flattened entries are not kept (the results document holds every row).
CREATE TABLE ranking_round_archive (
    period            text NOT NULL,
    ruleset_id        text NOT NULL,
    revision          int  NOT NULL,
    ruleset_version   int  NOT NULL,
    kind              text NOT NULL,
    close_date        date NOT NULL,
    snapshot_revision int  NOT NULL,
    snapshot_sha256   text NOT NULL,
    context           text NOT NULL,
    results           text NOT NULL,
    results_sha256    text NOT NULL,
    workflow_id       text NOT NULL,
    reason            text NOT NULL,
    actor             text NOT NULL,
    run_id            text NOT NULL,
    changes           jsonb,
    computed_at       timestamptz NOT NULL,
    verified_at       timestamptz,
    verifications     int NOT NULL,
    superseded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (period, ruleset_id, revision),
    FOREIGN KEY (period, ruleset_id) REFERENCES ranking_rounds (period, ruleset_id)
);
