"""``Idempotency-Key`` rows: a store's reservations and the answers stored against them."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import delete, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import IdempotencyKey

_RESERVE = text(
    """
    INSERT INTO idempotency_keys (store_id, key, request_hash) VALUES (:store_id, :key, :hash)
    ON CONFLICT (store_id, key) DO NOTHING
    RETURNING id
    """
)
_EXISTING = text(
    """
    SELECT id, request_hash, response_status, response_body, created_at < now() - CAST(:stale AS interval) AS stale
    FROM idempotency_keys WHERE store_id = :store_id AND key = :key
    FOR UPDATE
    """
)


@dataclasses.dataclass(frozen=True, slots=True)
class ReservedKey:
    """A key that was there already, locked for the rest of the transaction."""

    id: int
    request_hash: str
    response_status: int | None
    response_body: bytes | None
    stale: bool  # reserved longer ago than the ``stale`` given


class IdempotencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_unless_exists(self, store_id: int, key: str, request_hash: str) -> bool:
        """True when this call inserted the key; False when the store has it already."""
        params = {"store_id": store_id, "key": key, "hash": request_hash}
        return (await self.session.execute(_RESERVE, params)).scalar_one_or_none() is not None

    async def existing_locked(self, store_id: int, key: str, *, stale: dt.timedelta) -> ReservedKey | None:
        params = {"store_id": store_id, "key": key, "stale": stale}
        row = (await self.session.execute(_EXISTING, params)).one_or_none()
        if row is None:
            return None
        return ReservedKey(
            int(row.id),
            str(row.request_hash),
            row.response_status,
            None if row.response_body is None else bytes(row.response_body),
            bool(row.stale),
        )

    async def renew(self, key_id: int, at: dt.datetime) -> None:
        """Take over an abandoned reservation: it counts as made ``at``."""
        await self.session.execute(update(IdempotencyKey).where(IdempotencyKey.id == key_id).values(created_at=at))

    async def store_response(self, store_id: int, key: str, status: int, body: bytes) -> None:
        await self.session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.store_id == store_id, IdempotencyKey.key == key)
            .values(response_status=status, response_body=body)
        )

    async def delete_unanswered(self, store_id: int, key: str) -> None:
        await self.session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.store_id == store_id,
                IdempotencyKey.key == key,
                IdempotencyKey.response_status.is_(None),
            )
        )

    async def delete_older_than(self, cutoff: dt.datetime) -> int:
        result = await self.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)
