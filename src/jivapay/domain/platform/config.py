"""Business settings that change at run time: their types, defaults and parsing.

Values are stored as text with a declared type; parsing is strict so a typo made by an
operator is refused when it is written, not discovered by the next order.
"""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from jivapay.domain import money
from jivapay.domain.errors import ConfigurationError, ValidationFailed

ValueType = Literal["int", "decimal", "str", "bool", "json"]
PYTHON_TYPES: dict[ValueType, type] = {"int": int, "decimal": Decimal, "str": str, "bool": bool, "json": object}


@dataclasses.dataclass(frozen=True, slots=True)
class ConfigDefinition:
    key: str
    value_type: ValueType
    default: Any
    description: str


def parse_value(raw: str, value_type: str, *, key: str = "") -> Any:
    """Stored text → typed value. Raises ValidationFailed naming the key."""
    try:
        if value_type == "int":
            return int(raw.strip())
        if value_type == "decimal":
            value = Decimal(raw.strip())
            if not value.is_finite():
                raise InvalidOperation
            return value
        if value_type == "bool":
            lowered = raw.strip().lower()
            if lowered in ("true", "1", "yes", "on"):
                return True
            if lowered in ("false", "0", "no", "off"):
                return False
            raise ValueError(raw)
        if value_type == "json":
            return json.loads(raw)
        if value_type == "str":
            return raw
    except (ValueError, InvalidOperation, json.JSONDecodeError):
        raise ValidationFailed(
            f"{key or 'value'} must be a valid {value_type}, got {raw!r}", field=key or "value", key=key
        ) from None
    raise ValidationFailed(f"{key or 'value'}: unknown value type {value_type!r}", field=key or "value", key=key)


def serialize_value(value: Any, value_type: str, *, key: str = "") -> str:
    """Typed value → stored text, checked by parsing it back."""
    if value_type == "json":
        raw = json.dumps(value, sort_keys=True)
    elif value_type == "bool":
        if not isinstance(value, bool | str):
            raise ValidationFailed(f"{key} must be a boolean", field=key, key=key)
        raw = value if isinstance(value, str) else ("true" if value else "false")
    elif isinstance(value, float):
        raise ValidationFailed(f"{key} must not be a float; pass a decimal string", field=key, key=key)
    elif value_type == "decimal" and isinstance(value, str) and not money.is_decimal_text(value):
        raise ValidationFailed(f'{key} must be a decimal string like "0.05", got {value!r}', field=key, key=key)
    else:
        raw = str(value)
    parse_value(raw, value_type, key=key)
    return raw


def coerce(value: Any, wanted: type, *, key: str) -> Any:
    """Make sure the caller gets the type it asked for, or fail loudly."""
    if wanted is object or (isinstance(value, wanted) and not (wanted is int and isinstance(value, bool))):
        return value
    if wanted is Decimal and isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    raise ConfigurationError(f"configuration {key} is {type(value).__name__}, expected {wanted.__name__}", key=key)


_D = ConfigDefinition
DEFAULTS: tuple[ConfigDefinition, ...] = (
    # order processing (seed 000 §2, §3.4)
    _D("MAX_ORDER_RETRIES", "int", 5, "Attempts to find a requisite before an incoming order fails."),
    _D("RETRY_BACKOFF_FACTOR", "decimal", Decimal(2), "Backoff multiplier between order retries."),
    _D("RETRY_BASE_DELAY_SECONDS", "int", 10, "Delay before the first order retry; grows by the factor."),
    _D("IDEMPOTENCY_KEY_TTL_HOURS", "int", 48, "How long gateway Idempotency-Keys are kept (at least 24)."),
    _D(
        "CALLBACK_RETRY_SCHEDULE_SECONDS",
        "json",
        [60, 300, 900, 3600, 21600, 86400],
        "Delays between callback attempts after a failure; when they run out the event is failed.",
    ),
    _D(
        "ORDER_ASSIGN_LEASE_SECONDS",
        "int",
        60,
        "After the scheduler sends an order to the worker, time before it sends it again if still unassigned.",
    ),
    _D(
        "RATE_LIMIT_DEFAULT",
        "str",
        "100/minute",
        "Default API rate limit, per caller: N/period (limits library syntax), a bucket of N requests "
        "refilled evenly over the period.",
    ),
    _D("RATE_LIMIT_LOGIN", "str", "10/minute", "Rate limit of the login endpoints, per IP."),
    _D("IP_BLOCK_THRESHOLD", "int", 30, "401/429 answers from one IP within the window that block it."),
    _D("IP_BLOCK_WINDOW_SECONDS", "int", 300, "Window in which 401/429 answers are counted per IP."),
    _D("IP_BLOCK_SECONDS", "int", 900, "How long an automatically blocked IP stays blocked."),
    _D(
        "LOGIN_FAILURE_THRESHOLD",
        "int",
        5,
        "Failed passwords for one login (from any IPs) within the window before each further failure locks it.",
    ),
    _D("LOGIN_FAILURE_WINDOW_SECONDS", "int", 900, "Window in which failed passwords are counted per login."),
    _D(
        "LOGIN_LOCK_MAX_SECONDS",
        "int",
        300,
        "Longest lock of a login after repeated failures (1 s, 2 s, 4 s … up to this); a trusted device skips it.",
    ),
    # order timeouts
    _D("PAYIN_PAYMENT_TIMEOUT_MINUTES", "int", 20, "Time a customer has to pay an assigned pay-in."),
    _D("PAYIN_CONFIRMATION_TIMEOUT_MINUTES", "int", 30, "Time a trader has to confirm a paid pay-in."),
    _D("PAYOUT_TIMEOUT_MINUTES", "int", 60, "Time a trader has to pay out an assigned pay-out."),
    _D(
        "PAYOUT_CONFIRMATION_TIMEOUT_MINUTES",
        "int",
        1440,
        "Time a merchant has to dispute a pay-out the trader marked paid; then it completes.",
    ),
    _D("ALLOW_AMOUNT_SHIFT", "bool", True, "Shift a pay-in by the smallest fiat unit to keep amounts unique."),
    # fraud (seed 000 §6)
    _D(
        "FRAUD_REVIEW_AMOUNT",
        "json",
        {"RUB": "300000.00", "USD": "3000.00"},
        "Per currency: at or above → manual review.",
    ),
    _D("FRAUD_DENY_AMOUNT", "json", {"RUB": "1000000.00", "USD": "10000.00"}, "Per currency: at or above → denied."),
    _D("FRAUD_VELOCITY_WINDOW_SECONDS", "int", 3600, "Window of the velocity counters."),
    _D("FRAUD_VELOCITY_MAX_PER_CLIENT", "int", 10, "Orders per client id within the window."),
    _D("FRAUD_VELOCITY_MAX_PER_IP", "int", 20, "Orders per client IP within the window."),
    _D("FRAUD_VELOCITY_MAX_PER_CARD", "int", 10, "Orders per card within the window."),
    _D("FRAUD_MAX_UNPAID_ORDERS_PER_CLIENT", "int", 3, "Open unpaid orders a client may have."),
    _D("FRAUD_BLOCKED_CLIENT_IDS", "json", [], "Client ids that are always denied."),
    _D("FRAUD_BLOCKED_IPS", "json", [], "Client IPs that are always denied."),
    _D("FRAUD_BLOCKED_CARD_BINS", "json", [], "Card BINs (first 6 digits) that are always denied."),
    # commissions, fractions of the amount (0.05 = 5 %)
    _D("DEFAULT_STORE_COMMISSION_PAYIN", "decimal", Decimal("0.05"), "Store's pay-in commission when none is set."),
    _D("DEFAULT_STORE_COMMISSION_PAYOUT", "decimal", Decimal("0.03"), "Store's pay-out commission when none is set."),
    _D("DEFAULT_TRADER_COMMISSION_PAYIN", "decimal", Decimal("0.03"), "Trader's pay-in commission when none is set."),
    _D(
        "DEFAULT_TRADER_COMMISSION_PAYOUT", "decimal", Decimal("0.015"), "Trader's pay-out commission when none is set."
    ),
    # reference data and exchange rates
    _D("REFERENCE_CACHE_TTL_SECONDS", "int", 300, "How long banks and payment methods stay in the Redis cache."),
    _D("RATE_CACHE_TTL_SECONDS", "int", 60, "How long an exchange rate stays in the Redis cache."),
    _D("RATE_SOURCE_URL", "str", "", "HTTP source of USDT rates; {currency} is replaced; empty = admin-set only."),
    _D("RATE_SOURCE_FIELD", "str", "rate", "Field of the source's JSON answer that holds the rate."),
    _D("RATE_REFRESH_SECONDS", "int", 300, "How often the scheduler refreshes rates from the source."),
    _D("RATE_MAX_CHANGE", "decimal", Decimal("0.2"), "A source rate moving more than this fraction is refused."),
    # receipts
    _D("RECEIPT_MAX_BYTES", "int", 5 * 1024 * 1024, "Largest receipt upload (PDF, PNG or JPEG)."),
    _D("RECEIPT_URL_TTL_SECONDS", "int", 300, "Lifetime of a receipt download link."),
    # support and withdrawals
    _D("DISPUTE_SLA_MINUTES", "json", {"high": 30, "normal": 120, "low": 480}, "Dispute SLA per priority."),
    _D(
        "DISPUTE_HIGH_PRIORITY_USDT",
        "decimal",
        Decimal(500),
        "A dispute over an order worth at least this much USDT opens with high priority.",
    ),
    # the customer's payment page
    _D(
        "PAYMENT_PAGE_INSTRUCTIONS",
        "json",
        {},
        'Per payment method and language, the payment page\'s "how to pay" text, e.g. {"card": {"ru": "…", '
        '"en": "…"}}; a method or language left out gets the built-in text.',
    ),
    # statistics
    _D("STATS_REFRESH_SECONDS", "int", 60, "How often the scheduler brings the statistics rollups up to date."),
    _D("WITHDRAWAL_APPROVAL_THRESHOLD_USDT", "decimal", Decimal(1000), "Withdrawals at or above need approval."),
    _D(
        "WITHDRAWAL_LIMITS_USDT",
        "json",
        {
            "trader": {"per_request": "50000", "daily": "100000"},
            "store": {"per_request": "100000", "daily": "500000"},
            "teamlead": {"per_request": "10000", "daily": "20000"},
        },
        "Per owner kind: the largest withdrawal and the most withdrawn in any 24 hours (USDT, fees excluded).",
    ),
)
DEFINITIONS: dict[str, ConfigDefinition] = {d.key: d for d in DEFAULTS}


# --- what a value must mean, beyond its type ------------------------------------------------
# A setting of the right type can still break the platform (a blocklist that is not a list, an
# SLA table without "normal", a retry factor of 10**30): set_config refuses those too.
MAX_INT_SETTING = 10**9
MAX_DECIMAL_SETTING = Decimal(10**12)


def _string_list(value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return "must be a JSON list of strings"
    return None


#: A fiat amount per currency in a setting (the fraud thresholds), in major units: positive and
#: kept in range like an operator's own decimal setting.
FIAT_THRESHOLD = money.DecimalRule(places=12, low=0, high=MAX_DECIMAL_SETTING, low_inclusive=False, high_inclusive=True)


def _amounts_by_currency(value: Any) -> str | None:
    if not isinstance(value, dict):
        return 'must be a JSON object of currency → decimal string, like {"RUB": "100000.00"}'
    for currency, amount in value.items():
        if not (isinstance(currency, str) and currency.isalpha()):
            return f"has a bad entry {currency!r}: amounts are decimal strings per currency code"
        try:
            FIAT_THRESHOLD.check(amount, field=currency)
        except ValidationFailed as exc:
            return f"has a bad entry {currency!r}: {exc.message}"
    return None


def _sla_table(value: Any) -> str | None:
    if not isinstance(value, dict) or set(value) != {"high", "normal", "low"}:
        return "must give minutes for exactly high, normal and low"
    if not all(isinstance(m, int) and not isinstance(m, bool) and 1 <= m <= 43_200 for m in value.values()):
        return "minutes are whole numbers from 1 to 43200 (30 days)"
    return None


def _retry_schedule(value: Any) -> str | None:
    if not isinstance(value, list) or not 1 <= len(value) <= 30:
        return "must be a JSON list of 1-30 delays in seconds"
    if not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= 604_800 for s in value):
        return "delays are whole seconds from 0 to 604800 (a week)"
    return None


def _withdrawal_limits(value: Any) -> str | None:
    kinds = ("trader", "store", "teamlead")
    if not isinstance(value, dict) or set(value) != set(kinds):
        return 'must give {"per_request": …, "daily": …} for exactly trader, store and teamlead'
    for kind, limits in value.items():
        if not isinstance(limits, dict) or set(limits) != {"per_request", "daily"}:
            return f"{kind} must have exactly per_request and daily"
        for name, amount in limits.items():
            try:
                money.USDT_AMOUNT.check(amount, field=f"{kind}.{name}")
            except ValidationFailed as exc:
                return f"{kind}.{name}: {exc.message}"
    return None


PAGE_LANGUAGES = ("ru", "en")


def _page_instructions(value: Any) -> str | None:
    if not isinstance(value, dict):
        return 'must be a JSON object of payment method → {"ru": text, "en": text}'
    for method, texts in value.items():
        if not isinstance(texts, dict) or not texts:
            return f"{method}: an object of language → text"
        for language, text in texts.items():
            if language not in PAGE_LANGUAGES:
                return f"{method}.{language}: the languages are {', '.join(PAGE_LANGUAGES)}"
            if not isinstance(text, str) or not 0 < len(text.strip()) <= 1000:
                return f"{method}.{language}: a text of 1 to 1000 characters"
    return None


CHECKS: dict[str, Any] = {
    "PAYMENT_PAGE_INSTRUCTIONS": _page_instructions,
    "WITHDRAWAL_LIMITS_USDT": _withdrawal_limits,
    "FRAUD_BLOCKED_CLIENT_IDS": _string_list,
    "FRAUD_BLOCKED_IPS": _string_list,
    "FRAUD_BLOCKED_CARD_BINS": _string_list,
    "FRAUD_REVIEW_AMOUNT": _amounts_by_currency,
    "FRAUD_DENY_AMOUNT": _amounts_by_currency,
    "DISPUTE_SLA_MINUTES": _sla_table,
    "CALLBACK_RETRY_SCHEDULE_SECONDS": _retry_schedule,
}

# Every decimal setting the platform defines has its rule: the same ones (domain.money) the
# API applies to commissions, rates and amounts, so a default can never carry more precision
# than the column an order copies it into.
DECIMAL_RULES: dict[str, money.DecimalRule] = {
    "RETRY_BACKOFF_FACTOR": money.DecimalRule(places=4, low=1, high=10, high_inclusive=True),
    "RATE_MAX_CHANGE": money.FRACTION,
    "DEFAULT_STORE_COMMISSION_PAYIN": money.COMMISSION,
    "DEFAULT_STORE_COMMISSION_PAYOUT": money.COMMISSION,
    "DEFAULT_TRADER_COMMISSION_PAYIN": money.COMMISSION,
    "DEFAULT_TRADER_COMMISSION_PAYOUT": money.COMMISSION,
    "DISPUTE_HIGH_PRIORITY_USDT": money.USDT_AMOUNT,
    "WITHDRAWAL_APPROVAL_THRESHOLD_USDT": money.USDT_AMOUNT,
}
#: A decimal setting the platform does not define (an operator's own) is only kept in range.
OTHER_DECIMAL = money.DecimalRule(places=12, low=0, high=MAX_DECIMAL_SETTING, high_inclusive=True)


def check_meaning(key: str, value_type: str, value: Any) -> None:
    """ValidationFailed naming the key when a typed value cannot work (see CHECKS, DECIMAL_RULES)."""
    problem: str | None = None
    if value_type == "decimal":
        try:
            DECIMAL_RULES.get(key, OTHER_DECIMAL).check(value, field=key)
        except ValidationFailed as exc:
            exc.details["key"] = key
            raise
    elif value_type == "int" and not 0 <= value <= MAX_INT_SETTING:
        problem = f"must be from 0 to {MAX_INT_SETTING}"
    elif key in CHECKS:
        problem = CHECKS[key](value)
    if problem is not None:
        raise ValidationFailed(f"{key} {problem}", field=key, key=key)


def checked_default(definition: ConfigDefinition) -> str:
    """A default as stored text, held to the same rules as an operator's value."""
    raw = serialize_value(definition.default, definition.value_type, key=definition.key)
    check_meaning(definition.key, definition.value_type, parse_value(raw, definition.value_type, key=definition.key))
    return raw
