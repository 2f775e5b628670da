"""The findings of the outside security sweep (issue 12), one test each, through the API.

The lockout findings are tested with the rest of authentication (tests/api/test_auth.py), the
Excel export's formula injection with the dashboard (tests/browser/test_dashboard_endpoints.py).
"""

from __future__ import annotations

import asyncio
import json
import stat
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import structlog

from config.settings import Settings
from guatu.core import constants as c
from guatu.core.clock import add_months, month_key
from guatu.core.tokens import Role, verify_token
from tests.api.conftest import World, today
from workflows.project_lifecycle import ProjectLifecycle


def plan_json(world: World, bureau: str, **kw: Any) -> dict[str, Any]:
    return world.plan(bureau, **kw).model_dump(mode="json")


async def _not_started(world: World, code: str) -> bool:
    handle = world.env.client.get_workflow_handle(c.project_workflow_id(code))
    try:
        await handle.describe()
    except Exception as err:
        return "not found" in str(err).lower()
    return False


async def test_bureau_numbers_are_json_numbers_never_coerced(world: World) -> None:
    """Guards the sweep's lax-types finding: `"physical_progress_pct": true` was stored as 1.0
    and `"investment_wan": "4"` as 4.0. Bureau input is strict: JSON numbers (ints included),
    booleans and ISO date texts only; nothing refused reaches the workflow."""
    plan = await world.start(world.plan(world.bureau_a))
    path = f"/api/v1/projects/{plan.code}"
    good = {"month": month_key(today()), "investment_wan": 4, "physical_progress_pct": 10.5}
    for field, value in (
        ("physical_progress_pct", True),
        ("investment_wan", "4"),
        ("investment_wan", False),
        ("physical_progress_pct", "10.5"),
        ("correction", "true"),
        ("correction", 1),
    ):
        r = await world.call(
            "a", "POST", f"{path}/reports", headers=world.key(), json={**good, field: value}
        )
        assert r.status_code == 422, (field, value, r.text)
        assert r.json()["code"] == "invalid_input"
        assert r.json()["details"][0]["loc"] == ["body", field]
    # A date is text: 1767225600 is not read as seconds since 1970 (2026-01-01).
    r = await world.call(
        "a",
        "POST",
        f"{path}/transitions",
        headers=world.key(),
        json={"step": "preliminary", "on": 1767225600},
    )
    assert r.status_code == 422 and r.json()["details"][0]["loc"] == ["body", "on"]
    status = (await world.call("leader", "GET", path)).json()
    assert status["stage"] == "approved" and status["last_report"] is None
    # An int is a JSON number: accepted, and stored as the number it is.
    r = await world.call("a", "POST", f"{path}/reports", headers=world.key(), json=good)
    assert r.status_code == 200, r.text
    status = (await world.call("leader", "GET", path)).json()
    assert status["last_report"]["investment_wan"] == 4.0
    assert status["last_report"]["physical_progress_pct"] == 10.5
    # Plans as well: a manager's amounts and flags are not coerced either.
    body = plan_json(world, world.bureau_a)
    for field, value in (
        ("total_investment_wan", "1200"),
        ("illustrative", 1),
        ("total_investment_wan", True),
    ):
        r = await world.call("manager", "POST", "/api/v1/projects", json={**body, field: value})
        assert r.status_code == 422, (field, value, r.text)
        assert r.json()["details"][0]["loc"] == ["body", field]
    assert await _not_started(world, body["code"])


async def test_json_start_and_import_refuse_an_unknown_bureau_or_program(world: World) -> None:
    """Guards the sweep's finding that the JSON start and import accepted an unknown bureau and
    program (the CSV path refused them), leaving a project nobody can report on."""
    good = plan_json(world, world.bureau_a)
    stranger = {**plan_json(world, world.bureau_a), "bureau": "no_such_bureau"}
    nowhere = {**plan_json(world, world.bureau_a), "program": "P99"}
    world.started.extend(p["code"] for p in (good, stranger, nowhere))
    r = await world.call("manager", "POST", "/api/v1/projects", json=stranger)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "unknown_bureau"
    assert (
        "责任单位「no_such_bureau」不存在" in body["zh"]
        and "no bureau 'no_such_bureau'" in body["en"]
    )
    assert body["details"] == [
        {"loc": ["body", "bureau"], "project": stranger["code"], "value": "no_such_bureau"}
    ]
    r = await world.call("manager", "POST", "/api/v1/projects", json=nowhere)
    assert r.status_code == 422 and r.json()["code"] == "unknown_program"
    # The import checks every plan first: one bad plan and nothing starts, dry run or not.
    for dry_run in (True, False):
        r = await world.call(
            "manager",
            "POST",
            "/api/v1/projects/import",
            params={"dry_run": dry_run},
            json=[good, stranger, nowhere],
        )
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "unknown_reference"
        assert [d["loc"] for d in r.json()["details"]] == [
            ["body", 1, "bureau"],
            ["body", 2, "program"],
        ]
    for plan in (good, stranger, nowhere):
        assert await _not_started(world, plan["code"]), plan["code"]
    r = await world.call("manager", "POST", "/api/v1/projects", json=good)
    assert r.status_code == 201, r.text


async def test_startup_logs_where_the_dashboard_link_is_never_the_token(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """Guards the sweep's finding that `guatu up` wrote the raw leader token to the log in its
    "dashboard for leaders" line. The line names the tokens file; the file (mode 0600) holds the
    ready-made link, so `make run` stays one click from the dashboard."""
    from guatu.runtime.up import bootstrap_tokens

    settings = Settings(data_dir=tmp_path, api_host="127.0.0.1", api_port=8123)
    stack = SimpleNamespace(settings=settings, pool=pool, api=pool)
    with structlog.testing.capture_logs() as logs:
        tokens = await bootstrap_tokens(stack)  # type: ignore[arg-type]
    path = tmp_path / "tokens.json"
    leader, admin = tokens["leader"], tokens["admin"]
    assert all(leader not in repr(event) and admin not in repr(event) for event in logs)
    [line] = [e for e in logs if e["event"] == "dashboard for leaders"]
    assert line["tokens_file"] == str(path) and line["url"] == "http://127.0.0.1:8123/"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(path.read_text())
    assert saved["dashboard_url"] == f"http://127.0.0.1:8123/#token={leader}"
    principal = await verify_token(pool, leader)
    assert principal is not None and principal.role is Role.LEADER
    # A second start reuses the live tokens and the link.
    assert await bootstrap_tokens(stack) == tokens  # type: ignore[arg-type]


async def test_a_crowd_of_updates_to_one_project_gets_429_at_once_not_503(world: World) -> None:
    """Guards the sweep's finding that more than 10 concurrent Updates to one project waited
    10–19 s (the SDK retrying Temporal's in-flight update limit) and then answered 503. The
    API admits `updates_per_project` (8) at a time; the rest answer 429 with Retry-After at
    once, and none of them is half-applied: a 429'd report is not in the project, and the same
    request sent again later goes through."""
    # 15 months of reports: the plan started 17 months ago and runs 40.
    plan = await world.start(world.plan(world.bureau_a, days_ago=30 * 17, months=40))
    path = f"/api/v1/projects/{plan.code}/reports"
    first = today().replace(day=1)
    months = [month_key(add_months(first, -i)) for i in range(15)]
    keys = {m: f"crowd-{m}-{uuid.uuid4().hex[:8]}" for m in months}

    async def report(month: str) -> tuple[str, httpx.Response, float]:
        began = time.monotonic()
        r = await world.call(
            "a",
            "POST",
            path,
            headers={"Idempotency-Key": keys[month]},
            json={"month": month, "investment_wan": 1, "physical_progress_pct": 10},
        )  # same % in any order
        return month, r, time.monotonic() - began

    answers = await asyncio.gather(*(report(m) for m in months))
    codes = sorted(r.status_code for _, r, _ in answers)
    assert set(codes) <= {200, 429}, [
        r.text for _, r, _ in answers if r.status_code not in (200, 429)
    ]
    accepted = {m for m, r, _ in answers if r.status_code == 200}
    crowded = {m: (r, took) for m, r, took in answers if r.status_code == 429}
    assert 1 <= len(accepted) and crowded, codes  # 15 at once > 8 admitted
    for month, (r, took) in crowded.items():
        assert r.json()["code"] == "too_many_updates" and r.headers["retry-after"] == "1"
        assert "该项目正在处理的请求已达上限（最多 8 个）" in r.json()["zh"]
        assert took < 5, (month, took)  # at once, not after the SDK's 10–19 s of retries
    state = await world.env.client.get_workflow_handle(c.project_workflow_id(plan.code)).query(
        ProjectLifecycle.state
    )
    assert set(state.reports) == accepted
    # Nothing of a 429 was kept: the same request with the same key now goes through.
    for month in sorted(crowded):
        again = (await report(month))[1]
        assert again.status_code == 200 and again.json()["duplicate"] is False, again.text
    state = await world.env.client.get_workflow_handle(c.project_workflow_id(plan.code)).query(
        ProjectLifecycle.state
    )
    assert set(state.reports) == set(months)


def test_temporal_in_flight_update_limit_is_429_not_503() -> None:
    """The same limit met on the server (another API process, the CLI): Temporal's
    RESOURCE_EXHAUSTED for in-flight updates is the caller's crowd (429), not an outage."""
    from temporalio.service import RPCError, RPCStatusCode

    from guatu.api.errors import rpc_error

    crowd = RPCError(
        "limit on number of concurrent in-flight updates has been reached (10)",
        RPCStatusCode.RESOURCE_EXHAUSTED,
        b"",
    )
    mapped = rpc_error(crowd)
    assert mapped is not None and (mapped.status, mapped.code) == (429, "too_many_updates")
    assert mapped.headers == {"Retry-After": "1"}
    quota = RPCError("namespace rate limit exceeded", RPCStatusCode.RESOURCE_EXHAUSTED, b"")
    mapped = rpc_error(quota)
    assert mapped is not None and mapped.status == 503


async def test_openapi_documents_400_and_the_page_cap_and_options_lists_every_method(
    world: World,
) -> None:
    """Guards the sweep's OpenAPI findings: a non-UTF-8 body answered an undocumented 400; the
    `page_size` cap was not in the schema; `OPTIONS` (and a 405) named only the methods of the
    path's first route (GET of /projects, not POST)."""
    schema = (await world.client.get("/openapi.json")).json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                assert "400" in operation["responses"], (method, path)
    report = schema["paths"]["/api/v1/projects/{code}/reports"]["post"]["responses"]["400"]
    assert report["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    [page_size] = [
        p
        for p in schema["paths"]["/api/v1/projects"]["get"]["parameters"]
        if p["name"] == "page_size"
    ]
    assert page_size["schema"]["maximum"] == 200 and page_size["schema"]["minimum"] == 1
    # The 400 itself: a body that is not UTF-8, answered in the API's error shape.
    plan = await world.start(world.plan(world.bureau_a))
    r = await world.call(
        "a",
        "POST",
        f"/api/v1/projects/{plan.code}/reports",
        headers={**world.key(), "Content-Type": "application/json"},
        content=b'{"month": "\xff\xfe"}',
    )
    assert r.status_code == 400 and r.json()["code"] == "bad_request"
    assert "UTF-8" in r.json()["zh"] and "UTF-8" in r.json()["en"]
    # OPTIONS lists every method of the path, from every route that serves it.
    for path, allowed in (
        ("/api/v1/projects", "GET, POST, OPTIONS"),
        ("/api/v1/tokens", "GET, POST, OPTIONS"),
        (f"/api/v1/projects/{plan.code}", "GET, OPTIONS"),
        ("/api/v1/tokens/0123456789ab", "DELETE, OPTIONS"),
    ):
        r = await world.client.options(path)
        assert (r.status_code, r.headers["allow"]) == (204, allowed), path
        r = await world.client.put(path)
        assert (r.status_code, r.headers["allow"]) == (405, allowed), path
        assert r.json()["code"] == "method_not_allowed"
    assert (await world.client.options("/api/v1/no-such-thing")).status_code == 404


async def test_months_periods_and_codes_accept_ascii_digits_only(world: World) -> None:
    """Guards the sweep's finding that "٢٠٢٦-09" (Arabic-Indic digits) passed the month pattern
    and was refused as a future month: every month, period and code is ASCII digits, and a
    malformed one is `invalid_input` (422) before any rule sees it. (The report month and the
    period were fixed with the year range 2000–2100; the what-if months here, which took 0000,
    now share that pattern.)"""
    plan = await world.start(world.plan(world.bureau_a))
    path = f"/api/v1/projects/{plan.code}"
    for month in ("٢٠٢٦-09", "２０２６-09", "2026-٠٩", "0000-01"):
        r = await world.call(
            "a",
            "POST",
            f"{path}/reports",
            headers=world.key(),
            json={"month": month, "investment_wan": 1, "physical_progress_pct": 1},
        )
        assert r.status_code == 422, (month, r.text)
        assert r.json()["code"] == "invalid_input" and r.json()["details"][0]["loc"] == [
            "body",
            "month",
        ], month
    for query in ({"period": "٢٠٢٦"}, {"period": "2026-Q٤"}):
        r = await world.call("leader", "GET", "/api/v1/rankings", params=query)
        assert r.status_code == 422 and r.json()["code"] == "invalid_input", (query, r.text)
        assert r.json()["details"][0]["loc"] == ["query", "period"]
    for first in ("٢٠٢٦-01", "0000-01"):
        r = await world.call(
            "leader",
            "GET",
            "/api/v1/rankings/whatif",
            params={"ruleset": "default", "from": first, "to": "2026-02"},
        )
        assert r.status_code == 422 and r.json()["code"] == "invalid_input", (first, r.text)
        assert r.json()["details"][0]["loc"] == ["query", "from"]
    # The first month the pattern admits is a valid start (it answered 500: the range was
    # walked back one month past 2000-01).
    r = await world.call(
        "leader",
        "GET",
        "/api/v1/rankings/whatif",
        params={"ruleset": "default", "from": "2000-01", "to": "2000-02"},
    )
    assert r.status_code == 200, r.text
    for code in ("P٠٣-012", "Ｐ03-012"):
        r = await world.call("leader", "GET", f"/api/v1/projects/{code}")
        assert r.status_code == 422 and r.json()["details"][0]["loc"] == ["path", "code"], code
    body = {**plan_json(world, world.bureau_a), "code": "WJ٢٠٢١-P01-001"}
    r = await world.call("manager", "POST", "/api/v1/projects", json=body)
    assert r.status_code == 422 and r.json()["details"][0]["loc"] == ["body", "code"]
