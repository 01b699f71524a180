"""Payment receipts: checked, stored outside the database, fingerprinted, reuse flagged."""

from __future__ import annotations

import dataclasses
import hashlib
import secrets

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import OrderHistory, Receipt
from jivapay.adapters.db.orders.orders import OrderRepository
from jivapay.adapters.db.orders.receipts import ReceiptRepository
from jivapay.adapters.db.uow import atomic
from jivapay.adapters.storage import LocalStorage, S3Storage
from jivapay.domain.errors import NotFound, ValidationFailed
from jivapay.domain.orders.receipts import find_active_content
from jivapay.domain.orders.status import Party
from jivapay.domain.platform.audit import Actor, Target
from jivapay.services.platform.audit import log_action
from jivapay.services.platform.config import get_config
from jivapay.services.platform.outbox import enqueue_after_commit

# content type → the bytes such a file starts with (the declared type must match the content)
SIGNATURES = {"application/pdf": b"%PDF-", "image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


def check_file(data: bytes, content_type: str, max_bytes: int) -> None:
    if content_type not in SIGNATURES:
        raise ValidationFailed("a receipt is a PDF, PNG or JPEG file", field="file", content_type=content_type)
    if not data:
        raise ValidationFailed("the file is empty", field="file")
    if len(data) > max_bytes:
        raise ValidationFailed(f"the file is larger than {max_bytes} bytes", field="file", max_bytes=max_bytes)
    if not data.startswith(SIGNATURES[content_type]):
        raise ValidationFailed(f"the file is not a real {content_type}", field="file")
    active = find_active_content(data, content_type)
    if active is not None:
        raise ValidationFailed(f"the file is refused: {active}", field="file")


async def _order_for(
    session: AsyncSession, order_id: int, party: Party, *, trader_id: int | None, store_id: int | None
) -> OrderHistory:
    order = await OrderRepository(session).find(order_id)
    if (
        order is None
        or (party == Party.TRADER and order.trader_id != trader_id)
        or (party in (Party.CUSTOMER, Party.MERCHANT) and order.store_id != store_id)
    ):
        raise NotFound("Order not found", order_id=order_id)
    return order


@dataclasses.dataclass(frozen=True, slots=True)
class StoredFile:
    """A checked receipt file that is in storage but not yet recorded."""

    order_id: int
    party: Party
    object_key: str
    content_type: str
    size: int
    sha256: str


async def store_file(
    session_factory: async_sessionmaker[AsyncSession],
    storage: S3Storage | LocalStorage,
    *,
    order_id: int,
    party: Party,
    data: bytes,
    content_type: str,
    trader_id: int | None = None,
    store_id: int | None = None,
) -> StoredFile:
    """Check the caller's order and the file, then store it (no transaction open while the file
    travels). Nothing is recorded: ``record_receipt`` does that in the caller's transaction."""
    async with session_factory() as session:
        await _order_for(session, order_id, party, trader_id=trader_id, store_id=store_id)
        max_bytes = await get_config("RECEIPT_MAX_BYTES", int, session=session)
    check_file(data, content_type, max_bytes)
    key = f"receipts/{order_id}/{secrets.token_hex(16)}.{EXTENSIONS[content_type]}"
    await storage.put(key, data, content_type)
    return StoredFile(order_id, party, key, content_type, len(data), hashlib.sha256(data).hexdigest())


async def record_receipt(session: AsyncSession, stored: StoredFile, *, actor: Actor, ip: str | None = None) -> Receipt:
    """The receipt row, its audit entry and the reuse flag, in the caller's transaction."""
    repo = ReceiptRepository(session)
    receipt = await repo.add(
        Receipt(
            order_id=stored.order_id,
            party=stored.party.value,
            uploaded_by=str(actor),
            object_key=stored.object_key,
            content_type=stored.content_type,
            size=stored.size,
            sha256=stored.sha256,
        )
    )
    earlier = await repo.orders_with_same_file(stored.sha256, other_than=stored.order_id, limit=5)
    await log_action(
        session,
        actor,
        "receipt.upload",
        Target.of("order", stored.order_id),
        {"receipt_id": receipt.id, "sha256": stored.sha256, "size": stored.size},
        ip=ip,
    )
    if earlier:
        # the same image for another order: a classic fraud pattern — flag it for review
        await log_action(
            session,
            Actor.system("fraud"),
            "fraud.receipt_reused",
            Target.of("order", stored.order_id),
            {"sha256": stored.sha256, "also_on_orders": list(earlier)},
        )
        await enqueue_after_commit(
            session, "notifications.order_alert", order_id=stored.order_id, kind="receipt_reused"
        )
    return receipt


async def upload_receipt(
    session_factory: async_sessionmaker[AsyncSession],
    storage: S3Storage | LocalStorage,
    *,
    order_id: int,
    party: Party,
    actor: Actor,
    data: bytes,
    content_type: str,
    trader_id: int | None = None,
    store_id: int | None = None,
    ip: str | None = None,
) -> Receipt:
    """Check, store (no transaction open while the file travels), then record in one transaction."""
    stored = await store_file(
        session_factory,
        storage,
        order_id=order_id,
        party=party,
        data=data,
        content_type=content_type,
        trader_id=trader_id,
        store_id=store_id,
    )
    async with atomic(session_factory, name="receipt.record") as session:
        return await record_receipt(session, stored, actor=actor, ip=ip)


async def receipts_of(
    session: AsyncSession, order_id: int, party: Party, *, trader_id: int | None = None, store_id: int | None = None
) -> list[Receipt]:
    await _order_for(session, order_id, party, trader_id=trader_id, store_id=store_id)
    return await all_receipts(session, order_id)


async def receipt_ids(session: AsyncSession, order_id: int) -> list[int]:
    """Every receipt on file for an order (any party), oldest first."""
    return await ReceiptRepository(session).ids_of(order_id)


async def all_receipts(session: AsyncSession, order_id: int) -> list[Receipt]:
    return await ReceiptRepository(session).of_order(order_id)


async def has_receipt(session: AsyncSession, order_id: int) -> bool:
    return await ReceiptRepository(session).any_for(order_id)
