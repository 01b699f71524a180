from __future__ import annotations

from decimal import Decimal

import pytest

from jivapay.domain.errors import ConfigurationError, ValidationFailed
from jivapay.domain.platform.config import DEFAULTS, coerce, parse_value, serialize_value


def test_every_default_round_trips_through_its_type() -> None:
    for definition in DEFAULTS:
        raw = serialize_value(definition.default, definition.value_type, key=definition.key)
        assert parse_value(raw, definition.value_type, key=definition.key) == definition.default


def test_required_seed_keys_exist() -> None:
    keys = {d.key for d in DEFAULTS}
    assert {"MAX_ORDER_RETRIES", "RETRY_BACKOFF_FACTOR", "RATE_LIMIT_DEFAULT"} <= keys
    assert any(k.startswith("FRAUD_") for k in keys)
    assert any("TIMEOUT" in k for k in keys)
    assert any("COMMISSION" in k for k in keys)


@pytest.mark.parametrize(
    ("raw", "value_type"),
    [("abc", "int"), ("1.5", "int"), ("NaN", "decimal"), ("maybe", "bool"), ("{", "json"), ("x", "float")],
)
def test_bad_values_are_refused_with_the_key(raw: str, value_type: str) -> None:
    with pytest.raises(ValidationFailed, match="MY_KEY"):
        parse_value(raw, value_type, key="MY_KEY")


def test_money_is_never_a_float() -> None:
    with pytest.raises(ValidationFailed):
        serialize_value(0.1, "decimal", key="K")
    assert parse_value("0.1", "decimal") == Decimal("0.1")


def test_coerce_refuses_the_wrong_type() -> None:
    assert coerce(5, Decimal, key="K") == Decimal(5)
    with pytest.raises(ConfigurationError):
        coerce("5", int, key="K")
    with pytest.raises(ConfigurationError):
        coerce(True, int, key="K")
