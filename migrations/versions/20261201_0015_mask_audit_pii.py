"""mask personal data already in the audit log: card and requisite numbers, owner and
recipient names, secrets — under their known keys, inside lists too, and any card number
(13-19 digits passing Luhn) under any key; the append-only trigger is lifted for this one
pass only. New entries are masked when written (services/platform/audit.py, domain/pii.py).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 11:00:00.000000+00:00
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# a frozen copy of domain/pii.py as of this revision: a migration never changes with the code
_NUMBER_KEYS = frozenset(
    {"card_number", "number", "account_number", "phone", "requisite_number", "recipient_number", "pan"}
)
_NAME_KEYS = frozenset({"owner_name", "holder_name", "recipient_name", "full_name", "name_on_card"})
_SECRET_KEYS = frozenset({"password", "secret", "api_key", "token", "refresh_token", "access_token"})
_BATCH = 1000


def _is_card(value: str) -> bool:
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


def _mask_number(value: str) -> str:
    digits = "".join(ch for ch in value if ch.isalnum())
    if len(digits) >= 12:
        return f"{digits[:4]} **** **** {digits[-4:]}"
    if len(digits) > 4:
        return "*" * (len(digits) - 4) + digits[-4:]
    return "*" * max(len(digits) - 2, 0) + digits[-2:]


def _mask_name(value: str) -> str:
    parts = value.split()
    if not parts:
        return ""
    if len(parts) == 1:
        return parts[0][:1] + "***"
    return " ".join([parts[0], *(p[:1] + "." for p in parts[1:])])


def _mask(key: str, value: Any) -> Any:
    lowered = key.lower()
    if isinstance(value, Mapping):
        return {k: _mask(str(k), v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(key, item) for item in value]
    if lowered in _SECRET_KEYS:
        return "***"
    if isinstance(value, str):
        if lowered in _NUMBER_KEYS or _is_card(value):
            return value if "*" in value else _mask_number(value)
        if lowered in _NAME_KEYS:
            return value if value.endswith((".", "***")) else _mask_name(value)
    return value


def upgrade() -> None:
    bind = op.get_bind()
    op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    last = 0
    while True:
        rows = bind.execute(
            sa.text("SELECT id, details FROM audit_log WHERE id > :last ORDER BY id LIMIT :batch"),
            {"last": last, "batch": _BATCH},
        ).all()
        if not rows:
            break
        for entry_id, details in rows:
            if isinstance(details, dict):
                masked = _mask("details", details)
                if masked != details:
                    bind.execute(
                        sa.text("UPDATE audit_log SET details = CAST(:details AS jsonb) WHERE id = :id"),
                        {"details": json.dumps(masked), "id": entry_id},
                    )
        last = rows[-1][0]
    op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")


def downgrade() -> None:
    """Masked data cannot be unmasked; nothing to undo."""
