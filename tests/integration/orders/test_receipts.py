from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import select

from jivapay.adapters.db.models import AuditLogEntry, OrderHistory, OutboxMessage
from jivapay.adapters.storage import S3Storage
from jivapay.domain.errors import NotFound, ValidationFailed
from jivapay.domain.identity.roles import Role
from jivapay.domain.orders.status import Party
from jivapay.domain.platform.audit import Actor
from jivapay.services.ledger import posting
from jivapay.services.orders.receipts import upload_receipt
from jivapay.settings import get_settings
from tests.factories import bearer, make_user, token_for
from tests.integration.conftest import World

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def s3() -> Iterator[S3Storage]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    ).create_bucket(Bucket="receipts")
    settings = get_settings().with_overrides(
        s3_endpoint_url=endpoint, s3_bucket_name="receipts", s3_access_key="test", s3_secret_key="test"
    )
    yield S3Storage(settings)
    server.stop()


async def _order(world: World, direction: str = "payin") -> OrderHistory:
    trader = await world.trader()
    await world.requisite(trader)
    if direction == "payout":
        from jivapay.adapters.db.uow import atomic

        async with atomic(world.session_factory) as session:
            await posting.credit_deposit(session, "store", world.store_id, "TRC20", 10**9, "float")
    outcome = await world.process(
        await world.incoming(150_000, merchant_order_id=f"r-{direction}", direction=direction)
    )
    async with world.session_factory() as session:
        order = await session.get(OrderHistory, outcome.order_id)
    assert order is not None
    return order


async def test_s3_upload_presigned_download_and_reuse_flag(world: World, s3: S3Storage) -> None:
    first = await _order(world)
    receipt = await upload_receipt(
        world.session_factory,
        s3,
        order_id=first.id,
        party=Party.TRADER,
        actor=Actor.user(first.trader_id),
        data=PDF,
        content_type="application/pdf",
        trader_id=first.trader_id,
    )
    assert receipt.sha256
    assert receipt.size == len(PDF)
    url = await s3.download_url(receipt.object_key, 60)
    async with httpx.AsyncClient() as http:
        assert (await http.get(url)).content == PDF
    second = await _order(world, "payout")
    await upload_receipt(
        world.session_factory,
        s3,
        order_id=second.id,
        party=Party.TRADER,
        actor=Actor.user(second.trader_id),
        data=PDF,
        content_type="application/pdf",
        trader_id=second.trader_id,
    )
    async with world.session_factory() as session:
        flagged = (
            await session.scalars(select(AuditLogEntry).where(AuditLogEntry.action == "fraud.receipt_reused"))
        ).one()
        alerts = (await session.scalars(select(OutboxMessage).where(OutboxMessage.actor_name.like("notif%")))).all()
    assert flagged.details["also_on_orders"] == [first.id]
    # support is told (the alert actor e-mails ALERT_EMAILS, like a dispute)
    assert [(m.actor_name, m.kwargs) for m in alerts] == [
        ("notifications.order_alert", {"order_id": second.id, "kind": "receipt_reused"})
    ]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(PDF, "image/gif"), (b"", "application/pdf"), (PNG, "application/pdf"), (b"%PDF-" + b"x" * 100, "image/png")],
)
async def test_bad_files_are_refused(world: World, tmp_path: Path, data: bytes, content_type: str) -> None:
    from jivapay.adapters.storage import LocalStorage

    order = await _order(world)
    with pytest.raises(ValidationFailed):
        await upload_receipt(
            world.session_factory,
            LocalStorage(get_settings().with_overrides(data_dir=str(tmp_path))),
            order_id=order.id,
            party=Party.TRADER,
            actor=Actor.user(order.trader_id),
            data=data,
            content_type=content_type,
            trader_id=order.trader_id,
        )
    with pytest.raises(NotFound):  # another trader's order
        await upload_receipt(
            world.session_factory,
            LocalStorage(get_settings()),
            order_id=order.id,
            party=Party.TRADER,
            actor=Actor.user(1),
            data=PDF,
            content_type="application/pdf",
            trader_id=order.trader_id + 999,
        )


async def test_payout_confirmation_needs_a_receipt_over_http(
    world: World, client: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(
        "jivapay.http.orders.trader_orders.get_settings", lambda: get_settings().with_overrides(data_dir=str(tmp_path))
    )
    monkeypatch.setattr(
        "jivapay.http.platform.files.get_settings", lambda: get_settings().with_overrides(data_dir=str(tmp_path))
    )
    trader_user = await make_user(world.session_factory, Role.TRADER, profile={"in_work": True})
    from jivapay.adapters.db.uow import atomic

    async with atomic(world.session_factory) as session:
        await posting.credit_deposit(session, "trader", trader_user.id, "TRC20", 10**10, "coll")
        await posting.credit_deposit(session, "store", world.store_id, "TRC20", 10**9, "float")
    await world.requisite(trader_user.id)
    outcome = await world.process(await world.incoming(150_000, merchant_order_id="po", direction="payout"))
    headers = bearer(await token_for(client, Role.TRADER, trader_user.login))
    refused = await client.post(f"/trader/orders/{outcome.reference}/confirm", headers=headers)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["field"] == "receipt"
    uploaded = await client.post(
        f"/trader/orders/{outcome.reference}/receipts", headers=headers, files={"data": ("paid.png", PNG, "image/png")}
    )
    assert uploaded.status_code == 201, uploaded.text
    link = uploaded.json()["url"]
    assert link.startswith("/files/receipts/")
    downloaded = await client.get(link)
    assert downloaded.status_code == 200
    assert downloaded.content == PNG
    tampered = await client.get(link.replace("signature=", "signature=0"))
    assert tampered.status_code == 404
    confirmed = await client.post(f"/trader/orders/{outcome.reference}/confirm", headers=headers)
    assert confirmed.json()["status"] == "trader_paid"


async def test_a_replayed_or_conflicting_confirm_stores_no_receipt(
    world: World, client: Any, s3: S3Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import func, text

    from jivapay.adapters.db.models import Receipt, Store
    from jivapay.adapters.db.uow import atomic
    from tests.factories import incoming_of, make_api_key

    settings = get_settings().with_overrides(
        s3_endpoint_url=s3.endpoint, s3_bucket_name=s3.bucket, s3_access_key="test", s3_secret_key="test"
    )
    monkeypatch.setattr("jivapay.http.merchants.gateway.get_settings", lambda: settings)
    bucket = boto3.client(
        "s3", endpoint_url=s3.endpoint, aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )

    def objects() -> int:  # moto's buckets live as long as the process: count from what is there now
        return int(bucket.list_objects_v2(Bucket=s3.bucket).get("KeyCount", 0))

    before = objects()

    async def stored() -> tuple[int, int]:
        async with world.session_factory() as session:
            rows = await session.scalar(select(func.count()).select_from(Receipt))
        return objects() - before, int(rows or 0)

    async with world.session_factory() as session:
        store = await session.get(Store, world.store_id)
    assert store is not None
    _, key = await make_api_key(world.session_factory, store.merchant_id, world.store_id)
    trader = await world.trader()
    await world.requisite(trader)
    init = await client.post(
        "/gateway/payin/init",
        json={"amount": "1500.00", "currency": "RUB", "payment_method": "card", "merchant_order_id": "m-r"},
        headers={"X-API-Key": key},
    )
    order_id = init.json()["id"]
    assert (await world.process(order_id)).status == "assigned"
    url = f"/gateway/payin/confirm/{order_id}"
    headers = {"X-Order-Token": init.json()["order_token"], "Idempotency-Key": "paid-1"}

    first = await client.post(url, headers=headers, files={"receipt": ("paid.pdf", PDF, "application/pdf")})
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "client_confirmed"
    assert await stored() == (1, 1)
    # a retry of the same form (a new multipart boundary, the same file): the first answer, nothing stored
    replay = await client.post(url, headers=headers, files={"receipt": ("paid.pdf", PDF, "application/pdf")})
    assert (replay.status_code, replay.content) == (200, first.content)
    assert replay.headers["idempotent-replayed"] == "true"
    assert await stored() == (1, 1)
    # the same key with another file: 409 idempotency_conflict, nothing stored
    other = await client.post(url, headers=headers, files={"receipt": ("paid.png", PNG, "image/png")})
    assert (other.status_code, other.json()["error"]["code"]) == (409, "idempotency_conflict")
    assert await stored() == (1, 1)
    # a key whose first request is still running: 409 request_in_progress, nothing stored
    from jivapay.services.merchants.idempotency import order_key  # the customer's keys live in its order's namespace

    incoming_id = (await incoming_of(world.session_factory, order_id)).id
    async with atomic(world.session_factory) as session:
        await session.execute(
            text(
                "INSERT INTO idempotency_keys (store_id, key, request_hash) "
                "SELECT store_id, :busy, request_hash FROM idempotency_keys WHERE key = :first"
            ),
            {"busy": order_key("paid-2", incoming_id), "first": order_key("paid-1", incoming_id)},
        )
    busy = await client.post(
        url, headers={**headers, "Idempotency-Key": "paid-2"}, files={"receipt": ("paid.pdf", PDF, "application/pdf")}
    )
    assert (busy.status_code, busy.json()["error"]["code"]) == (409, "request_in_progress")
    assert await stored() == (1, 1)
    # a new key is a new request: its receipt is stored (the confirmation itself is already done)
    fresh = await client.post(
        url, headers={**headers, "Idempotency-Key": "paid-3"}, files={"receipt": ("paid.png", PNG, "image/png")}
    )
    assert fresh.status_code == 200, fresh.text
    assert await stored() == (2, 2)
