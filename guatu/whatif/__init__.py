"""What-if (规则试算): frozen periods re-ranked under another rule set, and the ladders those
rankings would have fed replayed from a clean slate, side by side with what was published.

Above both `guatu.ranking` (the rounds it recomputes) and `guatu.ladder` (the steps it replays);
`replay` holds it all (pure replays, and `what_if` reading the frozen snapshots from PostgreSQL).
"""
