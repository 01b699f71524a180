"""The operators' view: hot wallet and gas tank on chain, and chain against ledger after deposits,
a sweep and a withdrawal (on a chain of its own, so nothing from other tests sits on the wallets)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.chains.clients import client_for
from jivapay.adapters.chains.keys import GAS_TANK_ACCOUNT, HOT_WALLET_ACCOUNT, key_provider
from jivapay.adapters.db.uow import atomic
from jivapay.domain.platform.audit import Actor
from jivapay.networks import get_network
from jivapay.services.ledger.audit import audit_platform
from jivapay.services.wallet import sender, sweeper, treasury, withdrawals
from jivapay.services.wallet.monitor import poll
from jivapay.settings import get_settings
from tests.fixtures.chains import EvmChain, Networks, network_entry, start_chain

pytestmark = pytest.mark.usefixtures("seeded")


@pytest.fixture
def chain() -> Iterator[EvmChain]:
    fresh = start_chain("BEP20", 56, 18)
    yield fresh
    fresh.anvil.close()


async def test_chain_and_ledger_reconcile_through_deposit_sweep_and_withdrawal(
    trader_api: Any, admin_api: Any, client: Any, session_factory: async_sessionmaker[AsyncSession],
    chain: EvmChain, networks: Networks,
) -> None:  # fmt: skip
    networks.configure(
        {"BEP20": network_entry(chain, confirmations=1, sweep_threshold="5")}, {"BEP20": [chain.anvil.url]}
    )
    keys = key_provider(get_settings().wallet_mnemonic)
    hot, tank = keys.address("evm", 0, HOT_WALLET_ACCOUNT), keys.address("evm", 0, GAS_TANK_ACCOUNT)
    for wallet in (hot, tank):
        chain.anvil.rpc("anvil_setBalance", wallet, hex(10**19))
    network = get_network("BEP20")
    assert network is not None

    address = (await trader_api.post("/trader/deposit-addresses", json={"network": "BEP20"})).json()["address"]
    chain.send(address, chain.usdt("100"))
    await poll(network, session_factory, client_for)
    view = await treasury.network_treasury(network, session_factory, client_for, keys)
    assert (view.ledger_expected, view.on_chain, view.difference, view.flagged) == (
        "100.000000", "100.000000", "0.000000", False,
    )  # fmt: skip
    assert view.addresses_checked == 1

    for _ in range(6):
        await sweeper.sweep_pass(network, session_factory, client_for, keys)
    view = await treasury.network_treasury(network, session_factory, client_for, keys)
    assert (view.on_chain, view.hot_wallet.usdt, view.addresses_checked) == ("100.000000", "100.000000", 0)
    assert view.sweeps == {"done": 1}
    assert int(view.fuel_sent_native) > 0

    async with atomic(session_factory) as session:
        made, _ = await withdrawals.request_withdrawal(
            session, Actor.user(trader_api.user.id), "trader", trader_api.user.id, network="BEP20",
            to_address="0x00000000000000000000000000000000000BEEF5", amount="40", idempotency_key=None,
        )  # fmt: skip
        await withdrawals.approve(session, Actor.system("tests"), made.id)
    await sender.check(network, session_factory, client_for, keys)
    await sender.check(network, session_factory, client_for, keys)
    view = await treasury.network_treasury(network, session_factory, client_for, keys)
    assert (view.ledger_expected, view.on_chain, view.flagged) == ("60.000000", "60.000000", False)
    async with session_factory() as session:
        assert (await audit_platform(session)).ok

    chain.send(hot, chain.usdt("5"))  # a stranger's transfer straight to the hot wallet
    listed = await admin_api.get("/admin/wallet/treasury")
    assert listed.status_code == 200, listed.text
    [bep20] = listed.json()
    assert (bep20["difference"], bep20["flagged"]) == ("5.000000", True)
    assert bep20["hot_wallet"]["address"] == hot

    from jivapay.adapters.resources import get_resources

    await treasury.snapshot_all([network], session_factory, client_for, keys, get_resources().redis)
    metrics = (await client.get("/metrics")).text
    assert 'jivapay_wallet_reconciliation_flagged{network="BEP20"} 1.0' in metrics
    assert 'jivapay_wallet_hot_wallet_usdt{network="BEP20"} 65.0' in metrics
