"""Signed callbacks: one event per status change, retries with the same event_id, failure, redeliver."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any

import pytest
from sqlalchemy import select

from jivapay.adapters.db.models import CallbackAttempt, CallbackEvent, Store
from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import Role
from jivapay.domain.orders.status import Party
from jivapay.domain.platform.audit import Actor
from jivapay.services.merchants import callbacks
from jivapay.services.merchants.stores import signing_secrets
from jivapay.services.orders.status import change_status
from jivapay.settings import get_settings
from tests.factories import bearer, make_api_key, token_for
from tests.fixtures.receiver import Receiver
from tests.integration.conftest import World

PAYIN = {"amount": "1500.00", "currency": "RUB", "payment_method": "card", "merchant_order_id": "cb-1"}


def verify(secret: str, header: str, body: bytes) -> bool:
    """What docs/callbacks.md tells merchants to do."""
    parts = [p.split("=", 1) for p in header.split(",")]
    timestamp = next(v for k, v in parts if k == "t")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(v, expected) for k, v in parts if k == "v1")


async def _merchant(world: World) -> tuple[int, str]:
    async with world.session_factory() as session:
        store = await session.get(Store, world.store_id)
    assert store is not None
    _, key = await make_api_key(world.session_factory, store.merchant_id, world.store_id)
    return store.merchant_id, key


async def _events(world: World) -> list[CallbackEvent]:
    async with world.session_factory() as session:
        return list((await session.scalars(select(CallbackEvent).order_by(CallbackEvent.id))).all())


async def _secret(world: World) -> str:
    async with world.session_factory() as session:
        return (await signing_secrets(session, get_settings(), world.store_id))[0]


async def test_status_changes_are_signed_events_retried_with_the_same_id(world: World, client: Any) -> None:
    trader = await world.trader()
    await world.requisite(trader)
    _, key = await _merchant(world)
    with Receiver(statuses=[500, 503, 404]) as receiver:  # fails three times, then 200
        created = await client.post(
            "/gateway/payin/init", json={**PAYIN, "callback_url": receiver.url}, headers={"X-API-Key": key}
        )
        assert created.status_code == 201
        order_id = created.json()["id"]
        outcome = await world.process(order_id)
        assert outcome.status == "assigned"
        async with atomic(world.session_factory) as session:
            await change_status(
                session, outcome.order_id, "completed", party=Party.TRADER, actor=Actor.user(trader), trader_id=trader
            )
        events = await _events(world)
        assert [(e.type, e.sequence) for e in events] == [("payin.pending_payment", 1), ("payin.completed", 2)]
        assigned = events[0]
        assert assigned.payload["order"]["id"] == order_id  # the same ord_… reference the gateway answered
        assert assigned.payload["order"]["status"] == "pending_payment"
        assert "number" in assigned.payload["order"]["requisite"]
        assert assigned.payload["order"]["requisite"]["number"].startswith("*")  # masked in callbacks
        outcomes = [await callbacks.deliver(world.session_factory, get_settings(), assigned.id) for _ in range(5)]
        assert outcomes == ["pending", "pending", "pending", "delivered", None]
        secret = await _secret(world)
        assert len(receiver.requests) == 4
        ids = {r["headers"]["X-JivaPay-Event-Id"] for r in receiver.requests}
        assert ids == {str(assigned.event_id)}
        bodies = {r["body"] for r in receiver.requests}
        assert len(bodies) == 1  # the same bytes every time
        body = bodies.pop()
        assert json.loads(body)["event_id"] == str(assigned.event_id)
        for request in receiver.requests:
            assert verify(secret, request["headers"]["X-JivaPay-Signature"], body)
        assert not verify("wrong-secret", receiver.requests[0]["headers"]["X-JivaPay-Signature"], body)
    async with world.session_factory() as session:
        attempts = (await session.scalars(select(CallbackAttempt).order_by(CallbackAttempt.id))).all()
    assert [a.status_code for a in attempts] == [500, 503, 404, 200]
    assert all(a.latency_ms >= 0 for a in attempts)


async def test_dead_receiver_fails_after_the_schedule_then_redeliver(world: World, client: Any) -> None:
    await world.configure(CALLBACK_RETRY_SCHEDULE_SECONDS=[0, 0])
    trader = await world.trader()
    await world.requisite(trader)
    merchant_id, key = await _merchant(world)
    with Receiver(statuses=[500] * 10) as receiver:
        created = await client.post(
            "/gateway/payin/init", json={**PAYIN, "callback_url": receiver.url}, headers={"X-API-Key": key}
        )
        await world.process(created.json()["id"])
        (event,) = await _events(world)
        results = [await callbacks.deliver(world.session_factory, get_settings(), event.id) for _ in range(4)]
        assert results == ["pending", "pending", "failed", None]  # 1 try + 2 retries, then failed
        assert len(receiver.requests) == 3
        # the merchant sees it and asks again
        async with world.session_factory() as session:
            from jivapay.adapters.db.models import User

            merchant = await session.get(User, merchant_id)
        assert merchant is not None
        headers = bearer(await token_for(client, Role.MERCHANT, merchant.login))
        listed = await client.get(f"/merchant/stores/{world.store_id}/callbacks", headers=headers)
        assert listed.status_code == 200
        assert [(c["status"], c["attempts"]) for c in listed.json()["data"]] == [("failed", 3)]
        assert [c["order_id"] for c in listed.json()["data"]] == [created.json()["id"]]
        only = f"/merchant/stores/{world.store_id}/callbacks?order_id={created.json()['id']}"
        assert len((await client.get(only, headers=headers)).json()["data"]) == 1
        none = f"/merchant/stores/{world.store_id}/callbacks?order_id=ord_{'0' * 22}"
        assert (await client.get(none, headers=headers)).json()["data"] == []
        detail = await client.get(f"/merchant/stores/{world.store_id}/callbacks/{event.event_id}", headers=headers)
        assert [a["status_code"] for a in detail.json()["history"]] == [500, 500, 500]
        receiver.statuses = []
        again = await client.post(
            f"/merchant/stores/{world.store_id}/callbacks/{event.event_id}/redeliver", headers=headers
        )
        assert again.status_code == 202
        assert await callbacks.deliver(world.session_factory, get_settings(), event.id) == "delivered"
        assert receiver.requests[-1]["headers"]["X-JivaPay-Event-Id"] == str(event.event_id)
    # another merchant's view of it does not exist
    foreign = await client.get(f"/merchant/stores/{world.store_id}/callbacks/{event.event_id}", headers={})
    assert foreign.status_code == 401


async def test_test_event_goes_through_the_scheduler_and_the_worker(world: World, client: Any, worker: Any) -> None:
    from jivapay.worker.scheduler import enqueue_due_callbacks_job

    merchant_id, _ = await _merchant(world)
    async with world.session_factory() as session:
        from jivapay.adapters.db.models import User

        merchant = await session.get(User, merchant_id)
    assert merchant is not None
    headers = bearer(await token_for(client, Role.MERCHANT, merchant.login))
    with Receiver() as receiver:
        settings = await client.put(
            f"/merchant/stores/{world.store_id}/settings", json={"callback_url": receiver.url}, headers=headers
        )
        assert settings.status_code == 200, settings.text
        assert settings.json()["callback_url"] == receiver.url
        queued = await client.post(f"/merchant/stores/{world.store_id}/callbacks/test", json={}, headers=headers)
        assert queued.status_code == 202, queued.text
        await enqueue_due_callbacks_job()
        for _ in range(100):
            if receiver.requests:
                break
            await asyncio.sleep(0.05)
        assert len(receiver.requests) == 1
        body = receiver.requests[0]["body"]
        assert json.loads(body)["type"] == "test"
        assert verify(await _secret(world), receiver.requests[0]["headers"]["X-JivaPay-Signature"], body)


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/cb", "http://user:pw@example.com/cb", "not a url", "http:///nohost"],
)
async def test_bad_callback_urls_are_refused(world: World, client: Any, url: str) -> None:
    _, key = await _merchant(world)
    response = await client.post("/gateway/payin/init", json={**PAYIN, "callback_url": url}, headers={"X-API-Key": key})
    assert response.status_code == 422


async def test_private_targets_are_refused_without_the_override(monkeypatch: pytest.MonkeyPatch) -> None:
    strict = get_settings().with_overrides(callback_allow_private="false")
    for url in ("http://127.0.0.1:9/cb", "http://169.254.169.254/latest/meta-data", "http://10.0.0.7/cb"):
        with pytest.raises(callbacks.UnsafeTarget):
            await callbacks.check_target(strict, url)
    await callbacks.check_target(get_settings(), "http://127.0.0.1:9/cb")  # tests allow it


async def test_during_a_secret_rotation_both_signatures_are_sent(world: World, client: Any) -> None:
    from jivapay.services.merchants.stores import rotate_signing_secret

    async with world.session_factory() as session:
        store = await session.get(Store, world.store_id)
    assert store is not None
    old = await _secret(world)
    async with atomic(world.session_factory) as session:
        new = await rotate_signing_secret(
            session,
            get_settings(),
            Actor.system("t"),
            merchant_id=store.merchant_id,
            store_id=world.store_id,
            overlap_hours=24,
        )
    with Receiver() as receiver:
        async with atomic(world.session_factory) as session:
            event = await callbacks.record_test_event(session, world.store_id, receiver.url, Actor.system("t"))
        assert await callbacks.deliver(world.session_factory, get_settings(), event.id) == "delivered"
        header = receiver.requests[0]["headers"]["X-JivaPay-Signature"]
        body = receiver.requests[0]["body"]
    assert header.count("v1=") == 2
    assert verify(old, header, body)
    assert verify(new, header, body)


async def test_idempotency_keys_are_pruned_after_their_time(world: World, client: Any) -> None:
    import datetime as dt

    from sqlalchemy import func, update

    from jivapay.adapters.db.models import IdempotencyKey
    from jivapay.services.merchants import idempotency

    _, key = await _merchant(world)
    for n in range(2):
        await client.post(
            "/gateway/payin/init",
            json={**PAYIN, "merchant_order_id": f"pr-{n}"},
            headers={"X-API-Key": key, "Idempotency-Key": f"prune-{n}"},
        )
    async with atomic(world.session_factory) as session:
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == "prune-0")
            .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=49))
        )
    async with atomic(world.session_factory) as session:
        assert await idempotency.prune(session) == 1
    async with world.session_factory() as session:
        left = (await session.scalars(select(IdempotencyKey.key))).all()
        assert await session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1
    assert list(left) == ["prune-1"]
