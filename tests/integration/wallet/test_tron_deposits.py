"""The deposit monitor on TRON, against the TRON simulator (tests/fixtures/tron.py): the same
scenarios as on EVM — credit once after confirmations and solidification, restarts and rescans,
reorgs of unsolidified blocks, failing nodes and the fallback URL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tronpy.keys import PrivateKey

from jivapay.adapters.chains.clients import client_for
from jivapay.adapters.db.models import ChainCursor, Deposit
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
from tests.fixtures.chains import Networks
from tests.fixtures.tron import TronSimulator

pytestmark = pytest.mark.usefixtures("seeded")
USDT = 10**6


def open_tron(networks: Networks, sim: TronSimulator, urls: list[str] | None = None, **overrides: Any) -> None:
    entry: dict[str, Any] = {
        "token_contract": sim.token_address,
        "confirmations": 3,
        "max_block_range": 10,
        "start_block": sim.head_number + 1,
        "rpc_timeout_seconds": 2,
        **overrides,
    }
    networks.configure({"TRC20": entry}, {"TRC20": urls or [sim.url]})


def funded(sim: TronSimulator, usdt: int = 1_000_000) -> PrivateKey:
    key = PrivateKey.random()
    sim.fund_trx(key.public_key.to_base58check_address(), 1_000 * 10**6)
    sim.mint(key.public_key.to_base58check_address(), usdt * USDT)
    return key


async def poll_once(session_factory: async_sessionmaker[AsyncSession], **kwargs: Any) -> PollReport:
    network = get_network("TRC20")
    assert network is not None
    return await poll(network, session_factory, client_for, **kwargs)


async def trader_with_address(session_factory: async_sessionmaker[AsyncSession]) -> tuple[int, str]:
    trader = await make_user(session_factory, Role.TRADER)
    async with atomic(session_factory) as session:
        made = await request_address(session, Actor.system("tests"), "trader", trader.id, "TRC20")
    assert made.address.startswith("T")
    return trader.id, made.address


async def state(session_factory: async_sessionmaker[AsyncSession], trader_id: int) -> tuple[str, list[str]]:
    async with session_factory() as session:
        found = await balances.owner_balances(session, "trader", [trader_id])
        rows = await session.scalars(select(Deposit.status).where(Deposit.owner_id == trader_id).order_by(Deposit.id))
        return str(found[trader_id]["available"].text), list(rows)


async def test_a_trc20_deposit_is_credited_once_when_confirmed_and_solidified(
    session_factory: async_sessionmaker[AsyncSession], tron_sim: TronSimulator, networks: Networks
) -> None:
    tron_sim.solidify_lag = 5
    open_tron(networks, tron_sim)
    trader_id, address = await trader_with_address(session_factory)
    tron_sim.send_trc20(funded(tron_sim), address, 42 * USDT + 5)
    tron_sim.mine(1)
    report = await poll_once(session_factory)
    assert report.recorded == 1
    assert await state(session_factory, trader_id) == ("0.000000", ["pending"])

    tron_sim.mine(3)  # 4 confirmations, but not solidified yet (lag 5)
    assert (await poll_once(session_factory)).credited == 0
    tron_sim.mine(2)
    assert (await poll_once(session_factory)).credited == 1
    assert await state(session_factory, trader_id) == ("42.000005", ["credited"])
    tron_sim.mine(3)
    assert (await poll_once(session_factory)).credited == 0
    assert await state(session_factory, trader_id) == ("42.000005", ["credited"])
    async with session_factory() as session:
        assert (await audit_platform(session)).ok


async def test_restart_and_rescan_on_tron_credit_nothing_twice(
    session_factory: async_sessionmaker[AsyncSession], tron_sim: TronSimulator, networks: Networks
) -> None:
    tron_sim.solidify_lag = 1
    open_tron(networks, tron_sim, confirmations=1, max_block_range=2)
    trader_id, address = await trader_with_address(session_factory)
    key = funded(tron_sim)
    for amount in (1, 2, 3, 4):
        tron_sim.send_trc20(key, address, amount * USDT)
        tron_sim.mine(1)
    tron_sim.mine(2)
    first = await poll_once(session_factory, max_steps=1)
    assert first.steps == 1
    await poll_once(session_factory)
    assert (await state(session_factory, trader_id))[0] == "10.000000"
    async with atomic(session_factory) as session:
        cursor = await session.get(ChainCursor, "TRC20")
        assert cursor is not None
        cursor.next_block = get_network("TRC20").start_block  # type: ignore[union-attr]
    again = await poll_once(session_factory)
    assert (again.recorded, again.credited) == (0, 0)
    assert await state(session_factory, trader_id) == ("10.000000", ["credited"] * 4)


async def test_a_reorg_of_unsolidified_blocks_drops_the_pending_deposit(
    session_factory: async_sessionmaker[AsyncSession], tron_sim: TronSimulator, networks: Networks
) -> None:
    tron_sim.solidify_lag = 10
    open_tron(networks, tron_sim)
    trader_id, address = await trader_with_address(session_factory)
    tron_sim.mine(1)
    await poll_once(session_factory)
    tron_sim.send_trc20(funded(tron_sim), address, 9 * USDT)
    tron_sim.mine(2)
    await poll_once(session_factory)
    assert await state(session_factory, trader_id) == ("0.000000", ["pending"])
    tron_sim.reorg(3)  # the transfer's block and the ones after it are replaced
    tron_sim.mine(1)
    report = await poll_once(session_factory)
    assert report.rewound_to is not None
    assert report.dropped == 1
    tron_sim.mine(12)
    await poll_once(session_factory)
    assert await state(session_factory, trader_id) == ("0.000000", ["dropped"])


@pytest.mark.parametrize("mode", ["500", "garbage", "rate_limit", "timeout"])
async def test_a_failing_node_answer_moves_to_the_fallback_url(
    session_factory: async_sessionmaker[AsyncSession], tron_sim: TronSimulator, networks: Networks, mode: str
) -> None:
    tron_sim.solidify_lag = 1
    tron_sim.timeout_seconds = 4  # longer than the client's 2 s
    open_tron(networks, tron_sim, urls=[tron_sim.url, tron_sim.url + "/"], confirmations=1)
    trader_id, address = await trader_with_address(session_factory)
    tron_sim.send_trc20(funded(tron_sim), address, 5 * USDT)
    tron_sim.mine(3)
    tron_sim.fail_next(1, mode)
    assert (await poll_once(session_factory)).credited == 1
    async with session_factory() as session:
        cursor = await session.get(ChainCursor, "TRC20")
    assert cursor is not None
    assert cursor.rpc_errors == 1
    assert await state(session_factory, trader_id) == ("5.000000", ["credited"])


async def test_a_node_that_keeps_failing_fails_the_poll_and_is_recorded(
    session_factory: async_sessionmaker[AsyncSession], tron_sim: TronSimulator, networks: Networks
) -> None:
    open_tron(networks, tron_sim)
    await poll_once(session_factory)
    tron_sim.fail_next(10, "500")
    with pytest.raises(ChainUnavailable):
        await poll_once(session_factory)
    async with session_factory() as session:
        cursor = await session.get(ChainCursor, "TRC20")
    assert cursor is not None
    assert cursor.last_error is not None


async def test_a_transfer_re_mined_in_another_block_is_followed_and_credited_once(
    session_factory: async_sessionmaker[AsyncSession], tron_sim: TronSimulator, networks: Networks
) -> None:
    import httpx

    tron_sim.solidify_lag = 6
    open_tron(networks, tron_sim, confirmations=3)
    trader_id, address = await trader_with_address(session_factory)
    tron_sim.mine(1)
    await poll_once(session_factory)
    txid = tron_sim.send_trc20(funded(tron_sim), address, 11 * USDT)
    tron_sim.mine(1)
    await poll_once(session_factory)
    async with httpx.AsyncClient(base_url=tron_sim.url) as node:
        signed = (await node.post("/wallet/gettransactionbyid", json={"value": txid})).json()
    async with session_factory() as session:
        [before] = list(await session.scalars(select(Deposit).where(Deposit.owner_id == trader_id)))

    tron_sim.reorg(1)  # the block with the transfer is replaced; the signed transaction comes back
    async with httpx.AsyncClient(base_url=tron_sim.url) as node:
        answer = (await node.post("/wallet/broadcasttransaction", json=signed)).json()
    assert answer["result"] is True
    tron_sim.mine(1)
    await poll_once(session_factory)
    async with session_factory() as session:
        [after] = list(await session.scalars(select(Deposit).where(Deposit.owner_id == trader_id)))
    assert (after.id, after.tx_hash, after.status) == (before.id, before.tx_hash, "pending")
    assert after.block_number == before.block_number + 1
    assert after.block_hash != before.block_hash
    tron_sim.mine(8)
    await poll_once(session_factory)
    assert await state(session_factory, trader_id) == ("11.000000", ["credited"])


async def test_a_trc20_withdrawal_is_signed_offline_sent_once_and_confirmed(
    session_factory: async_sessionmaker[AsyncSession], tron_sim: TronSimulator, networks: Networks
) -> None:
    from jivapay.adapters.chains.keys import HOT_WALLET_ACCOUNT, key_provider
    from jivapay.services.ledger import posting
    from jivapay.services.wallet import sender, withdrawals
    from jivapay.settings import get_settings

    tron_sim.solidify_lag = 2
    open_tron(networks, tron_sim, confirmations=2, withdrawal_fee="2", min_withdrawal="10")
    keys = key_provider(get_settings().wallet_mnemonic)
    hot = keys.address("tron", 0, HOT_WALLET_ACCOUNT)
    tron_sim.fund_trx(hot, 500 * 10**6)
    tron_sim.mint(hot, 10_000 * USDT)
    recipient = PrivateKey.random().public_key.to_base58check_address()
    trader = await make_user(session_factory, Role.TRADER)
    async with atomic(session_factory) as session:
        await posting.credit_deposit(session, "trader", trader.id, "TRC20", 300 * USDT, "seed")
        made, _ = await withdrawals.request_withdrawal(
            session, Actor.user(trader.id), "trader", trader.id, network="TRC20", to_address=recipient,
            amount="250", idempotency_key="t-1",
        )  # fmt: skip
        await withdrawals.approve(session, Actor.system("tests"), made.id)
    network = get_network("TRC20")
    assert network is not None
    first = await sender.check(network, session_factory, client_for, keys)
    second = await sender.check(network, session_factory, client_for, keys)  # a duplicate: re-sends, DUP
    assert (first.signed, second.signed) == (1, 0)
    tron_sim.mine(1)
    assert tron_sim.token_balance(recipient) == 250 * USDT
    assert (await sender.check(network, session_factory, client_for, keys)).completed == 0  # not solidified yet
    tron_sim.mine(3)
    assert (await sender.check(network, session_factory, client_for, keys)).completed == 1
    assert tron_sim.token_balance(recipient) == 250 * USDT
    assert await state(session_factory, trader.id) == ("48.000000", [])
    async with session_factory() as session:
        assert (await audit_platform(session)).ok
