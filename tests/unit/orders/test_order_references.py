"""The order's public reference: ord_ + 22 random base-36 characters, unguessable and unrelated."""

from __future__ import annotations

import itertools
import re

from jivapay.domain.orders.status import is_order_reference, new_order_reference


def test_a_reference_has_its_shape() -> None:
    reference = new_order_reference()
    assert re.fullmatch(r"ord_[0-9a-z]{22}", reference)
    assert is_order_reference(reference)


def test_references_are_unique_and_unrelated() -> None:
    many = [new_order_reference() for _ in range(5000)]
    assert len(set(many)) == len(many)
    # consecutive ones share no more than chance would give (1/36 per position)
    for a, b in itertools.pairwise(many):
        assert sum(x == y for x, y in zip(a[4:], b[4:], strict=True)) < 10
    assert sorted(many) != many  # not issued in order
    # every character of the alphabet turns up: no fixed or counting positions
    assert set("".join(r[4:] for r in many)) == set("0123456789abcdefghijklmnopqrstuvwxyz")
    for position in range(4, 26):
        assert len({r[position] for r in many}) > 30


def test_what_is_not_a_reference() -> None:
    for value in (
        "",
        "1",
        "42",
        "ord_",
        "ord_123",
        "ORD_" + "a" * 22,
        "ord_" + "A" * 22,
        "ord_" + "a" * 23,
        "ord_" + "a" * 21 + "-",
        "x" + new_order_reference(),
        new_order_reference() + "\n",
    ):
        assert not is_order_reference(value), value
