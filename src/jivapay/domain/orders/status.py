"""Order statuses and who may move an order from one to another: the one transition table."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
import secrets
from typing import Literal, get_args

from jivapay.domain.errors import Conflict, PermissionDenied, ValidationFailed
from jivapay.domain.periods import check_period

_REFERENCE_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_REFERENCE_LENGTH = 22  # 36**22 ≈ 2**113: unguessable, and says nothing about volume
_REFERENCE_PATTERN = re.compile(r"^ord_[0-9a-z]{22}$")


def new_order_reference() -> str:
    """An order's one public reference (``ord_…``): random, never derived from a row id."""
    return "ord_" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(_REFERENCE_LENGTH))


def is_order_reference(value: str) -> bool:
    return _REFERENCE_PATTERN.fullmatch(value) is not None


class Party(enum.StrEnum):
    CUSTOMER = "customer"
    MERCHANT = "merchant"
    TRADER = "trader"
    SUPPORT = "support"
    ADMIN = "admin"
    SYSTEM = "system"


# an order's direction: every filter and write that takes one refuses anything else
DIRECTIONS: tuple[str, ...] = ("payin", "payout")

FINAL = frozenset({"completed", "canceled", "expired", "declined"})
OPEN = frozenset({"pending_payment", "client_confirmed", "pending", "trader_paid", "disputed"})
RELEASING = frozenset({"canceled", "expired", "declined"})  # the hold goes back to its owner

_C, _M, _T, _S, _A, _Y = Party.CUSTOMER, Party.MERCHANT, Party.TRADER, Party.SUPPORT, Party.ADMIN, Party.SYSTEM

TRANSITIONS: dict[tuple[str, str, str], frozenset[Party]] = {
    # pay-in
    ("payin", "pending_payment", "client_confirmed"): frozenset({_C, _M}),
    ("payin", "pending_payment", "completed"): frozenset({_T, _A}),
    ("payin", "client_confirmed", "completed"): frozenset({_T, _A}),
    ("payin", "pending_payment", "canceled"): frozenset({_C, _T, _S, _A}),  # _C: when the store allows it
    ("payin", "client_confirmed", "canceled"): frozenset({_T, _S, _A}),
    ("payin", "pending_payment", "expired"): frozenset({_Y}),
    ("payin", "client_confirmed", "disputed"): frozenset({_C, _M, _S, _Y}),
    ("payin", "disputed", "completed"): frozenset({_S, _A}),
    ("payin", "disputed", "canceled"): frozenset({_S, _A}),
    # pay-out
    ("payout", "pending", "trader_paid"): frozenset({_T}),
    ("payout", "pending", "declined"): frozenset({_T, _S, _A}),
    ("payout", "pending", "expired"): frozenset({_Y}),
    ("payout", "pending", "canceled"): frozenset({_S, _A}),
    ("payout", "trader_paid", "completed"): frozenset({_M, _S, _A, _Y}),
    ("payout", "trader_paid", "disputed"): frozenset({_M, _S}),
    ("payout", "disputed", "completed"): frozenset({_S, _A}),
    ("payout", "disputed", "canceled"): frozenset({_S, _A}),
}

# moves that need a written reason (overrides and dispute outcomes)
REASON_REQUIRED: frozenset[Party] = frozenset({_S, _A})


def check_transition(direction: str, current: str, target: str, party: Party) -> None:
    """Raise Conflict for an illegal move (with the current status) or PermissionDenied for the wrong party."""
    allowed = TRANSITIONS.get((direction, current, target))
    if allowed is None:
        raise Conflict(
            f"a {direction} order cannot go from {current} to {target}", current_status=current, target=target
        )
    if party not in allowed:
        raise PermissionDenied(
            f"{party.value} may not move a {direction} order from {current} to {target}", current_status=current
        )


ORDER_STATUSES = OPEN | FINAL


@dataclasses.dataclass(frozen=True, slots=True)
class OrderSearch:
    """What support searches orders by: every given filter (None: not filtered)."""

    order_id: int | None = None  # internal (the case view); people search by public_id
    public_id: str | None = None  # the order's ord_… reference (shared with its incoming order)
    merchant_order_id: str | None = None
    store_id: int | None = None
    trader_id: int | None = None
    amount: int | None = None  # exact, minor units (the caller converts the decimal string)
    currency: str | None = None
    requisite_last4: str | None = None
    status: str | None = None
    direction: str | None = None
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    settlement_failed: bool | None = None  # completed orders whose settlement could not be posted

    def checked(self) -> OrderSearch:
        """This search with its period as aware times; ValidationFailed when it cannot work."""
        if self.status is not None and self.status not in ORDER_STATUSES:
            raise ValidationFailed("unknown order status", field="status", allowed=sorted(ORDER_STATUSES))
        if self.direction is not None and self.direction not in DIRECTIONS:
            raise ValidationFailed("direction is payin or payout", field="direction")
        if self.requisite_last4 is not None and not (len(self.requisite_last4) == 4 and self.requisite_last4.isdigit()):
            raise ValidationFailed("requisite_last4 is the last 4 digits of the number", field="requisite_last4")
        created_from, created_to = check_period(self.created_from, self.created_to)
        if self.amount is not None and self.currency is None:
            raise ValidationFailed("an amount needs its currency", field="currency")
        return dataclasses.replace(self, created_from=created_from, created_to=created_to)


# an order's status as merchants see it (services/orders/views.public_status): the incoming order's
# while it is processed (processing | failed | rejected), the assigned order's after; in the order
# of docs/integration.md's "Reference"
PublicOrderStatus = Literal[
    "processing",
    "failed",
    "rejected",
    "pending_payment",
    "client_confirmed",
    "pending",
    "trader_paid",
    "completed",
    "canceled",
    "expired",
    "declined",
    "disputed",
]
PUBLIC_STATUSES: tuple[str, ...] = get_args(PublicOrderStatus)
