from __future__ import annotations

from jivapay.domain.pii import mask_mapping, mask_name, mask_number


def test_card_numbers_keep_only_bin_and_last_four() -> None:
    assert mask_number("4276 1234 5678 1234") == "4276 **** **** 1234"
    assert mask_number("+79161234567") == "*******4567"


def test_names_keep_first_name_and_initials() -> None:
    assert mask_name("Ivan Petrov") == "Ivan P."
    assert mask_name("Ivan") == "I***"


def test_mapping_masks_nested_values_and_secrets() -> None:
    masked = mask_mapping(
        {
            "card_number": "4276123456781234",
            "nested": {"owner_name": "Anna Smirnova"},
            "password": "hunter2",
            "amount": "10.00",
        }
    )
    assert masked == {
        "card_number": "4276 **** **** 1234",
        "nested": {"owner_name": "Anna S."},
        "password": "***",
        "amount": "10.00",
    }
