"""信息公开 /public/: no token, the figures by hand (tests/scenes/fixture.py), nothing internal,
cached, rate-limited per client address."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.api.app import create_app
from guatu.api.public import routes
from guatu.core.clock import local_date
from guatu.core.tokens import token_id_of
from tests.api.conftest import TEST_OPTIONS
from tests.api.public_fixture import OBSERVER, SECRETS, seed_observations
from tests.scenes.fixture import INTERNAL_NOTE, SECRET_WEBHOOK, seed

# Keys that belong to internal data: none may appear anywhere in a public answer.
INTERNAL_KEYS = {
    "token", "token_id", "token_hash", "explanations", "webhook_url", "actor", "updated_by",
    "added_by", "audit", "reason", "notes", "note", "observer", "observer_id", "contact",
    "email", "phone", "plan", "secrets", "rounds", "ranking", "published", "channels",
    "text", "photos", "reply", "replied_by", "rating_comment", "escalation_reason", "resolution",
    "uscc", "company_name", "contact_name", "contact_phone", "interests", "categories",
}  # fmt: skip
# Every key the public 市民观察 figures may carry: aggregates and names, nothing else.
SATISFACTION_KEYS = {
    "as_of", "total", "bureaus", "scenes", "projects", "code", "name_zh", "observations",
    "average_rating", "replies_due", "replied_on_time", "timeliness", "rated", "satisfied",
    "satisfaction", "escalated",
}  # fmt: skip


def keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | set().union(*(keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(keys(v) for v in value)) if value else set()
    return set()


@pytest_asyncio.fixture
async def public(
    dev_env: WorkflowEnvironment, fresh_pool: asyncpg.Pool
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, Any]]]:
    seeded = await seed(fresh_pool)
    await seed_observations(fresh_pool, local_date(datetime.now(UTC)))
    app = create_app(dev_env.client, fresh_pool, Settings(), options=TEST_OPTIONS)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://guatu.test", timeout=30
    ) as api:
        yield api, seeded


async def test_public_answers_without_a_token_and_by_hand(
    public: tuple[httpx.AsyncClient, dict[str, Any]],
) -> None:
    api, _ = public
    ov = await api.get("/public/api/overview")
    assert ov.status_code == 200, ov.text
    body = ov.json()
    assert body["illustrative"] is True and body["as_of"] == "2026-10-15"
    total = body["total"]
    assert (total["projects"], total["total_investment_wan"]) == (4, 20000.0)
    assert (total["planned_investment_to_date_wan"], total["actual_investment_wan"]) == (7500, 6400)
    assert total["actual_vs_planned_pct"] == 85.3
    assert total["lights"] == {"green": 2, "yellow": 1, "red": 1}
    by_code = {p["code"]: p for p in body["programs"]}
    assert by_code["P07"]["actual_vs_planned_pct"] == 95.0
    assert by_code["P10"]["actual_vs_planned_pct"] == 46.7
    assert by_code["P07"]["name_zh"] == "稳定公平可及营商环境建设工程"

    sc = await api.get("/public/api/scenes")
    assert sc.status_code == 200
    scenes = {s["code"]: s for s in sc.json()}
    assert scenes["S-JQJA"]["light"] == "red" and scenes["S-ELDER"]["light"] == "green"
    assert scenes["S-JQJA"]["progress"]["investment_ratio"] == 0.8429
    assert scenes["S-JQJA"]["light_reasons_zh"][0] == "3 个成员项目中 1 个红灯（达到三分之一）"
    assert [m["code"] for m in scenes["S-JQJA"]["members"]] == ["PUB-1", "PUB-2", "PUB-3"]
    assert scenes["S-JQJA"]["lead_bureau_name_zh"]

    page = await api.get("/public/")
    assert page.status_code == 200 and "信息公开" in page.text
    assert page.text.index("信息公开") < page.text.index("English")  # Chinese first
    js = await api.get("/public/static/public.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("application/javascript")
    assert (await api.get("/public/static/../app.py")).status_code == 404


async def test_no_internal_field_leaks(public: tuple[httpx.AsyncClient, dict[str, Any]]) -> None:
    api, seeded = public
    token = seeded["token"]
    secrets = [token, token_id_of(token) or "", INTERNAL_NOTE, SECRET_WEBHOOK, "secret-actor",
               "secret-label", "INTERNAL-NOTE"]  # fmt: skip
    secrets += SECRETS
    paths = ("/public/api/overview", "/public/api/scenes", "/public/api/satisfaction")
    for path in (*paths, "/public/api/about", "/public/"):
        # With or without a token, the same public answer.
        for headers in ({}, {"Authorization": f"Bearer {token}"}):
            r = await api.get(path, headers=headers)
            assert r.status_code == 200, (path, r.text)
            for secret in secrets:
                assert secret not in r.text, (path, secret)
            if path != "/public/":
                leaked = keys(r.json()) & INTERNAL_KEYS
                assert not leaked, (path, leaked)
    # The OpenAPI schema of the public answers has no internal field either.
    schema = (await api.get("/openapi.json")).json()
    public_schemas = json.dumps(
        {p: v for p, v in schema["paths"].items() if p.startswith("/public/")}
    )
    for name in ("Overview", "Scene", "Notice", "PublicSatisfaction", "ObservationFigures"):
        if name != "ObservationFigures":  # inside PublicSatisfaction
            assert f"#/components/schemas/{name}" in public_schemas
        assert not keys(schema["components"]["schemas"][name]["properties"]) & INTERNAL_KEYS


async def test_cached_and_rate_limited_per_client(
    public: tuple[httpx.AsyncClient, dict[str, Any]], fresh_pool: asyncpg.Pool
) -> None:
    api, _ = public
    first = await api.get("/public/api/overview")
    assert first.headers["cache-control"] == f"public, max-age={routes.MAX_AGE}"
    # Server-side cache: a change in the read model shows only after CACHE_SECONDS.
    async with fresh_pool.acquire() as conn:
        await conn.execute("UPDATE projects SET actual_investment_wan = 0, version = version + 1")
    again = await api.get("/public/api/overview")
    assert again.json()["total"]["actual_investment_wan"] == 6400
    # Per client address: one client exhausts its burst and gets 429 with Retry-After (Chinese
    # first); another address is still served.
    statuses = [
        (await api.get("/public/api/about")).status_code for _ in range(routes.RATE_BURST + 5)
    ]
    assert statuses.count(429) >= 5 - 2, statuses  # 2 requests above already took tokens
    limited = await api.get("/public/api/about")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert limited.json()["zh"].startswith("访问过于频繁")
    other = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api._transport.app, client=("10.9.9.9", 1234)),  # type: ignore[attr-defined]
        base_url="http://guatu.test",
    )
    async with other:
        assert (await other.get("/public/api/about")).status_code == 200


def _by_code(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {x["code"]: x for x in items}


def _figures(f: dict[str, Any]) -> tuple[Any, ...]:
    return (
        f["observations"],
        f["average_rating"],
        f["replies_due"],
        f["replied_on_time"],
        f["timeliness"],
        f["rated"],
        f["satisfied"],
        f["satisfaction"],
        f["escalated"],
    )


async def test_satisfaction_figures_by_hand_and_nothing_else(
    public: tuple[httpx.AsyncClient, dict[str, Any]],
) -> None:
    """tests/api/public_fixture.py has the figures by hand."""
    api, seeded = public
    r = await api.get("/public/api/satisfaction")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["as_of"] == local_date(datetime.now(UTC)).isoformat()
    assert _figures(body["total"]) == (6, 3.5, 4, 2, 0.5, 3, 2, 0.6667, 2)
    bureaus = _by_code(body["bureaus"])
    assert set(bureaus) == {"xzspj", "mzj"}
    assert bureaus["xzspj"]["name_zh"] == "区行政审批局"
    assert _figures(bureaus["xzspj"]) == (3, 3.67, 3, 2, 0.6667, 3, 2, 0.6667, 1)
    assert _figures(bureaus["mzj"]) == (3, 3.33, 1, 0, 0.0, 0, 0, None, 1)
    scenes = _by_code(body["scenes"])
    assert scenes["S-JQJA"]["name_zh"] == "九曲江安·十里光华"
    assert _figures(scenes["S-JQJA"]) == (4, 3.0, 4, 2, 0.5, 3, 2, 0.6667, 2)
    assert _figures(scenes["S-ELDER"]) == (2, 4.5, 0, 0, None, 0, 0, None, 0)
    projects = _by_code(body["projects"])
    assert set(projects) == {"PUB-1", "PUB-2", "PUB-3", "PUB-4"}
    assert _figures(projects["PUB-1"]) == (2, 4.5, 2, 2, 1.0, 2, 2, 1.0, 0)
    assert _figures(projects["PUB-4"]) == (1, 4.0, 0, 0, None, 0, 0, None, 0)
    # Aggregates and names only: every key is one the public model lists, with or without a
    # token; no observer, text, photo, reply or comment anywhere in the answer.
    assert keys(body) == SATISFACTION_KEYS
    assert keys(body) & INTERNAL_KEYS == set()
    for secret in SECRETS:
        assert secret not in r.text
    with_token = await api.get(
        "/public/api/satisfaction", headers={"Authorization": f"Bearer {seeded['token']}"}
    )
    assert with_token.json() == body and OBSERVER not in with_token.text
    about = (await api.get("/public/api/about")).json()
    assert about["sections"] == ["overview", "scenes", "opportunities", "satisfaction"]


async def test_satisfaction_is_cached_and_rate_limited_like_the_others(
    public: tuple[httpx.AsyncClient, dict[str, Any]], fresh_pool: asyncpg.Pool
) -> None:
    api, _ = public
    first = await api.get("/public/api/satisfaction")
    assert first.status_code == 200
    assert first.headers["cache-control"] == f"public, max-age={routes.MAX_AGE}"
    # Server-side cache: a new observation shows only after CACHE_SECONDS.
    async with fresh_pool.acquire() as conn:
        await conn.execute(
            "UPDATE observations SET satisfaction = 'satisfied' WHERE satisfaction = 'unsatisfied'"
        )
    again = await api.get("/public/api/satisfaction")
    assert again.json() == first.json()
    # The cache expires: the next read after the interval sees the change.
    cache = api._transport.app.state.public_cache  # type: ignore[attr-defined]
    for key in list(cache.entries):
        at, value = cache.entries[key]
        cache.entries[key] = (at - routes.CACHE_SECONDS - 1, value)
    fresh = await api.get("/public/api/satisfaction")
    assert fresh.json()["total"]["satisfied"] == 3 and fresh.json()["total"]["rated"] == 3
    # The same per-client budget as the other public answers: 429, Retry-After, Chinese first.
    statuses = [
        (await api.get("/public/api/satisfaction")).status_code
        for _ in range(routes.RATE_BURST + 5)
    ]
    assert 429 in statuses
    limited = await api.get("/public/api/satisfaction")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert limited.json()["zh"].startswith("访问过于频繁")
    # Shared with the other public answers: the overview is limited for this client too.
    assert (await api.get("/public/api/overview")).status_code == 429
