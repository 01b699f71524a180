"""Every fraud rule (seed 000 §6) on its own, at its threshold, and how verdicts combine."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from jivapay.domain.orders.fraud import Decision, FraudRules, OrderFacts, evaluate

RULES = FraudRules(
    review_amount={"RUB": Decimal("100000.00")},
    deny_amount={"RUB": Decimal("500000.00")},
    max_per_client=3,
    max_per_ip=5,
    max_per_card=2,
    max_unpaid_per_client=2,
    blocked_client_ids=frozenset({"bad-client"}),
    blocked_ips=frozenset({"203.0.113.7"}),
    blocked_card_bins=frozenset({"427616"}),
)
CLEAN = OrderFacts(
    amount=Decimal("1500.00"),
    currency="RUB",
    client_id="client-1",
    client_ip="198.51.100.1",
    card_bin="220220",
    orders_by_client=1,
    orders_by_ip=1,
    orders_by_card=1,
    unpaid_by_client=0,
)


def _verdict(**facts: object) -> tuple[Decision, tuple[str, ...]]:
    verdict = evaluate(dataclasses.replace(CLEAN, **facts), RULES)  # type: ignore[arg-type]
    return verdict.decision, verdict.reasons


def test_a_clean_order_is_allowed_with_no_reasons() -> None:
    assert _verdict() == (Decision.ALLOW, ())


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        ({"client_id": "bad-client"}, "blocked_client_id"),
        ({"client_ip": "203.0.113.7"}, "blocked_ip"),
        ({"card_bin": "427616"}, "blocked_card_bin"),
        ({"card_bin": "42761699"}, "blocked_card_bin"),  # an 8-digit BIN is matched on its first 6
        ({"amount": Decimal("500000.00")}, "amount_above_deny_threshold"),
        ({"unpaid_by_client": 2}, "too_many_unpaid_orders"),
    ],
)
def test_deny_rules(facts: dict[str, object], reason: str) -> None:
    assert _verdict(**facts) == (Decision.DENY, (reason,))


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        ({"amount": Decimal("100000.00")}, "amount_above_review_threshold"),
        ({"orders_by_client": 4}, "velocity_client"),
        ({"orders_by_ip": 6}, "velocity_ip"),
        ({"orders_by_card": 3}, "velocity_card"),
    ],
)
def test_review_rules(facts: dict[str, object], reason: str) -> None:
    assert _verdict(**facts) == (Decision.REQUIRE_MANUAL_REVIEW, (reason,))


@pytest.mark.parametrize(
    "facts",
    [
        {"orders_by_client": 3},  # the limit itself is allowed (the count includes this order)
        {"orders_by_ip": 5},
        {"orders_by_card": 2},
        {"unpaid_by_client": 1},  # one below the limit (the count excludes this order)
        {"amount": Decimal("99999.99")},
        {"card_bin": "427617"},
        {"client_id": "bad-client-2"},
        {"currency": "USD", "amount": Decimal("999999.00")},  # no thresholds for USD in these rules
    ],
)
def test_just_below_every_threshold_is_allowed(facts: dict[str, object]) -> None:
    assert _verdict(**facts) == (Decision.ALLOW, ())


@pytest.mark.parametrize(
    "facts",
    [
        {"client_id": None, "orders_by_client": 99, "unpaid_by_client": 99},
        {"client_ip": None, "orders_by_ip": 99},
        {"card_bin": None, "orders_by_card": 99},
    ],
)
def test_rules_about_an_unknown_identifier_do_not_fire(facts: dict[str, object]) -> None:
    assert _verdict(**facts) == (Decision.ALLOW, ())


def test_deny_beats_review_and_every_fired_rule_is_a_reason() -> None:
    decision, reasons = _verdict(card_bin="427616", orders_by_client=9, orders_by_ip=9, amount=Decimal("200000"))
    assert decision == Decision.DENY
    assert reasons == ("blocked_card_bin", "amount_above_review_threshold", "velocity_client", "velocity_ip")


def test_the_deny_amount_replaces_the_review_amount() -> None:
    assert _verdict(amount=Decimal("600000.00")) == (Decision.DENY, ("amount_above_deny_threshold",))


def test_several_review_rules_are_all_reasons() -> None:
    assert _verdict(orders_by_client=4, orders_by_card=3) == (
        Decision.REQUIRE_MANUAL_REVIEW,
        ("velocity_client", "velocity_card"),
    )
