"""Masking of personal data (card numbers, owner names) for lists and logs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SENSITIVE_NUMBER_KEYS = frozenset({"card_number", "number", "account_number", "phone", "requisite_number"})
SENSITIVE_NAME_KEYS = frozenset({"owner_name", "holder_name", "recipient_name", "full_name"})
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


def mask_mapping(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy with sensitive values masked, recursively."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        lowered = key.lower()
        if isinstance(value, Mapping):
            out[key] = mask_mapping(value)
        elif lowered in SECRET_KEYS:
            out[key] = "***"
        elif isinstance(value, str) and lowered in SENSITIVE_NUMBER_KEYS:
            out[key] = mask_number(value)
        elif isinstance(value, str) and lowered in SENSITIVE_NAME_KEYS:
            out[key] = mask_name(value)
        else:
            out[key] = value
    return out
