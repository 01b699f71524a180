"""Sweeping deposit addresses into the hot wallet, with gas fueling from the gas tank, on anvil and
the TRON simulator; a sweeper killed mid-way resumes and sends nothing twice."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tronpy.keys import PrivateKey

from jivapay.adapters.chains.clients import client_for
from jivapay.adapters.chains.keys import GAS_TANK_ACCOUNT, HOT_WALLET_ACCOUNT, KeyProvider, key_provider
from jivapay.adapters.db.models import Sweep
from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import Role
from jivapay.domain.platform.audit import Actor
from jivapay.domain.wallet.networks import Network
from jivapay.networks import get_network
from jivapay.services.ledger.audit import audit_platform
from jivapay.services.wallet import sweeper
from jivapay.services.wallet.addresses import request_address
from jivapay.services.wallet.monitor import poll
from jivapay.settings import get_settings
from tests.factories import make_user
from tests.fixtures.chains import EvmChain, Networks, network_entry
from tests.fixtures.tron import TronSimulator

pytestmark = pytest.mark.usefixtures("seeded")


def keys() -> KeyProvider:
    return key_provider(get_settings().wallet_mnemonic)


async def address_of_new_trader(session_factory: async_sessionmaker[AsyncSession], network: str) -> str:
    trader = await make_user(session_factory, Role.TRADER)
    async with atomic(session_factory) as session:
        return (await request_address(session, Actor.system("tests"), "trader", trader.id, network)).address


async def sweep_until_done(
    session_factory: async_sessionmaker[AsyncSession], name: str, passes: int = 6
) -> list[Sweep]:
    network = get_network(name)
    assert network is not None
    for _ in range(passes):
        await sweeper.sweep_pass(network, session_factory, client_for, keys())
    async with session_factory() as session:
        return list(await session.scalars(select(Sweep).order_by(Sweep.id)))


async def tron_deposit(
    session_factory: async_sessionmaker[AsyncSession], tron_sim: TronSimulator, networks: Networks, amount: int
) -> tuple[Network, str]:
    """TRC20 on the simulator (sweep threshold 5 USDT), a funded gas tank, a hot wallet already
    holding the token (a cheaper transfer), and ``amount`` credited to a new trader's address."""
    tron_sim.solidify_lag = 1
    entry = {
        "token_contract": tron_sim.token_address,
        "confirmations": 1,
        "start_block": tron_sim.head_number + 1,
        "sweep_threshold": "5",
    }
    networks.configure({"TRC20": entry}, {"TRC20": [tron_sim.url]})
    tron_sim.fund_trx(keys().address("tron", 0, GAS_TANK_ACCOUNT), 1_000 * 10**6)
    tron_sim.mint(keys().address("tron", 0, HOT_WALLET_ACCOUNT), 1)
    payer = PrivateKey.random()
    tron_sim.fund_trx(payer.public_key.to_base58check_address(), 100 * 10**6)
    tron_sim.mint(payer.public_key.to_base58check_address(), amount)
    address = await address_of_new_trader(session_factory, "TRC20")
    tron_sim.send_trc20(payer, address, amount)
    tron_sim.mine(3)
    network = get_network("TRC20")
    assert network is not None
    await poll(network, session_factory, client_for)
    return network, address


def native_nonce(chain: EvmChain, address: str) -> int:
    return int(chain.anvil.rpc("eth_getTransactionCount", address, "latest"), 16)


async def test_an_evm_deposit_address_is_fueled_then_swept_once(
    session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain, networks: Networks
) -> None:
    networks.configure({"BEP20": network_entry(bsc, confirmations=1, sweep_threshold="5")}, {"BEP20": [bsc.anvil.url]})
    tank = keys().address("evm", 0, GAS_TANK_ACCOUNT)
    hot = keys().address("evm", 0, HOT_WALLET_ACCOUNT)
    bsc.anvil.rpc("anvil_setBalance", tank, hex(10**19))
    address = await address_of_new_trader(session_factory, "BEP20")
    bsc.send(address, bsc.usdt("50"))
    network = get_network("BEP20")
    assert network is not None
    await poll(network, session_factory, client_for)  # credited
    hot_before, tank_nonce = bsc.anvil.balance_of(bsc.token, hot), native_nonce(bsc, tank)

    [sweep] = await sweep_until_done(session_factory, "BEP20")
    assert sweep.status == "done"
    assert int(sweep.fuel_amount or 0) > 0
    assert int(sweep.raw_amount or 0) == bsc.usdt("50")
    assert bsc.anvil.balance_of(bsc.token, address) == 0
    assert bsc.anvil.balance_of(bsc.token, hot) - hot_before == bsc.usdt("50")
    assert native_nonce(bsc, tank) == tank_nonce + 1  # one fuel transfer
    assert native_nonce(bsc, address) == 1  # one sweep
    assert len(await sweep_until_done(session_factory, "BEP20", passes=2)) == 1  # nothing new to sweep
    async with session_factory() as session:
        assert (await audit_platform(session)).ok

    # a new deposit after the sweep: swept again (the address still has fuel left: no fueling)
    bsc.send(address, bsc.usdt("7"))
    await poll(network, session_factory, client_for)
    sweeps = await sweep_until_done(session_factory, "BEP20")
    assert [s.status for s in sweeps] == ["done", "done"]
    assert bsc.anvil.balance_of(bsc.token, hot) - hot_before == bsc.usdt("57")


async def test_a_sweeper_killed_after_signing_resumes_without_a_second_transfer(
    session_factory: async_sessionmaker[AsyncSession], arbitrum: EvmChain, networks: Networks, monkeypatch: Any
) -> None:
    from jivapay.adapters.chains import evm

    networks.configure(
        {"ARBITRUM": network_entry(arbitrum, confirmations=1, sweep_threshold="5")}, {"ARBITRUM": [arbitrum.anvil.url]}
    )
    tank = keys().address("evm", 0, GAS_TANK_ACCOUNT)
    arbitrum.anvil.rpc("anvil_setBalance", tank, hex(10**19))
    address = await address_of_new_trader(session_factory, "ARBITRUM")
    arbitrum.send(address, arbitrum.usdt("20"))
    network = get_network("ARBITRUM")
    assert network is not None
    await poll(network, session_factory, client_for)
    tank_nonce = native_nonce(arbitrum, tank)

    real_send = evm.EvmClient.send
    calls = {"n": 0}

    async def dies_once(self: Any, signed: str) -> Any:
        calls["n"] += 1
        if calls["n"] in (1, 3):  # the fuel's first send and the sweep's first send never happen
            raise SystemExit("killed")
        return await real_send(self, signed)

    monkeypatch.setattr(evm.EvmClient, "send", dies_once)
    for _ in range(8):
        with contextlib.suppress(SystemExit):
            await sweeper.sweep_pass(network, session_factory, client_for, keys())
    async with session_factory() as session:
        [sweep] = list(await session.scalars(select(Sweep)))
    assert sweep.status == "done"
    assert native_nonce(arbitrum, tank) == tank_nonce + 1
    assert native_nonce(arbitrum, address) == 1
    assert arbitrum.anvil.balance_of(arbitrum.token, address) == 0


async def test_a_tron_deposit_address_gets_trx_then_is_swept(
    session_factory: async_sessionmaker[AsyncSession], tron_sim: TronSimulator, networks: Networks
) -> None:
    network, address = await tron_deposit(session_factory, tron_sim, networks, 80 * 10**6)
    hot = keys().address("tron", 0, HOT_WALLET_ACCOUNT)
    for _ in range(6):
        await sweeper.sweep_pass(network, session_factory, client_for, keys())
        tron_sim.mine(1)
    async with session_factory() as session:
        [sweep] = list(await session.scalars(select(Sweep)))
    assert sweep.status == "done"
    assert tron_sim.token_balance(address) == 0
    assert tron_sim.token_balance(hot) == 80 * 10**6 + 1
    assert tron_sim.trx_balance(address) > 0  # the fuel's leftover, kept on the sweep's record


async def test_a_tron_fuel_that_expired_unsent_is_signed_anew_and_only_one_arrives(
    session_factory: async_sessionmaker[AsyncSession], tron_sim: TronSimulator, networks: Networks, monkeypatch: Any
) -> None:
    from jivapay.adapters.chains import tron
    from jivapay.adapters.db.models import SweepAttempt

    network, address = await tron_deposit(session_factory, tron_sim, networks, 10 * 10**6)

    real_send = tron.TronClient.send
    calls = {"n": 0}

    async def dies_first(self: Any, signed: str) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:  # the first fuel is signed and stored, and the sweeper dies before sending it
            raise SystemExit("killed")
        return await real_send(self, signed)

    monkeypatch.setattr(tron.TronClient, "send", dies_first)
    await sweeper.sweep_pass(network, session_factory, client_for, keys())  # opened
    with contextlib.suppress(SystemExit):
        await sweeper.sweep_pass(network, session_factory, client_for, keys())
    tron_sim.advance_time(tron.TRON_EXPIRATION_MS / 1000 + 120)  # the sweeper comes back too late
    tron_sim.mine(1)
    for _ in range(10):
        await sweeper.sweep_pass(network, session_factory, client_for, keys())
        tron_sim.mine(1)
    async with session_factory() as session:
        [sweep] = list(await session.scalars(select(Sweep)))
        attempts = list(await session.scalars(select(SweepAttempt).order_by(SweepAttempt.id)))
    assert sweep.status == "done"
    expired, fuel, swept = attempts
    assert (expired.step, expired.mined, expired.sent_at) == ("fuel", False, None)
    assert expired.closed_at is not None  # its line ended: it can never be mined
    assert (fuel.step, fuel.mined, swept.step, swept.mined) == ("fuel", True, "sweep", True)
    assert tron_sim.token_balance(address) == 0
    assert tron_sim.trx_balance(address) == int(fuel.amount or 0) - int(swept.gas_fee or 0)  # one fuel arrived
