"""What a ranking period freezes of 市民观察 and 第三方评估, per project (`SocietyInput`).

Read at the freeze of a period (`guatu.ranking.snapshot.read_snapshot`), for every rule set at
once, so that a later round under another rule set (or a what-if) reads the same frozen figures:
- ratings (满意 / 不满意) given before the close, by the local month they were given;
- replies due (observations asking for an answer whose deadline falls before the close), by the
  month of the deadline, and those answered by the end of that day (and before the close);
- the project's latest third-party evaluation submitted before the close (its latest version of
  the latest year up to the period's), else its program's evaluation of the period's year.
"""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from guatu.core.clock import local_start
from guatu.ranking.models import EvaluationInput, SocietyInput
from guatu.ranking.periods import Period


async def read_society_inputs(
    conn: asyncpg.Connection, period: Period, projects: Iterable[tuple[str, str]]
) -> dict[str, SocietyInput]:
    """By project code, for the (code, program) pairs given; projects with nothing are left out."""
    close_at = local_start(period.close)
    year = int(period.last_month[:4])
    out: dict[str, SocietyInput] = {}

    def of(code: str) -> SocietyInput:
        return out.setdefault(code, SocietyInput())

    for r in await conn.fetch(
        "SELECT target, satisfaction, to_char(rated_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"
        " AS month, count(*) AS n FROM observations WHERE target_kind = 'project'"
        " AND satisfaction IS NOT NULL AND rated_at < $1 GROUP BY 1, 2, 3",
        close_at,
    ):
        which = of(r["target"]).satisfied if r["satisfaction"] == "satisfied" else None
        if which is None:
            which = of(r["target"]).unsatisfied
        which[r["month"]] = int(r["n"])
    for r in await conn.fetch(
        "SELECT target, to_char(reply_due, 'YYYY-MM') AS month, count(*) AS due,"
        " count(*) FILTER (WHERE reply_on_time AND replied_at < $1) AS on_time"
        " FROM observations WHERE target_kind = 'project' AND wants_reply"
        " AND reply_due < $2 GROUP BY 1, 2",
        close_at,
        period.close,
    ):
        s = of(r["target"])
        s.replies_due[r["month"]] = int(r["due"])
        if r["on_time"]:
            s.replies_on_time[r["month"]] = int(r["on_time"])
    by_project = {
        r["project"]: r
        for r in await conn.fetch(
            "SELECT DISTINCT ON (project) project, id, year, score FROM evaluations"
            " WHERE subject = 'project' AND submitted_at < $1 AND year <= $2"
            " ORDER BY project, year DESC, version DESC",
            close_at,
            year,
        )
    }
    by_program = {
        r["program"]: r
        for r in await conn.fetch(
            "SELECT DISTINCT ON (program) program, id, year, score FROM evaluations"
            " WHERE subject = 'program' AND submitted_at < $1 AND year = $2"
            " ORDER BY program, version DESC",
            close_at,
            year,
        )
    }
    for code, program in projects:
        row, subject = by_project.get(code), "project"
        if row is None:
            row, subject = by_program.get(program), "program"
        if row is not None:
            of(code).evaluation = EvaluationInput(
                id=row["id"], subject=subject, year=row["year"], score=float(row["score"])
            )
    return dict(sorted(out.items()))
