"""Sending withdrawals from a network's hot wallet: exactly one on-chain transfer per withdrawal.

The rule: a transaction is **signed and stored before it is sent**, in the transaction that moves
the withdrawal to ``broadcast`` (EVM: with the hot wallet's next nonce, reserved under a row lock,
so one sender signs at a time). Sending is then repeated until the chain has it: the same signed
bytes every time. A withdrawal gets another signed transaction only when the first provably can
never be mined *as well*: on EVM it carries the same nonce (a speed-up: one of them at most is
mined), on TRON the first one has expired. So a crash between signing and sending, between
sending and recording, a duplicate message or two workers at once all end in one transfer.

``check(network)`` (scheduler → ``wallet.check_withdrawals``) drives it: approved withdrawals are
signed and sent (or wait, with an alert, while the hot wallet is short), sent ones are re-sent,
stuck ones sped up within the network's fee cap, mined ones finalized in the ledger after the
confirmations, reverted ones failed with the hold released and an alert.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.chains.base import ChainClient, OutgoingTransfer, Receipt, SignedTransfer
from jivapay.adapters.chains.keys import HOT_WALLET_ACCOUNT, KeyProvider
from jivapay.adapters.db.uow import atomic, on_commit
from jivapay.adapters.db.wallet.models import Withdrawal, WithdrawalAttempt
from jivapay.adapters.db.wallet.nonces import NonceRepository
from jivapay.adapters.db.wallet.withdrawals import WithdrawalRepository
from jivapay.adapters.notifications import report_attention
from jivapay.domain.platform.audit import Actor
from jivapay.domain.wallet.networks import Network, gas_price_cap, ledger_to_chain, speed_up_price
from jivapay.services.ledger import posting
from jivapay.services.wallet.passes import chaos_pause, isolated
from jivapay.services.wallet.withdrawals import record_transition

log = logging.getLogger("jivapay.wallet.sender")
SYSTEM = Actor.system("wallet")
NONCE_SPENT = "nonce_spent_elsewhere"


@dataclasses.dataclass(slots=True)
class CheckReport:
    network: str
    signed: int = 0
    sent: int = 0
    waiting: int = 0  # approved, but the hot wallet is short
    sped_up: int = 0
    completed: int = 0
    failed: int = 0


def hot_wallet(keys: KeyProvider, network: Network) -> str:
    return keys.address(network.family, 0, HOT_WALLET_ACCOUNT)


async def check(
    network: Network,
    session_factory: async_sessionmaker[AsyncSession],
    client_factory: Callable[[Network], ChainClient],
    keys: KeyProvider,
) -> CheckReport:
    """One pass over the network's approved and broadcast withdrawals (safe to run twice)."""
    report = CheckReport(network.name)
    client = client_factory(network)
    try:
        async with session_factory() as session:
            repo = WithdrawalRepository(session)
            approved = await repo.open_ids(network.name, ("approved",))
            broadcast = await repo.open_ids(network.name, ("broadcast",))
        for withdrawal_id in broadcast:
            await isolated(
                _follow(session_factory, network, client, keys, withdrawal_id, report), withdrawal_id=withdrawal_id
            )
        for withdrawal_id in approved:
            await isolated(
                send(session_factory, network, client, keys, withdrawal_id, report), withdrawal_id=withdrawal_id
            )
    finally:
        await client.close()
    if any((report.signed, report.sent, report.sped_up, report.completed, report.failed, report.waiting)):
        log.info("withdrawals checked", extra=dataclasses.asdict(report))
    return report


async def send(
    session_factory: async_sessionmaker[AsyncSession],
    network: Network,
    client: ChainClient,
    keys: KeyProvider,
    withdrawal_id: int,
    report: CheckReport | None = None,
) -> None:
    """Sign (once) and send an approved withdrawal; re-send a broadcast one that is not yet mined."""
    report = report or CheckReport(network.name)
    async with session_factory() as session:
        w = await WithdrawalRepository(session).get(withdrawal_id)
    if w is None or w.network != network.name or w.status not in ("approved", "broadcast"):
        return
    if w.status == "approved":
        sender = hot_wallet(keys, network)
        async with session_factory() as session:
            in_flight = await WithdrawalRepository(session).in_flight(network.name)
        short = await _short(network, client, sender, w, in_flight)
        if short:
            await _wait(session_factory, w.id, short, report)
            return
        prepared = await client.prepare(sender)  # chain reads before any lock
        if not await _sign(session_factory, network, client, keys, w.id, sender, prepared, report):
            return
        await chaos_pause("withdrawal.signed")
    await _send_unsent(session_factory, client, withdrawal_id, report)


async def _short(network: Network, client: ChainClient, sender: str, w: Withdrawal, in_flight: int) -> str | None:
    """Why the hot wallet cannot pay this withdrawal now (None: it can), counting what the withdrawals
    already signed still take from it (``in_flight``, micro-USDT; mined ones counted twice, briefly:
    the safe side)."""
    needed = ledger_to_chain(w.amount + in_flight, network.token_decimals)
    if await client.token_balance(sender) < needed:
        return "hot_wallet_short_of_usdt"
    gas = network.transfer_gas * gas_price_cap(network) if network.family == "evm" else network.fee_limit_sun
    if await client.native_balance(sender) < gas:
        return "hot_wallet_short_of_gas"
    return None


async def _wait(
    session_factory: async_sessionmaker[AsyncSession], withdrawal_id: int, reason: str, report: CheckReport
) -> None:
    report.waiting += 1
    async with atomic(session_factory, name="wallet.withdrawal.wait") as session:
        w = await WithdrawalRepository(session).lock(withdrawal_id)
        if w is None or w.status != "approved" or w.waiting_reason == reason:
            return
        w.waiting_reason = reason
        facts = {"withdrawal_id": w.public_id, "network": w.network, "amount": w.amount, "reason": reason}
        on_commit(session, lambda: _attention("a withdrawal waits: the hot wallet is short", facts))


async def _attention(message: str, facts: dict[str, Any]) -> None:
    report_attention(message, **facts)


async def _sign(
    session_factory: async_sessionmaker[AsyncSession],
    network: Network,
    client: ChainClient,
    keys: KeyProvider,
    withdrawal_id: int,
    sender: str,
    prepared: dict[str, Any],
    report: CheckReport,
) -> bool:
    """approved → broadcast with a signed transaction stored; False when someone else got there."""
    async with atomic(session_factory, name="wallet.withdrawal.sign") as session:
        repo = WithdrawalRepository(session)
        w = await repo.lock(withdrawal_id)
        if w is None or w.status != "approved":
            return w is not None and w.status == "broadcast"
        nonce = gas_price = None
        if network.family == "evm":
            nonce = await NonceRepository(session).reserve_nonce(network.name, sender, int(prepared["nonce"]))
            gas_price = min(int(prepared["gas_price"]), gas_price_cap(network))
        signed = client.sign_transfer(keys, _outgoing(network, w, sender, prepared, nonce, gas_price))
        await _store(repo, w, signed)
        w.status, w.broadcast_at, w.waiting_reason, w.nonce = "broadcast", dt.datetime.now(dt.UTC), None, nonce
        await record_transition(session, w, SYSTEM, "broadcast", tx_hash=signed.tx_hash)
    report.signed += 1
    return True


async def _store(repo: WithdrawalRepository, w: Withdrawal, signed: SignedTransfer) -> None:
    await repo.add_attempt(
        WithdrawalAttempt(
            withdrawal_id=w.id,
            tx_hash=signed.tx_hash,
            signed=signed.signed,
            nonce=signed.nonce,
            gas_price=signed.gas_price,
            expires_at=signed.expires_at,
        )
    )
    w.tx_hash = signed.tx_hash


async def _send_unsent(
    session_factory: async_sessionmaker[AsyncSession], client: ChainClient, withdrawal_id: int, report: CheckReport
) -> None:
    """Send the latest attempt again until a node has it (the same bytes: never a second transfer)."""
    async with session_factory() as session:
        attempts = await WithdrawalRepository(session).attempts(withdrawal_id)
    if not attempts:
        return
    latest = attempts[-1]
    outcome = await client.send(latest.signed)
    await chaos_pause("withdrawal.sent")
    error = None if outcome.accepted or outcome.known else outcome.error
    async with atomic(session_factory, name="wallet.withdrawal.sent") as session:
        await WithdrawalRepository(session).mark_sent(latest.id, error)
    if error is None:
        report.sent += 1
    else:
        log.warning("a withdrawal's transaction was refused", extra={"tx_hash": latest.tx_hash, "error": error})


async def _follow(
    session_factory: async_sessionmaker[AsyncSession],
    network: Network,
    client: ChainClient,
    keys: KeyProvider,
    withdrawal_id: int,
    report: CheckReport,
) -> None:
    """A broadcast withdrawal: mined? (then confirmations, finalize or fail) — else re-send or speed up."""
    async with session_factory() as session:
        repo = WithdrawalRepository(session)
        w = await repo.get(withdrawal_id)
        attempts = await repo.attempts(withdrawal_id)
    if w is None or w.status != "broadcast" or not attempts:
        return
    head = await client.head()
    safe = min(await client.safe_head(), head)
    latest = attempts[-1]
    # read before the receipts: if the nonce is spent and none of ours is mined, another
    # transaction of the hot wallet took it and ours can never be mined
    consumed = latest.nonce is not None and await client.nonce_used(hot_wallet(keys, network), latest.nonce)
    for attempt in reversed(attempts):  # any of them may be the one mined
        receipt = await client.receipt(attempt.tx_hash)
        if receipt is not None:
            await _mined(session_factory, network, w.id, attempt, receipt, head, safe, report)
            return
    now = dt.datetime.now(dt.UTC)
    if consumed:
        await _lost_nonce(session_factory, network, w.id, latest, report)
        return
    # refused from the start counts too: a transaction no node took holds its nonce all the same
    stuck = now - (latest.sent_at or latest.created_at) > dt.timedelta(seconds=network.stuck_after_seconds)
    if network.family == "evm" and stuck:
        await _speed_up(session_factory, network, client, keys, w.id, latest, report)
    elif network.family == "tron" and latest.expires_at is not None and await _surely_expired(client, latest):
        await _renew(session_factory, network, client, keys, w.id, latest, report)
    await _send_unsent(session_factory, client, w.id, report)


async def _surely_expired(client: ChainClient, attempt: WithdrawalAttempt) -> bool:
    """TRON: the chain's own clock (its head block) is past the transaction's expiration, and the
    node still has no receipt: it can never be mined. Our clock alone is not enough — a node that
    is behind would not know a transaction that was in fact mined."""
    assert attempt.expires_at is not None
    head_time = await client.head_time()
    if head_time is None or head_time <= attempt.expires_at + dt.timedelta(seconds=60):
        return False
    return await client.receipt(attempt.tx_hash) is None


async def _lost_nonce(
    session_factory: async_sessionmaker[AsyncSession],
    network: Network,
    withdrawal_id: int,
    latest: WithdrawalAttempt,
    report: CheckReport,
) -> None:
    """Another transaction of the hot wallet (sent from outside the platform) spent the nonce: none
    of this withdrawal's transactions can be mined any more. Decided only when seen on two checks
    ``stuck_after_seconds`` apart (one node behind, or a receipt not indexed yet, must not refund a
    withdrawal that went out); then it fails, the hold is released and the operators are told."""
    async with atomic(session_factory, name="wallet.withdrawal.lost_nonce") as session:
        w = await WithdrawalRepository(session).lock(withdrawal_id)
        if w is None or w.status != "broadcast":
            return
        now = dt.datetime.now(dt.UTC)
        if w.waiting_reason != NONCE_SPENT or now - w.updated_at < dt.timedelta(seconds=network.stuck_after_seconds):
            if w.waiting_reason != NONCE_SPENT:
                w.waiting_reason = NONCE_SPENT  # first sighting: decided on a later check
            return
        w.status = "failed"
        w.failure_reason = f"the hot wallet's nonce {latest.nonce} was used by another transaction"
        await posting.cancel_withdrawal(session, w.public_id)
        await record_transition(session, w, SYSTEM, "failed", reason=w.failure_reason)
        facts = {"withdrawal_id": w.public_id, "network": w.network, "nonce": latest.nonce}
        on_commit(session, lambda: _attention("a hot wallet nonce was used outside the platform", facts))
    report.failed += 1


async def _speed_up(
    session_factory: async_sessionmaker[AsyncSession],
    network: Network,
    client: ChainClient,
    keys: KeyProvider,
    withdrawal_id: int,
    latest: WithdrawalAttempt,
    report: CheckReport,
) -> None:
    """The same nonce at a higher gas price (never above the cap): at most one of them is mined."""
    cap = gas_price_cap(network)
    previous = int(latest.gas_price or 0)
    if previous >= cap:
        report_attention("a withdrawal is stuck at the network's gas price cap", tx_hash=latest.tx_hash)
        return
    sender = hot_wallet(keys, network)
    prepared = await client.prepare(sender)
    price = speed_up_price(previous, int(prepared["gas_price"]), cap)
    signed = await _replace(session_factory, network, client, keys, withdrawal_id, latest, prepared, price)
    if signed is not None:
        report.sped_up += 1
        log.warning(
            "withdrawal sped up (same nonce)",
            extra={"replaced": latest.tx_hash, "by": signed.tx_hash, "gas_price": price, "nonce": latest.nonce},
        )


async def _renew(
    session_factory: async_sessionmaker[AsyncSession],
    network: Network,
    client: ChainClient,
    keys: KeyProvider,
    withdrawal_id: int,
    latest: WithdrawalAttempt,
    report: CheckReport,
) -> None:
    """TRON: the transaction expired unmined, so it never can be: sign a new one."""
    prepared = await client.prepare(hot_wallet(keys, network))
    if await _replace(session_factory, network, client, keys, withdrawal_id, latest, prepared, None) is not None:
        report.sped_up += 1


async def _replace(
    session_factory: async_sessionmaker[AsyncSession],
    network: Network,
    client: ChainClient,
    keys: KeyProvider,
    withdrawal_id: int,
    latest: WithdrawalAttempt,
    prepared: dict[str, Any],
    gas_price: int | None,
) -> SignedTransfer | None:
    """A new attempt that can only be mined instead of ``latest`` (its nonce, or ``latest`` expired),
    stored; None when the withdrawal moved on meanwhile."""
    async with atomic(session_factory, name="wallet.withdrawal.replace") as session:
        repo = WithdrawalRepository(session)
        w = await repo.lock(withdrawal_id)
        if w is None or w.status != "broadcast" or w.tx_hash != latest.tx_hash:
            return None
        signed = client.sign_transfer(
            keys, _outgoing(network, w, hot_wallet(keys, network), prepared, latest.nonce, gas_price)
        )
        await _store(repo, w, signed)
    return signed


def _outgoing(
    network: Network, w: Withdrawal, sender: str, prepared: dict[str, Any], nonce: int | None, gas_price: int | None
) -> OutgoingTransfer:
    amount = ledger_to_chain(w.amount, network.token_decimals)
    return OutgoingTransfer(HOT_WALLET_ACCOUNT, 0, sender, w.to_address, amount, prepared, nonce, gas_price)


async def _mined(
    session_factory: async_sessionmaker[AsyncSession],
    network: Network,
    withdrawal_id: int,
    attempt: WithdrawalAttempt,
    receipt: Receipt,
    head: int,
    safe: int,
    report: CheckReport,
) -> None:
    confirmations = head - receipt.block_number + 1
    if confirmations < network.confirmations or receipt.block_number > safe:
        return  # mined, success or not: nothing is decided before the confirmations (a reorg may undo it)
    async with atomic(session_factory, name="wallet.withdrawal.end") as session:
        w = await WithdrawalRepository(session).lock(withdrawal_id)
        if w is None or w.status != "broadcast":
            return
        w.tx_hash, w.block_number, w.waiting_reason = attempt.tx_hash, receipt.block_number, None
        await WithdrawalRepository(session).record_gas(attempt.id, receipt.fee)
        if receipt.succeeded:
            await posting.finalize_withdrawal(session, w.public_id, network.name, attempt.tx_hash, fee=w.fee)
            w.status, w.completed_at = "completed", dt.datetime.now(dt.UTC)
            await record_transition(
                session, w, SYSTEM, "completed", tx_hash=attempt.tx_hash, block=receipt.block_number
            )
            report.completed += 1
            return
        w.status, w.failure_reason = "failed", f"the transaction failed on chain ({receipt.detail or 'reverted'})"
        await posting.cancel_withdrawal(session, w.public_id)
        await record_transition(session, w, SYSTEM, "failed", tx_hash=attempt.tx_hash, reason=w.failure_reason)
        facts = {"withdrawal_id": w.public_id, "network": w.network, "tx_hash": attempt.tx_hash}
        on_commit(session, lambda: _attention("a withdrawal failed on chain; the hold was released", facts))
        report.failed += 1


async def send_one(
    session_factory: async_sessionmaker[AsyncSession],
    client_factory: Callable[[Network], ChainClient],
    keys: KeyProvider,
    withdrawal_id: int,
) -> None:
    """What ``wallet.send_withdrawal`` runs right after an approval (the scheduler's check follows up)."""
    from jivapay.networks import get_network

    async with session_factory() as session:
        w = await WithdrawalRepository(session).get(withdrawal_id)
    network = get_network(w.network) if w is not None else None
    if w is None or network is None or not network.enabled:
        return
    client = client_factory(network)
    try:
        await send(session_factory, network, client, keys, withdrawal_id)
    finally:
        await client.close()
