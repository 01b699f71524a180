"""The response enums (http/enums.py) are their sources' value sets, and the document declares them."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any, get_args

from jivapay.adapters.db.merchants.models import CallbackEvent
from jivapay.adapters.db.orders.models import INCOMING_STATUSES
from jivapay.domain.orders.requisites import RequisiteDirection
from jivapay.domain.orders.status import DIRECTIONS, ORDER_STATUSES
from jivapay.domain.wallet import deposits, withdrawals
from jivapay.http.app import create_app
from jivapay.http.enums import (
    CallbackStatus,
    DepositStatus,
    Direction,
    IncomingStatus,
    OrderStatus,
    PublicOrderStatus,
    WithdrawalStatus,
)
from jivapay.services.orders.views import public_status


def _values(alias: Any) -> set[str]:
    values = get_args(alias)
    assert len(values) == len(set(values)), alias  # no value twice
    return set(values)


def test_direction_is_an_orders_direction() -> None:
    assert _values(Direction) == set(DIRECTIONS)
    assert _values(Direction) == {d.value for d in RequisiteDirection} - {RequisiteDirection.BOTH.value}


def test_order_status_is_the_transition_tables() -> None:
    assert _values(OrderStatus) == ORDER_STATUSES


def test_public_order_status_is_what_public_status_can_return() -> None:
    before_assignment = {public_status(SimpleNamespace(status=s), None) for s in INCOMING_STATUSES}  # type: ignore[arg-type]
    assert before_assignment == {"processing", "failed", "rejected"}
    assert _values(PublicOrderStatus) == ORDER_STATUSES | before_assignment


def test_incoming_status_is_the_incoming_orders_constraint() -> None:
    assert _values(IncomingStatus) == set(INCOMING_STATUSES)


def test_callback_status_is_the_callback_events_constraint() -> None:
    table: Any = CallbackEvent.__table__
    [constraint] = [c for c in table.constraints if c.name == "ck_callback_events_status_known"]
    sql = str(constraint.sqltext)
    assert _values(CallbackStatus) == set(re.findall(r"'([a-z_]+)'", sql))


def test_wallet_statuses_are_the_domains() -> None:
    assert _values(DepositStatus) == set(deposits.STATUSES)
    assert _values(WithdrawalStatus) == set(withdrawals.STATUSES)


def test_the_document_declares_response_enums() -> None:
    schemas = create_app().openapi_schema.to_schema()["components"]["schemas"]

    def enum(schema: str, prop: str) -> set[str | None]:
        return set(schemas[schema]["properties"][prop]["enum"])

    assert enum("GatewayOrder", "status") == enum("MerchantOrderBody", "status") == _values(PublicOrderStatus)
    assert enum("StaffOrderBody", "status") == enum("OrderBody", "status") == ORDER_STATUSES
    assert enum("HistoryBody", "from_status") == ORDER_STATUSES | {None}
    for schema in ("GatewayOrder", "MerchantOrderBody", "OrderBody", "StaffOrderBody", "FiatTurnover"):
        assert enum(schema, "direction") == {"payin", "payout"}, schema
    assert enum("DepositView", "status") == set(deposits.STATUSES)
    assert enum("WithdrawalView", "status") == set(withdrawals.STATUSES)
    assert enum("CallbackBody", "status") == {"pending", "delivered", "failed"}
    # requests keep their plain strings (and their own validation messages)
    assert "enum" not in schemas["StatusMove"]["properties"]["status"]
    assert "enum" not in schemas["CommissionWrite"]["properties"]["direction"]
