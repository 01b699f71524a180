"""Callback events (the queue of what a merchant is told) and their delivery attempts."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import CallbackAttempt, CallbackEvent

_CLAIM_DUE = text(
    """
    UPDATE callback_events SET next_attempt_at = now() + CAST(:lease AS interval)
    WHERE id IN (SELECT id FROM callback_events WHERE status = 'pending' AND next_attempt_at <= now()
                 ORDER BY next_attempt_at, id LIMIT :limit FOR UPDATE SKIP LOCKED)
    RETURNING id
    """
)


class CallbackRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, event: CallbackEvent) -> CallbackEvent:
        self.session.add(event)
        await self.session.flush()
        return event

    async def next_sequence(self, incoming_order_id: int) -> int:
        """The sequence the order's next event gets (1 for its first)."""
        stmt = select(func.coalesce(func.max(CallbackEvent.sequence), 0)).where(
            CallbackEvent.incoming_order_id == incoming_order_id
        )
        return int(await self.session.scalar(stmt) or 0) + 1

    async def get(self, event_pk: int) -> CallbackEvent | None:
        return await self.session.get(CallbackEvent, event_pk)

    async def lock(self, event_pk: int) -> CallbackEvent:
        """The event, locked for the rest of the transaction (NoResultFound when there is none)."""
        stmt = select(CallbackEvent).where(CallbackEvent.id == event_pk).with_for_update()
        return (await self.session.scalars(stmt)).one()

    async def by_event_id(self, event_id: uuid.UUID, *, for_update: bool = False) -> CallbackEvent | None:
        stmt = select(CallbackEvent).where(CallbackEvent.event_id == event_id)
        return (await self.session.scalars(stmt.with_for_update() if for_update else stmt)).first()

    async def claim_due(self, limit: int, lease: dt.timedelta) -> list[int]:
        """Pending events whose time has come, pushed ``lease`` ahead so a tick sends each once."""
        result = await self.session.execute(_CLAIM_DUE, {"lease": lease, "limit": limit})
        return sorted(int(row[0]) for row in result.all())

    async def set_values(self, event_pk: int, **values: Any) -> None:
        await self.session.execute(update(CallbackEvent).where(CallbackEvent.id == event_pk).values(**values))

    async def of_store(
        self, store_id: int, *, starting_after: int | None, limit: int, incoming_order_id: int | None
    ) -> list[CallbackEvent]:
        """Newest first, a page below ``starting_after``, of one order when asked."""
        stmt = select(CallbackEvent).where(CallbackEvent.store_id == store_id)
        if incoming_order_id is not None:
            stmt = stmt.where(CallbackEvent.incoming_order_id == incoming_order_id)
        if starting_after is not None:
            stmt = stmt.where(CallbackEvent.id < starting_after)
        return list((await self.session.scalars(stmt.order_by(CallbackEvent.id.desc()).limit(limit))).all())

    # --- attempts ---
    def add_attempt(self, attempt: CallbackAttempt) -> None:
        self.session.add(attempt)

    async def attempts(self, event_pk: int) -> list[CallbackAttempt]:
        stmt = select(CallbackAttempt).where(CallbackAttempt.event_id == event_pk).order_by(CallbackAttempt.id)
        return list((await self.session.scalars(stmt)).all())
