"""Society co-builds: 市民观察 citizen observation and 第三方评估 third-party evaluation.

- `models`: filings, workflow inputs, views, rule data (`config/society.json`);
- `book`: `ObservationBook`, every decision of one observation without Temporal (working-day
  deadlines, reminder, overdue and escalation to 区幸福办, reply, rating, resolution);
- `service`: the doors' entry points for observations (API, CLI, tests);
- `evaluations`: third-party evaluations (immutable versions, the bureau's answer);
- `figures`: the published satisfaction and timeliness figures (`published_figures`, for the
  public page: no observer identities);
What the ranking reads of them lives in the ranking package (`guatu.ranking.society_inputs`,
frozen with a period's snapshot; `guatu.ranking.society_scoring`, the components), so the
ranking never imports this package.

The durable shell is `workflows/citizen_observation.py`; its activity `activities/society.py`.
"""
