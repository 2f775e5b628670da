"""申诉 appeals against a published ranking round.

- `models`: the filing, the decision, the workflow's input and state (pydantic, one per message);
- `book`: `AppealBook`, every decision of one appeal without Temporal (deadlines, reminder,
  escalation to 区幸福办, decide), plus `check_filing`, the pure checks of a filing;
- `service`: the doors' entry points (file, list, decide) on a Temporal client and PostgreSQL.

The durable shell is `workflows/ranking_appeal.py`; its activities are `activities/appeals.py`.
"""
