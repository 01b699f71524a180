"""Ledger rules without I/O: accounts by identity, legs and the settlement math (the one posting
function, services/ledger/posting.post, checks that a transaction sums to zero per currency).

Amounts are ints in minor units: USDT has 6 decimals on the platform (whatever the chain
uses), fiat has its currency's minor units. Rates are Decimal fiat-per-USDT.

Rounding (the platform never pays dust):
- pay-in: the trader's collateral frozen = ceil(F/R·(1−t)); the store receives
  floor(F/R·(1−s)); the platform's profit is the difference.
- pay-out: the store's hold = ceil(F/R·(1+s)); the trader receives floor(F/R·(1+t)); the
  platform's profit is the difference.
So every split sums exactly to the amount that was frozen, and any rounding remainder
goes to the platform's profit, never out of it.
"""

from __future__ import annotations

import dataclasses
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from jivapay.domain import money
from jivapay.domain.errors import ConfigurationError, ValidationFailed

USDT = "USDT"
USDT_DECIMALS = 6
_USDT_SCALE = Decimal(10) ** USDT_DECIMALS


@dataclasses.dataclass(frozen=True, slots=True, order=True)
class AccountKey:
    """What an account is; the database gives it an id the first time it is used."""

    owner_type: str
    owner_id: int
    currency: str
    kind: str
    label: str = ""

    @property
    def may_go_negative(self) -> bool:
        return self.kind == "external"


def store_available(store_id: int) -> AccountKey:
    return AccountKey("store", store_id, USDT, "available")


def store_frozen(store_id: int) -> AccountKey:
    return AccountKey("store", store_id, USDT, "frozen")


def trader_available(trader_id: int) -> AccountKey:
    return AccountKey("trader", trader_id, USDT, "available")


def trader_frozen(trader_id: int) -> AccountKey:
    return AccountKey("trader", trader_id, USDT, "frozen")


def trader_fiat(trader_id: int, currency: str, direction: str) -> AccountKey:
    """Fiat turnover the trader handled (received for pay-ins, paid out for pay-outs)."""
    return AccountKey("trader", trader_id, currency, "fiat", direction)


def teamlead_available(teamlead_id: int) -> AccountKey:
    """The teamlead's USDT: their reward share of the platform's profit."""
    return AccountKey("teamlead", teamlead_id, USDT, "available")


def platform_profit(currency: str = USDT) -> AccountKey:
    return AccountKey("platform", 0, currency, "profit")


def external_crypto(network: str) -> AccountKey:
    """The chain side of USDT deposits and withdrawals on one network."""
    return AccountKey("external", 0, USDT, "external", network)


def external_fiat(currency: str) -> AccountKey:
    """The banking world, counterpart of the traders' fiat turnover records."""
    return AccountKey("external", 0, currency, "external", "fiat")


def adjustment(currency: str = USDT) -> AccountKey:
    """Counterpart of manual corrections by admins."""
    return AccountKey("adjustment", 0, currency, "external", "manual")


def owner_accounts(owner_type: str, owner_id: int) -> tuple[AccountKey, AccountKey]:
    """(available, frozen) USDT accounts of a store, a trader or a teamlead."""
    if owner_type not in ("store", "trader", "teamlead"):
        raise ValidationFailed(
            f"only stores, traders and teamleads hold USDT, not {owner_type!r}", owner_type=owner_type
        )
    return AccountKey(owner_type, owner_id, USDT, "available"), AccountKey(owner_type, owner_id, USDT, "frozen")


@dataclasses.dataclass(frozen=True, slots=True)
class Leg:
    account: AccountKey
    amount: int  # signed, minor units of the account's currency


# --- money math -------------------------------------------------------------------------


def to_usdt_units(value: Decimal, *, up: bool) -> int:
    """USDT (a Decimal) → micro-USDT, rounded up or down."""
    return int((value * _USDT_SCALE).to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR))


def fiat_to_usdt(amount_minor: int, minor_units: int, rate: Decimal) -> Decimal:
    """Exact USDT value of a fiat amount at ``rate`` fiat per USDT."""
    if rate <= 0:
        raise ConfigurationError("exchange rate must be positive", rate=str(rate))
    return Decimal(amount_minor) / (Decimal(10) ** minor_units) / rate


def format_amount(amount_minor: int, decimals: int) -> str:
    """12345, 2 → "123.45" (the API's decimal strings)."""
    sign = "-" if amount_minor < 0 else ""
    digits = str(abs(amount_minor)).rjust(decimals + 1, "0")
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}" if decimals else f"{sign}{digits}"


MAX_AMOUNT_DIGITS = 30


def parse_amount(text: str, decimals: int, *, field: str = "amount") -> int:
    """ "123.45", 2 → 12345; refuses more decimals than the currency has, floats, junk, exponents
    and any digit that is not ASCII (money.is_decimal_text)."""
    if not isinstance(text, str) or not money.is_decimal_text(text):
        raise ValidationFailed(f'{field} must be a decimal string like "100.00"', field=field)
    # digit by digit, not Decimal arithmetic: its 28-digit context would round "1.0000…01" to 1
    whole, _, fraction = text.removeprefix("-").partition(".")
    places = fraction.rstrip("0")
    if len(places) > decimals:
        raise ValidationFailed(f"{field} has more than {decimals} decimal places", field=field, decimals=decimals)
    if len(whole.lstrip("0")) > MAX_AMOUNT_DIGITS:
        raise ValidationFailed(f"{field} is out of range", field=field)
    units = int(whole + places.ljust(decimals, "0"))
    if units >= 2**63:  # what a bigint column holds
        raise ValidationFailed(f"{field} is out of range", field=field)
    return -units if text.startswith("-") else units


@dataclasses.dataclass(frozen=True, slots=True)
class PayinSplit:
    trader_hold: int  # trader's collateral frozen at assignment
    store_credit: int
    platform_profit: int


@dataclasses.dataclass(frozen=True, slots=True)
class PayoutSplit:
    store_hold: int  # store's USDT frozen at init
    trader_credit: int
    platform_profit: int


def _check_commissions(store: Decimal, trader: Decimal) -> None:
    # the rule the API and the settings apply: a hold and its settlement see the same digits
    for name, value in (("store", store), ("trader", trader)):
        try:
            money.COMMISSION.check(value, field=f"{name}_commission")
        except ValidationFailed as exc:
            raise ConfigurationError(exc.message, commission=str(value)) from None
    if store < trader:
        raise ConfigurationError(
            "the store's commission is below the trader's: the platform would pay the difference",
            store_commission=str(store),
            trader_commission=str(trader),
        )


def payin_split(amount_minor: int, minor_units: int, rate: Decimal, store: Decimal, trader: Decimal) -> PayinSplit:
    _check_commissions(store, trader)
    usdt = fiat_to_usdt(amount_minor, minor_units, rate)
    hold = to_usdt_units(usdt * (1 - trader), up=True)
    credit = to_usdt_units(usdt * (1 - store), up=False)
    return PayinSplit(trader_hold=hold, store_credit=credit, platform_profit=hold - credit)


def payout_split(amount_minor: int, minor_units: int, rate: Decimal, store: Decimal, trader: Decimal) -> PayoutSplit:
    _check_commissions(store, trader)
    usdt = fiat_to_usdt(amount_minor, minor_units, rate)
    hold = to_usdt_units(usdt * (1 + store), up=True)
    credit = to_usdt_units(usdt * (1 + trader), up=False)
    return PayoutSplit(store_hold=hold, trader_credit=credit, platform_profit=hold - credit)
