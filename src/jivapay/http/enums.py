"""The fixed value sets that response bodies declare as OpenAPI enums (``typing.Literal``).

Each one is the domain's (or the database's) own set, written out so that the document lists it;
``tests/unit/test_http_enums.py`` fails when one drifts from its source. Only response fields use
them: query parameters and request bodies keep ``str`` and their own validation messages.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from jivapay.domain import money
from jivapay.domain.orders.status import PublicOrderStatus
from jivapay.domain.wallet.deposits import DepositStatus
from jivapay.domain.wallet.withdrawals import WithdrawalStatus

__all__ = [
    "CallbackStatus",
    "DecimalText",
    "DepositStatus",
    "Direction",
    "IncomingStatus",
    "OrderStatus",
    "PublicOrderStatus",
    "WithdrawalStatus",
]

# an amount as the API writes it: a decimal string, never a JSON number. The domain's DecimalText
# (services' views use it; the document's plugin writes it out) plus msgspec's own Meta, for the
# schemas msgspec writes itself (the webhooks' event bodies)
DecimalText = Annotated[
    money.DecimalText,
    msgspec.Meta(pattern=money.DECIMAL_FORMAT.pattern, examples=[money.DECIMAL_FORMAT.example]),
]

# an order's direction (orders, incoming orders, commissions, fiat turnover, statistics)
Direction = Literal["payin", "payout"]

# an assigned order's status: domain.orders.status.ORDER_STATUSES (OPEN | FINAL)
OrderStatus = Literal[
    "pending_payment",
    "client_confirmed",
    "pending",
    "trader_paid",
    "disputed",
    "completed",
    "canceled",
    "expired",
    "declined",
]


# an incoming order's own status (adapters/db/orders/models.INCOMING_STATUSES), as staff see it
IncomingStatus = Literal["new", "retrying", "assigned", "failed", "rejected", "review"]

# a callback event's delivery (the callback_events.status_known constraint)
CallbackStatus = Literal["pending", "delivered", "failed"]
