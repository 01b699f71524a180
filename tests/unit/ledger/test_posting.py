from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jivapay.domain.errors import ConfigurationError, ValidationFailed
from jivapay.domain.ledger import posting as L


def test_payin_split_matches_the_design_formula() -> None:
    # 1500.00 RUB at 90 RUB/USDT, store 5 %, trader 3 %
    split = L.payin_split(150_000, 2, Decimal("90"), Decimal("0.05"), Decimal("0.03"))
    # F/R = 16.666666…; (1-t) → 16.1666666… ceil → 16.166667; (1-s) → 15.8333333… floor → 15.833333
    assert split.trader_hold == 16_166_667
    assert split.store_credit == 15_833_333
    assert split.platform_profit == 333_334


def test_payout_split_matches_the_design_formula() -> None:
    split = L.payout_split(150_000, 2, Decimal("90"), Decimal("0.03"), Decimal("0.015"))
    # F/R·1.03 = 17.1666666… ceil → 17.166667; F/R·1.015 = 16.9166666… floor → 16.916666
    assert split.store_hold == 17_166_667
    assert split.trader_credit == 16_916_666
    assert split.platform_profit == 250_001


amounts = st.integers(min_value=1, max_value=10**12)
rates = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("100000"), places=4)
commission = st.decimals(min_value=Decimal(0), max_value=Decimal("0.5"), places=4)


@given(amounts, rates, commission, commission)
def test_splits_are_exact_and_the_platform_never_pays_dust(amount: int, rate: Decimal, a: Decimal, b: Decimal) -> None:
    store, trader = max(a, b), min(a, b)
    exact = Decimal(amount) / 100 / rate * 10**6
    payin = L.payin_split(amount, 2, rate, store, trader)
    assert payin.trader_hold == payin.store_credit + payin.platform_profit
    assert payin.platform_profit >= 0
    assert payin.trader_hold >= exact * (1 - trader) > payin.trader_hold - 1
    assert payin.store_credit <= exact * (1 - store) < payin.store_credit + 1
    payout = L.payout_split(amount, 2, rate, store, trader)
    assert payout.store_hold == payout.trader_credit + payout.platform_profit
    assert payout.platform_profit >= 0


def test_store_commission_below_traders_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        L.payin_split(100, 2, Decimal(1), Decimal("0.01"), Decimal("0.02"))
    with pytest.raises(ConfigurationError):
        L.payin_split(100, 2, Decimal(0), Decimal("0.02"), Decimal("0.01"))


@pytest.mark.parametrize(
    ("text", "decimals", "value"), [("1500.00", 2, 150_000), ("0.5", 2, 50), ("7", 0, 7), ("12.345678", 6, 12_345_678)]
)
def test_parse_and_format_amounts(text: str, decimals: int, value: int) -> None:
    assert L.parse_amount(text, decimals) == value
    assert L.parse_amount(L.format_amount(value, decimals), decimals) == value


@pytest.mark.parametrize("text", ["1.001", "abc", "NaN", "Infinity", ""])
def test_bad_amounts_are_refused(text: str) -> None:
    with pytest.raises(ValidationFailed):
        L.parse_amount(text, 2)


def test_format_amount() -> None:
    assert L.format_amount(150_000, 2) == "1500.00"
    assert L.format_amount(5, 6) == "0.000005"
    assert L.format_amount(-123, 2) == "-1.23"
