"""Fraud rules (seed 000 §6): pure decisions from an order's facts and the configured limits."""

from __future__ import annotations

import dataclasses
import enum
from decimal import Decimal


class Decision(enum.StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    REQUIRE_MANUAL_REVIEW = "review"


@dataclasses.dataclass(frozen=True, slots=True)
class FraudRules:
    review_amount: dict[str, Decimal]  # per currency, in major units
    deny_amount: dict[str, Decimal]
    max_per_client: int
    max_per_ip: int
    max_per_card: int
    max_unpaid_per_client: int
    blocked_client_ids: frozenset[str]
    blocked_ips: frozenset[str]
    blocked_card_bins: frozenset[str]


@dataclasses.dataclass(frozen=True, slots=True)
class OrderFacts:
    amount: Decimal  # major units
    currency: str
    client_id: str | None
    client_ip: str | None
    card_bin: str | None
    orders_by_client: int  # within the velocity window, this one included
    orders_by_ip: int
    orders_by_card: int
    unpaid_by_client: int  # open unpaid orders of the client, this one excluded


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    decision: Decision
    reasons: tuple[str, ...]


def evaluate(facts: OrderFacts, rules: FraudRules) -> Verdict:
    """DENY beats REVIEW beats ALLOW; every rule that fired is a reason."""
    deny: list[str] = []
    review: list[str] = []
    if facts.client_id and facts.client_id in rules.blocked_client_ids:
        deny.append("blocked_client_id")
    if facts.client_ip and facts.client_ip in rules.blocked_ips:
        deny.append("blocked_ip")
    if facts.card_bin and facts.card_bin[:6] in rules.blocked_card_bins:
        deny.append("blocked_card_bin")
    deny_at = rules.deny_amount.get(facts.currency)
    review_at = rules.review_amount.get(facts.currency)
    if deny_at is not None and facts.amount >= deny_at:
        deny.append("amount_above_deny_threshold")
    elif review_at is not None and facts.amount >= review_at:
        review.append("amount_above_review_threshold")
    if facts.client_id and facts.orders_by_client > rules.max_per_client:
        review.append("velocity_client")
    if facts.client_ip and facts.orders_by_ip > rules.max_per_ip:
        review.append("velocity_ip")
    if facts.card_bin and facts.orders_by_card > rules.max_per_card:
        review.append("velocity_card")
    if facts.client_id and facts.unpaid_by_client >= rules.max_unpaid_per_client:
        deny.append("too_many_unpaid_orders")
    if deny:
        return Verdict(Decision.DENY, tuple(deny + review))
    if review:
        return Verdict(Decision.REQUIRE_MANUAL_REVIEW, tuple(review))
    return Verdict(Decision.ALLOW, ())
