"""Keys: one HD seed (a BIP39 mnemonic from the environment) derives every address by index.

Paths are BIP44's: ``m/44'/195'/account'/0/index`` on TRON and ``m/44'/60'/account'/0/index`` on
EVM networks (BSC and Arbitrum share the EVM address of an index). Account 0 holds deposit
addresses. The database stores the index, never a key; keys exist in memory only while a
signature is made (part 2). ``KeyProvider`` is the seam where an HSM or a KMS replaces the
environment: it answers addresses by index and, later, signs.
"""

from __future__ import annotations

import functools
from typing import Any, Protocol

from bip_utils import (
    Bip39MnemonicGenerator,
    Bip39MnemonicValidator,
    Bip39SeedGenerator,
    Bip39WordsNum,
    Bip44,
    Bip44Changes,
    Bip44Coins,
)
from eth_account import Account
from tronpy.keys import PrivateKey as TronPrivateKey

from jivapay.domain.errors import ConfigurationError
from jivapay.domain.wallet.networks import Family

DEPOSIT_ACCOUNT = 0
HOT_WALLET_ACCOUNT = 1  # m/44'/coin'/1'/0/0: each family's hot wallet (withdrawals are sent from it)
GAS_TANK_ACCOUNT = 2  # m/44'/coin'/2'/0/0: native coin for fueling deposit addresses before a sweep
_COINS = {"tron": Bip44Coins.TRON, "evm": Bip44Coins.ETHEREUM}
MAX_INDEX = 2**31 - 1  # non-hardened BIP32 indexes


def derivation_path(family: Family, index: int, account: int = DEPOSIT_ACCOUNT) -> str:
    coin = 195 if family == "tron" else 60
    return f"m/44'/{coin}'/{account}'/0/{index}"


class KeyProvider(Protocol):
    def address(self, family: Family, index: int, account: int = DEPOSIT_ACCOUNT) -> str:
        """The address at ``index`` (base58 ``T…`` on TRON, EIP-55 checksummed ``0x…`` on EVM)."""
        ...

    def sign_evm(self, transaction: dict[str, Any], index: int, account: int) -> tuple[str, str]:
        """An EVM transaction signed by the key at (account, index): (raw hex, transaction hash)."""
        ...

    def sign_tron(self, txid: str, index: int, account: int) -> str:
        """A TRON transaction id signed by the key at (account, index): the signature's hex."""
        ...


class MnemonicKeyProvider:
    """Keys derived from a BIP39 mnemonic held in memory (from WALLET_MNEMONIC)."""

    def __init__(self, mnemonic: str, passphrase: str = "") -> None:
        words = " ".join(mnemonic.split())
        if not Bip39MnemonicValidator().IsValid(words):
            # never echo the words: they are the platform's money
            raise ConfigurationError(
                "WALLET_MNEMONIC is not a valid BIP39 mnemonic (words or checksum)", key="WALLET_MNEMONIC"
            )
        self._seed = Bip39SeedGenerator(words).Generate(passphrase)

    def __repr__(self) -> str:
        return "MnemonicKeyProvider(<hidden>)"

    @functools.lru_cache(maxsize=16)  # noqa: B019 - a handful of account nodes, held for the process's life
    def _account(self, family: Family, account: int) -> Bip44:
        return (
            Bip44.FromSeed(self._seed, _COINS[family]).Purpose().Coin().Account(account).Change(Bip44Changes.CHAIN_EXT)
        )

    def address(self, family: Family, index: int, account: int = DEPOSIT_ACCOUNT) -> str:
        if not 0 <= index <= MAX_INDEX:
            raise ValueError(f"derivation index out of range: {index}")
        return str(self._account(family, account).AddressIndex(index).PublicKey().ToAddress())

    def _private(self, family: Family, index: int, account: int) -> bytes:
        """The raw private key, for one signature: callers never keep it."""
        if not 0 <= index <= MAX_INDEX:
            raise ValueError(f"derivation index out of range: {index}")
        return bytes(self._account(family, account).AddressIndex(index).PrivateKey().Raw().ToBytes())

    def sign_evm(self, transaction: dict[str, Any], index: int, account: int) -> tuple[str, str]:
        signed = Account.sign_transaction(transaction, self._private("evm", index, account))
        raw = signed.raw_transaction.hex()
        tx_hash = signed.hash.hex()
        return ("0x" + raw.removeprefix("0x"), "0x" + tx_hash.removeprefix("0x"))

    def sign_tron(self, txid: str, index: int, account: int) -> str:
        key = TronPrivateKey(self._private("tron", index, account))
        return str(key.sign_msg_hash(bytes.fromhex(txid)).hex())


def generate_mnemonic() -> str:
    """A new 24-word mnemonic (development: `jivapay up` writes one under .jivapay/)."""
    return str(Bip39MnemonicGenerator().FromWordsNumber(Bip39WordsNum.WORDS_NUM_24))


@functools.cache
def _provider(mnemonic: str, passphrase: str) -> MnemonicKeyProvider:
    return MnemonicKeyProvider(mnemonic, passphrase)


def key_provider(mnemonic: str | None, passphrase: str = "") -> KeyProvider:
    """The process's key provider; a missing mnemonic is a configuration error naming the variable."""
    if not mnemonic:
        raise ConfigurationError(
            "WALLET_MNEMONIC is not set: deposit addresses cannot be derived (docs/wallet.md)", key="WALLET_MNEMONIC"
        )
    return _provider(mnemonic, passphrase)
