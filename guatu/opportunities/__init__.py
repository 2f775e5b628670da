"""机会清单 opportunity lists: projects and scenes opened to private capital.

This package owns the opportunities a manager publishes on a project or a 示范场景 scene
(kind: investment / operation / procurement / venue; amount, conditions, closing date), the
expressions of interest (合作意向) enterprises send through the public page without an account,
and the responsible bureau's answer and outcome (签约 / 未成) of each.

- `uscc`: the GB 32100-2015 check digit of the 统一社会信用代码;
- `models`: the messages, views and rule data (`config/opportunities.json`);
- `book`: `ListingBook` (one opportunity: open until its closing date, closed early by a manager,
  taking interests) and `InterestBook` (one interest: the bureau's answer deadline in working
  days, reminder before, overdue and escalation to 区幸福办 after, reply, outcome) — every
  decision, without Temporal;
- `service`: the entry points every door uses (API, public page, CLI, tests), and
  `public_opportunities`, what the public page publishes.

The durable shells are `workflows/opportunity.py` (`OpportunityListing`,
`OpportunityInterest`); their activities are `activities/opportunities.py`; the read model is
migration 015.
"""
