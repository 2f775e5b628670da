"""Leader endpoints: project list and detail, programme overview, rankings, escalations."""

from __future__ import annotations

import asyncio
import sys
import types
import uuid
from typing import Any

import pytest

from guatu.core.clock import month_key
from guatu.ladder import queries as ladder_queries
from guatu.lifecycle.models import ProjectKind, ProjectPlan
from tests.api.conftest import World, today


async def wait_projected(world: World, codes: list[str], check: str = "true") -> None:
    for _ in range(100):
        rows = await world.rows(
            f"SELECT code FROM projects WHERE code = ANY($1) AND {check}", codes
        )
        if len(rows) == len(codes):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not projected: {codes}")


async def test_project_list_filters_and_pages(world: World) -> None:
    program = f"TL{uuid.uuid4().hex[:6].upper()}"
    plans = [world.plan(world.bureau_a, code=f"{program}-{i}") for i in range(3)]
    plans.append(world.plan(world.bureau_b, ProjectKind.SERVICE, code=f"{program}-9"))
    for p in plans:
        p.program = program
        await world.start(p)
    await wait_projected(world, [p.code for p in plans])
    r = await world.call(
        "a",
        "POST",
        f"/api/v1/projects/{program}-0/transitions",
        headers=world.key(),
        json={"step": "preliminary"},
    )
    assert r.status_code == 200
    await wait_projected(world, [f"{program}-0"], "stage = 'preliminary'")

    async def codes(**params: Any) -> tuple[int, list[str]]:
        r = await world.call(
            "leader", "GET", "/api/v1/projects", params={"program": program, **params}
        )
        assert r.status_code == 200, r.text
        return r.json()["total"], [i["code"] for i in r.json()["items"]]

    assert await codes() == (4, [f"{program}-0", f"{program}-1", f"{program}-2", f"{program}-9"])
    assert await codes(bureau=world.bureau_b) == (1, [f"{program}-9"])
    assert await codes(stage="preliminary") == (1, [f"{program}-0"])
    assert await codes(status="active", page_size=2, page=2) == (
        4,
        [f"{program}-2", f"{program}-9"],
    )
    assert await codes(page=3, page_size=2) == (4, [])
    lights = {}
    for light in ("green", "yellow", "red"):
        lights[light] = (await codes(light=light))[0]
    assert sum(lights.values()) == 4
    # A bureau sees its own projects only, whatever filter it sends.
    r = await world.call("b", "GET", "/api/v1/projects", params={"program": program})
    assert [i["code"] for i in r.json()["items"]] == [f"{program}-9"]
    # Rows carry what the wall chart draws.
    r = await world.call(
        "manager", "GET", "/api/v1/projects", params={"program": program, "page_size": 1}
    )
    row = r.json()["items"][0]
    assert row["start"] == plans[0].start.isoformat()
    assert [m["step"] for m in row["milestones"]][:2] == ["land_use", "planning_permit"]
    # Bad filters and pages are 422, not 500.
    for params in (
        {"stage": "flying"},
        {"light": "blue"},
        {"page": 0},
        {"page_size": 0},
        {"page_size": "many"},
    ):
        r = await world.call("leader", "GET", "/api/v1/projects", params=params)
        assert r.status_code == 422, params
    r = await world.call("leader", "GET", "/api/v1/projects", params={"page_size": 201})
    assert r.status_code == 422 and r.json()["code"] == "page_size_too_large"
    assert (
        await world.call("leader", "GET", "/api/v1/projects", params={"page_size": 200})
    ).status_code == 200


async def test_project_detail_is_live(world: World) -> None:
    plan = await world.start(world.plan(world.bureau_a, total=2400.0))
    r = await world.call("leader", "GET", f"/api/v1/projects/{plan.code}")
    assert r.status_code == 200
    detail = r.json()
    assert (detail["code"], detail["bureau"], detail["stage"], detail["total_investment_wan"]) == (
        plan.code,
        world.bureau_a,
        "approved",
        2400.0,
    )
    # Straight after an update the detail shows it: it is the workflow's own answer.
    r = await world.call(
        "a",
        "POST",
        f"/api/v1/projects/{plan.code}/transitions",
        headers=world.key(),
        json={"step": "preliminary"},
    )
    assert r.status_code == 200
    assert (await world.call("leader", "GET", f"/api/v1/projects/{plan.code}")).json()[
        "stage"
    ] == "preliminary"
    r = await world.call("leader", "GET", "/api/v1/projects/NOPE-1")
    assert r.status_code == 404 and r.json()["code"] == "project_not_found"
    r = await world.call("leader", "GET", "/api/v1/projects/not_a_code")
    assert r.status_code == 422


async def test_overview_totals_by_hand(world: World) -> None:
    """Three projects in a program of their own; every figure below is worked out by hand."""
    program = f"TO{uuid.uuid4().hex[:6].upper()}"
    year = today().year
    # Engineering: 开工 planned 40 days after a start 70 days ago → due; it will be reached.
    one = world.plan(
        world.bureau_a, code=f"{program}-1", total=1000.0, milestone_days=[10, 20, 30, 40, 200, 230]
    )
    # Engineering: 开工 due as well, never reached.
    two = world.plan(
        world.bureau_a, code=f"{program}-2", total=2000.0, milestone_days=[10, 20, 30, 40, 200, 230]
    )
    # Service: 实施 planned 20 days after its start → due, reached; 完成 planned later → not due.
    three = world.plan(
        world.bureau_a,
        ProjectKind.SERVICE,
        code=f"{program}-3",
        total=500.0,
        milestone_days=[20, 250, 300],
    )
    yearly = {one.code: 400.0, two.code: 500.0, three.code: 100.0}
    plans: list[ProjectPlan] = []
    for p in (one, two, three):
        p.program = program
        p.yearly_investment_wan = {year: yearly[p.code], year + 1: 1.0}
        plans.append(await world.start(p))
    for step in (
        "preliminary",
        "land_use",
        "planning_permit",
        "construction_permit",
        "construction_started",
    ):
        r = await world.call(
            "a",
            "POST",
            f"/api/v1/projects/{one.code}/transitions",
            headers=world.key(),
            json={"step": step},
        )
        assert r.status_code == 200, r.text
    r = await world.call(
        "a",
        "POST",
        f"/api/v1/projects/{three.code}/transitions",
        headers=world.key(),
        json={"step": "implementing"},
    )
    assert r.status_code == 200
    # Read once before the reports: what follows must not be served from that answer.
    await wait_projected(world, [three.code], "stage = 'implementing'")
    early = await world.call("leader", "GET", "/api/v1/overview", params={"year": year})
    before = next(p for p in early.json()["programs"] if p["code"] == program)
    assert before["year_actual_wan"] == 0 and before["projects"] == 3
    month = month_key(today())
    for code, amount in ((one.code, 80.0), (three.code, 20.0)):
        r = await world.call(
            "a",
            "POST",
            f"/api/v1/projects/{code}/reports",
            headers=world.key(),
            json={"month": month, "investment_wan": amount, "physical_progress_pct": 10},
        )
        assert r.status_code == 200
    # A correction replaces the month's figure: 20 → 25 for the service project.
    r = await world.call(
        "a",
        "POST",
        f"/api/v1/projects/{three.code}/reports",
        headers=world.key(),
        json={
            "month": month,
            "investment_wan": 25.0,
            "physical_progress_pct": 10,
            "correction": True,
        },
    )
    assert r.status_code == 200
    await wait_projected(world, [one.code], "stage = 'construction_started'")
    await wait_projected(world, [three.code], "actual_investment_wan = 25")
    await wait_projected(world, [one.code], "actual_investment_wan = 80")

    r = await world.call("leader", "GET", "/api/v1/overview", params={"year": year})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["year"] == year
    mine = next(p for p in body["programs"] if p["code"] == program)
    assert mine["projects"] == 3
    assert mine["total_investment_wan"] == 3500.0
    assert mine["year_target_wan"] == 1000.0  # 400 + 500 + 100
    assert mine["year_actual_wan"] == 105.0  # 80 + 25 (the correction, not 20)
    assert mine["year_progress_pct"] == 10.5
    assert mine["actual_investment_wan"] == 105.0
    assert (mine["started"], mine["due_to_start"], mine["start_rate_pct"]) == (2, 3, 66.7)
    assert (mine["completed"], mine["due_to_complete"], mine["completion_rate_pct"]) == (0, 0, None)
    assert sum(mine["lights"].values()) == 3
    assert mine["status"]["active"] == 3
    listed = (
        await world.call("leader", "GET", "/api/v1/projects", params={"program": program})
    ).json()["items"]
    assert mine["planned_investment_to_date_wan"] == round(
        sum(i["planned_investment_to_date_wan"] for i in listed), 2
    )
    assert {k: v for k, v in mine["lights"].items() if v} == {
        light: sum(1 for i in listed if i["light"] == light)
        for light in {i["light"] for i in listed}
    }
    total = body["total"]
    assert total["published_total_wan"] == 8281100.0
    assert total["projects"] >= 3 and total["total_investment_wan"] >= 3500.0
    r = await world.call("leader", "GET", "/api/v1/overview", params={"year": 1999})
    assert r.status_code == 422


async def test_rankings_answer_503_when_the_ranking_service_is_missing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "guatu.ranking.queries", None)  # import now fails
    for path in ("/api/v1/rankings", "/api/v1/rankings/periods", "/api/v1/escalations"):
        r = await world.call("leader", "GET", path)
        assert r.status_code == 503, (path, r.text)
        assert r.json()["code"] == "ranking_unavailable"
        assert r.headers["retry-after"] == "5"
    r = await world.call("leader", "GET", "/api/v1/rankings", params={"level": "galaxy"})
    assert r.status_code == 422
    r = await world.call("leader", "GET", "/api/v1/rankings", params={"period": "June"})
    assert r.status_code == 422


async def test_rankings_are_the_ranking_services_answers(world: World) -> None:
    """On the real module: whatever the ranking service returns for this database."""
    from guatu.ranking import queries as rq

    r = await world.call("leader", "GET", "/api/v1/rankings/periods", params={"level": "program"})
    assert r.status_code == 200 and r.json() == await rq.list_periods(world.pool, "program")
    r = await world.call("leader", "GET", "/api/v1/escalations")
    assert r.status_code == 200 and r.json() == await rq.open_escalations(world.pool)
    direct = await rq.get_ranking(world.pool, "bureau", None)
    r = await world.call("leader", "GET", "/api/v1/rankings")
    if direct["found"]:
        assert r.status_code == 200 and r.json() == direct
    else:
        assert r.status_code == 404 and r.json()["code"] == "ranking_not_found"
    r = await world.call("leader", "GET", "/api/v1/rankings", params={"period": "2000-01"})
    assert r.status_code == 404 and r.json()["details"] == {"level": "bureau", "period": "2000-01"}
    own = await world.call("a", "GET", f"/api/v1/bureaus/{world.bureau_a}/standing")
    assert own.status_code == 200 and own.json() == await ladder_queries.bureau_standing(
        world.pool, world.bureau_a
    )
    r = await world.call("leader", "GET", f"/api/v1/bureaus/{world.bureau_a}/standing")
    assert r.json() == own.json()
    r = await world.call("leader", "GET", "/api/v1/bureaus/no_such_bureau/standing")
    assert r.status_code == 404
    r = await world.call(
        "leader", "GET", "/api/v1/rankings/history", params={"code": world.bureau_a}
    )
    assert r.status_code == 200 and r.json() == await rq.unit_history(
        world.pool, "bureau", world.bureau_a
    )


async def test_rankings_pass_parameters_and_answers_through(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a stand-in service: the API hands over exactly the caller's parameters."""
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
    fake = types.ModuleType("guatu.ranking.queries")

    async def get_ranking(
        pool: Any,
        level: str,
        period: str | None = None,
        *,
        ruleset_id: str | None = None,
        kind: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        bureau: str | None = None,
        program: str | None = None,
    ) -> dict:
        paging = {"limit": limit, "offset": offset, "bureau": bureau, "program": program}
        calls.append(
            ("get_ranking", (level, period), {"ruleset_id": ruleset_id, "kind": kind, **paging})
        )
        if period == "2031-01":
            return {"found": False, "rows": []}
        return {
            "found": True,
            "level": level,
            "period": period or "2031-02",
            "rows": [{"rank": 1, "code": "jyj", "score": 91.25, "movement": 2}],
            "red_list": [{"code": "jyj"}],
            "black_list": [],
        }

    async def list_periods(
        pool: Any, level: str = "bureau", *, ruleset_id: str | None = None
    ) -> list:
        calls.append(("list_periods", (level,), {"ruleset_id": ruleset_id}))
        return [{"period": "2031-02"}]

    async def open_escalations(pool: Any, bureau: str | None = None) -> list:
        calls.append(("open_escalations", (), {"bureau": bureau}))
        return [{"id": "o1", "due": "2031-03-10"}]

    fake.get_ranking = get_ranking  # type: ignore[attr-defined]
    fake.list_periods = list_periods  # type: ignore[attr-defined]
    fake.open_escalations = open_escalations  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "guatu.ranking.queries", fake)

    r = await world.call(
        "leader",
        "GET",
        "/api/v1/rankings",
        params={"level": "program", "period": "2031-Q1", "ruleset": "sanya"},
    )
    assert r.status_code == 200
    assert r.json()["rows"] == [{"rank": 1, "code": "jyj", "score": 91.25, "movement": 2}]
    r = await world.call("leader", "GET", "/api/v1/rankings", params={"period": "2031-01"})
    assert r.status_code == 404
    r = await world.call("leader", "GET", "/api/v1/rankings", params={"kind": "year"})
    assert r.json()["period"] == "2031-02"
    r = await world.call(
        "leader",
        "GET",
        "/api/v1/rankings",
        params={"level": "project", "page": 3, "page_size": 20, "bureau": "jyj", "program": "P03"},
    )
    assert r.status_code == 200
    r = await world.call("leader", "GET", "/api/v1/rankings/periods", params={"level": "project"})
    assert r.json() == [{"period": "2031-02"}]
    r = await world.call("leader", "GET", "/api/v1/escalations", params={"bureau": "jyj"})
    assert r.json() == [{"id": "o1", "due": "2031-03-10"}]
    first_page = {"limit": 50, "offset": 0, "bureau": None, "program": None}
    assert calls == [
        (
            "get_ranking",
            ("program", "2031-Q1"),
            {"ruleset_id": "sanya", "kind": None, **first_page},
        ),
        ("get_ranking", ("bureau", "2031-01"), {"ruleset_id": None, "kind": None, **first_page}),
        ("get_ranking", ("bureau", None), {"ruleset_id": None, "kind": "year", **first_page}),
        (
            "get_ranking",
            ("project", None),
            {
                "ruleset_id": None,
                "kind": None,
                "limit": 20,
                "offset": 40,
                "bureau": "jyj",
                "program": "P03",
            },
        ),
        ("list_periods", ("project",), {"ruleset_id": None}),
        ("open_escalations", (), {"bureau": "jyj"}),
    ]
    for params in (
        {"period": "2031-13"},
        {"period": "2031-Q5"},
        {"kind": "week"},
        {"ruleset": "../x"},
        {"page_size": 100_000},
        {"page": 0},
        {"bureau": "a b"},
    ):
        r = await world.call("leader", "GET", "/api/v1/rankings", params=params)
        assert r.status_code == 422, params
