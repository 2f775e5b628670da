-- Bounded ladder state (patch ladder-bounded-state-2026-12, guatu.ladder.ledger): a BureauLadder
-- keeps decision keys and levels in its workflow state and writes what changed; what a period
-- was decided on, and the answers it remembers for idempotency, live here.
--
-- `ladder_standing.state` of a bounded ladder holds its head (levels, counters, clock), its
-- tracks and last records, and its unfinished orders and exemptions — what the standing reads —
-- merged by each write; finished orders are in `ladder_orders`.

-- What one record_period was decided on: the round's outcome for the bureau and the ladder
-- rules, once (each decision's `inputs` names it: {"input": key}).
CREATE TABLE ladder_inputs (
    key         text PRIMARY KEY,  -- bureau:record:ruleset:period[:rN]
    bureau      text NOT NULL,
    period      text NOT NULL,
    ruleset_id  text NOT NULL,
    revision    int  NOT NULL,
    outcome     jsonb NOT NULL,
    ladder      jsonb NOT NULL,
    recorded_at timestamptz NOT NULL
);
CREATE INDEX ladder_inputs_bureau ON ladder_inputs (bureau, period);

-- The answers a ladder remembers (record_period, exemptions, correction plans by idempotency
-- key), in the order remembered: a ladder restarted from PostgreSQL takes back the latest ones.
CREATE TABLE ladder_seen (
    bureau text   NOT NULL,
    key    text   NOT NULL,
    seq    bigint NOT NULL,  -- the ladder's version × 1000 + position within that write
    result jsonb  NOT NULL,
    PRIMARY KEY (bureau, key)
);
CREATE INDEX ladder_seen_order ON ladder_seen (bureau, seq);
