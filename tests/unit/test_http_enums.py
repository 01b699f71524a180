"""The enums of http/enums.py are their sources' value sets, and the document declares them: the
response Literals, and the request values' ``OneOf`` markers (documentation only: still ``str``)."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any, get_args, get_type_hints

import msgspec
import pytest

from jivapay.adapters.db.merchants.models import CallbackEvent
from jivapay.adapters.db.orders.models import INCOMING_STATUSES
from jivapay.domain import money
from jivapay.domain.errors import ValidationFailed
from jivapay.domain.ledger import posting
from jivapay.domain.merchants import payment_page
from jivapay.domain.orders.requisites import RequisiteDirection
from jivapay.domain.orders.status import DIRECTIONS, ORDER_STATUSES
from jivapay.domain.wallet import deposits, withdrawals
from jivapay.http.app import create_app
from jivapay.http.enums import (
    BrandColour,
    CallbackStatus,
    DepositStatus,
    Direction,
    DirectionChoice,
    IncomingStatus,
    Matching,
    OneOf,
    OrderStatus,
    OrderStatusChoice,
    OwnerTypeChoice,
    PublicOrderStatus,
    PublicOrderStatusChoice,
    WithdrawalStatus,
)
from jivapay.http.ledger.balances import Adjustment
from jivapay.http.ledger.commissions import CommissionWrite
from jivapay.http.ledger.rates import NewRate
from jivapay.http.merchants.gateway import PayinInit, PayoutInit
from jivapay.http.orders.requisites import Limits
from jivapay.http.orders.staff_orders import StatusMove
from jivapay.http.wallet.payouts import DailyPayoutSettings
from jivapay.http.wallet.withdrawals import NewWithdrawal
from jivapay.services.orders.views import public_status
from jivapay.services.wallet.deposits import DepositFilter
from jivapay.services.wallet.withdrawals import WithdrawalFilter


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
    # request values list theirs too
    assert enum("StatusMove", "status") == ORDER_STATUSES
    assert enum("CommissionWrite", "direction") == {"payin", "payout"}
    assert enum("Resolution", "outcome") == {"completed", "canceled"}
    assert enum("PriorityBody", "priority") == {"high", "normal", "low"}
    assert enum("Adjustment", "owner_type") == set(withdrawals.OWNER_TYPES)
    [language, _] = schemas["StoreSettings"]["properties"]["page_language"]["oneOf"]
    assert language["enum"] == list(payment_page.LANGUAGES)


def _marker(alias: Any) -> Any:
    [marker] = [meta for meta in get_args(alias)[1:] if isinstance(meta, OneOf | Matching)]
    return marker


def test_request_choices_are_what_their_checks_accept() -> None:
    assert set(_marker(OrderStatusChoice).values) == ORDER_STATUSES
    assert _marker(PublicOrderStatusChoice).values == get_args(PublicOrderStatus)
    assert _marker(DirectionChoice).values == DIRECTIONS
    # three checks of who holds USDT, each with its own message: the one set
    owners = _marker(OwnerTypeChoice).values
    assert set(owners) == {"store", "trader", "teamlead"}
    for owner in owners:
        DepositFilter(owner_type=owner).checked()
        WithdrawalFilter(owner_type=owner).checked()
        posting.owner_accounts(owner, 1)
    for check in (
        lambda: DepositFilter(owner_type="platform").checked(),
        lambda: WithdrawalFilter(owner_type="platform").checked(),
        lambda: posting.owner_accounts("platform", 1),
    ):
        with pytest.raises(ValidationFailed):
            check()


def test_the_brand_colour_pattern_is_the_check() -> None:
    marker = _marker(BrandColour)
    assert marker.pattern == payment_page.COLOUR_PATTERN
    assert payment_page.is_colour(marker.example)
    pattern = re.compile(marker.pattern)
    for value in ("#1f6feb", "#FFCC00", "#1f6feb\n", "1f6feb", "#1f6fe", "#1f6febb", "#gggggg", " #1f6feb"):
        # JSON Schema's "$" is the end of the string: what Python's fullmatch with that pattern says
        assert payment_page.is_colour(value) == (pattern.fullmatch(value) is not None), value


def test_request_markers_leave_the_values_plain_strings() -> None:
    # the handlers check them and answer their own messages; msgspec takes any string
    assert msgspec.convert({"status": "paid", "reason": "r"}, StatusMove).status == "paid"
    assert msgspec.convert({"direction": "in", "rate": "0.01"}, CommissionWrite).direction == "in"


# every request amount or rate: what checks it (each goes through money.is_decimal_text)
REQUEST_DECIMALS: list[tuple[type, str, Any]] = [
    (PayinInit, "amount", lambda text: posting.parse_amount(text, 2)),
    (PayoutInit, "amount", lambda text: posting.parse_amount(text, 2)),
    (NewWithdrawal, "amount", lambda text: posting.parse_amount(text, posting.USDT_DECIMALS)),
    (Adjustment, "amount", lambda text: posting.parse_amount(text, posting.USDT_DECIMALS)),
    (DailyPayoutSettings, "reserve", lambda text: posting.parse_amount(text, posting.USDT_DECIMALS)),
    *[(Limits, name, lambda text: posting.parse_amount(text, 2)) for name in Limits.__struct_fields__[:4]],
    (CommissionWrite, "rate", lambda text: money.COMMISSION.check(text, field="rate")),
    (NewRate, "rate", lambda text: money.EXCHANGE_RATE.check(text, field="rate")),
]
_DECIMAL_LIKE = ["0", "0.5", "12", "-1.5", "007.10", "1e2", "+1", " 1", "1 ", "1.", ".5", "1,5", "1_0", "0x1",
                 "Infinity", "NaN", "", "-", "1\n", "١٠", "１"]  # fmt: skip


def test_request_amounts_say_the_pattern_their_checks_enforce() -> None:
    pattern = re.compile(money.DECIMAL_FORMAT.pattern)
    for struct, field, check in REQUEST_DECIMALS:
        hint = get_type_hints(struct, include_extras=True)[field]
        [marker] = [
            m
            for arg in (hint, *get_args(hint))
            for m in getattr(arg, "__metadata__", ())
            if isinstance(m, money.DecimalFormat)
        ]
        assert marker.pattern == money.DECIMAL_FORMAT.pattern, (struct, field)
        assert pattern.fullmatch(marker.example), (struct, field)
        check(marker.example)  # the example is a value the server takes
        for text in _DECIMAL_LIKE:
            written = pattern.fullmatch(text) is not None
            assert written == money.is_decimal_text(text), text
            try:
                check(text)
                format_ok = True
            except ValidationFailed as refused:
                format_ok = "decimal string" not in refused.message  # refused for its range, not its form
            assert format_ok == written, (struct, field, text)
    # the markers are the document's alone: msgspec takes any string (the check's message stands)
    assert msgspec.convert({"owner_type": "store", "owner_id": 1, "amount": "1e2", "reason": "r",
                            "idempotency_key": "k"}, Adjustment).amount == "1e2"  # fmt: skip
