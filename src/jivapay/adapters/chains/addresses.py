"""Destination addresses as each chain checks them: EVM's EIP-55 checksum, TRON's base58check."""

from __future__ import annotations

import re

from tronpy.keys import is_base58check_address
from web3 import Web3

from jivapay.domain.errors import ValidationFailed
from jivapay.domain.wallet.networks import Family

_EVM = re.compile(r"^0x[0-9a-fA-F]{40}$")
EVM_ZERO = "0x" + "0" * 40
TRON_ZERO = "T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb"  # base58check of 41 followed by twenty zero bytes


def normalize_destination(family: Family, text: str, *, field: str = "to_address") -> str:
    """The address in its canonical form (EIP-55 on EVM), or a 422 saying what is wrong with it.

    EVM: a mixed-case address must carry a valid EIP-55 checksum (a typo is caught); an address
    all in lower (or upper) case carries none and is accepted as it is. TRON: base58check, T….
    The zero address is refused on both (USDT sent there is burned)."""
    address = (text or "").strip()
    if family == "evm":
        if not _EVM.match(address):
            raise ValidationFailed("not an EVM address (0x and 40 hex digits)", field=field)
        body = address[2:]
        if body != body.lower() and body != body.upper() and not Web3.is_checksum_address(address):
            raise ValidationFailed("the address's EIP-55 checksum is wrong: a typo?", field=field)
        canonical = str(Web3.to_checksum_address(address))
        if canonical.lower() == EVM_ZERO:
            raise ValidationFailed("the zero address burns what it receives", field=field)
        return canonical
    try:
        valid = address.startswith("T") and bool(is_base58check_address(address))
    except ValueError:  # tronpy raises for a bad checksum
        valid = False
    if not valid:
        raise ValidationFailed("not a TRON address (base58check, starting with T): a typo?", field=field)
    if address == TRON_ZERO:
        raise ValidationFailed("the zero address burns what it receives", field=field)
    return address
