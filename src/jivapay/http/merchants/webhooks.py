"""The callbacks JivaPay sends, as the OpenAPI document's ``webhooks`` (docs/callbacks.md): the
event bodies, their types and the signature headers, so a merchant's generated code knows them."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar.enums import ParamType
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Parameter,
    PathItem,
    Reference,
    RequestBody,
    Schema,
)
from litestar.openapi.spec.enums import OpenAPIType

from jivapay.http.enums import DecimalText, WithdrawalStatus
from jivapay.http.merchants.gateway import GatewayOrder

OrderEventType = Literal[
    "payin.pending_payment",
    "payin.client_confirmed",
    "payin.completed",
    "payin.canceled",
    "payin.expired",
    "payin.disputed",
    "payin.failed",
    "payin.rejected",
    "payout.pending",
    "payout.trader_paid",
    "payout.completed",
    "payout.declined",
    "payout.expired",
    "payout.canceled",
    "payout.disputed",
    "payout.failed",
    "payout.rejected",
]
WithdrawalEventType = Literal[
    "withdrawal.requested",
    "withdrawal.approved",
    "withdrawal.rejected",
    "withdrawal.canceled",
    "withdrawal.broadcast",
    "withdrawal.completed",
    "withdrawal.failed",
]


class OrderEvent(msgspec.Struct):
    """An order's status changed (`<direction>.<status>`); `order` as the status API shows it,
    the requisite number masked. Process an event only when its `sequence` is above the last one
    you processed for the order; deduplicate on `event_id` (deliveries are at least once)."""

    event_id: str  # a UUID, the same on every retry
    type: OrderEventType
    sequence: int
    created_at: str  # RFC 3339
    order: GatewayOrder


class DepositCallback(msgspec.Struct):
    id: int
    store_id: int
    network: str
    status: Literal["credited"]
    amount: DecimalText  # USDT, a decimal string
    currency: Literal["USDT"]
    tx_hash: str
    log_index: int
    block_number: int
    from_address: str
    to_address: str
    confirmations: int
    credited_at: str | None


class DepositEvent(msgspec.Struct):
    """USDT arrived on one of the store's deposit addresses and was credited."""

    event_id: str
    type: Literal["deposit.credited"]
    sequence: int  # always 0: a deposit has one event
    created_at: str
    deposit: DepositCallback


class WithdrawalCallback(msgspec.Struct):
    id: str  # wd_…
    owner_type: Literal["store"]
    owner_id: int
    network: str
    to_address: str
    amount: DecimalText
    fee: DecimalText
    total: DecimalText
    currency: Literal["USDT"]
    status: WithdrawalStatus
    approval_reasons: list[str]
    decision_reason: str | None
    failure_reason: str | None
    waiting_reason: str | None
    tx_hash: str | None
    block_number: int | None
    created_at: str
    broadcast_at: str | None
    completed_at: str | None


class WithdrawalEvent(msgspec.Struct):
    """A store's withdrawal moved (`withdrawal.<state>`)."""

    event_id: str
    type: WithdrawalEventType
    sequence: int
    created_at: str
    withdrawal: WithdrawalCallback


class TestEvent(msgspec.Struct):
    """`POST /merchant/stores/{id}/callbacks/test`: to check your endpoint and your signature check."""

    event_id: str
    type: Literal["test"]
    sequence: int
    created_at: str
    order: None


EVENTS: dict[str, tuple[type[msgspec.Struct], str]] = {
    "order": (OrderEvent, "An order's status changed"),
    "deposit": (DepositEvent, "USDT was credited to the store"),
    "withdrawal": (WithdrawalEvent, "A store's withdrawal moved"),
    "test": (TestEvent, "A test event"),
}

_HEADERS = [
    Parameter(
        name="X-JivaPay-Signature",
        param_in=ParamType.HEADER,
        required=True,
        schema=Schema(type=OpenAPIType.STRING),
        description="`t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<raw body>' keyed with the store's signing "
        "secret>`; during a secret rotation two v1 values (accept if any matches). Reject a t more than 5 "
        "minutes from your clock.",
    ),
    Parameter(
        name="X-JivaPay-Event-Id",
        param_in=ParamType.HEADER,
        required=True,
        schema=Schema(type=OpenAPIType.STRING),
        description="The event's id, the same as the body's `event_id` (and on every retry).",
    ),
]


def webhooks() -> dict[str, PathItem | Reference]:
    """The ``webhooks`` of the document: one POST per kind of event."""
    found: dict[str, PathItem | Reference] = {}
    for name, (struct, summary) in EVENTS.items():
        found[name] = PathItem(
            post=Operation(
                operation_id=f"callback_{name}",
                summary=summary,
                description=(struct.__doc__ or "").strip() + " See docs/callbacks.md. Any 2xx ends the delivery; "
                "anything else is retried (CALLBACK_RETRY_SCHEDULE_SECONDS).",
                tags=["callbacks"],
                parameters=list(_HEADERS),
                request_body=RequestBody(
                    required=True,
                    content={
                        "application/json": OpenAPIMediaType(
                            schema=Reference(ref=f"#/components/schemas/{struct.__name__}")
                        )
                    },
                ),
                responses={
                    "200": OpenAPIResponse(description="Received (any 2xx)"),
                    "400": OpenAPIResponse(description="Refused (a bad signature): retried later"),
                },
                security=[],
            )
        )
    return found


def webhook_schemas() -> dict[str, Any]:
    """JSON Schemas of the event bodies, for the document's components."""
    _, components = msgspec.json.schema_components(
        [struct for struct, _ in EVENTS.values()], ref_template="#/components/schemas/{name}"
    )
    return components
