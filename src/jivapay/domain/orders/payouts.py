"""A pay-out's recipient: which details each payment method needs for a trader to send the money."""

from __future__ import annotations

import dataclasses
import json
import re

from jivapay.domain.errors import ValidationFailed
from jivapay.domain.orders.requisites import RequisiteType, normalize_number


@dataclasses.dataclass(frozen=True, slots=True)
class RecipientRule:
    """What the recipient's ``number`` is for a payment method, and whether its bank is needed."""

    number: RequisiteType | None  # None: any 4-34 letters and digits (a method with no rule of its own)
    bank_required: bool
    number_help: str


# the seeded payment methods (services/platform/seed.py); a method added later without a row here gets DEFAULT_RULE
RECIPIENT_RULES: dict[str, RecipientRule] = {
    "card": RecipientRule(RequisiteType.CARD, False, "card number, 13-19 digits passing the Luhn check"),
    "sbp": RecipientRule(RequisiteType.PHONE, True, "phone number in international format, e.g. +79161234567"),
    "account": RecipientRule(RequisiteType.ACCOUNT, True, "account number, 10-34 letters and digits"),
}
DEFAULT_RULE = RecipientRule(None, False, "4-34 letters and digits")

NAME_LENGTH = (2, 128)
BANK_LENGTH = (2, 64)
_ANY_NUMBER = re.compile(r"^\+?[A-Z0-9]{4,34}$")


@dataclasses.dataclass(frozen=True, slots=True)
class PayoutRecipient:
    """Where a pay-out goes, checked and in canonical form."""

    number: str
    name: str
    bank: str | None = None

    @property
    def last4(self) -> str:
        return self.number[-4:]

    def to_json(self) -> str:
        """What is encrypted into ``incoming_orders.recipient_encrypted``."""
        return json.dumps({"number": self.number, "name": self.name, "bank": self.bank}, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> PayoutRecipient:
        data = json.loads(raw)
        return cls(str(data["number"]), str(data["name"]), data.get("bank"))


def rule_for(payment_method: str) -> RecipientRule:
    return RECIPIENT_RULES.get(payment_method, DEFAULT_RULE)


def check_recipient(payment_method: str, number: str, name: str, bank: str | None) -> PayoutRecipient:
    """The recipient in canonical form; ValidationFailed listing every missing or bad field
    (``details.errors: [{"field": "recipient.number", "message": …}]``)."""
    rule = rule_for(payment_method)
    errors: list[dict[str, str]] = []
    canonical = _canonical_number(rule, number)
    if canonical is None:
        errors.append({"field": "recipient.number", "message": f"for {payment_method}: {rule.number_help}"})
    clean_name = " ".join(name.split())
    if not NAME_LENGTH[0] <= len(clean_name) <= NAME_LENGTH[1]:
        errors.append({"field": "recipient.name", "message": "the recipient's full name, 2-128 characters"})
    clean_bank = " ".join((bank or "").split()) or None
    if clean_bank is None and rule.bank_required:
        errors.append({"field": "recipient.bank", "message": f"for {payment_method}: the recipient's bank is required"})
    elif clean_bank is not None and not BANK_LENGTH[0] <= len(clean_bank) <= BANK_LENGTH[1]:
        errors.append({"field": "recipient.bank", "message": "the recipient's bank, 2-64 characters"})
    if errors:
        raise ValidationFailed(
            "the recipient is not valid for this payment method", field=errors[0]["field"], errors=errors
        )
    assert canonical is not None
    return PayoutRecipient(canonical, clean_name, clean_bank)


def _canonical_number(rule: RecipientRule, raw: str) -> str | None:
    """The number in canonical form, or None when it is not what the rule asks for."""
    if rule.number is None:
        compact = re.sub(r"[\s\-()]", "", raw).upper()
        return compact if _ANY_NUMBER.match(compact) else None
    try:
        return normalize_number(rule.number, raw)
    except ValidationFailed:
        return None


def describe_rules() -> str:
    """The rules as one sentence, for the API's description of the pay-out init."""
    parts = [
        f"`{method}`: `number` = {rule.number_help}" + (", `bank` required" if rule.bank_required else "")
        for method, rule in RECIPIENT_RULES.items()
    ]
    return "; ".join(parts) + f"; any other method: `number` = {DEFAULT_RULE.number_help}"
