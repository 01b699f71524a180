"""Networks as configuration: parsing, the RPC URLs from the environment, and chain amounts."""

from __future__ import annotations

from pathlib import Path

import pytest

from jivapay.domain.errors import ConfigurationError
from jivapay.domain.wallet.networks import chain_to_ledger, ledger_to_chain, parse_network
from jivapay.networks import load_networks


def test_the_packaged_networks_are_off_until_they_have_rpc_urls() -> None:
    networks = load_networks({})
    assert list(networks) == ["TRC20", "BEP20", "ARBITRUM"]
    assert not any(network.enabled for network in networks.values())
    assert (networks["BEP20"].token_decimals, networks["ARBITRUM"].token_decimals, networks["TRC20"].family) == (
        18,
        6,
        "tron",
    )
    opened = load_networks({"CHAIN_BEP20_RPC_URLS": " https://a.example , https://b.example,"})
    assert opened["BEP20"].rpc_urls == ("https://a.example", "https://b.example")
    assert opened["BEP20"].enabled
    assert not opened["TRC20"].enabled


def test_an_override_file_changes_keys_and_adds_a_network(tmp_path: Path) -> None:
    override = tmp_path / "networks.toml"
    override.write_text(
        '[networks.BEP20]\nconfirmations = 30\n\n[networks.POLYGON]\nfamily = "evm"\nchain_id = 137\n'
        'token_contract = "0xc2132D05D31c914a87C6611C10748AEb04B58e8F"\ntoken_decimals = 6\nconfirmations = 64\n'
    )
    networks = load_networks({"WALLET_NETWORKS_FILE": str(override), "CHAIN_POLYGON_RPC_URLS": "https://p.example"})
    assert networks["BEP20"].confirmations == 30
    assert networks["BEP20"].token_decimals == 18  # the rest of the entry stays
    assert networks["POLYGON"].enabled
    assert networks["POLYGON"].min_deposit == 1_000_000


GOOD = {"family": "evm", "chain_id": 1, "token_contract": "0x" + "a" * 40, "token_decimals": 6, "confirmations": 1}


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ({"family": "solana"}, "family"),
        ({"family": "evm", "chain_id": 1, "token_contract": "T123"}, "token_contract"),
        ({"family": "tron", "token_contract": "0x" + "a" * 40}, "token_contract"),
        ({"family": "evm", "chain_id": 1, "token_contract": "0x" + "a" * 40, "token_decimals": -1}, "token_decimals"),
        (
            {
                "family": "evm",
                "chain_id": 1,
                "token_contract": "0x" + "a" * 40,
                "token_decimals": 6,
                "confirmations": 0,
            },
            "confirmations",
        ),
        (
            {
                "family": "evm",
                "chain_id": 1,
                "token_contract": "0x" + "a" * 40,
                "token_decimals": 6,
                "confirmations": 1,
                "min_deposit": "0.0000001",
            },
            "min_deposit",
        ),
        ({"family": "evm", "token_contract": "0x" + "a" * 40, "token_decimals": 6, "confirmations": 1}, "chain_id"),
        (
            {
                "family": "evm",
                "chain_id": 1,
                "token_contract": "0x" + "a" * 40,
                "token_decimals": 6,
                "confirmations": 1,
                "colour": 1,
            },
            "colour",
        ),
    ],
)
def test_a_bad_network_setting_names_its_key(entry: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_network("TEST", entry)
    assert info.value.details["key"] == f"networks.TEST.{key}"


def test_rpc_urls_must_be_http() -> None:
    entry = {"family": "evm", "chain_id": 1, "token_contract": "0x" + "a" * 40, "token_decimals": 6, "confirmations": 1}
    with pytest.raises(ConfigurationError, match="rpc_urls"):
        parse_network("TEST", entry, ("ws://node.example",))


def test_chain_amounts_round_down_and_keep_the_dust() -> None:
    assert chain_to_ledger(7 * 10**18 + 123_456_789_012, 18) == (7_000_000, 123_456_789_012)
    assert chain_to_ledger(999_999_999_999, 18) == (0, 999_999_999_999)  # all dust: nothing credited
    assert chain_to_ledger(1_000_000_000_000, 18) == (1, 0)  # exactly one micro-USDT
    assert chain_to_ledger(25_500_000, 6) == (25_500_000, 0)
    assert chain_to_ledger(12, 2) == (120_000, 0)  # a coarser token scales up exactly
    assert ledger_to_chain(1, 18) == 10**12
    assert ledger_to_chain(120_000, 2) == 12
    with pytest.raises(ValueError, match="whole number"):
        ledger_to_chain(1, 2)
    with pytest.raises(ValueError, match="negative"):
        chain_to_ledger(-1, 6)
