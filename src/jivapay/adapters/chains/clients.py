"""The chain client of a network, by its family: a new network of a known family needs no code."""

from __future__ import annotations

from jivapay.adapters.chains.base import ChainClient
from jivapay.adapters.chains.evm import EvmClient
from jivapay.adapters.chains.tron import TronClient
from jivapay.domain.wallet.networks import Network


def client_for(network: Network) -> ChainClient:
    if network.family == "evm":
        return EvmClient(network)
    return TronClient(network)
