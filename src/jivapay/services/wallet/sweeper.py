"""Sweeping deposit addresses into the hot wallet, with gas fueling (scheduler → ``wallet.sweep``).

A deposit address with at least the network's ``sweep_threshold`` of USDT (after a credited
deposit newer than its last sweep) gets a sweep:

1. ``fueling`` — if the address lacks the native coin for the token transfer's gas (EVM: the
   transfer's gas at today's price, twice over; TRON: ``sweep_fuel_sun``), the gas tank sends
   just that (signed and stored first; the gas tank's nonce reserved like the hot wallet's);
2. ``sweeping`` — once the fuel is mined, the address's whole token balance goes to the hot
   wallet (signed by the address's own key, stored first);
3. ``done`` once mined (``failed`` with an alert if a transaction reverts).

Each step's transactions are kept as attempts (``wallet_sweep_attempts``), like a withdrawal's:
every one is stored before it is sent and re-sent, the same bytes, until a node has it. An EVM
transaction not mined after ``stuck_after_seconds`` (refused ones included: a gas-tank
transaction no node took would hold up every later one) is replaced with the same nonce at a
higher price, up to the network's cap, so at most one of the line is mined; when the address
cannot pay the higher price for its sweep, the sweep goes back to ``fueling`` for the difference
and then speeds up. A TRON transaction that expired unmined, or an EVM nonce spent by some other
transaction (seen twice), ends the line and the step signs anew.

Every step is a row change committed before the next chain call, so a sweeper killed anywhere
resumes where it stopped; the one-open-sweep-per-address index means the same funds are never
swept twice. The ledger does not move: the USDT stays owed to the same owners, it only changes
address. The native coin is accounted per attempt: fuel sent, and the gas every mined fuel and
sweep transaction paid (``SweepRepository.native_spent``, shown in the treasury view).
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

from jivapay.adapters.chains.base import ChainClient, OutgoingTransfer, Receipt, SignedTransfer
from jivapay.adapters.chains.keys import DEPOSIT_ACCOUNT, GAS_TANK_ACCOUNT, HOT_WALLET_ACCOUNT, KeyProvider
from jivapay.adapters.db.uow import atomic, on_commit
from jivapay.adapters.db.wallet.models import Sweep, SweepAttempt, WalletAddress
from jivapay.adapters.db.wallet.nonces import NonceRepository
from jivapay.adapters.db.wallet.sweeps import SweepRepository
from jivapay.adapters.notifications import report_attention
from jivapay.domain.wallet.networks import Network, gas_price_cap, ledger_to_chain, speed_up_price
from jivapay.services.wallet.passes import chaos_pause, isolated

log = logging.getLogger("jivapay.wallet.sweeper")
FUEL_MARGIN = 2  # EVM: fuel for twice the transfer's gas at today's price
STEP = {"fueling": "fuel", "sweeping": "sweep"}
NONCE_SPENT = "nonce_spent_elsewhere"
AT_CAP = "stuck_at_gas_price_cap"
REFUELING = "refueling_for_a_higher_gas_price"


@dataclasses.dataclass(slots=True)
class SweepReport:
    network: str
    started: int = 0
    fuel_sent: int = 0
    swept: int = 0
    done: int = 0
    failed: int = 0
    gas_tank_short: int = 0
    sped_up: int = 0


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
        price = min(int((await client.prepare(address))["gas_price"]), gas_price_cap(network))
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


@dataclasses.dataclass(frozen=True, slots=True)
class _Pass:
    """What one sweep's step works with."""

    session_factory: async_sessionmaker[AsyncSession]
    network: Network
    client: ChainClient
    keys: KeyProvider
    report: SweepReport

    def sender(self, sweep: Sweep, step: str) -> str:
        return gas_tank(self.keys, self.network) if step == "fuel" else sweep.address


async def _advance(
    session_factory: async_sessionmaker[AsyncSession],
    network: Network,
    client: ChainClient,
    keys: KeyProvider,
    sweep_id: int,
    report: SweepReport,
) -> None:
    """One step of an open sweep: sign its step's first transaction, or follow the ones signed."""
    async with session_factory() as session:
        repo = SweepRepository(session)
        sweep = await repo.get(sweep_id)
        owner = await session.get(WalletAddress, sweep.address_id) if sweep is not None else None
        step = STEP.get(sweep.status, "") if sweep is not None else ""
        line = await repo.open_attempts(sweep_id, step) if step else []
    if sweep is None or owner is None or not step:
        return
    run = _Pass(session_factory, network, client, keys, report)
    if line:
        await _follow(run, sweep, step, line)
    elif step == "fuel":
        await _fuel(run, sweep)
    else:
        await _sweep(run, sweep, owner.derivation_index)


async def _fuel(run: _Pass, sweep: Sweep) -> None:
    """The gas tank's native transfer to the address: signed (its nonce reserved) and stored, then sent."""
    network, client = run.network, run.client
    tank = gas_tank(run.keys, network)
    amount = int(sweep.fuel_amount or 0)
    if await client.native_balance(tank) < amount * 2:
        run.report.gas_tank_short += 1
        report_attention("the gas tank is low: sweeps wait", network=network.name, gas_tank=tank)
        return
    prepared = await client.prepare(tank)
    async with atomic(run.session_factory, name="wallet.sweep.fuel") as session:
        repo = SweepRepository(session)
        row = await repo.lock(sweep.id)
        if row is None or row.status != "fueling" or await repo.open_attempts(sweep.id, "fuel"):
            return
        nonce = price = None
        if network.family == "evm":
            nonce = await NonceRepository(session).reserve_nonce(network.name, tank, int(prepared["nonce"]))
            price = min(int(prepared["gas_price"]), gas_price_cap(network))
        signed = client.sign_native(
            run.keys, OutgoingTransfer(GAS_TANK_ACCOUNT, 0, tank, row.address, amount, prepared, nonce, price)
        )
        attempt = await _store(repo, row, "fuel", signed, amount)
    await chaos_pause("sweep.fuel_signed")
    await _send(run, attempt)
    run.report.fuel_sent += 1


async def _sweep(run: _Pass, sweep: Sweep, index: int) -> None:
    """The address's whole token balance to the hot wallet, signed by its own key and stored, then
    sent; back to fueling first when the address cannot pay today's gas."""
    network, client = run.network, run.client
    held = await client.token_balance(sweep.address)
    if held == 0:  # nothing left (swept by an earlier line that was mined): done
        await _step(run, sweep.id, "sweeping", "done")
        return
    hot = run.keys.address(network.family, 0, HOT_WALLET_ACCOUNT)
    prepared = await client.prepare(sweep.address)
    price = None
    if network.family == "evm":
        price = min(int(prepared["gas_price"]), gas_price_cap(network))
        if await _refuel_for(run, sweep, price):
            return
    async with atomic(run.session_factory, name="wallet.sweep.sign") as session:
        repo = SweepRepository(session)
        row = await repo.lock(sweep.id)
        if row is None or row.status != "sweeping" or await repo.open_attempts(sweep.id, "sweep"):
            return
        nonce = int(prepared["nonce"]) if network.family == "evm" else None
        signed = client.sign_transfer(
            run.keys, OutgoingTransfer(DEPOSIT_ACCOUNT, index, row.address, hot, held, prepared, nonce, price)
        )
        attempt = await _store(repo, row, "sweep", signed, held)
        row.raw_amount = Decimal(held)
    await chaos_pause("sweep.signed")
    await _send(run, attempt)
    run.report.swept += 1


async def _refuel_for(run: _Pass, sweep: Sweep, price: int) -> bool:
    """EVM: when the address cannot pay its token transfer at ``price``, move the sweep back to
    ``fueling`` for the difference (a line of sweep transactions already sent stays open and is
    followed, and sped up, once the fuel is mined). True when it did."""
    network = run.network
    native = await run.client.native_balance(sweep.address)
    if native >= network.transfer_gas * price:
        return False
    wanted = network.transfer_gas * min(price * FUEL_MARGIN, gas_price_cap(network))
    async with atomic(run.session_factory, name="wallet.sweep.refuel") as session:
        row = await SweepRepository(session).lock(sweep.id)
        if row is None or row.status != "sweeping":
            return True
        row.status, row.fuel_amount, row.stuck_reason = "fueling", Decimal(wanted - native), REFUELING
    log.info("sweep refueled for a higher gas price", extra={"sweep_id": sweep.id, "gas_price": price})
    return True


async def _store(repo: SweepRepository, row: Sweep, step: str, signed: SignedTransfer, amount: int) -> SweepAttempt:
    attempt = SweepAttempt(
        sweep_id=row.id,
        step=step,
        tx_hash=signed.tx_hash,
        signed=signed.signed,
        nonce=signed.nonce,
        gas_price=signed.gas_price,
        amount=Decimal(amount),
    )
    await repo.add_attempt(attempt)
    setattr(row, f"{step}_tx_hash", signed.tx_hash)
    return attempt


async def _send(run: _Pass, attempt: SweepAttempt) -> None:
    """Send an attempt (again): the same bytes until a node has them; what the node said is kept."""
    outcome = await run.client.send(attempt.signed)
    error = None if outcome.accepted or outcome.known else outcome.error
    async with atomic(run.session_factory, name="wallet.sweep.sent") as session:
        await SweepRepository(session).mark_sent(attempt.id, error)
    if error is not None:
        log.warning("a sweep's transaction was refused", extra={"tx_hash": attempt.tx_hash, "error": error})


async def _follow(run: _Pass, sweep: Sweep, step: str, line: list[SweepAttempt]) -> None:
    """A step with signed transactions: one mined? (then the next step) — else re-send, speed up,
    or, when none of them can ever be mined, end the line so the step signs anew."""
    client = run.client
    latest = line[-1]
    # read before the receipts: a spent nonce with none of ours mined means another transaction took it
    consumed = latest.nonce is not None and await client.nonce_used(run.sender(sweep, step), latest.nonce)
    for attempt in reversed(line):
        receipt = await client.receipt(attempt.tx_hash)
        if receipt is not None:
            await _mined(run, sweep.id, step, attempt, receipt)
            return
    if consumed:
        await _nonce_spent(run, sweep.id, step, latest)
        return
    if run.network.family == "tron":
        if await _expired(client, latest.signed):
            await _end_line(run, sweep.id, step, "expired unmined")
            return
    elif dt.datetime.now(dt.UTC) - (latest.sent_at or latest.created_at) > dt.timedelta(
        seconds=run.network.stuck_after_seconds
    ):
        replacement = await _speed_up(run, sweep, step, latest)
        if replacement is not None:
            latest = replacement
        elif sweep.status == "sweeping" and step == "sweep" and await _refueling(run, sweep.id):
            return
    await _send(run, latest)


async def _refueling(run: _Pass, sweep_id: int) -> bool:
    async with run.session_factory() as session:
        row = await SweepRepository(session).get(sweep_id)
    return row is not None and row.status == "fueling"


async def _speed_up(run: _Pass, sweep: Sweep, step: str, latest: SweepAttempt) -> SweepAttempt | None:
    """EVM: the same nonce at a higher gas price, never above the cap (then an alert, once); a sweep
    whose address cannot pay the higher price is refueled first. The new attempt, or None."""
    network, client = run.network, run.client
    cap = gas_price_cap(network)
    previous = int(latest.gas_price or 0)
    if previous >= cap:
        await _stuck(run, sweep.id, AT_CAP, latest.tx_hash)
        return None
    sender = run.sender(sweep, step)
    prepared = await client.prepare(sender)
    price = speed_up_price(previous, int(prepared["gas_price"]), cap)
    if step == "sweep" and await _refuel_for(run, sweep, price):
        return None
    amount = int(latest.amount or 0)
    if step == "fuel":  # gas got dearer: the replacement carries enough for the sweep at the new price too
        wanted = network.transfer_gas * min(price * FUEL_MARGIN, cap)
        amount = max(amount, wanted - await client.native_balance(sweep.address))
    async with atomic(run.session_factory, name="wallet.sweep.speed_up") as session:
        repo = SweepRepository(session)
        row = await repo.lock(sweep.id)
        if row is None or STEP.get(row.status) != step or getattr(row, f"{step}_tx_hash") != latest.tx_hash:
            return None
        if step == "fuel":
            row.fuel_amount = Decimal(amount)
            signed = client.sign_native(
                run.keys,
                OutgoingTransfer(GAS_TANK_ACCOUNT, 0, sender, row.address, amount, prepared, latest.nonce, price),
            )
        else:
            owner = await session.get(WalletAddress, row.address_id)
            assert owner is not None
            hot = run.keys.address(network.family, 0, HOT_WALLET_ACCOUNT)
            signed = client.sign_transfer(
                run.keys,
                OutgoingTransfer(
                    DEPOSIT_ACCOUNT, owner.derivation_index, sender, hot, amount, prepared, latest.nonce, price
                ),
            )
        attempt = await _store(repo, row, step, signed, amount)
        row.stuck_reason = None
    run.report.sped_up += 1
    log.warning(
        "sweep transaction sped up (same nonce)",
        extra={
            "sweep_id": sweep.id,
            "step": step,
            "replaced": latest.tx_hash,
            "by": signed.tx_hash,
            "gas_price": price,
        },
    )
    return attempt


async def _stuck(run: _Pass, sweep_id: int, reason: str, tx_hash: str) -> None:
    """Mark why a sweep does not move; the operators are told once per reason."""
    async with atomic(run.session_factory, name="wallet.sweep.stuck") as session:
        row = await SweepRepository(session).lock(sweep_id)
        if row is None or row.stuck_reason == reason:
            return
        row.stuck_reason = reason
        facts: dict[str, Any] = {"sweep_id": sweep_id, "network": row.network, "tx_hash": tx_hash, "reason": reason}
        on_commit(session, lambda: _attention("a sweep is stuck", facts))


async def _nonce_spent(run: _Pass, sweep_id: int, step: str, latest: SweepAttempt) -> None:
    """The sender's nonce went to another transaction and none of the line is mined: decided only
    when seen on two checks ``stuck_after_seconds`` apart (a node behind, or a receipt not indexed
    yet, must not restart a step that went out); then the line ends and the step signs anew."""
    async with atomic(run.session_factory, name="wallet.sweep.nonce_spent") as session:
        repo = SweepRepository(session)
        row = await repo.lock(sweep_id)
        if row is None or STEP.get(row.status) != step:
            return
        now = dt.datetime.now(dt.UTC)
        if row.stuck_reason != NONCE_SPENT:
            row.stuck_reason = NONCE_SPENT  # first sighting
            return
        if now - row.updated_at < dt.timedelta(seconds=run.network.stuck_after_seconds):
            return
        await repo.close_line(sweep_id, step)
        row.stuck_reason = None
        facts: dict[str, Any] = {"sweep_id": sweep_id, "network": row.network, "step": step, "nonce": latest.nonce}
        on_commit(session, lambda: _attention("a sweep's nonce was used by another transaction", facts))


async def _end_line(run: _Pass, sweep_id: int, step: str, why: str) -> None:
    """None of the step's transactions can be mined any more: the next pass signs anew."""
    async with atomic(run.session_factory, name="wallet.sweep.line_ended") as session:
        repo = SweepRepository(session)
        row = await repo.lock(sweep_id)
        if row is not None and STEP.get(row.status) == step:
            await repo.close_line(sweep_id, step)
    log.info("sweep transactions ended unmined", extra={"sweep_id": sweep_id, "step": step, "why": why})


async def _expired(client: ChainClient, signed: str | None) -> bool:
    """A TRON transaction past its expiration by the chain's own clock (its head block, a minute of
    slack): it can never be mined any more. EVM transactions do not expire."""
    if not signed or not signed.startswith("{"):
        return False
    head_time = await client.head_time()
    expiration = int(json.loads(signed).get("raw_data", {}).get("expiration", 0))
    return head_time is not None and head_time.timestamp() * 1000 > expiration + 60_000


async def _mined(run: _Pass, sweep_id: int, step: str, attempt: SweepAttempt, receipt: Receipt) -> None:
    """One of the line is mined: the line ends (the fee it paid kept) and the sweep moves on."""
    current = "fueling" if step == "fuel" else "sweeping"
    target = ("sweeping" if step == "fuel" else "done") if receipt.succeeded else "failed"
    async with atomic(run.session_factory, name="wallet.sweep.mined") as session:
        repo = SweepRepository(session)
        row = await repo.lock(sweep_id)
        if row is None or row.status != current:
            return
        await repo.close_line(sweep_id, step, attempt.id, receipt.fee)
        setattr(row, f"{step}_tx_hash", attempt.tx_hash)
        _move(session, row, target, run.report)


async def _step(run: _Pass, sweep_id: int, current: str, target: str) -> None:
    async with atomic(run.session_factory, name="wallet.sweep.step") as session:
        row = await SweepRepository(session).lock(sweep_id)
        if row is not None and row.status == current:
            _move(session, row, target, run.report)


def _move(session: AsyncSession, row: Sweep, target: str, report: SweepReport) -> None:
    current, row.status, row.stuck_reason = row.status, target, None
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
