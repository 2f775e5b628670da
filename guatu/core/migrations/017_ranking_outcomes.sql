-- What each bureau's ladder needs from a round (guatu.ranking.models.BureauOutcome: rank,
-- lists, reasons, red projects), written by the round's compute step in the transaction that
-- publishes or re-verifies the round. The workflow passes keys (period, rule set, revision,
-- bureau), not the outcomes: each ladder feed reads its bureau's row here.
CREATE TABLE ranking_outcomes (
    period     text NOT NULL,
    ruleset_id text NOT NULL,
    bureau     text NOT NULL,
    revision   int  NOT NULL,  -- of the round this outcome belongs to (a refreeze replaces it)
    outcome    jsonb NOT NULL,
    PRIMARY KEY (period, ruleset_id, bureau)
);
