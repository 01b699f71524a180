"""A real `jivapay worker` process SIGKILLed while it sends a withdrawal — after signing (before
sending) and after sending (before recording) — still yields exactly one transfer on the chain."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.chains.clients import client_for
from jivapay.adapters.chains.keys import HOT_WALLET_ACCOUNT, key_provider
from jivapay.adapters.db.models import Withdrawal, WithdrawalAttempt
from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import Role
from jivapay.domain.platform.audit import Actor
from jivapay.networks import get_network
from jivapay.services.ledger import posting
from jivapay.services.wallet import sender, withdrawals
from jivapay.settings import get_settings
from jivapay.worker import actors  # noqa: F401 - the relay finds the wallet's actors by name
from jivapay.worker.broker import broker
from jivapay.worker.relay import relay_pending
from tests.e2e.conftest import jivapay_env, spawn_jivapay
from tests.factories import make_user
from tests.fixtures.chains import EvmChain, Networks, network_entry, start_chain

pytestmark = pytest.mark.usefixtures("seeded")
RECIPIENT = "0x00000000000000000000000000000000000BEEF7"
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[tuple[EvmChain, Networks]]:
    fresh = start_chain("BEP20", 56, 18)
    networks = Networks(tmp_path)
    networks.configure({"BEP20": network_entry(fresh, confirmations=1)}, {"BEP20": [fresh.anvil.url]})
    yield fresh, networks
    networks.restore()
    fresh.anvil.close()


def transfers_to(chain: EvmChain, address: str) -> int:
    topic = "0x" + address.lower().removeprefix("0x").rjust(64, "0")
    query = {"fromBlock": "0x0", "toBlock": "latest", "address": chain.token, "topics": [TRANSFER_TOPIC, None, topic]}
    return len(chain.anvil.rpc("eth_getLogs", query))


async def _withdrawal(session_factory: async_sessionmaker[AsyncSession]) -> str:
    trader = await make_user(session_factory, Role.TRADER)
    async with atomic(session_factory) as session:
        await posting.credit_deposit(session, "trader", trader.id, "BEP20", 100_000_000, f"seed-{trader.id}")
        made, _ = await withdrawals.request_withdrawal(
            session, Actor.user(trader.id), "trader", trader.id, network="BEP20", to_address=RECIPIENT,
            amount="25", idempotency_key=None,
        )  # fmt: skip
        await withdrawals.approve(session, Actor.system("tests"), made.id)  # queues wallet.send_withdrawal
    return made.id


async def _state(session_factory: async_sessionmaker[AsyncSession], public_id: str) -> tuple[str, list[Any]]:
    async with session_factory() as session:
        w = await session.scalar(select(Withdrawal).where(Withdrawal.public_id == public_id))
        assert w is not None
        attempts = list(await session.scalars(select(WithdrawalAttempt).where(WithdrawalAttempt.withdrawal_id == w.id)))
    return w.status, attempts


@pytest.mark.parametrize("point", ["withdrawal.signed", "withdrawal.sent"])
async def test_a_worker_killed_mid_send_still_makes_one_transfer(
    point: str, chain: tuple[EvmChain, Networks], session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    evm, _ = chain
    keys = key_provider(get_settings().wallet_mnemonic)
    hot = keys.address("evm", 0, HOT_WALLET_ACCOUNT)
    evm.send(hot, evm.usdt("1000"))
    evm.anvil.rpc("anvil_setBalance", hot, hex(10**20))
    public_id = await _withdrawal(session_factory)
    env = jivapay_env(JIVAPAY_CHAOS_PAUSE_AT=point)  # the networks and the mnemonic are in the environment
    worker = spawn_jivapay(["worker", "--processes", "1", "--threads", "1"], env, tmp_path, tmp_path / "w.log")
    try:
        await relay_pending(session_factory, broker, 100)
        for _ in range(600):  # the worker signs (and, for "sent", sends), then stops at the point
            status, attempts = await _state(session_factory, public_id)
            sent = transfers_to(evm, RECIPIENT) == 1
            if status == "broadcast" and attempts and (point == "withdrawal.signed" or sent):
                break
            assert worker.poll() is None, (tmp_path / "w.log").read_text()
            await asyncio.sleep(0.1)
        else:
            raise AssertionError((tmp_path / "w.log").read_text())
        await asyncio.sleep(0.5)  # it is sitting at the point now
        assert "chaos: paused" in (tmp_path / "w.log").read_text()
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    [attempt] = attempts
    assert attempt.sent_at is None  # killed before recording anything of the send
    assert transfers_to(evm, RECIPIENT) == (0 if point == "withdrawal.signed" else 1)

    network = get_network("BEP20")
    assert network is not None
    for _ in range(3):  # the scheduler's next checks: the same signed bytes, then the confirmation
        await sender.check(network, session_factory, client_for, keys)
    status, attempts = await _state(session_factory, public_id)
    assert status == "completed"
    assert len(attempts) == 1
    assert transfers_to(evm, RECIPIENT) == 1
