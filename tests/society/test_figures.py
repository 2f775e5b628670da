"""Published figures by hand: per project, scene (its own and its members' observations) and
bureau; no observer identity."""

from __future__ import annotations

from datetime import UTC, date, datetime

from guatu.society.figures import compute_figures

AS_OF = date(2026, 10, 14)


def row(target: str, kind: str, bureau: str, **kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "target_kind": kind,
        "target": target,
        "target_name": "",
        "bureau": bureau,
        "bureau_name": "",
        "category": "progress",
        "rating": 3,
        "wants_reply": True,
        "reply_due": date(2026, 10, 12),
        "replied_at": None,
        "reply_on_time": None,
        "satisfaction": None,
        "escalated_at": None,
        "observer": "secret-observer",
    }
    return {**base, **kw}


def test_figures_by_hand() -> None:
    answered = datetime(2026, 10, 9, tzinfo=UTC)
    rows = [
        # P1: answered on time, 满意; answered late, 不满意 and escalated; unanswered, overdue.
        row(
            "P1",
            "project",
            "mzj",
            rating=4,
            replied_at=answered,
            reply_on_time=True,
            satisfaction="satisfied",
        ),
        row(
            "P1",
            "project",
            "mzj",
            rating=2,
            replied_at=answered,
            reply_on_time=False,
            satisfaction="unsatisfied",
            escalated_at=answered,
        ),
        row("P1", "project", "mzj", rating=1, escalated_at=answered),
        # P2: not yet due (due 10-20, unanswered): not counted as due.
        row("P2", "project", "mzj", rating=5, reply_due=date(2026, 10, 20)),
        # A scene observation, no answer asked.
        row("S1", "scene", "xfb", rating=3, wants_reply=False, reply_due=None),
    ]
    out = compute_figures(rows, AS_OF, {"P1": [("S1", "九曲江安·十里光华")]})
    p1 = next(p for p in out["projects"] if p["code"] == "P1")
    # 3 observations, ratings 4 + 2 + 1 = 7 → 2.33; due 3, on time 1 → 0.3333; rated 2, 满意 1.
    assert (p1["observations"], p1["average_rating"]) == (3, 2.33)
    assert (p1["replies_due"], p1["replied_on_time"], p1["timeliness"]) == (3, 1, 0.3333)
    assert (p1["rated"], p1["satisfied"], p1["satisfaction"], p1["escalated"]) == (2, 1, 0.5, 2)
    p2 = next(p for p in out["projects"] if p["code"] == "P2")
    assert (p2["replies_due"], p2["timeliness"], p2["satisfaction"]) == (0, None, None)
    (s1,) = out["scenes"]
    # The scene: its own observation and P1's three.
    assert (s1["code"], s1["name_zh"], s1["observations"], s1["replies_due"]) == (
        "S1",
        "九曲江安·十里光华",
        4,
        3,
    )
    mzj = next(b for b in out["bureaus"] if b["code"] == "mzj")
    assert (mzj["observations"], mzj["replies_due"], mzj["replied_on_time"]) == (4, 3, 1)
    assert out["total"]["observations"] == 5
    assert "secret-observer" not in repr(out)
