-- A ranking is read a page at a time in rank order (GET /api/v1/rankings?page=…): at 10,000
-- projects a sort per request costs more than the page itself.
CREATE INDEX ranking_entries_rank ON ranking_entries (period, ruleset_id, level, rank);
