"""Sweeping deposit addresses into the hot wallet, with gas fueling (scheduler → ``wallet.sweep``).

A deposit address with at least the network's ``sweep_threshold`` of USDT (after a credited
deposit newer than its last sweep) gets a sweep:

1. ``fueling`` — if the address lacks the native coin for the token transfer's gas (EVM: the
   transfer's gas at today's price, twice over; TRON: ``sweep_fuel_sun``), the gas tank sends
   just that (signed and stored first; the gas tank's nonce reserved like the hot wallet's);
2. ``sweeping`` — once the fuel is mined, the address's whole token balance goes to the hot
   wallet (signed by the address's own key, stored first);
3. ``done`` once mined (``failed`` with an alert if a transaction reverts).

Every step is a row change committed before the next chain call, so a sweeper killed anywhere
resumes where it stopped, re-sending the same signed bytes; the one-open-sweep-per-address index
means the same funds are never swept twice. The ledger does not move: the USDT stays owed to the
same owners, it only changes address. Native coin spent on fuel is kept on each sweep.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.chains.base import ChainClient, OutgoingTransfer
from jivapay.adapters.chains.keys import DEPOSIT_ACCOUNT, GAS_TANK_ACCOUNT, HOT_WALLET_ACCOUNT, KeyProvider
from jivapay.adapters.db.uow import atomic, on_commit
from jivapay.adapters.db.wallet.models import Sweep, WalletAddress
from jivapay.adapters.db.wallet.nonces import NonceRepository
from jivapay.adapters.db.wallet.sweeps import SweepRepository
from jivapay.adapters.notifications import report_attention
from jivapay.domain.wallet.networks import Network, ledger_to_chain
from jivapay.services.wallet.passes import isolated

log = logging.getLogger("jivapay.wallet.sweeper")
GWEI = 10**9
FUEL_MARGIN = 2  # EVM: fuel for twice the transfer's gas at today's price


@dataclasses.dataclass(slots=True)
class SweepReport:
    network: str
    started: int = 0
    fuel_sent: int = 0
    swept: int = 0
    done: int = 0
    failed: int = 0
    gas_tank_short: int = 0


def gas_tank(keys: KeyProvider, network: Network) -> str:
    return keys.address(network.family, 0, GAS_TANK_ACCOUNT)


async def sweep_pass(
    network: Network,
    session_factory: async_sessionmaker[AsyncSession],
    client_factory: Callable[[Network], ChainClient],
    keys: KeyProvider,
    *,
    batch: int = 20,
) -> SweepReport:
    """Advance every open sweep one step, then open sweeps for new candidates (safe to run twice)."""
    report = SweepReport(network.name)
    client = client_factory(network)
    try:
        async with session_factory() as session:
            repo = SweepRepository(session)
            open_ids = await repo.open_ids(network.name)
            candidates = await repo.candidates(network.name, network.family, batch)
        for sweep_id in open_ids:
            await isolated(_advance(session_factory, network, client, keys, sweep_id, report), sweep_id=sweep_id)
        for address_id, address, _ in candidates:
            await isolated(_start(session_factory, network, client, address_id, address, report), address_id=address_id)
    finally:
        await client.close()
    if any(dataclasses.astuple(report)[1:]):
        log.info("sweep pass", extra=dataclasses.asdict(report))
    return report


async def _fuel_needed(network: Network, client: ChainClient, address: str) -> int:
    """What the address needs for its sweep's gas (native units)."""
    if network.family == "evm":
        price = min(int((await client.prepare(address))["gas_price"]), network.max_gas_price_gwei * GWEI)
        return network.transfer_gas * price * FUEL_MARGIN
    return network.sweep_fuel_sun


async def _start(
    session_factory: async_sessionmaker[AsyncSession],
    network: Network,
    client: ChainClient,
    address_id: int,
    address: str,
    report: SweepReport,
) -> None:
    held = await client.token_balance(address)
    if held < ledger_to_chain(network.sweep_threshold, network.token_decimals):
        return
    native = await client.native_balance(address)
    needed = await _fuel_needed(network, client, address)
    fuel = needed - native if native < needed else None
    async with atomic(session_factory, name="wallet.sweep.open") as session:
        made = await SweepRepository(session).open(
            network.name, address_id, address, "fueling" if fuel else "sweeping", fuel
        )
    if made is not None:
        report.started += 1


async def _expired(client: ChainClient, signed: str | None) -> bool:
    """A TRON transaction past its expiration by the chain's own clock (its head block, a minute of
    slack): it can never be mined any more. EVM transactions do not expire."""
    if not signed or not signed.startswith("{"):
        return False
    head_time = await client.head_time()
    expiration = int(json.loads(signed).get("raw_data", {}).get("expiration", 0))
    return head_time is not None and head_time.timestamp() * 1000 > expiration + 60_000


async def _advance(
    session_factory: async_sessionmaker[AsyncSession],
    network: Network,
    client: ChainClient,
    keys: KeyProvider,
    sweep_id: int,
    report: SweepReport,
) -> None:
    async with session_factory() as session:
        sweep = await SweepRepository(session).get(sweep_id)
        owner = await session.get(WalletAddress, sweep.address_id) if sweep is not None else None
    if sweep is None or owner is None:
        return
    if sweep.status == "fueling":
        await _fuel(session_factory, network, client, keys, sweep, report)
    elif sweep.status == "sweeping":
        await _sweep(session_factory, network, client, keys, sweep, owner.derivation_index, report)


async def _fuel(
    session_factory: async_sessionmaker[AsyncSession],
    network: Network,
    client: ChainClient,
    keys: KeyProvider,
    sweep: Sweep,
    report: SweepReport,
) -> None:
    tank = gas_tank(keys, network)
    if sweep.fuel_tx_hash is not None:
        receipt = await client.receipt(sweep.fuel_tx_hash)
        if receipt is None:
            if await _expired(client, sweep.fuel_signed):
                await _forget(session_factory, sweep.id, "fuel")
            elif sweep.fuel_signed:
                await client.send(sweep.fuel_signed)  # the same bytes again until a node has them
            return
        await _step(session_factory, sweep.id, "fueling", "sweeping" if receipt.succeeded else "failed", report)
        return
    amount = int(sweep.fuel_amount or 0)
    if await client.native_balance(tank) < amount * 2:
        report.gas_tank_short += 1
        report_attention("the gas tank is low: sweeps wait", network=network.name, gas_tank=tank)
        return
    prepared = await client.prepare(tank)
    async with atomic(session_factory, name="wallet.sweep.fuel") as session:
        row = await SweepRepository(session).lock(sweep.id)
        if row is None or row.status != "fueling" or row.fuel_tx_hash is not None:
            return
        nonce = price = None
        if network.family == "evm":
            nonce = await NonceRepository(session).reserve_nonce(network.name, tank, int(prepared["nonce"]))
            price = min(int(prepared["gas_price"]), network.max_gas_price_gwei * GWEI)
        signed = client.sign_native(
            keys, OutgoingTransfer(GAS_TANK_ACCOUNT, 0, tank, row.address, amount, prepared, nonce, price)
        )
        row.fuel_signed, row.fuel_tx_hash = signed.signed, signed.tx_hash
    await client.send(signed.signed)
    report.fuel_sent += 1


async def _sweep(
    session_factory: async_sessionmaker[AsyncSession],
    network: Network,
    client: ChainClient,
    keys: KeyProvider,
    sweep: Sweep,
    index: int,
    report: SweepReport,
) -> None:
    if sweep.sweep_tx_hash is not None:
        receipt = await client.receipt(sweep.sweep_tx_hash)
        if receipt is None:
            if await _expired(client, sweep.sweep_signed):
                await _forget(session_factory, sweep.id, "sweep")
            elif sweep.sweep_signed:
                await client.send(sweep.sweep_signed)
            return
        await _step(session_factory, sweep.id, "sweeping", "done" if receipt.succeeded else "failed", report)
        return
    held = await client.token_balance(sweep.address)
    if held == 0:  # nothing left (swept by an earlier attempt that was mined): done
        await _step(session_factory, sweep.id, "sweeping", "done", report)
        return
    hot = keys.address(network.family, 0, HOT_WALLET_ACCOUNT)
    prepared = await client.prepare(sweep.address)
    price = None
    if network.family == "evm":  # what the address can pay, up to today's price and the cap
        affordable = await client.native_balance(sweep.address) // network.transfer_gas
        price = min(int(prepared["gas_price"]), network.max_gas_price_gwei * GWEI, affordable)
    async with atomic(session_factory, name="wallet.sweep.sign") as session:
        row = await SweepRepository(session).lock(sweep.id)
        if row is None or row.status != "sweeping" or row.sweep_tx_hash is not None:
            return
        nonce = int(prepared["nonce"]) if network.family == "evm" else None
        signed = client.sign_transfer(
            keys, OutgoingTransfer(DEPOSIT_ACCOUNT, index, row.address, hot, held, prepared, nonce, price)
        )
        row.sweep_signed, row.sweep_tx_hash, row.raw_amount = signed.signed, signed.tx_hash, Decimal(held)
    await client.send(signed.signed)
    report.swept += 1


async def _forget(session_factory: async_sessionmaker[AsyncSession], sweep_id: int, step: str) -> None:
    """TRON: a step's transaction expired unmined, so it never will be: the next pass signs anew."""
    async with atomic(session_factory, name="wallet.sweep.expired") as session:
        row = await SweepRepository(session).lock(sweep_id)
        if row is not None:
            setattr(row, f"{step}_signed", None)
            setattr(row, f"{step}_tx_hash", None)


async def _step(
    session_factory: async_sessionmaker[AsyncSession], sweep_id: int, current: str, target: str, report: SweepReport
) -> None:
    async with atomic(session_factory, name="wallet.sweep.step") as session:
        row = await SweepRepository(session).lock(sweep_id)
        if row is None or row.status != current:
            return
        row.status = target
        if target == "done":
            row.completed_at = dt.datetime.now(dt.UTC)
            report.done += 1
        if target == "failed":
            row.error = f"the {current} transaction failed on chain"
            report.failed += 1
            facts: dict[str, Any] = {"sweep_id": row.id, "network": row.network, "address": row.address}
            on_commit(session, lambda: _attention("a sweep failed", facts))


async def _attention(message: str, facts: dict[str, Any]) -> None:
    report_attention(message, **facts)
