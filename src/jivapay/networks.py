"""Load the wallet's networks: the packaged ``networks.toml``, an optional override file
(``WALLET_NETWORKS_FILE``) and RPC URLs from the environment (``CHAIN_<NAME>_RPC_URLS``)."""

from __future__ import annotations

import functools
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jivapay.domain.errors import ConfigurationError
from jivapay.domain.wallet.networks import Network, parse_network

DEFAULTS = Path(__file__).with_name("networks.toml")


def _read(path: Path) -> dict[str, dict[str, Any]]:
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"WALLET_NETWORKS_FILE {path}: {exc}", key="WALLET_NETWORKS_FILE") from None
    entries = document.get("networks", {})
    if not isinstance(entries, dict) or not all(isinstance(v, dict) for v in entries.values()):
        raise ConfigurationError(f"{path}: expected [networks.NAME] tables", key="WALLET_NETWORKS_FILE")
    return entries


def rpc_env_name(network: str) -> str:
    return f"CHAIN_{network}_RPC_URLS"


def load_networks(environ: Mapping[str, str] | None = None) -> dict[str, Network]:
    """Every configured network by name, enabled or not, in file order."""
    env = os.environ if environ is None else environ
    entries = _read(DEFAULTS)
    override = env.get("WALLET_NETWORKS_FILE", "").strip()
    if override:
        for name, entry in _read(Path(override)).items():
            entries[name] = {**entries.get(name, {}), **entry}
    networks: dict[str, Network] = {}
    for name, entry in entries.items():
        raw_urls = env.get(rpc_env_name(name), "")
        urls = tuple(url.strip() for url in raw_urls.split(",") if url.strip())
        networks[name] = parse_network(name, entry, urls)
    return networks


@functools.cache
def get_networks() -> dict[str, Network]:
    return load_networks()


def enabled_networks() -> list[Network]:
    return [network for network in get_networks().values() if network.enabled]


def get_network(name: str) -> Network | None:
    return get_networks().get(name)
