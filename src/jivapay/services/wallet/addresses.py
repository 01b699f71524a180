"""Deposit addresses on request: one per owner and network family, derived from the HD seed."""

from __future__ import annotations

import dataclasses

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.chains.keys import key_provider
from jivapay.adapters.db.wallet.addresses import AddressRepository
from jivapay.domain.errors import NotFound, ValidationFailed
from jivapay.domain.ledger.posting import USDT_DECIMALS, format_amount
from jivapay.domain.platform.audit import Actor, Target
from jivapay.domain.wallet.networks import Network
from jivapay.networks import enabled_networks, get_network
from jivapay.services.platform.audit import log_action
from jivapay.settings import get_settings


@dataclasses.dataclass(frozen=True, slots=True)
class DepositAddress:
    network: str
    title: str
    family: str
    address: str
    token_contract: str
    min_deposit: str  # USDT
    confirmations: int
    created: bool  # this request made it


def open_network(name: str | None) -> Network:
    """A network deposits can be made on now (configured with RPC URLs), or a 4xx naming the choices."""
    if not name:
        choices = [n.name for n in enabled_networks()]
        raise ValidationFailed("network is required", field="network", networks=choices)
    network = get_network(name.upper())
    if network is None or not network.enabled:
        choices = [n.name for n in enabled_networks()]
        raise ValidationFailed(
            f"network {name!r} is not open for deposits and withdrawals"
            + (f"; open networks: {', '.join(choices)}" if choices else "; no network is open"),
            field="network",
            networks=choices,
        )
    return network


def _view(network: Network, address: str, *, created: bool) -> DepositAddress:
    return DepositAddress(
        network=network.name,
        title=network.title,
        family=network.family,
        address=address,
        token_contract=network.token_contract,
        min_deposit=format_amount(network.min_deposit, USDT_DECIMALS),
        confirmations=network.confirmations,
        created=created,
    )


async def request_address(
    session: AsyncSession,
    actor: Actor,
    owner_type: str,
    owner_id: int,
    network_name: str | None,
    *,
    ip: str | None = None,
) -> DepositAddress:
    """The owner's deposit address on the network, made on the first request (idempotent, audited once)."""
    network = open_network(network_name)
    settings = get_settings()
    keys = key_provider(settings.wallet_mnemonic, settings.wallet_mnemonic_passphrase)
    row, created = await AddressRepository(session).create(
        owner_type, owner_id, network.family, lambda index: keys.address(network.family, index)
    )
    if created:
        await log_action(
            session,
            actor,
            "wallet.address_created",
            Target.of(owner_type, owner_id),
            {"family": network.family, "derivation_index": row.derivation_index, "address": row.address},
            ip=ip,
        )
    return _view(network, row.address, created=created)


async def owner_addresses(session: AsyncSession, owner_type: str, owner_id: int) -> list[DepositAddress]:
    """The owner's addresses on every open network (a family's address serves each of its networks)."""
    by_family = {row.family: row.address for row in await AddressRepository(session).of_owner(owner_type, owner_id)}
    return [
        _view(network, by_family[network.family], created=False)
        for network in enabled_networks()
        if network.family in by_family
    ]


async def owner_address(session: AsyncSession, owner_type: str, owner_id: int, network_name: str) -> DepositAddress:
    network = open_network(network_name)
    row = await AddressRepository(session).get(owner_type, owner_id, network.family)
    if row is None:
        raise NotFound("No deposit address on this network yet: POST one first", network=network.name)
    return _view(network, row.address, created=False)
