from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import OutboxMessage


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, actor_name: str, kwargs: dict[str, Any]) -> int:
        stmt = insert(OutboxMessage).values(actor_name=actor_name, kwargs=kwargs).returning(OutboxMessage.id)
        return (await self.session.execute(stmt)).scalar_one()

    async def claim_batch(self, limit: int, lease: dt.timedelta) -> Sequence[OutboxMessage]:
        """Lease up to ``limit`` unsent rows no other relay holds; commit before sending them."""
        now = func.now()
        pending = (
            select(OutboxMessage.id)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.dead_at.is_(None))
            .where(or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        stmt = (
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(pending.scalar_subquery()))
            .values(claimed_until=now + lease, attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage)
        )
        rows = (await self.session.scalars(stmt)).all()
        return sorted(rows, key=lambda row: row.id)

    async def mark_sent(self, ids: Sequence[int]) -> None:
        if ids:
            await self.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(sent_at=func.now(), claimed_until=None, last_error=None)
            )

    async def mark_retry(self, message_id: int, error: str, retry_after: dt.timedelta) -> None:
        """Keep the row for a later run (the broker was unreachable)."""
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(claimed_until=func.now() + retry_after, last_error=error[:2000])
        )

    async def mark_dead(self, message_id: int, error: str) -> None:
        """The row can never be sent as it is (unknown actor); park it for an operator."""
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(dead_at=func.now(), claimed_until=None, last_error=error[:2000])
        )

    async def counts(self) -> dict[str, int]:
        pending = func.count().filter(OutboxMessage.sent_at.is_(None), OutboxMessage.dead_at.is_(None))
        dead = func.count().filter(OutboxMessage.dead_at.is_not(None))
        row = (await self.session.execute(select(pending, dead).select_from(OutboxMessage))).one()
        return {"pending": row[0], "dead": row[1]}

    async def delete_sent_before(self, cutoff: dt.datetime) -> int:
        result = await self.session.execute(
            delete(OutboxMessage)
            .where(OutboxMessage.sent_at.is_not(None), OutboxMessage.sent_at < cutoff)
            .returning(OutboxMessage.id)
        )
        return len(result.all())
