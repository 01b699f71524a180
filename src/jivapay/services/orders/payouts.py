"""What a trader needs to execute a pay-out: the recipient's requisite, revealed only to the
assigned trader while the order is open, and every reveal audited. Lists and ended orders show
the last 4 characters only."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import OrderHistory
from jivapay.adapters.db.orders.recipients import RecipientRepository
from jivapay.adapters.security import decrypt_secret
from jivapay.domain.orders.payouts import PayoutRecipient
from jivapay.domain.orders.status import OPEN
from jivapay.domain.pii import mask_name
from jivapay.domain.platform.audit import Actor, Target
from jivapay.services.orders.status import trader_order
from jivapay.services.platform.audit import log_action
from jivapay.services.platform.reference_data import get_payment_method
from jivapay.settings import Settings

REVEAL_ACTION = "order.recipient_reveal"


@dataclasses.dataclass(frozen=True, slots=True)
class RecipientView:
    number: str  # in full while revealed, else "**** 1234"
    name: str  # in full while revealed, else "Anna S."
    bank: str | None
    payment_method: str | None  # the method's code: card, sbp, account…
    revealed: bool


@dataclasses.dataclass(frozen=True, slots=True)
class TraderOrderDetail:
    order: OrderHistory
    recipient: RecipientView | None  # pay-outs only


def masked_number(last4: str) -> str:
    return f"**** {last4}"


async def trader_order_detail(
    session: AsyncSession, settings: Settings, trader_id: int, order_id: int, *, actor: Actor, ip: str | None
) -> TraderOrderDetail:
    """The trader's own order (404 for anyone else's); a pay-out with its recipient, in full
    while it is open (audited as ``order.recipient_reveal``), masked once it has ended."""
    order = await trader_order(session, trader_id, order_id)
    if order.direction != "payout" or order.incoming_order_id is None:
        return TraderOrderDetail(order, None)
    encrypted = await RecipientRepository(session).encrypted(order.incoming_order_id)
    if encrypted is None:
        return TraderOrderDetail(order, None)
    recipient = PayoutRecipient.from_json(decrypt_secret(settings, encrypted))
    method = (
        (await get_payment_method(order.payment_method_id, session=session)).code
        if order.payment_method_id is not None
        else None
    )
    if order.status not in OPEN:
        masked = RecipientView(masked_number(recipient.last4), mask_name(recipient.name), recipient.bank, method, False)
        return TraderOrderDetail(order, masked)
    await log_action(
        session,
        actor,
        REVEAL_ACTION,
        Target.of("order", order.id),
        {"incoming_order_id": order.incoming_order_id, "status": order.status, "recipient_last4": recipient.last4},
        ip=ip,
    )
    return TraderOrderDetail(order, RecipientView(recipient.number, recipient.name, recipient.bank, method, True))


async def recipient_last4(session: AsyncSession, orders: Sequence[OrderHistory]) -> dict[int, str]:
    """order id → the recipient's last 4 characters, for the pay-outs among ``orders`` (lists)."""
    incoming = {o.incoming_order_id: o.id for o in orders if o.direction == "payout" and o.incoming_order_id}
    found = await RecipientRepository(session).last4_of(list(incoming))
    return {incoming[incoming_id]: last4 for incoming_id, last4 in found.items()}
