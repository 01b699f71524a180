"""Masking of personal data (card numbers, owner names) for lists and logs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SENSITIVE_NUMBER_KEYS = frozenset(
    {"card_number", "number", "account_number", "phone", "requisite_number", "recipient_number", "pan"}
)
SENSITIVE_NAME_KEYS = frozenset({"owner_name", "holder_name", "recipient_name", "full_name", "name_on_card"})
SECRET_KEYS = frozenset({"password", "secret", "api_key", "token", "refresh_token", "access_token"})


def mask_number(value: str) -> str:
    """``4276123456781234`` → ``4276 **** **** 1234``; short values keep only the last 2."""
    digits = "".join(ch for ch in value if ch.isalnum())
    if len(digits) >= 12:
        return f"{digits[:4]} **** **** {digits[-4:]}"
    if len(digits) > 4:
        return "*" * (len(digits) - 4) + digits[-4:]
    return "*" * max(len(digits) - 2, 0) + digits[-2:]


def mask_name(value: str) -> str:
    """``Ivan Petrov`` → ``Ivan P.``"""
    parts = value.split()
    if not parts:
        return ""
    if len(parts) == 1:
        return parts[0][:1] + "***"
    return " ".join([parts[0], *(p[:1] + "." for p in parts[1:])])


def looks_like_card_number(value: str) -> bool:
    """13-19 digits (spaces and dashes allowed) that pass the Luhn check: a payment card number."""
    digits = value.replace(" ", "").replace("-", "")
    if not (13 <= len(digits) <= 19) or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for index, ch in enumerate(reversed(digits)):
        d = int(ch)
        if index % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def mask_value(key: str, value: Any) -> Any:
    """``value`` stored under ``key``, with personal data and secrets masked, recursively."""
    lowered = key.lower()
    if isinstance(value, Mapping):
        return mask_mapping(value)
    if isinstance(value, list | tuple):
        return [mask_value(key, item) for item in value]
    if lowered in SECRET_KEYS:
        return "***"
    if isinstance(value, str):
        if lowered in SENSITIVE_NUMBER_KEYS or looks_like_card_number(value):
            return mask_number(value)
        if lowered in SENSITIVE_NAME_KEYS:
            return mask_name(value)
    return value


def mask_mapping(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy with sensitive values masked, recursively (lists too; a card number under any key)."""
    return {key: mask_value(str(key), value) for key, value in data.items()}
