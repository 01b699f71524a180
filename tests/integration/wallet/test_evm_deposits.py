"""The deposit monitor on EVM chains (anvil as BSC with 18-decimal USDT, and as Arbitrum with 6):
credit once after the confirmations, restarts, rescans, concurrent polls, reorgs, dust, minimums
and RPC failures."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.chains.clients import client_for
from jivapay.adapters.db.models import ChainCursor, Deposit, OutboxMessage
from jivapay.adapters.db.uow import atomic
from jivapay.domain.errors import ChainUnavailable
from jivapay.domain.identity.roles import Role
from jivapay.domain.platform.audit import Actor
from jivapay.networks import get_network
from jivapay.services.ledger import balances
from jivapay.services.ledger.audit import audit_platform
from jivapay.services.wallet.addresses import request_address
from jivapay.services.wallet.monitor import PollReport, poll
from tests.factories import make_user
from tests.fixtures.chains import EvmChain, Networks, network_entry

pytestmark = pytest.mark.usefixtures("seeded")
DEAD_URL = "http://127.0.0.1:9"  # nothing listens: connection refused


async def poll_once(session_factory: async_sessionmaker[AsyncSession], name: str, **kwargs: Any) -> PollReport:
    network = get_network(name)
    assert network is not None
    assert network.enabled
    return await poll(network, session_factory, client_for, **kwargs)


async def trader_with_address(session_factory: async_sessionmaker[AsyncSession], network: str) -> tuple[int, str]:
    trader = await make_user(session_factory, Role.TRADER)
    async with atomic(session_factory) as session:
        made = await request_address(session, Actor.system("tests"), "trader", trader.id, network)
    return trader.id, made.address


async def available(session_factory: async_sessionmaker[AsyncSession], trader_id: int) -> str:
    async with session_factory() as session:
        return str((await balances.owner_balances(session, "trader", [trader_id]))[trader_id]["available"].text)


async def deposits_of(session_factory: async_sessionmaker[AsyncSession], owner_id: int) -> list[Deposit]:
    async with session_factory() as session:
        return list(await session.scalars(select(Deposit).where(Deposit.owner_id == owner_id).order_by(Deposit.id)))


async def audit_clean(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory() as session:
        report = await audit_platform(session)
    assert report.ok, report.violations


def configure(
    networks: Networks, *chains: EvmChain, urls: dict[str, list[str]] | None = None, **overrides: Any
) -> None:
    networks.configure(
        {chain.name: network_entry(chain, **overrides) for chain in chains},
        urls or {chain.name: [chain.anvil.url] for chain in chains},
    )


async def test_a_deposit_is_pending_until_confirmed_then_credited_exactly_once(
    session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain, networks: Networks
) -> None:
    configure(networks, bsc)
    trader_id, address = await trader_with_address(session_factory, "BEP20")
    bsc.send(address, bsc.usdt("25.5"))

    report = await poll_once(session_factory, "BEP20")
    assert report.recorded == 1
    assert report.credited == 0
    [deposit] = await deposits_of(session_factory, trader_id)
    assert (deposit.status, deposit.confirmations, deposit.amount) == ("pending", 1, 25_500_000)
    assert await available(session_factory, trader_id) == "0.000000"

    bsc.anvil.mine(1)  # 2 of 3 confirmations
    assert (await poll_once(session_factory, "BEP20")).credited == 0
    bsc.anvil.mine(1)
    assert (await poll_once(session_factory, "BEP20")).credited == 1
    [deposit] = await deposits_of(session_factory, trader_id)
    assert (deposit.status, deposit.confirmations) == ("credited", 3)
    assert deposit.ledger_transaction_id is not None
    assert await available(session_factory, trader_id) == "25.500000"

    bsc.anvil.mine(5)
    again = await poll_once(session_factory, "BEP20")
    assert (again.recorded, again.credited) == (0, 0)
    assert await available(session_factory, trader_id) == "25.500000"
    await audit_clean(session_factory)
    async with session_factory() as session:
        cursor = await session.get(ChainCursor, "BEP20")
        queued = await session.scalars(select(OutboxMessage.actor_name))
        assert cursor is not None
        assert cursor.deposits_credited == 1
        assert cursor.head == bsc.anvil.head()
        assert "wallet.deposit_credited" in list(queued)


async def test_dust_below_a_micro_usdt_is_never_credited_and_is_recorded(
    session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain, networks: Networks
) -> None:
    configure(networks, bsc, confirmations=1)
    trader_id, address = await trader_with_address(session_factory, "BEP20")
    raw = 7 * 10**18 + 123_456_789_012  # 7.000000123456789012 USDT: 0.123456789012 micro-USDT of dust
    bsc.send(address, raw)
    await poll_once(session_factory, "BEP20")
    [deposit] = await deposits_of(session_factory, trader_id)
    assert (deposit.status, deposit.amount, int(deposit.raw_amount), int(deposit.dust)) == (
        "credited",
        7_000_000,
        raw,
        123_456_789_012,
    )
    assert await available(session_factory, trader_id) == "7.000000"


async def test_below_the_minimum_is_recorded_but_not_credited(
    session_factory: async_sessionmaker[AsyncSession], arbitrum: EvmChain, networks: Networks
) -> None:
    configure(networks, arbitrum, confirmations=1, min_deposit="5.00")
    trader_id, address = await trader_with_address(session_factory, "ARBITRUM")
    arbitrum.send(address, arbitrum.usdt("4.99"))
    arbitrum.send(address, arbitrum.usdt("5"))
    report = await poll_once(session_factory, "ARBITRUM")
    assert (report.credited, report.below_minimum) == (1, 1)
    statuses = sorted((d.status, d.amount) for d in await deposits_of(session_factory, trader_id))
    assert statuses == [("below_minimum", 4_990_000), ("credited", 5_000_000)]
    assert await available(session_factory, trader_id) == "5.000000"


async def test_a_restart_mid_range_and_a_rescan_credit_nothing_twice(
    session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain, networks: Networks
) -> None:
    configure(networks, bsc, confirmations=1, max_block_range=2)
    trader_id, address = await trader_with_address(session_factory, "BEP20")
    for amount in ("1", "2", "3", "4", "5"):
        bsc.send(address, bsc.usdt(amount))  # five blocks, one transfer each

    first = await poll_once(session_factory, "BEP20", max_steps=1)  # "killed" after one step of two blocks
    assert first.steps == 1
    assert first.scanned_to is not None
    await poll_once(session_factory, "BEP20")  # the restart goes on from the cursor
    assert await available(session_factory, trader_id) == "15.000000"

    async with atomic(session_factory) as session:  # scan everything again from the start
        cursor = await session.get(ChainCursor, "BEP20")
        assert cursor is not None
        cursor.next_block = get_network("BEP20").start_block  # type: ignore[union-attr]
    rescan = await poll_once(session_factory, "BEP20")
    assert (rescan.recorded, rescan.credited) == (0, 0)
    assert len(await deposits_of(session_factory, trader_id)) == 5
    assert await available(session_factory, trader_id) == "15.000000"
    await audit_clean(session_factory)


async def test_two_polls_at_once_credit_once(
    session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain, networks: Networks
) -> None:
    configure(networks, bsc, confirmations=1)
    trader_id, address = await trader_with_address(session_factory, "BEP20")
    for _ in range(3):
        bsc.send(address, bsc.usdt("10"))
    reports = await asyncio.gather(*(poll_once(session_factory, "BEP20") for _ in range(3)))
    await poll_once(session_factory, "BEP20")
    assert sum(r.credited for r in reports) <= 3
    assert [d.status for d in await deposits_of(session_factory, trader_id)] == ["credited"] * 3
    assert await available(session_factory, trader_id) == "30.000000"
    await audit_clean(session_factory)


async def test_a_reorg_drops_a_pending_deposit_before_credit(
    session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain, networks: Networks
) -> None:
    configure(networks, bsc, confirmations=5)
    trader_id, address = await trader_with_address(session_factory, "BEP20")
    bsc.anvil.mine(1)
    await poll_once(session_factory, "BEP20")  # the cursor has a tip to compare later
    snapshot = bsc.anvil.snapshot()
    bsc.send(address, bsc.usdt("40"))
    await poll_once(session_factory, "BEP20")
    [deposit] = await deposits_of(session_factory, trader_id)
    assert deposit.status == "pending"

    bsc.anvil.revert(snapshot)  # the block with the transfer is gone; a longer chain without it
    bsc.anvil.mine(4)
    report = await poll_once(session_factory, "BEP20")
    assert report.rewound_to is not None
    assert report.dropped == 1
    [deposit] = await deposits_of(session_factory, trader_id)
    assert deposit.status == "dropped"
    bsc.anvil.mine(10)
    await poll_once(session_factory, "BEP20")
    assert await available(session_factory, trader_id) == "0.000000"
    await audit_clean(session_factory)


async def test_a_deeper_reorg_reverses_a_credited_deposit_with_an_alert(
    session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain, networks: Networks
) -> None:
    configure(networks, bsc, confirmations=2)
    trader_id, address = await trader_with_address(session_factory, "BEP20")
    await poll_once(session_factory, "BEP20")
    snapshot = bsc.anvil.snapshot()
    bsc.send(address, bsc.usdt("12"))
    bsc.anvil.mine(2)
    assert (await poll_once(session_factory, "BEP20")).credited == 1
    assert await available(session_factory, trader_id) == "12.000000"

    bsc.anvil.revert(snapshot)
    bsc.anvil.mine(5)
    report = await poll_once(session_factory, "BEP20")
    assert report.reversed == 1
    [deposit] = await deposits_of(session_factory, trader_id)
    assert deposit.status == "reversed"
    assert deposit.reversal_transaction_id is not None
    assert await available(session_factory, trader_id) == "0.000000"
    async with session_factory() as session:
        queued = list(await session.scalars(select(OutboxMessage.actor_name)))
    assert "wallet.deposit_alert" in queued
    await audit_clean(session_factory)


async def test_a_reversal_the_owner_cannot_cover_is_flagged_not_hidden(
    session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain, networks: Networks
) -> None:
    from jivapay.services.ledger import posting

    configure(networks, bsc, confirmations=1)
    trader_id, address = await trader_with_address(session_factory, "BEP20")
    await poll_once(session_factory, "BEP20")
    snapshot = bsc.anvil.snapshot()
    bsc.send(address, bsc.usdt("8"))
    await poll_once(session_factory, "BEP20")
    async with atomic(session_factory) as session:  # the trader's 8 USDT is now held by an order
        await posting.freeze(session, "trader", trader_id, 8_000_000, "test-hold")
    bsc.anvil.revert(snapshot)
    bsc.anvil.mine(3)
    await poll_once(session_factory, "BEP20")
    [deposit] = await deposits_of(session_factory, trader_id)
    assert deposit.status == "reversal_failed"
    assert deposit.reversed_at is not None
    await audit_clean(session_factory)


async def test_a_dead_primary_url_falls_back_and_is_counted(
    session_factory: async_sessionmaker[AsyncSession], arbitrum: EvmChain, networks: Networks
) -> None:
    configure(networks, arbitrum, confirmations=1, urls={"ARBITRUM": [DEAD_URL, arbitrum.anvil.url]})
    _trader_id, address = await trader_with_address(session_factory, "ARBITRUM")
    arbitrum.send(address, arbitrum.usdt("3"))
    assert (await poll_once(session_factory, "ARBITRUM")).credited == 1
    async with session_factory() as session:
        cursor = await session.get(ChainCursor, "ARBITRUM")
    assert cursor is not None
    assert cursor.rpc_errors >= 1


async def test_when_every_url_fails_the_poll_fails_and_says_so(
    session_factory: async_sessionmaker[AsyncSession], arbitrum: EvmChain, networks: Networks
) -> None:
    configure(networks, arbitrum)
    await poll_once(session_factory, "ARBITRUM")
    configure(networks, arbitrum, urls={"ARBITRUM": [DEAD_URL, "http://127.0.0.1:8"]})
    with pytest.raises(ChainUnavailable):
        await poll_once(session_factory, "ARBITRUM")
    async with session_factory() as session:
        cursor = await session.get(ChainCursor, "ARBITRUM")
    assert cursor is not None
    assert cursor.last_error
    assert "every RPC URL failed" in cursor.last_error
    assert DEAD_URL not in cursor.last_error


async def test_a_node_of_another_chain_is_refused(
    session_factory: async_sessionmaker[AsyncSession], arbitrum: EvmChain, bsc: EvmChain, networks: Networks
) -> None:
    configure(networks, arbitrum, urls={"ARBITRUM": [bsc.anvil.url]})  # chain 56 where 42161 is expected
    with pytest.raises(ChainUnavailable):
        await poll_once(session_factory, "ARBITRUM")


async def test_anvil_reorg_reverses_a_credited_deposit_and_follows_a_re_mined_one(
    session_factory: async_sessionmaker[AsyncSession], arbitrum: EvmChain, networks: Networks
) -> None:
    configure(networks, arbitrum, confirmations=2)
    trader_id, address = await trader_with_address(session_factory, "ARBITRUM")
    await poll_once(session_factory, "ARBITRUM")
    receipt = arbitrum.send(address, arbitrum.usdt("6"))
    arbitrum.anvil.mine(1)
    assert (await poll_once(session_factory, "ARBITRUM")).credited == 1

    depth = arbitrum.anvil.head() - int(receipt["blockNumber"], 16) + 1
    arbitrum.anvil.rpc("anvil_reorg", depth, [])  # anvil's own reorg: the blocks replaced, the transfer gone
    report = await poll_once(session_factory, "ARBITRUM")
    assert report.reversed == 1
    assert await available(session_factory, trader_id) == "0.000000"

    # a reorg that mines the pending transfer's payment again as another transaction (anvil signs it
    # anew): the first is dropped, the second is recorded and credited once
    pending = arbitrum.send(address, arbitrum.usdt("2"))
    assert (await poll_once(session_factory, "ARBITRUM")).recorded == 1
    tx = arbitrum.anvil.rpc("eth_getTransactionByHash", pending["transactionHash"])
    again = {"from": tx["from"], "to": tx["to"], "data": tx["input"], "gas": tx["gas"], "nonce": tx["nonce"]}
    arbitrum.anvil.rpc("anvil_reorg", 1, [[again, 0]])
    arbitrum.anvil.mine(2)
    await poll_once(session_factory, "ARBITRUM")
    statuses = sorted(d.status for d in await deposits_of(session_factory, trader_id))
    assert statuses == ["credited", "dropped", "reversed"]
    assert await available(session_factory, trader_id) == "2.000000"
    await audit_clean(session_factory)


async def test_an_rpc_that_never_answers_times_out_to_the_fallback(
    session_factory: async_sessionmaker[AsyncSession], arbitrum: EvmChain, networks: Networks
) -> None:
    with socket.socket() as hole:  # accepts connections, never answers
        hole.bind(("127.0.0.1", 0))
        hole.listen(16)
        silent = f"http://127.0.0.1:{hole.getsockname()[1]}"
        configure(
            networks, arbitrum, confirmations=1, rpc_timeout_seconds=1, urls={"ARBITRUM": [silent, arbitrum.anvil.url]}
        )
        trader_id, address = await trader_with_address(session_factory, "ARBITRUM")
        arbitrum.send(address, arbitrum.usdt("4"))
        assert (await poll_once(session_factory, "ARBITRUM")).credited == 1
    assert await available(session_factory, trader_id) == "4.000000"
    async with session_factory() as session:
        cursor = await session.get(ChainCursor, "ARBITRUM")
    assert cursor is not None
    assert cursor.rpc_errors >= 1


async def test_the_owner_is_mailed_once_and_the_operators_on_a_reversal(
    session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain, networks: Networks, monkeypatch: Any
) -> None:
    from jivapay.adapters.resources import get_resources
    from jivapay.worker.actors.wallet import deposit_alert, deposit_credited
    from tests.fixtures.smtp import SMTPReceiver

    configure(networks, bsc, confirmations=1)
    trader = await make_user(session_factory, Role.TRADER, email="trader@example.com")
    async with atomic(session_factory) as session:
        made = await request_address(session, Actor.system("tests"), "trader", trader.id, "BEP20")
    await poll_once(session_factory, "BEP20")
    snapshot = bsc.anvil.snapshot()
    bsc.send(made.address, bsc.usdt("31.5"))
    await poll_once(session_factory, "BEP20")
    [deposit] = await deposits_of(session_factory, trader.id)
    resources = get_resources()
    with SMTPReceiver() as smtp:
        monkeypatch.setattr(
            resources,
            "settings",
            resources.settings.with_overrides(
                smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls="false", alert_emails="ops@example.com"
            ),
        )
        await deposit_credited.fn.__wrapped__(deposit_id=deposit.id)
        await deposit_credited.fn.__wrapped__(deposit_id=deposit.id)  # redelivered: sent once
        [mail] = await smtp.wait_for_async(1)
        assert mail["To"] == "trader@example.com"
        assert "31.500000 USDT deposit credited (BEP20)" in mail["Subject"]
        assert deposit.tx_hash in mail.get_body(("html",)).get_content()

        bsc.anvil.revert(snapshot)
        bsc.anvil.mine(3)
        await poll_once(session_factory, "BEP20")
        await deposit_alert.fn.__wrapped__(deposit_id=deposit.id)
        messages = await smtp.wait_for_async(2)
    assert messages[1]["To"] == "ops@example.com"
    assert "left the chain (reversed)" in messages[1]["Subject"]


async def test_an_unrecovered_reversal_flags_the_owners_withdrawals_for_review(
    session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain, networks: Networks
) -> None:
    from jivapay.services.ledger import posting
    from jivapay.services.wallet import withdrawals

    configure(networks, bsc, confirmations=1)
    trader_id, address = await trader_with_address(session_factory, "BEP20")
    await poll_once(session_factory, "BEP20")
    snapshot = bsc.anvil.snapshot()
    bsc.send(address, bsc.usdt("8"))
    await poll_once(session_factory, "BEP20")
    async with atomic(session_factory) as session:
        await posting.freeze(session, "trader", trader_id, 8_000_000, "test-hold")
    bsc.anvil.revert(snapshot)
    bsc.anvil.mine(3)
    await poll_once(session_factory, "BEP20")
    assert [d.status for d in await deposits_of(session_factory, trader_id)] == ["reversal_failed"]
    async with atomic(session_factory) as session:
        await posting.credit_deposit(session, "trader", trader_id, "BEP20", 50_000_000, "other")
        made, _ = await withdrawals.request_withdrawal(
            session, Actor.user(trader_id), "trader", trader_id, network="BEP20",
            to_address="0x00000000000000000000000000000000000BEEF1", amount="10", idempotency_key=None,
        )  # fmt: skip
    assert made.status == "requested"
    assert "fraud_flag" in made.approval_reasons
