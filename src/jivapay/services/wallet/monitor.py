"""The deposit monitor: one poll of one network (scheduler → ``wallet.poll_deposits`` actor).

A poll, with no database transaction open during any chain call:
1. reads the head (and the safe head: TRON's solidified block);
2. checks the hash of the last scanned block; if the chain has another one there, it walks back
   through the recent scan steps to where the chains agree and rewinds the cursor there (reorg);
3. scans forward in steps of ``max_block_range`` blocks: every Transfer of the token contract in
   the step, matched against our addresses in one query, recorded (``pending``) once per
   (network, tx hash, log index); the cursor moves by compare-and-set and the step's last block
   hash is kept. The step is retried when the chain changed under it (hash before ≠ after);
4. re-checks every pending deposit, and every credited one still in the reorg window, on the
   chain (its block's hash; only when that changed, the transaction's receipt):
   gone → ``dropped`` (pending) or reversed through the ledger with an alert (credited);
   moved to another block → follows it; enough confirmations (and ≤ the safe head) → credited
   through the ledger once (or ``below_minimum``).

Two polls of one network at once are safe: recording is idempotent, the cursor moves by
compare-and-set, a credit locks its deposit row and the ledger's idempotency key is unique.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.chains.base import ChainClient, Location, TokenTransfer
from jivapay.adapters.db.uow import atomic, on_commit
from jivapay.adapters.db.wallet.addresses import AddressRepository
from jivapay.adapters.db.wallet.deposits import CursorRepository, DepositRepository
from jivapay.adapters.db.wallet.models import Deposit
from jivapay.adapters.notifications import report_attention, report_critical_error
from jivapay.domain.errors import ChainUnavailable, InsufficientBalance
from jivapay.domain.wallet import deposits as rules
from jivapay.domain.wallet.networks import Network, chain_to_ledger
from jivapay.services.ledger import posting
from jivapay.services.merchants import callbacks
from jivapay.services.platform.outbox import enqueue_after_commit
from jivapay.services.wallet.deposits import view as deposit_view

log = logging.getLogger("jivapay.wallet.monitor")
RECENT_TIPS = 64  # scan-step tips kept per network for walking back after a reorg
STEP_BUDGET_SECONDS = 20.0  # a poll stops scanning after this long; the next one goes on
SETTLE_BATCH = 50  # deposits settled per transaction


@dataclasses.dataclass(slots=True)
class PollReport:
    network: str
    head: int = 0
    safe_head: int = 0
    scanned_to: int | None = None  # the last block scanned by this poll
    steps: int = 0
    transfers: int = 0  # token transfers read
    recorded: int = 0  # deposits new (or revived) in this poll
    credited: int = 0
    below_minimum: int = 0
    dropped: int = 0
    reversed: int = 0
    rewound_to: int | None = None


class _Moved(Exception):
    """Another poll moved the cursor first: this one stops scanning (its rows were idempotent)."""


async def poll(
    network: Network,
    session_factory: async_sessionmaker[AsyncSession],
    client_factory: Callable[[Network], ChainClient],
    *,
    max_steps: int = 50,
) -> PollReport:
    client = client_factory(network)
    report = PollReport(network.name)
    try:
        report.head = await client.head()
        report.safe_head = min(await client.safe_head(), report.head)
        next_block = await _cursor(session_factory, network, report.head)
        next_block = await _follow_reorg(session_factory, network, client, next_block, report)
        await _scan(session_factory, network, client, next_block, report, max_steps)
        await _recheck(session_factory, network, client, report)
        async with atomic(session_factory, name="wallet.poll.done") as session:
            await CursorRepository(session).polled(
                network.name, head=report.head, safe_head=report.safe_head, rpc_errors=client.rpc_errors
            )
    except ChainUnavailable as exc:
        async with atomic(session_factory, name="wallet.poll.failed") as session:
            cursors = CursorRepository(session)
            if await cursors.get(network.name) is not None:
                await cursors.failed(network.name, exc.message, client.rpc_errors)
        raise
    finally:
        await client.close()
    busy = report.recorded or report.credited or report.dropped or report.reversed or report.rewound_to is not None
    log.log(logging.INFO if busy else logging.DEBUG, "deposit poll", extra=dataclasses.asdict(report))
    return report


async def _cursor(session_factory: async_sessionmaker[AsyncSession], network: Network, head: int) -> int:
    async with atomic(session_factory, name="wallet.cursor") as session:
        start = network.start_block if network.start_block is not None else max(0, head - network.confirmations)
        return (await CursorRepository(session).start(network.name, start)).next_block


async def _follow_reorg(
    session_factory: async_sessionmaker[AsyncSession],
    network: Network,
    client: ChainClient,
    next_block: int,
    report: PollReport,
) -> int:
    """The cursor, rewound to where our recent scan tips still agree with the chain."""
    async with atomic(session_factory, name="wallet.tips") as session:
        tips = await CursorRepository(session).scanned(network.name, RECENT_TIPS)
    if not tips or await client.block_hash(tips[0].number) == tips[0].hash:
        return next_block
    agreed: int | None = None
    for tip in tips[1:]:
        if await client.block_hash(tip.number) == tip.hash:
            agreed = tip.number
            break
    if agreed is None:  # deeper than every tip we keep: start again well before the oldest
        agreed = max(-1, tips[-1].number - network.recheck_window - 1)
        log.error("reorg deeper than the kept scan tips", extra={"network": network.name, "rewind_to": agreed + 1})
    async with atomic(session_factory, name="wallet.rewind") as session:
        await CursorRepository(session).rewind(network.name, next_block, agreed + 1)
    report.rewound_to = agreed + 1
    report_attention("chain reorganisation: the deposit scan rewound", network=network.name, to_block=agreed + 1)
    return agreed + 1


async def _scan(
    session_factory: async_sessionmaker[AsyncSession],
    network: Network,
    client: ChainClient,
    next_block: int,
    report: PollReport,
    max_steps: int,
) -> None:
    started = time.monotonic()
    while next_block <= report.head and report.steps < max_steps:
        if time.monotonic() - started > STEP_BUDGET_SECONDS:
            break
        last = min(report.head, next_block + network.max_block_range - 1)
        before = await client.block_hash(last)
        transfers = await client.token_transfers(next_block, last)
        after = await client.block_hash(last)
        stale = any(t.block_number == last and t.block_hash != before for t in transfers)
        if before is None or before != after or stale:
            log.info("chain moved during a scan step; retried next poll", extra={"network": network.name})
            break
        try:
            async with atomic(session_factory, name="wallet.scan") as session:
                report.recorded += await _record(session, network, client, transfers)
                if not await CursorRepository(session).advance(network.name, next_block, last + 1, before):
                    raise _Moved
                if report.steps == 0:
                    await CursorRepository(session).prune(network.name, last - 4 * max(network.recheck_window, 16))
        except _Moved:
            log.info("another poll moved the cursor; this one stops scanning", extra={"network": network.name})
            break
        report.transfers += len(transfers)
        report.steps += 1
        report.scanned_to = last
        next_block = last + 1


async def _record(session: AsyncSession, network: Network, client: ChainClient, transfers: list[TokenTransfer]) -> int:
    if not transfers:
        return 0
    ours = await AddressRepository(session).match(network.family, [t.to_address for t in transfers])
    rows: list[dict[str, Any]] = []
    for transfer in transfers:
        owner = ours.get(transfer.to_address)
        if owner is None:
            continue
        amount, dust = chain_to_ledger(transfer.raw_amount, network.token_decimals)
        rows.append(
            {
                "network": network.name,
                "tx_hash": transfer.tx_hash,
                "log_index": transfer.log_index,
                "block_number": transfer.block_number,
                "block_hash": transfer.block_hash,
                "from_address": client.display(transfer.from_address),
                "to_address": owner[3],
                "address_id": owner[0],
                "owner_type": owner[1],
                "owner_id": owner[2],
                "raw_amount": transfer.raw_amount,
                "amount": amount,
                "dust": dust,
            }
        )
    return await DepositRepository(session).record(rows)


async def _recheck(
    session_factory: async_sessionmaker[AsyncSession], network: Network, client: ChainClient, report: PollReport
) -> None:
    async with atomic(session_factory, name="wallet.watched") as session:
        since = report.head - network.recheck_window + 1
        if report.rewound_to is not None:  # a reorg: every credit from the fork point on is re-checked
            since = min(since, report.rewound_to)
        watched = await DepositRepository(session).watched(network.name, since)
    hashes: dict[int, str | None] = {}  # one block-hash read per block, not one receipt per deposit
    checked: list[tuple[Deposit, Location | None]] = []
    for deposit in watched:
        if deposit.block_number not in hashes:
            hashes[deposit.block_number] = await client.block_hash(deposit.block_number)
        if hashes[deposit.block_number] == deposit.block_hash:
            location: Location | None = Location(deposit.block_number, deposit.block_hash)  # its block stands
        else:  # the block changed: is the transfer gone, or re-mined elsewhere?
            location = await client.locate(deposit.tx_hash, deposit.log_index)
            if location is not None and not _same_transfer(client, deposit, location):
                location = None  # that transaction now moves other money: this deposit is gone
        checked.append((deposit, location))
    for start in range(0, len(checked), SETTLE_BATCH):
        batch = checked[start : start + SETTLE_BATCH]
        try:
            async with atomic(session_factory, name="wallet.settle") as session:
                await _settle_batch(session, network, batch, report)
        except Exception as exc:  # noqa: BLE001 - one bad deposit must not hold up the others
            log.warning("settling a batch failed; one by one", extra={"network": network.name, "error": repr(exc)})
            for one in batch:
                try:
                    async with atomic(session_factory, name="wallet.settle.one") as session:
                        await _settle_batch(session, network, [one], report)
                except Exception as error:  # noqa: BLE001
                    report_critical_error(error, "a deposit could not be settled", **_facts(one[0]))


def _same_transfer(client: ChainClient, deposit: Deposit, location: Location) -> bool:
    to_matches = location.to_address is None or client.display(location.to_address) == deposit.to_address
    amount_matches = location.raw_amount is None or location.raw_amount == int(deposit.raw_amount)
    return to_matches and amount_matches


async def _settle_batch(
    session: AsyncSession, network: Network, batch: list[tuple[Deposit, Location | None]], report: PollReport
) -> None:
    """The batch's deposits against what the chain says now, their rows locked (no chain call here).
    The report's counts are added only when the batch commits."""
    counts = PollReport(network.name, report.head, report.safe_head)
    locked = await DepositRepository(session).lock([seen.id for seen, _ in batch])
    for seen, location in batch:
        deposit = locked.get(seen.id)
        if deposit is None or deposit.status != seen.status or deposit.block_hash != seen.block_hash:
            continue  # another poll got here first
        await _settle(session, network, deposit, location, counts)
    await CursorRepository(session).count_credits(network.name, counts.credited)

    async def add_counts() -> None:
        for name in ("credited", "below_minimum", "dropped", "reversed"):
            setattr(report, name, getattr(report, name) + getattr(counts, name))

    on_commit(session, add_counts)


async def _settle(
    session: AsyncSession, network: Network, deposit: Deposit, location: Location | None, report: PollReport
) -> None:
    """One watched deposit (its row locked) against where the chain has it now."""
    if location is None:
        if deposit.status == "pending":
            deposit.status = "dropped"
            deposit.confirmations = 0
            report.dropped += 1
            log.warning("pending deposit reorged out", extra=_facts(deposit))
        else:
            await _reverse(session, network, deposit)
            report.reversed += 1
        return
    if location.block_hash != deposit.block_hash:  # re-mined in another block: follow it
        deposit.block_number, deposit.block_hash = location.block_number, location.block_hash
    deposit.confirmations = rules.confirmations(report.head, deposit.block_number)
    final = deposit.confirmations >= network.confirmations and deposit.block_number <= report.safe_head
    if deposit.status != "pending" or not final:
        return
    if deposit.amount < network.min_deposit:
        deposit.status = "below_minimum"
        report.below_minimum += 1
        log.warning("deposit below the network's minimum: recorded, not credited", extra=_facts(deposit))
        return
    credit = await posting.credit_deposit(
        session,
        deposit.owner_type,
        deposit.owner_id,
        network.name,
        deposit.amount,
        rules.credit_reference(deposit.tx_hash, deposit.log_index, deposit.generation),
    )
    deposit.status = "credited"
    deposit.credited_at = _now()
    deposit.ledger_transaction_id = credit.transaction_id
    await enqueue_after_commit(session, "wallet.deposit_credited", deposit_id=deposit.id)
    if deposit.owner_type == "store":
        body = _callback_body(deposit)
        await callbacks.record_store_event(session, deposit.owner_id, "deposit.credited", "deposit", body)
    report.credited += 1


async def _reverse(session: AsyncSession, network: Network, deposit: Deposit) -> None:
    """A credited deposit the chain no longer has: take it back, or escalate when it is spent."""
    reference = rules.credit_reference(deposit.tx_hash, deposit.log_index, deposit.generation)
    try:
        async with session.begin_nested():
            reversal = await posting.reverse_deposit(
                session, deposit.owner_type, deposit.owner_id, network.name, deposit.amount, reference
            )
    except InsufficientBalance:
        deposit.status = "reversal_failed"
        log.critical("credited deposit reorged out and already spent: reversal failed", extra=_facts(deposit))
    else:
        deposit.status = "reversed"
        deposit.reversal_transaction_id = reversal.transaction_id
        log.critical("credited deposit reorged out: reversed through the ledger", extra=_facts(deposit))
    deposit.reversed_at = _now()
    facts = _facts(deposit)
    on_commit(session, lambda: _attention(facts))
    await enqueue_after_commit(session, "wallet.deposit_alert", deposit_id=deposit.id)


async def _attention(facts: dict[str, Any]) -> None:
    report_attention(f"credited deposit reorged out ({facts['status']})", **facts)


def _callback_body(deposit: Deposit) -> dict[str, Any]:
    d = deposit_view(deposit)
    return {
        "id": d.id,
        "store_id": d.owner_id,
        "network": d.network,
        "status": d.status,
        "amount": d.amount,
        "currency": "USDT",
        "tx_hash": d.tx_hash,
        "log_index": d.log_index,
        "block_number": d.block_number,
        "from_address": d.from_address,
        "to_address": d.to_address,
        "confirmations": d.confirmations,
        "credited_at": d.credited_at.isoformat() if d.credited_at else None,
    }


def _facts(deposit: Deposit) -> dict[str, Any]:
    return {
        "deposit_id": deposit.id,
        "network": deposit.network,
        "tx_hash": deposit.tx_hash,
        "log_index": deposit.log_index,
        "block_number": deposit.block_number,
        "owner_type": deposit.owner_type,
        "owner_id": deposit.owner_id,
        "amount": deposit.amount,
        "status": deposit.status,
    }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
