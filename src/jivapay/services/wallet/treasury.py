"""The operators' view of the money on chain, per network: the hot wallet and the gas tank, the
withdrawal queue and the sweeps, and a reconciliation of chain against ledger.

Reconciliation, per network: the ledger's external account for the network holds, negated, all
USDT that came in on it minus all that left (``chain_net_inflow``) — what the platform's
addresses on that chain should hold together. The chain side is the hot wallet plus every deposit
address that may still hold USDT (a credited deposit after its last sweep, or a sweep not done),
read from the chain. On chain above the ledger by less than ``TOLERANCE`` is dust and strangers'
gifts; any other difference is flagged (and a Sentry warning sent by the scheduled snapshot).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.chains.base import ChainClient
from jivapay.adapters.chains.keys import GAS_TANK_ACCOUNT, HOT_WALLET_ACCOUNT, KeyProvider
from jivapay.adapters.db.wallet.sweeps import SweepRepository
from jivapay.adapters.db.wallet.withdrawals import WithdrawalRepository
from jivapay.adapters.notifications import report_attention
from jivapay.domain.ledger.posting import USDT_DECIMALS, format_amount
from jivapay.domain.wallet.networks import Network, chain_to_ledger
from jivapay.services.ledger.balances import chain_net_inflow

MAX_ADDRESSES = 2_000  # deposit addresses read from the chain per network and report
TOLERANCE = 1_000_000  # micro-USDT the chain may hold above the ledger before it is flagged


@dataclasses.dataclass(frozen=True, slots=True)
class WalletBalance:
    address: str
    usdt: str | None  # None for the gas tank (it holds only the native coin)
    native: str  # wei or sun, as an integer string


@dataclasses.dataclass(frozen=True, slots=True)
class NetworkTreasury:
    network: str
    hot_wallet: WalletBalance
    gas_tank: WalletBalance
    ledger_expected: str  # USDT the ledger says our addresses on this chain hold
    on_chain: str  # USDT found: the hot wallet plus the deposit addresses checked
    difference: str  # on_chain - ledger_expected
    addresses_checked: int
    addresses_capped: bool  # more deposit addresses than MAX_ADDRESSES could hold USDT: partial
    flagged: bool  # a difference that is not dust: look now
    withdrawals: dict[str, int]  # open ones by status
    sweeps: dict[str, int]  # by status
    fuel_sent_native: str  # wei or sun the gas tank sent as fuel, ever
    at: dt.datetime


async def network_treasury(
    network: Network,
    session_factory: async_sessionmaker[AsyncSession],
    client_factory: Callable[[Network], ChainClient],
    keys: KeyProvider,
) -> NetworkTreasury:
    """Read the database first (no transaction held), then the chain."""
    async with session_factory() as session:
        expected = await chain_net_inflow(session, network.name)
        sweeps = SweepRepository(session)
        addresses = await sweeps.unswept_addresses(network.name, network.family, MAX_ADDRESSES + 1)
        sweep_counts = await sweeps.counts(network.name)
        fuel = await sweeps.fuel_sent(network.name)
        withdrawals = await WithdrawalRepository(session).counts(network.name)
    hot = keys.address(network.family, 0, HOT_WALLET_ACCOUNT)
    tank = keys.address(network.family, 0, GAS_TANK_ACCOUNT)
    client = client_factory(network)
    try:
        hot_raw = await client.token_balance(hot)
        found = chain_to_ledger(hot_raw, network.token_decimals)[0]
        for address in addresses[:MAX_ADDRESSES]:
            found += chain_to_ledger(await client.token_balance(address), network.token_decimals)[0]
        hot_native, tank_native = await client.native_balance(hot), await client.native_balance(tank)
    finally:
        await client.close()
    difference = found - expected
    capped = len(addresses) > MAX_ADDRESSES
    return NetworkTreasury(
        network=network.name,
        hot_wallet=WalletBalance(hot, _usdt(chain_to_ledger(hot_raw, network.token_decimals)[0]), str(hot_native)),
        gas_tank=WalletBalance(tank, None, str(tank_native)),
        ledger_expected=_usdt(expected),
        on_chain=_usdt(found),
        difference=_usdt(difference),
        addresses_checked=min(len(addresses), MAX_ADDRESSES),
        addresses_capped=capped,
        flagged=not capped and not 0 <= difference <= TOLERANCE,
        withdrawals=withdrawals,
        sweeps=sweep_counts,
        fuel_sent_native=str(fuel),
        at=dt.datetime.now(dt.UTC),
    )


def _usdt(units: int) -> str:
    return format_amount(units, USDT_DECIMALS)


SNAPSHOT_KEY = "jivapay:wallet:treasury:{}"


async def snapshot_all(
    networks: list[Network],
    session_factory: async_sessionmaker[AsyncSession],
    client_factory: Callable[[Network], ChainClient],
    keys: KeyProvider,
    redis: Any,
) -> list[NetworkTreasury]:
    """The scheduled reconciliation: each open network's view, kept in Redis for /metrics, and a
    warning to the operators for each flagged one."""
    found = []
    for network in networks:
        view = await network_treasury(network, session_factory, client_factory, keys)
        await redis.set(SNAPSHOT_KEY.format(network.name), json.dumps(dataclasses.asdict(view), default=str), ex=3600)
        if view.flagged:
            report_attention(
                "the wallet does not reconcile: chain and ledger differ",
                network=view.network,
                on_chain=view.on_chain,
                ledger_expected=view.ledger_expected,
                difference=view.difference,
            )
        found.append(view)
    return found


async def treasury_snapshots(redis: Any) -> list[dict[str, Any]]:
    """The last snapshot of every network that has one."""
    keys = [key async for key in redis.scan_iter(match=SNAPSHOT_KEY.format("*"))]
    values = [await redis.get(key) for key in sorted(keys)]
    return [json.loads(value) for value in values if value]
