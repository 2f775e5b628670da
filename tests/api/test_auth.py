"""Authentication (401), token storage, token administration, rate limit (429), /docs."""

from __future__ import annotations

import asyncio
import hashlib

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from guatu.api.app import create_app
from guatu.api.deps import ApiOptions
from guatu.core.tokens import (
    RevokeRefused,
    Role,
    TokenError,
    create_token,
    list_tokens,
    revoke_token,
    token_id_of,
    verify_token,
)
from tests.api.conftest import World


async def test_requests_without_a_valid_token_are_401(world: World) -> None:
    token = world.tokens["leader"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for headers in (
        {},
        {"Authorization": ""},
        {"Authorization": f"Basic {token}"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": f"Bearer {forged}"},
    ):
        r = await world.client.get("/api/v1/projects", headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert r.json()["code"] in ("missing_token", "invalid_token")
    r = await world.client.get("/api/v1/projects", headers=world.auth("leader"))
    assert r.status_code == 200


async def test_tokens_are_stored_hashed_and_verify_to_their_principal(world: World) -> None:
    raw = await create_token(world.pool, "bureau", world.bureau_a, "ERP")
    token_id = token_id_of(raw)
    assert token_id is not None and raw.startswith(f"gt_{token_id}_")
    rows = await world.rows("SELECT * FROM api_tokens WHERE id = $1", token_id)
    assert rows[0]["token_hash"] == hashlib.sha256(raw.encode()).hexdigest()
    assert all(raw not in str(v) for v in dict(rows[0]).values())
    principal = await verify_token(world.pool, raw)
    assert principal is not None
    assert (principal.role, principal.bureau, principal.label) == (
        Role.BUREAU,
        world.bureau_a,
        "ERP",
    )
    assert principal.actor == f"bureau:{token_id} (ERP)"
    assert await revoke_token(world.pool, token_id) is True
    assert await verify_token(world.pool, raw) is None
    assert await revoke_token(world.pool, token_id) is False
    for role, bureau in (
        ("bureau", None),
        ("leader", world.bureau_a),
        ("root", None),
        ("bureau", "no_such_bureau"),
    ):
        try:
            await create_token(world.pool, role, bureau)
            raise AssertionError(f"created {role} {bureau}")
        except TokenError:
            pass


async def test_admin_creates_lists_and_revokes_tokens(world: World) -> None:
    r = await world.call(
        "admin",
        "POST",
        "/api/v1/tokens",
        json={"role": "bureau", "bureau": world.bureau_b, "label": "OA"},
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["role"], created["bureau"], created["label"]) == (
        "bureau",
        world.bureau_b,
        "OA",
    )
    new = {"Authorization": f"Bearer {created['token']}"}
    me = (await world.client.get("/api/v1/me", headers=new)).json()
    assert (me["token_id"], me["bureau"]) == (created["id"], world.bureau_b)
    listed = (await world.call("admin", "GET", "/api/v1/tokens")).json()
    mine = [t for t in listed if t["id"] == created["id"]]
    assert len(mine) == 1 and "token" not in mine[0] and "token_hash" not in mine[0]
    for bad in (
        {"role": "bureau"},
        {"role": "leader", "bureau": world.bureau_a},
        {"role": "bureau", "bureau": "no_such_bureau"},
        {"role": "root"},
        {"role": "admin", "label": "x" * 101},
        {"role": "admin", "actor": "me"},
    ):
        r = await world.call("admin", "POST", "/api/v1/tokens", json=bad)
        assert r.status_code == 422, (bad, r.text)
    r = await world.call("admin", "DELETE", f"/api/v1/tokens/{created['id']}")
    assert r.status_code == 204
    assert (await world.client.get("/api/v1/me", headers=new)).status_code == 401
    r = await world.call("admin", "DELETE", f"/api/v1/tokens/{created['id']}")
    assert r.status_code == 404 and r.json()["code"] == "token_not_found"
    r = await world.call("admin", "DELETE", "/api/v1/tokens/XYZ")
    assert r.status_code == 422
    listed = (
        await world.call("admin", "GET", "/api/v1/tokens", params={"include_revoked": True})
    ).json()
    assert [t["revoked_at"] is not None for t in listed if t["id"] == created["id"]] == [True]
    for who in ("a", "manager", "leader"):
        assert (await world.call(who, "GET", "/api/v1/tokens")).status_code == 403


async def test_reference_data_for_every_role(world: World) -> None:
    for who in ("a", "manager", "leader", "admin"):
        bureaus = (await world.call(who, "GET", "/api/v1/bureaus")).json()
        assert world.bureau_a in {b["code"] for b in bureaus}
        programs = (await world.call(who, "GET", "/api/v1/programs")).json()
        assert [p["code"] for p in programs][:2] == ["P01", "P02"]
        assert programs[5]["name_zh"] == "生态惠民示范工程"


async def test_rate_limit_per_token(world: World, api_app: FastAPI) -> None:
    ctx = api_app.state.guatu
    app = create_app(
        ctx.client,
        ctx.pool,
        ctx.settings,
        task_queue=ctx.task_queue,
        options=ApiOptions(rate_per_second=0.5, rate_burst=3),
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://guatu.test"
    ) as client:
        codes = [
            (await client.get("/api/v1/me", headers=world.auth("a"))).status_code for _ in range(3)
        ]
        assert codes == [200, 200, 200]
        r = await client.get("/api/v1/me", headers=world.auth("a"))
        assert r.status_code == 429 and r.json()["code"] == "rate_limited"
        assert r.headers["retry-after"] == "2"  # one token refills in 1 / 0.5 s
        # Another token has its own bucket.
        assert (await client.get("/api/v1/me", headers=world.auth("b"))).status_code == 200
        # Forbidden calls count too: a bureau cannot probe leader routes at full speed.
        for _ in range(2):
            await client.get("/api/v1/overview", headers=world.auth("b"))
        assert (await client.get("/api/v1/overview", headers=world.auth("b"))).status_code == 429
        await asyncio.sleep(2.1)
        assert (await client.get("/api/v1/me", headers=world.auth("a"))).status_code == 200


async def test_bad_tokens_slow_down_their_own_key_never_a_good_token(
    world: World, api_app: FastAPI
) -> None:
    """Guards the sweep's lockout finding: failed or anonymous requests from one address (behind
    a proxy: from everyone) used to lock out every valid token from that address. Failures now
    count per presented token id and client, or per client without a token."""
    ctx = api_app.state.guatu
    app = create_app(
        ctx.client,
        ctx.pool,
        ctx.settings,
        task_queue=ctx.task_queue,
        options=ApiOptions(failed_auth_per_second=0.5, failed_auth_burst=3),
    )
    bad = {"Authorization": "Bearer gt_000000000000_" + "x" * 43}
    other_bad = {"Authorization": "Bearer gt_111111111111_" + "x" * 43}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("10.0.0.7", 1)), base_url="http://guatu.test"
    ) as client:
        codes = [(await client.get("/api/v1/me", headers=bad)).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]  # burst 3, then that token id waits
        r = await client.get("/api/v1/me", headers=bad)
        assert r.status_code == 429 and r.json()["code"] == "too_many_failed_logins"
        assert r.headers["retry-after"] == "2"  # one failure refills in 1 / 0.5 s
        # A good token from the same address is not locked out, nor another token id.
        assert (await client.get("/api/v1/me", headers=world.auth("a"))).status_code == 200
        assert (await client.get("/api/v1/me", headers=other_bad)).status_code == 401
        # Anonymous and malformed requests share the address's own allowance.
        anonymous = [
            (await client.get("/api/v1/me", headers=h)).status_code
            for h in ({}, {"Authorization": "Bearer nope"}, {}, {})
        ]
        assert anonymous == [401, 401, 401, 429]
        assert (await client.get("/api/v1/me", headers=world.auth("a"))).status_code == 200
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("10.0.0.8", 1)), base_url="http://guatu.test"
    ) as client:
        # Another client presenting the same bad id has its own allowance.
        assert (await client.get("/api/v1/me", headers=bad)).status_code == 401
        assert (await client.get("/api/v1/me")).status_code == 401


async def test_forwarded_for_is_believed_from_trusted_proxies_only(
    world: World, api_app: FastAPI
) -> None:
    """Guards the sweep's finding that X-Forwarded-For was trusted from loopback: a client could
    dodge the failure allowance by inventing an address per request. Only the proxies listed in
    GUATU_TRUSTED_PROXIES are believed, and then only the hop they appended."""
    ctx = api_app.state.guatu

    async def anonymous(app: FastAPI, forwarded: list[str]) -> list[int]:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://guatu.test") as c:
            return [
                (await c.get("/api/v1/me", headers={"X-Forwarded-For": f})).status_code
                for f in forwarded
            ]

    default = create_app(
        ctx.client,
        ctx.pool,
        ctx.settings,
        task_queue=ctx.task_queue,
        options=ApiOptions(failed_auth_burst=3),
    )
    # Nothing trusted: four invented addresses are one client (loopback), the 4th waits.
    assert await anonymous(default, ["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"]) == [
        401,
        401,
        401,
        429,
    ]
    proxied = create_app(
        ctx.client,
        ctx.pool,
        ctx.settings,
        task_queue=ctx.task_queue,
        options=ApiOptions(failed_auth_burst=3, trusted_proxies=["127.0.0.1", "10.1.0.0/16"]),
    )
    # Behind trusted proxies (loopback, then 10.1.x.x) the client is the hop they appended;
    # what the client itself put further left is ignored.
    assert await anonymous(proxied, [f"{i}.9.9.9, 203.0.113.5, 10.1.2.3" for i in range(4)]) == [
        401,
        401,
        401,
        429,
    ]
    # ...and another client behind the same proxy is not slowed down by it.
    assert await anonymous(proxied, ["198.51.100.7"]) == [401]


def test_client_address_reads_forwarded_for_from_the_right() -> None:
    """The client is the first hop, from the right, that is not a trusted proxy."""
    from guatu.api.auth import client_address, parse_networks

    trusted = parse_networks(["10.0.0.0/8", "::1"])
    assert client_address("127.0.0.1", "6.6.6.6", ()) == "127.0.0.1"
    assert client_address("127.0.0.1", "6.6.6.6", trusted) == "127.0.0.1"  # not trusted
    assert client_address("10.0.0.2", "6.6.6.6, 7.7.7.7", trusted) == "7.7.7.7"
    assert client_address("10.0.0.2", "7.7.7.7, 10.3.3.3", trusted) == "7.7.7.7"
    assert client_address("::1", "2001:db8::1", trusted) == "2001:db8::1"
    assert client_address("10.0.0.2", "10.0.0.9", trusted) == "10.0.0.9"  # only proxies
    assert client_address("10.0.0.2", "", trusted) == "10.0.0.2"
    assert client_address(None, "7.7.7.7", trusted) == "-"


async def test_openapi_docs_are_served_locally(world: World) -> None:
    r = await world.client.get("/docs")
    assert r.status_code == 200 and "swagger-ui-bundle.js" in r.text
    assert "cdn" not in r.text.lower()
    js = await world.client.get("/static-offline-docs/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000
    schema = (await world.client.get("/openapi.json")).json()
    paths = set(schema["paths"])
    assert {
        "/api/v1/projects/{code}/transitions",
        "/api/v1/projects/{code}/reports",
        "/api/v1/notifications",
        "/api/v1/notifications/{key}/ack",
        "/api/v1/projects",
        "/api/v1/projects/import",
        "/api/v1/projects/{code}/plan-change",
        "/api/v1/projects/{code}/suspend",
        "/api/v1/projects/{code}/resume",
        "/api/v1/projects/{code}/cancel",
        "/api/v1/projects/{code}",
        "/api/v1/rankings",
        "/api/v1/rankings/periods",
        "/api/v1/escalations",
        "/api/v1/overview",
        "/api/v1/tokens",
        "/api/v1/tokens/{token_id}",
        "/healthz",
        "/readyz",
        "/api/v1/bureaus/{bureau}/exemptions",
        "/api/v1/bureaus/{bureau}/standing",
        "/api/v1/supervision-orders/{order_id}/correction-plan",
        "/api/v1/rankings/history",
        "/api/v1/me",
        "/api/v1/bureaus",
        "/api/v1/programs",
        "/api/v1/projects/{code}/issues",
    } <= paths
    transition = schema["paths"]["/api/v1/projects/{code}/transitions"]["post"]
    headers = [p["name"] for p in transition["parameters"] if p["in"] == "header"]
    assert headers == ["Idempotency-Key"]
    body_ref = transition["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    assert body["additionalProperties"] is False and "actor" not in body["properties"]
    assert {"401", "403", "404", "409", "413", "422", "429", "503"} <= set(transition["responses"])
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_token_bucket_arithmetic() -> None:
    """burst 3, 2 tokens a second, on a hand-driven clock."""
    from guatu.api.auth import RateLimiter

    class Clocked(RateLimiter):
        now = 100.0

        def _now(self) -> float:
            return self.now

    bucket = Clocked(rate=2.0, burst=3, max_keys=2)
    assert [bucket.take("t") for _ in range(3)] == [None, None, None]
    assert bucket.take("t") == 0.5  # empty: one token in 1 / 2 s
    bucket.now += 0.25
    assert bucket.take("t") == 0.25  # half a token refilled
    bucket.now += 0.25
    assert bucket.take("t") is None
    bucket.now += 10  # refills to the burst, not beyond
    assert [bucket.take("t") for _ in range(4)] == [None, None, None, 0.5]
    assert bucket.peek("t") == 0.5 and bucket.peek("new") is None
    bucket.take("u")
    bucket.now += 10  # both full again: forgotten when a third key arrives
    bucket.take("v")
    assert sorted(bucket._buckets) == ["v"]


async def test_the_served_api_ignores_forwarded_for_from_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Guards the sweep's finding at its source: uvicorn, as `guatu up` ran it, rewrote the
    client from X-Forwarded-For whenever the connection came from 127.0.0.1, so a local proxy's
    clients (or anyone on the host) could pick their own address for the failure allowance."""
    from types import SimpleNamespace

    from config.settings import Settings
    from guatu.api.server import run_api
    from tests.conftest import free_port

    monkeypatch.setenv("GUATU_API_FAILED_AUTH_BURST", "3")
    monkeypatch.delenv("GUATU_TRUSTED_PROXIES", raising=False)
    port = free_port()
    # Anonymous requests never reach Temporal or PostgreSQL: no client or pool is needed.
    stack = SimpleNamespace(
        client=None,
        pool=None,
        api=None,
        reads=None,
        settings=Settings(api_host="127.0.0.1", api_port=port),
    )
    stop = asyncio.Event()
    serving = asyncio.create_task(run_api(stack, stop))  # type: ignore[arg-type]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(100):
                try:
                    await client.get("/healthz")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            codes = [
                (
                    await client.get("/api/v1/me", headers={"X-Forwarded-For": f"9.9.9.{i}"})
                ).status_code
                for i in range(4)
            ]
        assert codes == [401, 401, 401, 429]
    finally:
        stop.set()
        await asyncio.wait_for(serving, 30)


async def test_an_admin_cannot_revoke_itself_or_the_last_admin(
    world: World, fresh_pool: asyncpg.Pool
) -> None:
    """Guards the sweep's finding that an admin could revoke its own token and the last admin
    token, leaving no one able to issue tokens. Refused (409) by the API and the library the
    CLI uses, with code, 中文 and English; nothing is revoked."""
    ctx = world.app.state.guatu
    app = create_app(
        ctx.client, fresh_pool, ctx.settings, task_queue=ctx.task_queue, options=ctx.options
    )
    first = await create_token(fresh_pool, "admin", label="first")
    second = await create_token(fresh_pool, "admin", label="second")
    first_id, second_id = token_id_of(first), token_id_of(second)
    assert first_id is not None and second_id is not None

    async def revoke(raw: str, token_id: str) -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://guatu.test"
        ) as client:
            return await client.delete(
                f"/api/v1/tokens/{token_id}", headers={"Authorization": f"Bearer {raw}"}
            )

    r = await revoke(first, first_id)
    assert r.status_code == 409 and r.json()["code"] == "cannot_revoke_own_token"
    assert "不能吊销正在使用的令牌" in r.json()["zh"] and "cannot revoke itself" in r.json()["en"]
    # Another admin may revoke it (two were live) …
    assert (await revoke(second, first_id)).status_code == 204
    # … but the second is now the last one: refused for the CLI's path as well.
    with pytest.raises(RevokeRefused) as refused:
        await revoke_token(fresh_pool, second_id)
    assert refused.value.code == "last_admin_token" and "最后一个" in refused.value.zh
    assert await verify_token(fresh_pool, second) is not None
    # Other roles' tokens are revoked as before, also when one admin is left.
    leader = await create_token(fresh_pool, "leader")
    leader_id = token_id_of(leader)
    assert leader_id is not None and (await revoke(second, leader_id)).status_code == 204
    # Two admins revoking each other at once: one wins, the other is the last and stays.
    third = await create_token(fresh_pool, "admin", label="third")
    third_id = token_id_of(third)
    assert third_id is not None
    answers = await asyncio.gather(
        revoke_token(fresh_pool, third_id, by=second_id),
        revoke_token(fresh_pool, second_id, by=third_id),
        return_exceptions=True,
    )
    assert sorted(type(a).__name__ for a in answers) == ["RevokeRefused", "bool"], answers
    live = [t for t in await list_tokens(fresh_pool) if t["role"] == "admin"]
    assert len(live) == 1
