"""A real `jivapay worker` process SIGKILLed while it sends a withdrawal — after signing (before
sending) and after sending (before recording) — still yields exactly one transfer on the chain;
and while it sweeps a deposit address, on anvil and on the TRON simulator — after signing the
gas tank's fuel, and after signing the sweep itself (both before sending) — still yields one fuel
transfer and one sweep, resumed by the next passes with the same signed bytes."""

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
from jivapay.adapters.chains.keys import GAS_TANK_ACCOUNT, HOT_WALLET_ACCOUNT, key_provider
from jivapay.adapters.db.models import Sweep, SweepAttempt, Withdrawal, WithdrawalAttempt
from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import Role
from jivapay.domain.platform.audit import Actor
from jivapay.networks import get_network
from jivapay.services.ledger import posting
from jivapay.services.platform.outbox import enqueue_after_commit
from jivapay.services.wallet import sender, sweeper, withdrawals
from jivapay.services.wallet.addresses import request_address
from jivapay.services.wallet.monitor import poll
from jivapay.settings import get_settings
from jivapay.worker import actors  # noqa: F401 - the relay finds the wallet's actors by name
from jivapay.worker.broker import broker
from jivapay.worker.relay import relay_pending
from tests.e2e.conftest import jivapay_env, spawn_jivapay
from tests.factories import make_user
from tests.fixtures.chains import EvmChain, Networks, network_entry, start_chain
from tests.fixtures.tron import TronSimulator

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


# --- sweeps ------------------------------------------------------------------------------------


class SweptChain:
    """One network with a credited deposit on a fresh deposit address, on anvil or the TRON simulator."""

    def __init__(self, name: str, tmp_path: Path) -> None:
        self.name = name
        self.networks = Networks(tmp_path)
        self.evm: EvmChain | None = None
        self.tron: TronSimulator | None = None
        self.keys = key_provider(get_settings().wallet_mnemonic)
        family = "evm" if name == "BEP20" else "tron"
        self.tank = self.keys.address(family, 0, GAS_TANK_ACCOUNT)
        self.hot = self.keys.address(family, 0, HOT_WALLET_ACCOUNT)
        if name == "BEP20":
            self.evm = start_chain("BEP20", 56, 18)
            entry = network_entry(self.evm, confirmations=1, sweep_threshold="5")
            self.networks.configure({"BEP20": entry}, {"BEP20": [self.evm.anvil.url]})
            self.evm.anvil.rpc("anvil_setBalance", self.tank, hex(10**19))
        else:
            self.tron = TronSimulator().start()
            self.tron.solidify_lag = 1
            entry = {
                "token_contract": self.tron.token_address,
                "confirmations": 1,
                "start_block": self.tron.head_number + 1,
                "sweep_threshold": "5",
            }
            self.networks.configure({"TRC20": entry}, {"TRC20": [self.tron.url]})
            self.tron.fund_trx(self.tank, 1_000 * 10**6)
            self.tron.mint(self.hot, 1)

    @property
    def amount(self) -> int:
        return self.evm.usdt("40") if self.evm is not None else 40 * 10**6

    async def deposit(self, session_factory: async_sessionmaker[AsyncSession]) -> str:
        trader = await make_user(session_factory, Role.TRADER)
        async with atomic(session_factory) as session:
            made = await request_address(session, Actor.system("tests"), "trader", trader.id, self.name)
        if self.evm is not None:
            self.evm.send(made.address, self.amount)
        else:
            assert self.tron is not None
            from tronpy.keys import PrivateKey

            payer = PrivateKey.random()
            self.tron.fund_trx(payer.public_key.to_base58check_address(), 100 * 10**6)
            self.tron.mint(payer.public_key.to_base58check_address(), self.amount)
            self.tron.send_trc20(payer, made.address, self.amount)
            self.tron.mine(3)
        network = get_network(self.name)
        assert network is not None
        await poll(network, session_factory, client_for)
        return made.address

    async def sweep_pass(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        network = get_network(self.name)
        assert network is not None
        await sweeper.sweep_pass(network, session_factory, client_for, self.keys)
        if self.tron is not None:
            self.tron.mine(1)

    def token(self, address: str) -> int:
        if self.evm is not None:
            return self.evm.anvil.balance_of(self.evm.token, address)
        assert self.tron is not None
        return self.tron.token_balance(address)

    def native(self, address: str) -> int:
        if self.evm is not None:
            return int(self.evm.anvil.rpc("eth_getBalance", address, "latest"), 16)
        assert self.tron is not None
        return self.tron.trx_balance(address)

    def close(self) -> None:
        self.networks.restore()
        if self.evm is not None:
            self.evm.anvil.close()
        if self.tron is not None:
            self.tron.close()


async def _sweep_state(session_factory: async_sessionmaker[AsyncSession]) -> tuple[Sweep, list[SweepAttempt]]:
    async with session_factory() as session:
        [sweep] = list(await session.scalars(select(Sweep)))
        attempts = list(await session.scalars(select(SweepAttempt).order_by(SweepAttempt.id)))
    return sweep, attempts


@pytest.mark.parametrize("name", ["BEP20", "TRC20"])
@pytest.mark.parametrize("point", ["sweep.fuel_signed", "sweep.signed"])
async def test_a_worker_killed_mid_sweep_still_makes_one_fuel_and_one_sweep(
    name: str, point: str, session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    chain = SweptChain(name, tmp_path)
    try:
        address = await chain.deposit(session_factory)
        hot_before = chain.token(chain.hot)
        await chain.sweep_pass(session_factory)  # the sweep opens: fueling
        step = "fuel" if point == "sweep.fuel_signed" else "sweep"
        if step == "sweep":  # fuel it first, in this process
            for _ in range(6):
                await chain.sweep_pass(session_factory)
                sweep, attempts = await _sweep_state(session_factory)
                if sweep.status == "sweeping":
                    break
            assert sweep.status == "sweeping"
        native_before, token_before = chain.native(address), chain.token(address)

        env = jivapay_env(JIVAPAY_CHAOS_PAUSE_AT=point)  # the networks and the mnemonic are in the environment
        log = tmp_path / "w.log"
        worker = spawn_jivapay(["worker", "--processes", "1", "--threads", "1"], env, tmp_path, log)
        try:
            async with atomic(session_factory) as session:
                await enqueue_after_commit(session, "wallet.sweep", network=name)
            await relay_pending(session_factory, broker, 100)
            for _ in range(600):  # the worker signs the step's transaction and stops at the point
                _, attempts = await _sweep_state(session_factory)
                if any(a.step == step for a in attempts) and "chaos: paused" in log.read_text():
                    break
                assert worker.poll() is None, log.read_text()
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(log.read_text())
        finally:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
        [signed] = [a for a in attempts if a.step == step]
        assert signed.sent_at is None  # killed before sending
        if chain.tron is not None:
            chain.tron.mine(1)
        assert (chain.native(address), chain.token(address)) == (native_before, token_before)  # nothing went out

        for _ in range(8):  # the scheduler's next passes: the same signed bytes, then the rest
            await chain.sweep_pass(session_factory)
        sweep, attempts = await _sweep_state(session_factory)
        assert sweep.status == "done"
        assert [a.step for a in attempts] == ["fuel", "sweep"]  # one of each, nothing re-signed
        assert all(a.mined for a in attempts)
        assert next(a for a in attempts if a.step == step).tx_hash == signed.tx_hash
        assert chain.token(address) == 0
        assert chain.token(chain.hot) - hot_before == chain.amount  # swept once
        fuel, swept = attempts
        # one fuel, exactly: what the address holds is what it was sent less the sweep's gas
        assert chain.native(address) == int(fuel.amount or 0) - int(swept.gas_fee or 0)
    finally:
        chain.close()
