"""Pay-out recipients as traders see them: stored encrypted on the incoming order."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import IncomingOrder


class RecipientRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def encrypted(self, incoming_order_id: int) -> str | None:
        """The recipient's encrypted JSON (number, name, bank) of a pay-out."""
        stmt = select(IncomingOrder.recipient_encrypted).where(IncomingOrder.id == incoming_order_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def last4_of(self, incoming_order_ids: Sequence[int]) -> dict[int, str]:
        """incoming order id → the recipient's last 4 characters, for the pay-outs among them."""
        if not incoming_order_ids:
            return {}
        stmt = select(IncomingOrder.id, IncomingOrder.recipient_last4).where(
            IncomingOrder.id.in_(incoming_order_ids), IncomingOrder.recipient_last4.is_not(None)
        )
        return {int(row[0]): str(row[1]) for row in (await self.session.execute(stmt)).all()}
