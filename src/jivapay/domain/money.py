"""One rule for money precision: a decimal with at most N places, inside a range.

Every rate, commission and share the platform accepts — configuration defaults, admin
routes, profiles — passes ``check_decimal`` with the precision of the column that will hold
it, so the value a hold is computed with is exactly the value its settlement reads back (the
database would otherwise round an extra digit away in between). Nothing is rounded here: a
value that does not fit is refused with the field's name.
"""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal
from typing import Annotated

from jivapay.domain.errors import ValidationFailed

Number = Decimal | int
# ASCII digits only (``\d`` and Decimal() also take "١٠٠" and "１００"); no exponent, "+", spaces or "_"
_DECIMAL_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


@dataclasses.dataclass(frozen=True, slots=True)
class DecimalFormat:
    """Marks a ``str`` as a decimal string (``Annotated[str, DecimalFormat()]``) for the API's
    document: the HTTP layer writes it out as a ``pattern`` (http/openapi.py, DecimalSchemaPlugin)."""

    pattern: str = r"^-?[0-9]+(\.[0-9]+)?$"  # the same as _DECIMAL_TEXT, anchored for JSON Schema
    example: str = "1500.00"


# an amount as the API writes it: a decimal string, never a JSON number
DECIMAL_FORMAT = DecimalFormat()
DecimalText = Annotated[str, DECIMAL_FORMAT]


def is_decimal_text(text: str) -> bool:
    """``text`` is a plain decimal string: ``-?digits[.digits]`` in ASCII, nothing around it."""
    return _DECIMAL_TEXT.fullmatch(text) is not None


def check_decimal(
    value: object,
    *,
    field: str,
    places: int,
    low: Number,
    high: Number,
    low_inclusive: bool = True,
    high_inclusive: bool = False,
) -> Decimal:
    """``value`` (a decimal string, a Decimal or an int — never a float or a bool) as a Decimal
    with at most ``places`` decimal places within ``low``..``high``; ValidationFailed naming
    ``field`` otherwise."""
    interval = f"{'[' if low_inclusive else '('}{low}, {high}{']' if high_inclusive else ')'}"
    expected = f"{field} must be a decimal string in {interval} with at most {places} decimal places"
    if isinstance(value, float):  # a float has already lost the exact value
        raise ValidationFailed(f"{expected}: send it as a string, not a number with a fraction", field=field)
    if isinstance(value, str):
        if not is_decimal_text(value):
            raise ValidationFailed(expected, field=field)
        number = Decimal(value)
    elif isinstance(value, Decimal | int) and not isinstance(value, bool):
        number = Decimal(value)
    else:
        raise ValidationFailed(expected, field=field)
    if not number.is_finite():
        raise ValidationFailed(expected, field=field)
    above_low = number >= low if low_inclusive else number > low
    below_high = number <= high if high_inclusive else number < high
    if not (above_low and below_high):
        raise ValidationFailed(f"{field} must be in {interval}", field=field)
    if decimal_places(number) > places:
        raise ValidationFailed(f"{field} has more than {places} decimal places", field=field)
    return number


def decimal_places(number: Decimal) -> int:
    """Significant decimal places, exactly (trailing zeros do not count; no context rounding)."""
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int), "only finite numbers have places"
    if not any(digits):
        return 0
    trailing_zeros = 0
    while digits[-1 - trailing_zeros] == 0:
        trailing_zeros += 1
    return max(0, -(exponent + trailing_zeros))


@dataclasses.dataclass(frozen=True, slots=True)
class DecimalRule:
    """What one kind of value may be: its places (the column's scale) and its range."""

    places: int
    low: Number
    high: Number
    low_inclusive: bool = True
    high_inclusive: bool = False

    def check(self, value: object, *, field: str) -> Decimal:
        return check_decimal(
            value,
            field=field,
            places=self.places,
            low=self.low,
            high=self.high,
            low_inclusive=self.low_inclusive,
            high_inclusive=self.high_inclusive,
        )


#: A commission is a fraction of the amount: Numeric(8, 6) in the commission tables and in
#: order_history.store_commission / trader_commission.
COMMISSION = DecimalRule(places=6, low=0, high=1)
#: A teamlead's share of the platform's profit: teamlead_profiles.reward_share is Numeric(5, 4).
REWARD_SHARE = DecimalRule(places=4, low=0, high=1)
#: Fiat per USDT: exchange_rates.rate and order_history.rate are Numeric(20, 8), so 12 integer digits.
EXCHANGE_RATE = DecimalRule(places=8, low=0, high=10**12, low_inclusive=False)
#: A USDT amount kept as a decimal (thresholds in settings): USDT has 6 decimals on the platform.
USDT_AMOUNT = DecimalRule(places=6, low=0, high=10**12, high_inclusive=True)
#: A fraction of a value that may be all of it (a rate's allowed move).
FRACTION = DecimalRule(places=6, low=0, high=1, high_inclusive=True)
