"""The fixed value sets the API's document declares as enums.

Response bodies use ``typing.Literal`` aliases: each is the domain's (or the database's) own set,
written out so that the document lists it; ``tests/unit/test_http_enums.py`` fails when one drifts
from its source.

Query parameters, path parameters and request fields stay ``str`` at run time — their handlers
check them and answer their own 422 messages — and are marked ``Annotated[str, OneOf(values)]``
(a pattern: ``Matching``) for the document only: msgspec and Litestar ignore the marker, the
schema plugin (http/openapi.py, TextSchemaPlugin) writes it out. Their values are imported from
the very constant the check uses, so the two cannot differ.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Annotated, Literal, get_args

import msgspec
from litestar.openapi.spec import Example
from litestar.params import Parameter

from jivapay.adapters.db.orders.models import DISPUTE_PRIORITIES
from jivapay.domain import money
from jivapay.domain.merchants import payment_page
from jivapay.domain.orders.status import DIRECTIONS, PUBLIC_STATUSES, PublicOrderStatus
from jivapay.domain.platform.config import ValueType
from jivapay.domain.wallet import deposits, withdrawals
from jivapay.domain.wallet.deposits import DepositStatus
from jivapay.domain.wallet.withdrawals import WithdrawalStatus
from jivapay.services.orders.disputes import OUTCOMES
from jivapay.services.orders.fraud import BLOCKLISTS

__all__ = [
    "BlocklistKindChoice",
    "BrandColour",
    "CallbackStatus",
    "CurrencyFilter",
    "DecimalText",
    "DepositStatus",
    "DepositStatusChoice",
    "Direction",
    "DirectionChoice",
    "DisputeOutcomeChoice",
    "DisputePriorityChoice",
    "IncomingStatus",
    "Matching",
    "NetworkFilter",
    "NetworkInPath",
    "NetworkName",
    "OneOf",
    "OrderStatus",
    "OrderStatusChoice",
    "OwnerTypeChoice",
    "PageLanguageChoice",
    "PublicOrderStatus",
    "PublicOrderStatusChoice",
    "SettingTypeChoice",
    "WithdrawalStatus",
    "WithdrawalStatusChoice",
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


# --- request values: str at run time, an enum (or a pattern) in the document only -----------------


@dataclasses.dataclass(frozen=True, slots=True)
class OneOf:
    """Marks a ``str`` whose handler accepts only ``values`` (``Annotated[str, OneOf.of(...)]``)."""

    values: tuple[str, ...]

    @classmethod
    def of(cls, values: Iterable[str]) -> OneOf:
        """The values in their own order; a set's sorted (the document is the same every time)."""
        ordered = sorted(values) if isinstance(values, set | frozenset | dict) else list(values)
        return cls(tuple(ordered))


@dataclasses.dataclass(frozen=True, slots=True)
class Matching:
    """Marks a ``str`` whose handler accepts only what ``pattern`` (anchored, JSON Schema's
    dialect) matches; ``example`` matches it."""

    pattern: str
    example: str


# an order's direction (every order filter, commissions, statistics)
DirectionChoice = Annotated[str, OneOf.of(DIRECTIONS)]
# an assigned order's status: the filters of the trader's, support's and admins' order lists, and
# the status staff move an order to
OrderStatusChoice = Annotated[str, OneOf.of(get_args(OrderStatus))]  # ORDER_STATUSES, in life order
# the merchant's view of an order's status: the filter of the merchant's order list
PublicOrderStatusChoice = Annotated[str, OneOf.of(PUBLIC_STATUSES)]
DepositStatusChoice = Annotated[str, OneOf.of(deposits.STATUSES)]
WithdrawalStatusChoice = Annotated[str, OneOf.of(withdrawals.STATUSES)]
# who holds USDT: the admins' deposit and withdrawal filters, a ledger adjustment
OwnerTypeChoice = Annotated[str, OneOf.of(withdrawals.OWNER_TYPES)]
DisputePriorityChoice = Annotated[str, OneOf.of(DISPUTE_PRIORITIES)]
DisputeOutcomeChoice = Annotated[str, OneOf.of(OUTCOMES)]
SettingTypeChoice = Annotated[str, OneOf.of(get_args(ValueType))]
PageLanguageChoice = Annotated[str, OneOf.of(payment_page.LANGUAGES)]
BlocklistKindChoice = Annotated[str, OneOf.of(BLOCKLISTS)]
BrandColour = Annotated[str, Matching(payment_page.COLOUR_PATTERN, payment_page.DEFAULT_ACCENT)]


# --- values that are data (configured on the platform, not fixed): described, with an example ----

_NETWORK = (
    "A USDT network as this platform configures them (TRC20, BEP20, ARBITRUM…; the deposit addresses list "
    "the open ones), in any case"
)
_CURRENCY = "A fiat currency's ISO 4217 code, one the platform has (RUB…), in any case"
# a body field
NetworkName = Annotated[str, msgspec.Meta(description=_NETWORK, examples=["TRC20"])]
# a query parameter (optional) and a path parameter
NetworkFilter = Annotated[str | None, Parameter(description=_NETWORK, examples=[Example(value="TRC20")])]
NetworkInPath = Annotated[str, Parameter(description=_NETWORK, examples=[Example(value="TRC20")])]
CurrencyFilter = Annotated[str | None, Parameter(description=_CURRENCY, examples=[Example(value="RUB")])]
