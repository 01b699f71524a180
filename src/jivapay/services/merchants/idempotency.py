"""``Idempotency-Key`` on the gateway's POSTs (Stripe's rules).

Most requests reserve the key in the transaction that does the work (``claim``): a concurrent
duplicate's reservation waits for that transaction and then finds its answer, and a request
that fails leaves nothing behind. A request with a side effect that cannot roll back (a file
stored before the transaction) reserves the key in its own committed transaction first
(``reserve``), so a concurrent duplicate sees it in flight (409 ``request_in_progress``). The
response is stored in the transaction that did the work, so either both are there or neither is.
The same key with the same request replays the stored response byte for byte; with another request it is 409
``idempotency_conflict``. Business errors (4xx) are stored like successes; a server-side
failure frees the key so the client can retry. Keys live ``IDEMPOTENCY_KEY_TTL_HOURS``.

Keys are the store's, except a customer's (an order token's): those live in the namespace of
that one order (``order_key``), so they can neither replay nor block the store's own keys, nor
another order's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.merchants.idempotency import IdempotencyRepository
from jivapay.adapters.db.uow import atomic
from jivapay.domain.errors import IdempotencyConflict, RequestInFlight, ValidationFailed
from jivapay.services.platform.config import get_config

# an in-flight reservation older than this was abandoned by a dead process: take it over
STALE_AFTER = dt.timedelta(minutes=2)
# what order_key makes; a store may not send a key of this shape, so the namespaces never meet
_ORDER_KEY = re.compile(r"order:[0-9]+:[0-9a-f]{64}")


@dataclasses.dataclass(frozen=True, slots=True)
class Stored:
    status: int
    body: bytes


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def check_key(key: str) -> str:
    key = key.strip()
    if not 1 <= len(key) <= 128 or not key.isprintable():
        raise ValidationFailed("Idempotency-Key must be 1-128 printable characters", field="Idempotency-Key")
    if _ORDER_KEY.fullmatch(key):
        raise ValidationFailed("Idempotency-Key of the form order:<n>:<sha256> is reserved", field="Idempotency-Key")
    return key


def order_key(key: str, incoming_id: int) -> str:
    """A customer's ``key`` (checked) in the namespace of its order; hashed, so it fits the column."""
    return f"order:{incoming_id}:{hashlib.sha256(key.encode()).hexdigest()}"


async def claim(session: AsyncSession, store_id: int, key: str, hash_: str) -> Stored | None:
    """Reserve the key in the caller's transaction (a concurrent holder is waited for). None: go
    ahead and ``complete`` in the same transaction; else the stored answer to replay."""
    keys = IdempotencyRepository(session)
    if await keys.insert_unless_exists(store_id, key, hash_):
        return None
    existing = await keys.existing_locked(store_id, key, stale=STALE_AFTER)
    if existing is None:  # deleted (released) between the two statements: take it
        await keys.insert_unless_exists(store_id, key, hash_)
        return None
    if existing.request_hash != hash_:
        raise IdempotencyConflict()
    if existing.response_status is None:  # a ``reserve`` of a request still running
        if not existing.stale:
            raise RequestInFlight()
        await keys.renew(existing.id, dt.datetime.now(dt.UTC))
        return None
    return Stored(int(existing.response_status), bytes(existing.response_body or b""))


async def reserve(factory: async_sessionmaker[AsyncSession], store_id: int, key: str, hash_: str) -> Stored | None:
    """``claim`` in a transaction of its own, committed before the work starts: for requests with a
    side effect before their transaction. None: the caller goes ahead (and must ``complete`` or
    ``release``); else the stored answer."""
    async with atomic(factory, name="idempotency.reserve") as session:
        return await claim(session, store_id, key, hash_)


async def answer(
    factory: async_sessionmaker[AsyncSession], store_id: int, key: str, hash_: str, status: int, body: bytes
) -> Stored | None:
    """Store a business error's answer after its transaction rolled back. None: stored; else the
    answer a concurrent duplicate stored meanwhile (that one stands)."""
    async with atomic(factory, name="idempotency.answer") as session:
        stored = await claim(session, store_id, key, hash_)
        if stored is None:
            await complete(session, store_id, key, status, body)
        return stored


async def complete(session: AsyncSession, store_id: int, key: str, status: int, body: bytes) -> None:
    """Store the answer, in the transaction that did the work."""
    await IdempotencyRepository(session).store_response(store_id, key, status, body)


async def release(factory: async_sessionmaker[AsyncSession], store_id: int, key: str) -> None:
    """Free an unanswered key (the request failed on our side): the client may retry it."""
    async with atomic(factory, name="idempotency.release") as session:
        await IdempotencyRepository(session).delete_unanswered(store_id, key)


async def prune(session: AsyncSession) -> int:
    """Delete keys older than IDEMPOTENCY_KEY_TTL_HOURS (the scheduler runs this hourly)."""
    hours = await get_config("IDEMPOTENCY_KEY_TTL_HOURS", int, session=session)
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(hours=max(hours, 24))
    return await IdempotencyRepository(session).delete_older_than(cutoff)
