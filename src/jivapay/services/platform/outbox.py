"""The transactional outbox: jobs written with the change that causes them."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.platform.outbox import OutboxRepository
from jivapay.domain.errors import ValidationFailed

_ID_TYPES = (int, str, uuid.UUID)


async def enqueue_after_commit(session: AsyncSession, actor_name: str, **ids: int | str | uuid.UUID) -> int:
    """Queue ``actor_name(**ids)`` to run once this transaction commits; nothing if it rolls back.

    Actors take ids only: they reload what they need and check it is still to be done.
    """
    for name, value in ids.items():
        if not isinstance(value, _ID_TYPES) or isinstance(value, bool):
            raise ValidationFailed(f"outbox argument {name} must be an id (int, str or UUID)", argument=name)
    kwargs = {name: str(value) if isinstance(value, uuid.UUID) else value for name, value in ids.items()}
    return await OutboxRepository(session).add(actor_name, kwargs)


async def prune_sent(session: AsyncSession, before: dt.datetime) -> int:
    """Delete the messages sent before ``before``; how many went."""
    return await OutboxRepository(session).delete_sent_before(before)
