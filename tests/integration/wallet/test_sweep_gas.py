"""Sweeps when gas misbehaves, on a fresh anvil each: a gas-tank transaction the node refuses (priced
under the base fee by the network's cap) alerts, then goes out with the same nonce once the cap is
raised, and the fuel queued behind it follows; a sweep transaction left behind by rising prices
gets its address refueled and is sped up with the same nonce. Exactly one fuel per line and one
sweep per address reach the chain, and the native gas every mined transaction paid is accounted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.chains.clients import client_for
from jivapay.adapters.chains.keys import GAS_TANK_ACCOUNT, HOT_WALLET_ACCOUNT, KeyProvider, key_provider
from jivapay.adapters.db.models import Sweep, SweepAttempt
from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import Role
from jivapay.domain.platform.audit import Actor
from jivapay.domain.wallet.networks import Network
from jivapay.networks import get_network
from jivapay.services.ledger.audit import audit_platform
from jivapay.services.wallet import sweeper, treasury
from jivapay.services.wallet.addresses import request_address
from jivapay.services.wallet.monitor import poll
from jivapay.settings import get_settings
from tests.factories import make_user
from tests.fixtures.chains import EvmChain, Networks, network_entry, start_chain

pytestmark = pytest.mark.usefixtures("seeded")
GWEI = 10**9


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[tuple[EvmChain, Networks]]:
    fresh = start_chain("BEP20", 56, 18)
    networks = Networks(tmp_path)
    yield fresh, networks
    networks.restore()
    fresh.anvil.close()


def configure(chain: EvmChain, networks: Networks, **overrides: Any) -> Network:
    entry = network_entry(chain, confirmations=1, sweep_threshold="5", stuck_after_seconds=60, **overrides)
    networks.configure({"BEP20": entry}, {"BEP20": [chain.anvil.url]})
    network = get_network("BEP20")
    assert network is not None
    return network


def keys() -> KeyProvider:
    return key_provider(get_settings().wallet_mnemonic)


def nonce_of(chain: EvmChain, address: str) -> int:
    return int(chain.anvil.rpc("eth_getTransactionCount", address, "latest"), 16)


def raise_base_fee(chain: EvmChain, gwei: int) -> None:
    chain.anvil.rpc("anvil_setNextBlockBaseFeePerGas", hex(gwei * GWEI))
    chain.anvil.rpc("evm_mine")


async def deposit_address(session_factory: async_sessionmaker[AsyncSession]) -> str:
    trader = await make_user(session_factory, Role.TRADER)
    async with atomic(session_factory) as session:
        return (await request_address(session, Actor.system("tests"), "trader", trader.id, "BEP20")).address


async def age_attempts(session_factory: async_sessionmaker[AsyncSession]) -> None:
    """As if the network's stuck_after_seconds had passed since every attempt was signed and sent."""
    async with atomic(session_factory) as session:
        await session.execute(
            text(
                "UPDATE wallet_sweep_attempts SET created_at = created_at - interval '1 hour',"
                " sent_at = sent_at - interval '1 hour'"
            )
        )


async def sweeps_and_attempts(
    session_factory: async_sessionmaker[AsyncSession],
) -> tuple[list[Sweep], list[SweepAttempt]]:
    async with session_factory() as session:
        sweeps = list(await session.scalars(select(Sweep).order_by(Sweep.id)))
        attempts = list(await session.scalars(select(SweepAttempt).order_by(SweepAttempt.id)))
    return sweeps, attempts


async def test_a_refused_fuel_waits_at_the_cap_then_goes_out_with_its_nonce_and_the_next_follows(
    session_factory: async_sessionmaker[AsyncSession], chain: tuple[EvmChain, Networks], monkeypatch: Any
) -> None:
    evm, networks = chain
    network = configure(evm, networks, max_gas_price_gwei=2)
    tank, hot = keys().address("evm", 0, GAS_TANK_ACCOUNT), keys().address("evm", 0, HOT_WALLET_ACCOUNT)
    evm.anvil.rpc("anvil_setBalance", tank, hex(10**19))
    first, second = await deposit_address(session_factory), await deposit_address(session_factory)
    evm.send(first, evm.usdt("50"))
    evm.send(second, evm.usdt("30"))
    await poll(network, session_factory, client_for)
    alerts: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(sweeper, "report_attention", lambda message, **facts: alerts.append((message, facts)))
    tank_nonce = nonce_of(evm, tank)

    raise_base_fee(evm, 30)  # gas now costs far more than the network's cap of 2 gwei
    await sweeper.sweep_pass(network, session_factory, client_for, keys())  # both sweeps open
    await sweeper.sweep_pass(network, session_factory, client_for, keys())  # both fuels signed: refused
    sweeps, attempts = await sweeps_and_attempts(session_factory)
    assert [s.status for s in sweeps] == ["fueling", "fueling"]
    assert [a.nonce for a in attempts] == [tank_nonce, tank_nonce + 1]
    assert all(a.sent_at is None and "base fee" in (a.last_error or "") for a in attempts)
    assert nonce_of(evm, tank) == tank_nonce  # nothing went out: a gap at the first nonce

    await age_attempts(session_factory)
    await sweeper.sweep_pass(network, session_factory, client_for, keys())
    sweeps, attempts = await sweeps_and_attempts(session_factory)
    assert [s.stuck_reason for s in sweeps] == [sweeper.AT_CAP, sweeper.AT_CAP]
    assert len(attempts) == 2  # nothing to speed up to under the cap
    assert [m for m, _ in alerts].count("a sweep is stuck") == 2
    await sweeper.sweep_pass(network, session_factory, client_for, keys())
    assert [m for m, _ in alerts].count("a sweep is stuck") == 2  # told once per sweep

    network = configure(evm, networks, max_gas_price_gwei=100)  # the operator raises the cap
    for _ in range(5):
        await sweeper.sweep_pass(network, session_factory, client_for, keys())
    sweeps, attempts = await sweeps_and_attempts(session_factory)
    assert [s.status for s in sweeps] == ["done", "done"], [
        (a.step, a.nonce, a.gas_price, a.last_error, a.mined) for a in attempts
    ]
    assert nonce_of(evm, tank) == tank_nonce + 2  # two fuels, the gap filled by the first one's nonce
    fuels = [a for a in attempts if a.step == "fuel"]
    assert [a.nonce for a in fuels] == [tank_nonce, tank_nonce + 1, tank_nonce, tank_nonce + 1]
    mined = [a for a in fuels if a.mined]
    assert [a.nonce for a in mined] == [tank_nonce, tank_nonce + 1]
    for attempt in mined:  # a native transfer: 21,000 gas at the attempt's price
        assert int(attempt.gas_fee or 0) == 21_000 * int(attempt.gas_price or 0)
    assert evm.anvil.balance_of(evm.token, hot) == evm.usdt("80")
    assert nonce_of(evm, first) == nonce_of(evm, second) == 1

    async with session_factory() as session:  # the operators' list: each sweep with every attempt it signed
        listed = await treasury.recent_sweeps(session, "BEP20", 10)
    assert sorted(len(v.attempts) for v in listed) == [3, 3]  # two fuel attempts (same nonce) and the sweep
    view = await treasury.network_treasury(network, session_factory, client_for, keys())
    sweep_gas = sum(int(a.gas_fee or 0) for a in attempts if a.step == "sweep" and a.mined)
    assert view.native_spent["fuel_sent"] == str(sum(int(a.amount or 0) for a in mined))
    assert view.native_spent["fuel_gas"] == str(sum(int(a.gas_fee or 0) for a in mined))
    assert view.native_spent["sweep_gas"] == str(sweep_gas) != "0"
    assert int(view.native_spent["fuel_left"]) == int(view.native_spent["fuel_sent"]) - sweep_gas
    on_chain_left = sum(int(evm.anvil.rpc("eth_getBalance", a, "latest"), 16) for a in (first, second))
    assert on_chain_left == int(view.native_spent["fuel_left"])  # the leftovers, to the wei
    assert not view.flagged
    async with session_factory() as session:
        assert (await audit_platform(session)).ok


async def test_a_sweep_left_behind_by_rising_gas_is_refueled_and_sped_up_with_its_nonce(
    session_factory: async_sessionmaker[AsyncSession], chain: tuple[EvmChain, Networks]
) -> None:
    evm, networks = chain
    network = configure(evm, networks, max_gas_price_gwei=100)
    tank, hot = keys().address("evm", 0, GAS_TANK_ACCOUNT), keys().address("evm", 0, HOT_WALLET_ACCOUNT)
    evm.anvil.rpc("anvil_setBalance", tank, hex(10**19))
    address = await deposit_address(session_factory)
    evm.send(address, evm.usdt("50"))
    await poll(network, session_factory, client_for)
    for _ in range(4):  # opened, fueled, fuel mined: ready to sweep
        await sweeper.sweep_pass(network, session_factory, client_for, keys())
        [sweep], _ = await sweeps_and_attempts(session_factory)
        if sweep.status == "sweeping":
            break
    assert sweep.status == "sweeping"

    evm.anvil.rpc("evm_setAutomine", False)
    await sweeper.sweep_pass(network, session_factory, client_for, keys())  # the sweep signed and pending
    _, attempts = await sweeps_and_attempts(session_factory)
    [first_sweep] = [a for a in attempts if a.step == "sweep"]
    assert first_sweep.nonce == 0
    assert first_sweep.sent_at is not None
    raise_base_fee(evm, 30)  # the pending sweep is priced out of the blocks
    assert evm.anvil.rpc("eth_getTransactionReceipt", first_sweep.tx_hash) is None

    await age_attempts(session_factory)
    await sweeper.sweep_pass(network, session_factory, client_for, keys())
    [sweep], _ = await sweeps_and_attempts(session_factory)
    assert sweep.status == "fueling"
    assert sweep.stuck_reason == sweeper.REFUELING
    await sweeper.sweep_pass(network, session_factory, client_for, keys())  # the top-up signed and sent
    evm.anvil.rpc("evm_mine")
    await sweeper.sweep_pass(network, session_factory, client_for, keys())  # mined: back to sweeping
    [sweep], _ = await sweeps_and_attempts(session_factory)
    assert sweep.status == "sweeping"

    await age_attempts(session_factory)
    await sweeper.sweep_pass(network, session_factory, client_for, keys())  # sped up: same nonce
    evm.anvil.rpc("evm_mine")
    await sweeper.sweep_pass(network, session_factory, client_for, keys())
    [sweep], attempts = await sweeps_and_attempts(session_factory)
    assert sweep.status == "done"
    sweeps_signed = [a for a in attempts if a.step == "sweep"]
    assert [a.nonce for a in sweeps_signed] == [0, 0]
    assert [a.mined for a in sweeps_signed] == [False, True]
    assert int(sweeps_signed[1].gas_price or 0) > int(sweeps_signed[0].gas_price or 0)
    assert len([a for a in attempts if a.step == "fuel" and a.mined]) == 2  # the first fuel and the top-up
    assert nonce_of(evm, address) == 1  # one sweep transaction
    assert evm.anvil.balance_of(evm.token, hot) == evm.usdt("50")
    assert evm.anvil.balance_of(evm.token, address) == 0
    evm.anvil.rpc("evm_setAutomine", True)
