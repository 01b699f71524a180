"""HD keys: BIP44 paths, the published test vector, and the mnemonic kept out of sight."""

from __future__ import annotations

import pytest

from jivapay.adapters.chains.keys import MnemonicKeyProvider, derivation_path, generate_mnemonic, key_provider
from jivapay.domain.errors import ConfigurationError
from jivapay.settings import load_settings

# BIP39's published all-"abandon" test mnemonic (holds nothing; used by every wallet's test suite)
TEST_VECTOR = " ".join(["abandon"] * 11 + ["about"])


def test_addresses_follow_bip44_on_both_families() -> None:
    keys = MnemonicKeyProvider(TEST_VECTOR)
    # the addresses every BIP44 wallet derives from this mnemonic at m/44'/60'/0'/0/0 and m/44'/195'/0'/0/0
    assert keys.address("evm", 0) == "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"
    assert keys.address("tron", 0) == "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH"
    assert keys.address("evm", 1) != keys.address("evm", 0)
    assert derivation_path("tron", 7) == "m/44'/195'/0'/0/7"
    assert derivation_path("evm", 7) == "m/44'/60'/0'/0/7"
    with pytest.raises(ValueError, match="out of range"):
        keys.address("evm", 2**31)


def test_the_mnemonic_never_shows() -> None:
    words = generate_mnemonic()
    assert len(words.split()) == 24
    provider = key_provider(words)
    assert words not in repr(provider)
    assert words.split()[0] not in repr(provider)
    settings = load_settings({"WALLET_MNEMONIC": words}, env_file=None)
    assert settings.redacted()["wallet_mnemonic"] == "***"
    assert words not in repr(settings.redacted())


def test_a_wrong_or_missing_mnemonic_is_a_clear_configuration_error() -> None:
    wrong = " ".join(["abandon"] * 12)  # the checksum word is wrong
    with pytest.raises(ConfigurationError) as info:
        MnemonicKeyProvider(wrong)
    assert "abandon" not in info.value.message
    assert info.value.details["key"] == "WALLET_MNEMONIC"
    with pytest.raises(ConfigurationError, match="WALLET_MNEMONIC is not set"):
        key_provider(None)


def test_production_needs_a_mnemonic_and_refuses_the_dev_chain() -> None:
    base = {"JIVAPAY_ENV": "production", "SECRET_KEY": "k" * 40, "API_KEY_PEPPER": "p" * 40}
    with pytest.raises(ConfigurationError, match="WALLET_MNEMONIC is required in production"):
        load_settings(base, env_file=None)
    with pytest.raises(ConfigurationError, match="JIVAPAY_DEV_CHAIN is for development only"):
        load_settings({**base, "WALLET_MNEMONIC": generate_mnemonic(), "JIVAPAY_DEV_CHAIN": "anvil"}, env_file=None)
    with pytest.raises(ConfigurationError, match="12, 15, 18, 21 or 24 words"):
        load_settings({"WALLET_MNEMONIC": "too short"}, env_file=None)
