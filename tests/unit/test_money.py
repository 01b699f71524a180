"""One rule for money precision (domain/money.py): places, range, no floats, no rounding."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jivapay.adapters.db.models import Commission, ExchangeRate, OrderHistory, TeamleadProfile
from jivapay.domain import money
from jivapay.domain.errors import ConfigurationError, ValidationFailed
from jivapay.domain.ledger import posting as L
from jivapay.domain.money import check_decimal, decimal_places
from jivapay.domain.platform.config import DECIMAL_RULES, DEFAULTS, check_meaning, checked_default, parse_value


def _refused(value: Any, rule: money.DecimalRule = money.COMMISSION) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        rule.check(value, field="rate")
    assert info.value.details["field"] == "rate"
    assert info.value.details["errors"] == [{"field": "rate", "message": info.value.message}]
    return info.value


@pytest.mark.parametrize("value", ["0", "0.05", "0.999999", "0.5", "0.050000000", Decimal("0.015"), 0])
def test_a_commission_in_range_with_six_places_passes(value: Any) -> None:
    assert money.COMMISSION.check(value, field="rate") == Decimal(str(value))


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("0.0500001", "more than 6 decimal places"),
        ("1", "[0, 1)"),
        ("1.000000", "[0, 1)"),
        ("-0.01", "[0, 1)"),
        (0.05, "not a number with a fraction"),
        ("NaN", "decimal string"),
        ("Infinity", "decimal string"),
        (Decimal("NaN"), "decimal string"),
        (Decimal("-Infinity"), "decimal string"),
        ("", "decimal string"),
        ("abc", "decimal string"),
        ("1_0", "decimal string"),
        ("0x10", "decimal string"),
        (" 0.5 ", "decimal string"),  # strict text: see tests/unit/test_money_strict.py
        ("+0.1", "decimal string"),
        (True, "decimal string"),
        (None, "decimal string"),
        ([], "decimal string"),
    ],
)
def test_bad_values_are_refused_naming_the_field(value: Any, says: str) -> None:
    assert says in _refused(value).message


def test_bounds_follow_their_inclusiveness() -> None:
    assert money.FRACTION.check("1", field="f") == 1  # [0, 1]
    _refused("0", money.EXCHANGE_RATE)  # (0, 10^12)
    _refused(str(10**12), money.EXCHANGE_RATE)
    assert money.EXCHANGE_RATE.check("999999999999.99999999", field="rate") == Decimal("999999999999.99999999")
    _refused("92.123456789", money.EXCHANGE_RATE)
    assert check_decimal("5", field="x", places=0, low=5, high=6) == 5
    with pytest.raises(ValidationFailed, match=r"x must be in \(5, 6\]"):
        check_decimal("5", field="x", places=0, low=5, high=6, low_inclusive=False, high_inclusive=True)


def test_places_count_exactly_without_context_rounding() -> None:
    assert decimal_places(Decimal("0.10")) == 1
    assert decimal_places(Decimal("1E+2")) == 0
    assert decimal_places(Decimal("0E-12")) == 0
    # 40 significant digits: a context-rounding normalize() would call this "0.1"
    assert decimal_places(Decimal("0." + "1" + "0" * 37 + "1")) == 39


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-2, max_value=2), st.integers(0, 10))
def test_check_decimal_accepts_exactly_the_values_a_column_keeps(value: Decimal, places: int) -> None:
    fits = Decimal(0) <= value < Decimal(1) and value == value.quantize(Decimal(1).scaleb(-places))
    for given_as in (value, str(value)):
        if fits:
            assert check_decimal(given_as, field="v", places=places, low=0, high=1) == value  # never rounded
        else:
            with pytest.raises(ValidationFailed) as info:
                check_decimal(given_as, field="v", places=places, low=0, high=1)
            assert info.value.details["field"] == "v"


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_a_float_is_never_taken(value: float) -> None:
    with pytest.raises(ValidationFailed, match="string"):
        money.COMMISSION.check(value, field="rate")


def test_rules_have_the_scale_of_the_columns_that_keep_the_values() -> None:
    for column in (
        OrderHistory.__table__.c.store_commission,
        OrderHistory.__table__.c.trader_commission,
        Commission.__table__.c.rate,
    ):
        assert column.type.scale == money.COMMISSION.places, column
    for column in (OrderHistory.__table__.c.rate, ExchangeRate.__table__.c.rate):
        assert column.type.scale == money.EXCHANGE_RATE.places, column
        assert Decimal(10) ** (column.type.precision - column.type.scale) == money.EXCHANGE_RATE.high
    assert TeamleadProfile.__table__.c.reward_share.type.scale == money.REWARD_SHARE.places
    assert money.USDT_AMOUNT.places == L.USDT_DECIMALS


def test_every_default_passes_the_rule_an_operator_value_must() -> None:
    decimals = [d for d in DEFAULTS if d.value_type == "decimal"]
    assert {d.key for d in decimals} == set(DECIMAL_RULES), "every decimal setting has its rule"
    for definition in DEFAULTS:
        raw = checked_default(definition)  # what `jivapay seed` writes
        assert parse_value(raw, definition.value_type, key=definition.key) == definition.default
    for definition in decimals:
        assert DECIMAL_RULES[definition.key].check(definition.default, field=definition.key) == definition.default


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("DEFAULT_STORE_COMMISSION_PAYIN", Decimal("0.0500001")),
        ("DEFAULT_TRADER_COMMISSION_PAYOUT", Decimal(1)),
        ("RATE_MAX_CHANGE", Decimal("1.01")),
        ("WITHDRAWAL_APPROVAL_THRESHOLD_USDT", Decimal("0.0000001")),
        ("RETRY_BACKOFF_FACTOR", Decimal("0.5")),
        ("MY_OWN_DECIMAL", Decimal(-1)),
    ],
)
def test_a_setting_outside_its_rule_is_refused_naming_the_key(key: str, value: Decimal) -> None:
    with pytest.raises(ValidationFailed) as info:
        check_meaning(key, "decimal", value)
    assert info.value.details["key"] == key
    assert info.value.details["errors"][0]["field"] == key


def test_the_settlement_math_refuses_a_commission_the_columns_would_round() -> None:
    L.payin_split(150_000, 2, Decimal(90), Decimal("0.05"), Decimal("0.000001"))
    with pytest.raises(ConfigurationError, match="more than 6 decimal places"):
        L.payin_split(150_000, 2, Decimal(90), Decimal("0.05"), Decimal("0.0300001"))
    with pytest.raises(ConfigurationError, match=r"\[0, 1\)"):
        L.payout_split(150_000, 2, Decimal(90), Decimal(1), Decimal("0.01"))
