"""信息公开 /public/: no token, the figures by hand (tests/scenes/fixture.py), nothing internal,
cached, rate-limited per client address."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from guatu.api.app import create_app
from guatu.api.public import routes
from guatu.core.tokens import token_id_of
from tests.api.conftest import TEST_OPTIONS
from tests.scenes.fixture import INTERNAL_NOTE, SECRET_WEBHOOK, seed

# Keys that belong to internal data: none may appear anywhere in a public answer.
INTERNAL_KEYS = {
    "token", "token_id", "token_hash", "explanations", "webhook_url", "actor", "updated_by",
    "added_by", "audit", "reason", "notes", "note", "observer", "observer_id", "contact",
    "email", "phone", "plan", "secrets", "rounds", "ranking", "published", "channels",
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
    for path in ("/public/api/overview", "/public/api/scenes", "/public/api/about", "/public/"):
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
    for name in ("Overview", "Scene", "Notice"):
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
