"""Requisites: what a trader's bank details look like and how they are checked."""

from __future__ import annotations

import enum
import re

from jivapay.domain.errors import ValidationFailed


class RequisiteType(enum.StrEnum):
    CARD = "card"
    ACCOUNT = "account"
    PHONE = "phone"


class RequisiteDirection(enum.StrEnum):
    PAYIN = "payin"
    PAYOUT = "payout"
    BOTH = "both"


_ACCOUNT = re.compile(r"^[A-Z0-9]{10,34}$")
_PHONE = re.compile(r"^\+[1-9][0-9]{9,14}$")


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def normalize_number(kind: RequisiteType, raw: str) -> str:
    """The canonical form of a card (Luhn), account (IBAN-like, 10-34) or phone (E.164) number."""
    compact = re.sub(r"[\s\-()]", "", raw).upper()
    if kind == RequisiteType.CARD:
        if not compact.isdigit() or not 13 <= len(compact) <= 19 or not luhn_ok(compact):
            raise ValidationFailed(
                "card number is not valid (13-19 digits, Luhn check)", field="number", rule="card_number"
            )
        return compact
    if kind == RequisiteType.ACCOUNT:
        if not _ACCOUNT.match(compact):
            raise ValidationFailed(
                "account number must be 10-34 letters and digits", field="number", rule="account_number"
            )
        return compact
    if compact.startswith("8") and len(compact) == 11:  # Russian trunk prefix
        compact = "+7" + compact[1:]
    if not _PHONE.match(compact):
        raise ValidationFailed(
            "phone must be in international format, e.g. +79161234567", field="number", rule="phone_number"
        )
    return compact


def check_owner_name(name: str) -> str:
    value = " ".join(name.split())
    if not 2 <= len(value) <= 128:
        raise ValidationFailed("owner name must be 2-128 characters", field="owner_name")
    return value


def check_limits(
    min_amount: int | None,
    max_amount: int | None,
    daily: int | None,
    monthly: int | None,
    orders_per_day: int | None,
    max_open_orders: int | None,
) -> None:
    for name, value in (
        ("min_amount", min_amount),
        ("max_amount", max_amount),
        ("daily_limit", daily),
        ("monthly_limit", monthly),
        ("orders_per_day", orders_per_day),
        ("max_open_orders", max_open_orders),
    ):
        if value is not None and value <= 0:
            raise ValidationFailed(f"{name} must be positive", field=name)
    if min_amount is not None and max_amount is not None and min_amount > max_amount:
        raise ValidationFailed("min_amount is above max_amount", field="min_amount")
    if daily is not None and monthly is not None and daily > monthly:
        raise ValidationFailed("daily_limit is above monthly_limit", field="daily_limit")
