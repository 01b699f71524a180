from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import Role
from jivapay.domain.platform.audit import Actor
from jivapay.services.identity.ip_blocks import list_blocked
from jivapay.services.platform.config import set_config
from tests.factories import bearer, login, make_user, token_for

pytestmark = pytest.mark.redis


async def _configure(session_factory: async_sessionmaker[AsyncSession], **values: Any) -> None:
    async with atomic(session_factory) as session:
        for key, value in values.items():
            await set_config(session, key, value, actor=Actor.system("tests"))


async def test_limit_headers_then_429_with_retry_after(
    client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await _configure(session_factory, RATE_LIMIT_DEFAULT="3/minute")
    for remaining in (2, 1, 0):
        response = await client.get("/merchant/me")  # anonymous: 401, but counted against the IP's bucket
        assert response.headers["x-ratelimit-limit"] == "3"
        assert response.headers["x-ratelimit-remaining"] == str(remaining)
        assert int(response.headers["x-ratelimit-reset"]) > 0
    limited = await client.get("/merchant/me")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 61
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert limited.json()["request_id"] == limited.headers["x-request-id"]
    # probes are never limited
    assert (await client.get("/health")).status_code == 200


async def test_each_user_has_its_own_bucket(client: Any, session_factory: async_sessionmaker[AsyncSession]) -> None:
    first = await make_user(session_factory, Role.TRADER)
    second = await make_user(session_factory, Role.TRADER)
    a = bearer(await token_for(client, Role.TRADER, first.login))
    b = bearer(await token_for(client, Role.TRADER, second.login))
    await _configure(session_factory, RATE_LIMIT_DEFAULT="2/minute")
    assert [(await client.get("/trader/me", headers=a)).status_code for _ in range(3)] == [200, 200, 429]
    assert (await client.get("/trader/me", headers=b)).status_code == 200


async def test_login_endpoints_have_their_own_stricter_limit(
    client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await _configure(session_factory, RATE_LIMIT_LOGIN="2/minute", RATE_LIMIT_DEFAULT="100/minute")
    user = await make_user(session_factory, Role.MERCHANT)
    codes = [(await login(client, Role.MERCHANT, user.login)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert (await client.get("/health")).status_code == 200
    assert (await client.get("/merchant/me")).status_code == 401  # other endpoints are not affected


async def test_limit_recovers_after_the_window(client: Any, session_factory: async_sessionmaker[AsyncSession]) -> None:
    await _configure(session_factory, RATE_LIMIT_DEFAULT="2/second")
    assert [(await client.get("/merchant/me")).status_code for _ in range(3)] == [401, 401, 429]
    await asyncio.sleep(1.1)
    assert (await client.get("/merchant/me")).status_code == 401


async def test_repeated_failures_block_the_ip_until_unblocked(
    client: Any, session_factory: async_sessionmaker[AsyncSession], resources: Any
) -> None:
    admin = await make_user(session_factory, Role.ADMIN)
    admin_headers = bearer(await token_for(client, Role.ADMIN, admin.login))
    await _configure(session_factory, IP_BLOCK_THRESHOLD=3, IP_BLOCK_SECONDS=600)
    for _ in range(3):
        assert (await client.get("/merchant/me")).status_code == 401
    blocked = await client.get("/trader/me", headers=admin_headers)
    assert blocked.status_code == 403
    assert blocked.json()["error"]["code"] == "ip_blocked"
    assert 1 <= int(blocked.headers["retry-after"]) <= 600
    [entry] = await list_blocked(resources.redis)
    assert entry.ip == "testclient"
    # an operator lifts it (from elsewhere: straight in Redis here, the admin API needs this IP)
    from jivapay.services.identity.ip_blocks import unblock_ip

    await resources.redis.delete("jivapay:ipblock:testclient")
    assert await unblock_ip(resources.redis, "127.0.0.1") is False
    assert (await client.get("/admin/me", headers=admin_headers)).status_code == 200


async def test_admin_ip_block_endpoints(client: Any, session_factory: async_sessionmaker[AsyncSession]) -> None:
    admin = await make_user(session_factory, Role.ADMIN)
    headers = bearer(await token_for(client, Role.ADMIN, admin.login))
    created = await client.post(
        "/admin/ip-blocks", headers=headers, json={"ip": "198.51.100.9", "seconds": 60, "reason": "scraping"}
    )
    assert created.status_code == 201
    listed = await client.get("/admin/ip-blocks", headers=headers)
    assert [(b["ip"], b["reason"]) for b in listed.json()] == [("198.51.100.9", "scraping")]
    assert (await client.post("/admin/ip-blocks", headers=headers, json={"ip": "not-an-ip"})).status_code == 422
    assert (await client.delete("/admin/ip-blocks/198.51.100.9", headers=headers)).status_code == 204
    assert (await client.delete("/admin/ip-blocks/198.51.100.9", headers=headers)).status_code == 404
    assert (await client.get("/admin/ip-blocks", headers=headers)).json() == []


async def test_redis_outage_fails_open(client: Any, resources: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from redis.asyncio import Redis

    from jivapay.http import ratelimit

    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    monkeypatch.setattr(resources, "redis", dead)
    monkeypatch.setattr(ratelimit, "_script", lambda: dead.register_script(ratelimit._SCRIPT))
    try:
        response = await client.get("/health")
        assert response.status_code == 200
        response = await client.get("/merchant/me")
        assert response.status_code == 401  # served, just not limited
        assert "x-ratelimit-limit" not in response.headers
    finally:
        await dead.aclose()


async def test_a_stranger_with_a_stores_key_prefix_spends_nothing_of_its_budget(
    client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    import httpx

    from jivapay.http.app import create_asgi_app
    from tests.factories import make_api_key, make_store

    merchant = await make_user(session_factory, Role.MERCHANT)
    store_id = await make_store(session_factory, merchant.id)
    _, key = await make_api_key(session_factory, merchant.id, store_id)
    await _configure(session_factory, RATE_LIMIT_DEFAULT="3/minute", IP_BLOCK_THRESHOLD=1000)
    kind, prefix, secret = key.rsplit("_", 2)
    forged = f"{kind}_{prefix}_{'x' * len(secret)}"  # the store's public prefix, a guessed secret
    stranger = httpx.ASGITransport(app=create_asgi_app(), client=("203.0.113.7", 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=stranger, base_url="http://testserver") as attacker:
        codes = [(await attacker.get("/gateway/store", headers={"X-API-Key": forged})).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]  # the failures spend the attacker's IP bucket
        other = await attacker.get("/gateway/store", headers={"X-API-Key": f"{kind}_{'z' * 12}_{secret}"})
        assert other.status_code == 429  # a fresh random prefix is no fresh bucket
    # the store's own budget is whole: keyed by the verified store
    answers = [await client.get("/gateway/store", headers={"X-API-Key": key}) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["x-ratelimit-remaining"] for a in answers[:3]] == ["2", "1", "0"]
    assert answers[3].json()["error"]["code"] == "rate_limited"
    assert 1 <= int(answers[3].headers["retry-after"]) <= 61
