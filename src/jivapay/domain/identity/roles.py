"""Roles, admin permissions and the password policy."""

from __future__ import annotations

import enum

from jivapay.domain.errors import ValidationFailed


class Role(enum.StrEnum):
    ADMIN = "admin"
    MERCHANT = "merchant"
    TRADER = "trader"
    TEAMLEAD = "teamlead"
    SUPPORT = "support"


class AdminPermission(enum.StrEnum):
    MANAGE_USERS = "manage_users"
    MANAGE_SETTINGS = "manage_settings"
    MANAGE_REQUISITES = "manage_requisites"
    MANAGE_FINANCES = "manage_finances"
    MANAGE_PERMISSIONS = "manage_permissions"


ALL_ADMIN_PERMISSIONS = frozenset(AdminPermission)


def check_password_policy(password: str, *, min_length: int) -> None:
    """Seed 004's LetterAndDigitValidator plus a minimum length; the 422 names the rule."""
    if len(password) < min_length:
        raise ValidationFailed(
            f"password must be at least {min_length} characters long",
            field="password",
            rule="min_length",
            min_length=min_length,
        )
    if len(password) > 256:
        raise ValidationFailed("password must be at most 256 characters long", field="password", rule="max_length")
    if not any(ch.isalpha() for ch in password):
        raise ValidationFailed("password must contain at least one letter", field="password", rule="letter")
    if not any(ch.isdigit() for ch in password):
        raise ValidationFailed("password must contain at least one digit", field="password", rule="digit")


def normalize_login(login: str) -> str:
    value = login.strip().lower()
    if not 3 <= len(value) <= 64 or not all(ch.isalnum() or ch in "._-@+" for ch in value):
        raise ValidationFailed(
            "login must be 3-64 characters: letters, digits and . _ - @ +", field="login", rule="login_format"
        )
    return value


def normalize_email(email: str) -> str:
    value = email.strip().lower()
    local, _, domain = value.partition("@")
    if not local or "." not in domain or len(value) > 254 or " " in value:
        raise ValidationFailed("email is not a valid address", field="email", rule="email_format")
    return value
