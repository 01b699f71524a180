from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import StoreApiKey, StoreSigningSecret
from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import Role
from jivapay.http.guards import forget_api_keys
from jivapay.services.merchants.stores import signing_secrets
from jivapay.settings import get_settings
from tests.factories import bearer, make_user, token_for


async def _merchant(client: Any, session_factory: async_sessionmaker[AsyncSession]) -> tuple[dict[str, str], int, str]:
    merchant = await make_user(session_factory, Role.MERCHANT)
    headers = bearer(await token_for(client, Role.MERCHANT, merchant.login))
    created = await client.post("/merchant/stores", json={"name": "Coffee shop"}, headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["signing_secret"].startswith("whsec_")
    return headers, body["store"]["id"], body["signing_secret"]


async def test_api_key_is_shown_once_stored_hashed_and_authenticates(
    client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    headers, store_id, _ = await _merchant(client, session_factory)
    issued = await client.post(f"/merchant/stores/{store_id}/api-keys", json={"name": "prod"}, headers=headers)
    assert issued.status_code == 201
    key = issued.json()["api_key"]
    assert key.startswith("jp_live_")
    async with session_factory() as session:
        row = (await session.scalars(select(StoreApiKey))).one()
    assert key not in (row.key_hash, row.prefix)
    assert len(row.key_hash) == 64
    listed = await client.get(f"/merchant/stores/{store_id}/api-keys", headers=headers)
    assert key not in listed.text
    assert listed.json()[0]["last_used_at"] is None

    response = await client.get("/gateway/store", headers={"X-API-Key": key})
    assert response.status_code == 200
    assert response.json() == {"store_id": store_id, "name": "Coffee shop"}
    listed = await client.get(f"/merchant/stores/{store_id}/api-keys", headers=headers)
    assert listed.json()[0]["last_used_at"] is not None


async def test_bad_missing_and_revoked_keys_are_401(
    client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    headers, store_id, _ = await _merchant(client, session_factory)
    key_body = (await client.post(f"/merchant/stores/{store_id}/api-keys", json={}, headers=headers)).json()
    key = key_body["api_key"]
    assert (await client.get("/gateway/store")).status_code == 401
    assert (await client.get("/gateway/store", headers={"X-API-Key": "jp_live_garbage"})).status_code == 401
    tampered = key[:-2] + ("AA" if not key.endswith("AA") else "BB")
    assert (await client.get("/gateway/store", headers={"X-API-Key": tampered})).status_code == 401
    revoked = await client.delete(f"/merchant/stores/{store_id}/api-keys/{key_body['key']['id']}", headers=headers)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert (await client.get("/gateway/store", headers={"X-API-Key": key})).status_code == 401


async def test_rotation_keeps_the_old_key_during_the_overlap(
    client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    headers, store_id, _ = await _merchant(client, session_factory)
    old = (await client.post(f"/merchant/stores/{store_id}/api-keys", json={}, headers=headers)).json()
    rotated = await client.post(
        f"/merchant/stores/{store_id}/api-keys/{old['key']['id']}/rotate", json={"overlap_hours": 1}, headers=headers
    )
    assert rotated.status_code == 201
    new_key = rotated.json()["api_key"]
    assert (await client.get("/gateway/store", headers={"X-API-Key": old["api_key"]})).status_code == 200
    assert (await client.get("/gateway/store", headers={"X-API-Key": new_key})).status_code == 200
    # the overlap ends
    async with atomic(session_factory) as session:
        await session.execute(
            update(StoreApiKey)
            .where(StoreApiKey.id == old["key"]["id"])
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    # the API trusts a key it just checked for API_KEY_CACHE_SECONDS (2 s); skip that wait here
    forget_api_keys()
    assert (await client.get("/gateway/store", headers={"X-API-Key": old["api_key"]})).status_code == 401
    assert (await client.get("/gateway/store", headers={"X-API-Key": new_key})).status_code == 200
    bad = await client.post(
        f"/merchant/stores/{store_id}/api-keys/{old['key']['id']}/rotate", json={"overlap_hours": 1000}, headers=headers
    )
    assert bad.status_code == 422


async def test_signing_secret_rotation_overlaps_then_expires(
    client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    headers, store_id, first = await _merchant(client, session_factory)
    rotated = await client.post(
        f"/merchant/stores/{store_id}/signing-secret/rotate", json={"overlap_hours": 2}, headers=headers
    )
    assert rotated.status_code == 201
    second = rotated.json()["signing_secret"]
    async with session_factory() as session:
        assert await signing_secrets(session, get_settings(), store_id) == [second, first]
        stored = (await session.scalars(select(StoreSigningSecret))).all()
    assert all(first not in s.secret_encrypted and second not in s.secret_encrypted for s in stored)
    async with atomic(session_factory) as session:
        await session.execute(
            update(StoreSigningSecret)
            .where(StoreSigningSecret.expires_at.is_not(None))
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    async with session_factory() as session:
        assert await signing_secrets(session, get_settings(), store_id) == [second]


async def test_another_merchants_store_is_a_404(client: Any, session_factory: async_sessionmaker[AsyncSession]) -> None:
    _, store_id, _ = await _merchant(client, session_factory)
    other, _, _ = await _merchant(client, session_factory)
    for method, path in (
        ("get", f"/merchant/stores/{store_id}/api-keys"),
        ("post", f"/merchant/stores/{store_id}/api-keys"),
        ("post", f"/merchant/stores/{store_id}/signing-secret/rotate"),
    ):
        kwargs: dict[str, Any] = {"headers": other}
        if method == "post":
            kwargs["json"] = {}
        response = await getattr(client, method)(path, **kwargs)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
