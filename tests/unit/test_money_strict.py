"""Amounts, rates and shares are plain ASCII decimal strings: ``-?[0-9]+(.[0-9]+)?`` and nothing
else (issue 13, item 8). Decimal() and ``\\d`` would also take other scripts' digits,
exponents, "_", spaces, "NaN"; so does msgspec for a field typed Decimal."""

from __future__ import annotations

import decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jivapay.domain import money
from jivapay.domain.errors import ValidationFailed
from jivapay.domain.ledger import posting as L
from jivapay.domain.platform.config import check_meaning, serialize_value
from jivapay.http.app import create_app
from jivapay.http.body_guard import is_json_media_type, repeated_key, too_deep

HOSTILE = [
    "١٠٠",  # Arabic-Indic digits
    "۱۰۰",  # Extended Arabic-Indic
    "１００",  # fullwidth
    "¹⁰⁰",  # superscripts
    "१००",  # Devanagari
    "𝟏𝟎𝟎",  # mathematical bold
    "1E+3",
    "1e2",
    "1.5E-1",
    "1_000",
    " 100",
    "100 ",
    "100\n",
    "\t100",
    "+100",
    "--1",
    ".5",
    "100.",
    "1.2.3",
    "NaN",
    "-Infinity",
    "sNaN",
    "0x10",
    "",
    "-",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_only_plain_ascii_decimals_pass(text: str) -> None:
    assert not money.is_decimal_text(text)
    # amounts (gateway, filters, requisite limits, adjustments)
    with pytest.raises(ValidationFailed) as info:
        L.parse_amount(text, 2)
    assert info.value.details["errors"] == [{"field": "amount", "message": info.value.message}]
    # rates, commissions, shares (the one precision rule)
    for rule in (money.COMMISSION, money.EXCHANGE_RATE, money.USDT_AMOUNT, money.REWARD_SHARE):
        with pytest.raises(ValidationFailed) as info:
            rule.check(text, field="rate")
        assert info.value.details["field"] == "rate"
    # decimal settings and the fraud amounts per currency
    with pytest.raises(ValidationFailed):
        serialize_value(text, "decimal", key="WITHDRAWAL_APPROVAL_THRESHOLD_USDT")
    with pytest.raises(ValidationFailed):
        check_meaning("FRAUD_REVIEW_AMOUNT", "json", {"RUB": text})


@pytest.mark.parametrize(
    ("text", "decimals", "units"),
    [("0", 2, 0), ("100", 2, 10_000), ("1500.00", 2, 150_000), ("0.000001", 6, 1), ("-12.5", 6, -12_500_000)],
)
def test_plain_decimals_still_parse(text: str, decimals: int, units: int) -> None:
    assert money.is_decimal_text(text)
    assert L.parse_amount(text, decimals) == units


def test_signs_are_what_each_field_allowed_before() -> None:
    # an adjustment debits with a minus (parse_amount takes it; the gateway refuses it as not positive)
    assert L.parse_amount("-1.00", 2) == -100
    # a commission's range starts at 0: a minus is out of range, not a format error
    with pytest.raises(ValidationFailed, match=r"\[0, 1\)"):
        money.COMMISSION.check("-0.01", field="rate")


def test_an_amount_is_read_digit_by_digit() -> None:
    # Decimal arithmetic in its 28-digit context rounded this to exactly 1.00
    with pytest.raises(ValidationFailed, match="more than 2 decimal places"):
        L.parse_amount("1.0000000000000000000000000001", 2)
    assert L.parse_amount("0000001.10000000000000000000000000000", 2) == 110
    with pytest.raises(ValidationFailed, match="out of range"):
        L.parse_amount("9" * 10_000, 2)  # and no int() of 10,000 digits either


@given(st.integers(min_value=-(10**15), max_value=10**15), st.integers(min_value=0, max_value=8))
def test_what_format_amount_writes_parse_amount_reads(units: int, decimals: int) -> None:
    assert L.parse_amount(L.format_amount(units, decimals), decimals) == units


def _decimal_fields(annotation: Any) -> list[str]:
    """Where msgspec would decode a Decimal (and so take "1E+3" and "١٠٠") in a request body type."""
    try:
        info = msgspec.inspect.type_info(annotation)
    except (TypeError, ValueError):
        return []
    found: list[str] = []

    def walk(node: msgspec.inspect.Type, path: str, seen: set[int]) -> None:
        if isinstance(node, msgspec.inspect.DecimalType):
            found.append(path or "<body>")
        elif isinstance(node, msgspec.inspect.StructType | msgspec.inspect.DataclassType):
            if id(node.cls) in seen:
                return
            for field in node.fields:
                walk(field.type, f"{path}.{field.name}".lstrip("."), seen | {id(node.cls)})
        elif isinstance(node, msgspec.inspect.UnionType):
            for member in node.types:
                walk(member, path, seen)
        elif isinstance(node, msgspec.inspect.ListType | msgspec.inspect.SetType | msgspec.inspect.FrozenSetType):
            walk(node.item_type, f"{path}[]", seen)
        elif isinstance(node, msgspec.inspect.DictType):
            walk(node.value_type, f"{path}{{}}", seen)

    walk(info, "", set())
    return found


def test_no_request_body_decodes_a_decimal_itself() -> None:
    assert msgspec.json.decode(b'"1E+3"', type=decimal.Decimal) == 1000  # what msgspec would let through
    app = create_app()
    offenders = [
        f"{route.path}: {field}"
        for route in app.routes
        for handler in getattr(route, "route_handlers", ())
        if (data := handler.parsed_fn_signature.parameters.get("data")) is not None
        for field in _decimal_fields(data.annotation)
    ]
    assert offenders == [], "type amounts as str and check them with domain.money / domain.ledger.parse_amount"


@pytest.mark.parametrize(
    ("content_type", "json"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("APPLICATION/JSON", True),
        ("application/problem+json", True),
        ("application/+json", False),
        ("application/jsonp", False),
        ("text/json", False),
        ("text/plain", False),
        ("application/x-www-form-urlencoded", False),
        ("multipart/form-data; boundary=x", False),
        ("", False),
    ],
)
def test_json_media_types(content_type: str, json: bool) -> None:
    assert is_json_media_type(content_type) is json


def test_depth_counts_brackets_outside_strings() -> None:
    assert not too_deep(b"[" * 32 + b"]" * 32)
    assert too_deep(b"[" * 33 + b"]" * 33)
    assert too_deep(b'{"a":' * 33 + b"1" + b"}" * 33)
    assert too_deep(b"[" * 100_000)  # never closed: nests all the same
    assert not too_deep(b'["' + b"[" * 1000 + b'\\"]"]')  # inside a string, with an escaped quote
    assert not too_deep(b"[[],[[]],{}]" * 1000)
    assert not too_deep(b'{"a": [')  # not JSON; the decoder says so


def test_repeated_keys_are_found_at_any_depth() -> None:
    assert repeated_key(b'{"a":1,"a":2}') == "a"
    assert repeated_key(b'{"x":[{"b":1,"\\u0062":2}]}') == "b"
    assert repeated_key(b'{"a":1,"b":{"a":2}}') is None
    assert repeated_key(b'{"a":') is None  # not JSON: the decoder's error
    assert repeated_key(b'{"n":' + b"1" * 10_000 + b"}") is None  # a huge number is not our business
