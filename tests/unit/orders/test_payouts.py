"""The pay-out recipient rules per payment method (domain/orders/payouts.py): no database."""

from __future__ import annotations

import pytest

from jivapay.domain.errors import ValidationFailed
from jivapay.domain.orders.payouts import RECIPIENT_RULES, PayoutRecipient, check_recipient, describe_rules
from jivapay.services.platform.seed import PAYMENT_METHODS


def _fields(exc: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [e["field"] for e in exc.value.details["errors"]]


def test_card_needs_a_luhn_valid_number_and_a_name() -> None:
    ok = check_recipient("card", "2200 0000 0000 0004", "  Anna   Smirnova ", None)
    assert ok == PayoutRecipient("2200000000000004", "Anna Smirnova", None)
    assert ok.last4 == "0004"
    with pytest.raises(ValidationFailed) as bad:
        check_recipient("card", "2200 0000 0000 0005", "", None)  # Luhn fails, no name
    assert _fields(bad) == ["recipient.number", "recipient.name"]
    assert bad.value.details["field"] == "recipient.number"
    assert "Luhn" in bad.value.details["errors"][0]["message"]


def test_sbp_needs_a_phone_and_a_bank() -> None:
    ok = check_recipient("sbp", "8 (916) 123-45-67", "Anna Smirnova", "T-Bank")
    assert (ok.number, ok.bank) == ("+79161234567", "T-Bank")  # the Russian trunk prefix is rewritten
    with pytest.raises(ValidationFailed) as bad:
        check_recipient("sbp", "2200000000000004", "Anna Smirnova", "  ")
    assert _fields(bad) == ["recipient.number", "recipient.bank"]


def test_account_needs_an_account_number_and_a_bank() -> None:
    ok = check_recipient("account", "40817 81099 9100 0000 01", "Anna Smirnova", "Sberbank")
    assert ok.number == "40817810999100000001"
    with pytest.raises(ValidationFailed) as bad:
        check_recipient("account", "123", "Anna Smirnova", None)
    assert _fields(bad) == ["recipient.number", "recipient.bank"]


def test_a_method_without_a_rule_takes_any_plain_number_and_a_name() -> None:
    assert check_recipient("qr", "abc-1234", "Anna Smirnova", None).number == "ABC1234"
    with pytest.raises(ValidationFailed) as bad:
        check_recipient("qr", "12", "A", "x" * 65)
    assert _fields(bad) == ["recipient.number", "recipient.name", "recipient.bank"]


def test_the_stored_form_round_trips_and_the_description_names_every_method() -> None:
    recipient = PayoutRecipient("+79161234567", "Anna Smirnova", "T-Bank")
    assert PayoutRecipient.from_json(recipient.to_json()) == recipient
    text = describe_rules()
    assert all(f"`{method}`" in text for method in RECIPIENT_RULES)
    assert set(RECIPIENT_RULES) == {m["code"] for m in PAYMENT_METHODS}  # a rule for every seeded method
