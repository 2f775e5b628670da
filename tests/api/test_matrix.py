"""The authorisation matrix: no bureau token reads or changes another bureau's project.

Three bureaus, one project and one notice each. Every bureau-scoped endpoint is called with
every bureau's token against every other bureau's project (6 ordered pairs × 8 endpoints):
0 successes, nothing changed, and the 404 is the same as for a project that does not exist.
The same requests with the owner's token succeed, so it is the scope that refuses them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from guatu.core.clock import month_key
from guatu.core.tokens import create_token
from tests.api.conftest import World, today
from tests.helpers import add_bureau


@dataclass
class Tenant:
    bureau: str
    token: str
    project: str
    notice: str


Attempt = Callable[[World, str, Tenant], Awaitable[httpx.Response]]


def _h(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


async def transition(w: World, token: str, t: Tenant) -> httpx.Response:
    return await w.client.post(
        f"/api/v1/projects/{t.project}/transitions",
        headers=_h(token, **{"Idempotency-Key": uuid.uuid4().hex}),
        json={"step": "preliminary"},
    )


async def report(w: World, token: str, t: Tenant) -> httpx.Response:
    return await w.client.post(
        f"/api/v1/projects/{t.project}/reports",
        headers=_h(token, **{"Idempotency-Key": uuid.uuid4().hex}),
        json={
            "month": month_key(today()),
            "investment_wan": 10,
            "physical_progress_pct": 5,
            "issues_raised": [{"id": "X", "title": "x"}],
        },
    )


async def detail(w: World, token: str, t: Tenant) -> httpx.Response:
    return await w.client.get(f"/api/v1/projects/{t.project}", headers=_h(token))


async def issues(w: World, token: str, t: Tenant) -> httpx.Response:
    return await w.client.get(f"/api/v1/projects/{t.project}/issues", headers=_h(token))


async def listing(w: World, token: str, t: Tenant) -> httpx.Response:
    return await w.client.get("/api/v1/projects", headers=_h(token), params={"bureau": t.bureau})


async def inbox(w: World, token: str, t: Tenant) -> httpx.Response:
    return await w.client.get(
        "/api/v1/notifications", headers=_h(token), params={"bureau": t.bureau}
    )


async def acknowledge(w: World, token: str, t: Tenant) -> httpx.Response:
    return await w.client.post(f"/api/v1/notifications/{t.notice}/ack", headers=_h(token))


async def standing(w: World, token: str, t: Tenant) -> httpx.Response:
    return await w.client.get(f"/api/v1/bureaus/{t.bureau}/standing", headers=_h(token))


ATTEMPTS: dict[str, Attempt] = {
    "transition": transition,
    "report": report,
    "detail": detail,
    "issues": issues,
    "list": listing,
    "inbox": inbox,
    "acknowledge": acknowledge,
    "standing": standing,
}


def succeeded(name: str, r: httpx.Response, victim: Tenant) -> bool:
    """Did the attempt reach the victim's data? Lists answer 200 but must not contain it."""
    if name in ("list", "inbox"):
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        return any(
            i.get("code") == victim.project
            or i.get("project") == victim.project
            or i.get("bureau") == victim.bureau
            for i in items
        )
    return r.status_code < 400


TENANTS = 3


async def test_no_bureau_reaches_another_bureaus_project(world: World) -> None:
    tenants_size = TENANTS
    tenants: list[Tenant] = []
    for _ in range(tenants_size):
        bureau = await add_bureau(world.pool, None)
        token = await create_token(world.pool, "bureau", bureau, "matrix")
        plan = await world.start(world.plan(bureau))
        notice = f"{plan.code}:matrix:{uuid.uuid4().hex[:6]}"
        async with world.pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO notifications (key, bureau, project, kind, title_zh, body_zh,"
                " created_at, status) VALUES ($1, $2, $3, 'x', '通知', '…', now(), 'inbox')",
                notice,
                bureau,
                plan.code,
            )
        tenants.append(Tenant(bureau, token, plan.code, notice))
    # Make sure each project is in the read model (so the check is not only the fallback).
    for t in tenants:
        for _ in range(50):
            if await world.rows("SELECT 1 FROM projects WHERE code = $1", t.project):
                break
            await asyncio.sleep(0.1)

    async def snapshot(t: Tenant) -> tuple:
        status = (await world.call("leader", "GET", f"/api/v1/projects/{t.project}")).json()
        audit = await world.rows(
            "SELECT count(*) AS n FROM audit_log WHERE project = $1", t.project
        )
        ack = await world.rows("SELECT acknowledged_at FROM notifications WHERE key = $1", t.notice)
        return (
            status["stage"],
            status["version"],
            status["last_report"],
            audit[0]["n"],
            ack[0]["acknowledged_at"],
        )

    before = {t.project: await snapshot(t) for t in tenants}
    missing = Tenant("nobody", "", "NOPE-MATRIX", "nope")
    successes: list[tuple[str, str, str]] = []
    attempts = 0
    for attacker in tenants:
        for victim in tenants:
            if victim is attacker:
                continue
            for name, attempt in ATTEMPTS.items():
                r = await attempt(world, attacker.token, victim)
                attempts += 1
                if succeeded(name, r, victim):
                    successes.append((attacker.bureau, victim.bureau, name))
                elif name not in ("list", "inbox"):
                    assert r.status_code == 404, (name, r.status_code, r.text)
                    # Indistinguishable from a project that does not exist.
                    ghost = await attempt(world, attacker.token, missing)
                    assert (ghost.status_code, ghost.json()) == (r.status_code, r.json()), name
    assert attempts == tenants_size * (tenants_size - 1) * len(ATTEMPTS)
    assert successes == []
    after = {t.project: await snapshot(t) for t in tenants}
    assert after == before
    # Control: the owners themselves succeed with the very same requests.
    for owner in tenants:
        for name, attempt in ATTEMPTS.items():
            r = await attempt(world, owner.token, owner)
            assert succeeded(name, r, owner), (name, r.status_code, r.text)


async def test_bureau_tokens_are_refused_leader_and_admin_routes(world: World) -> None:
    for path in (
        "/api/v1/overview",
        "/api/v1/rankings",
        "/api/v1/rankings/periods",
        "/api/v1/escalations",
        "/api/v1/tokens",
    ):
        r = await world.call("a", "GET", path)
        assert r.status_code == 403, (path, r.text)
    r = await world.call("a", "POST", "/api/v1/tokens", json={"role": "leader"})
    assert r.status_code == 403
