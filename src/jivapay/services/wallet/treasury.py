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
from jivapay.domain.money import DecimalText
from jivapay.domain.wallet.networks import Network, chain_to_ledger
from jivapay.services.ledger.balances import chain_net_inflow

MAX_ADDRESSES = 2_000  # deposit addresses read from the chain per network and report
TOLERANCE = 1_000_000  # micro-USDT the chain may hold above the ledger before it is flagged


@dataclasses.dataclass(frozen=True, slots=True)
class WalletBalance:
    address: str
    usdt: DecimalText | None  # None for the gas tank (it holds only the native coin)
    native: DecimalText  # wei or sun, as an integer string


@dataclasses.dataclass(frozen=True, slots=True)
class NetworkTreasury:
    network: str
    hot_wallet: WalletBalance
    gas_tank: WalletBalance
    ledger_expected: DecimalText  # USDT the ledger says our addresses on this chain hold
    on_chain: DecimalText  # USDT found: the hot wallet plus the deposit addresses checked
    difference: DecimalText  # on_chain - ledger_expected
    addresses_checked: int
    addresses_capped: bool  # more deposit addresses than MAX_ADDRESSES could hold USDT: partial
    flagged: bool  # a difference that is not dust: look now
    withdrawals: dict[str, int]  # open ones by status
    sweeps: dict[str, int]  # by status
    fuel_sent_native: DecimalText  # wei or sun the gas tank sent as fuel, ever
    native_spent: dict[str, DecimalText]  # wei or sun, ever: see NATIVE_SPENT
    at: dt.datetime


# the native coin (wei or sun, integer strings) the platform has spent on a network, ever:
NATIVE_SPENT = {
    "withdrawal_gas": "gas the hot wallet paid for withdrawals",
    "fuel_sent": "what the gas tank sent to deposit addresses",
    "fuel_gas": "gas the gas tank paid for those transfers",
    "sweep_gas": "gas the deposit addresses paid for their sweeps (out of the fuel)",
    "fuel_left": "fuel_sent - sweep_gas: what the swept addresses still hold of it (at most)",
    "total": "withdrawal_gas + fuel_sent + fuel_gas: what left the hot wallet and the gas tank as gas",
}


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
        spent = await sweeps.native_spent(network.name)
        withdrawal_repo = WithdrawalRepository(session)
        withdrawals = await withdrawal_repo.counts(network.name)
        spent["withdrawal_gas"] = await withdrawal_repo.gas_spent(network.name)
    spent["fuel_left"] = max(spent["fuel_sent"] - spent["sweep_gas"], 0)
    spent["total"] = spent["withdrawal_gas"] + spent["fuel_sent"] + spent["fuel_gas"]
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
        fuel_sent_native=str(spent["fuel_sent"]),
        native_spent={name: str(spent[name]) for name in NATIVE_SPENT},
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


@dataclasses.dataclass(frozen=True, slots=True)
class SweepAttemptView:
    step: str  # fuel | sweep
    tx_hash: str
    nonce: int | None
    gas_price: DecimalText | None  # wei (EVM)
    amount: DecimalText | None  # native units (fuel) or token units (sweep)
    sent_at: dt.datetime | None
    last_error: str | None  # what a node said when it refused it
    mined: bool
    gas_fee: DecimalText | None  # native units it paid, once mined
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class SweepView:
    id: int
    network: str
    address: str
    status: str  # fueling | sweeping | done | failed
    stuck_reason: str | None
    token_amount: DecimalText | None  # token units swept
    fuel_amount: DecimalText | None  # native units asked of the gas tank (the last fueling)
    error: str | None
    created_at: dt.datetime
    completed_at: dt.datetime | None
    attempts: list[SweepAttemptView]


async def recent_sweeps(session: AsyncSession, network: str | None, limit: int) -> list[SweepView]:
    """The operators' list of sweeps, newest first, with every transaction each one signed."""
    repo = SweepRepository(session)
    sweeps = await repo.recent(network, limit)
    attempts_of = await repo.attempts_of([sweep.id for sweep in sweeps])
    views = []
    for sweep in sweeps:
        attempts = [
            SweepAttemptView(
                step=a.step,
                tx_hash=a.tx_hash,
                nonce=a.nonce,
                gas_price=_integer(a.gas_price),
                amount=_integer(a.amount),
                sent_at=a.sent_at,
                last_error=a.last_error,
                mined=a.mined,
                gas_fee=_integer(a.gas_fee),
                created_at=a.created_at,
            )
            for a in attempts_of[sweep.id]
        ]
        views.append(
            SweepView(
                id=sweep.id,
                network=sweep.network,
                address=sweep.address,
                status=sweep.status,
                stuck_reason=sweep.stuck_reason,
                token_amount=_integer(sweep.raw_amount),
                fuel_amount=_integer(sweep.fuel_amount),
                error=sweep.error,
                created_at=sweep.created_at,
                completed_at=sweep.completed_at,
                attempts=attempts,
            )
        )
    return views


def _integer(value: Any) -> str | None:
    return None if value is None else str(int(value))
