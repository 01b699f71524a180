"""Deposit addresses and deposit history over HTTP, and the whole way in: a trader asks for an
address, USDT is sent on anvil, the scheduler's poll runs on a real worker, and the trader's
available balance rises by exactly the amount once the confirmations are in."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.chains.keys import DEPOSIT_ACCOUNT, key_provider
from jivapay.adapters.db.models import WalletAddress
from jivapay.domain.identity.roles import Role
from jivapay.http.merchants.webhooks import DepositEvent
from jivapay.services.ledger.audit import audit_platform
from jivapay.settings import get_settings
from tests.factories import make_store
from tests.fixtures.chains import EvmChain, Networks, network_entry

pytestmark = pytest.mark.usefixtures("seeded")


def open_chains(networks: Networks, *chains: EvmChain, **overrides: Any) -> None:
    networks.configure(
        {chain.name: network_entry(chain, **overrides) for chain in chains}, {c.name: [c.anvil.url] for c in chains}
    )


async def test_an_address_is_made_once_per_family_and_derived_from_the_seed(
    trader_api: Any, session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain, arbitrum: EvmChain,
    networks: Networks,
) -> None:  # fmt: skip
    open_chains(networks, bsc, arbitrum)
    first = await trader_api.post("/trader/deposit-addresses", json={"network": "BEP20"})
    assert first.status_code == 201, first.text
    again = await trader_api.post("/trader/deposit-addresses", json={"network": "bep20"})
    assert again.status_code == 200
    assert again.json()["address"] == first.json()["address"]
    arb = await trader_api.post("/trader/deposit-addresses", json={"network": "ARBITRUM"})
    assert arb.status_code == 200
    assert arb.json()["address"] == first.json()["address"]
    body = first.json()
    assert body["network"] == "BEP20"
    assert body["token_contract"] == bsc.token
    assert body["confirmations"] == 3
    assert body["min_deposit"] == "1.000000"
    assert body["currency"] == "USDT"

    async with session_factory() as session:
        row = await session.get(WalletAddress, 1) or (await session.scalars(WalletAddress.__table__.select())).first()
    settings = get_settings()
    derived = key_provider(settings.wallet_mnemonic).address("evm", row.derivation_index, DEPOSIT_ACCOUNT)
    assert derived == body["address"]

    listed = await trader_api.get("/trader/deposit-addresses")
    assert [a["network"] for a in listed.json()] == ["BEP20", "ARBITRUM"]

    svg = await trader_api.get(body["qr_svg"])
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    png = await trader_api.get(body["qr_svg"], params={"format": "png"})
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")


async def test_networks_that_are_not_open_and_bad_input_are_clear_4xx(
    trader_api: Any, bsc: EvmChain, networks: Networks
) -> None:
    open_chains(networks, bsc)
    closed = await trader_api.post("/trader/deposit-addresses", json={"network": "TRC20"})
    assert closed.status_code == 422
    assert closed.json()["error"]["details"]["networks"] == ["BEP20"]
    unknown = await trader_api.post("/trader/deposit-addresses", json={"network": "DOGE"})
    assert unknown.status_code == 422
    extra = await trader_api.post("/trader/deposit-addresses", json={"network": "BEP20", "index": 5})
    assert extra.status_code == 422
    no_address_yet = await trader_api.get("/trader/deposit-addresses/BEP20/qr")
    assert no_address_yet.status_code == 404
    bad_status = await trader_api.get("/trader/deposits", params={"status": "lost"})
    assert bad_status.status_code == 422


async def test_a_store_address_belongs_to_its_merchant_only(
    merchant_api: Any, logged_in: Any, session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain,
    networks: Networks,
) -> None:  # fmt: skip
    open_chains(networks, bsc)
    store_id = await make_store(session_factory, merchant_api.user.id)
    made = await merchant_api.post(f"/merchant/stores/{store_id}/deposit-addresses", json={"network": "BEP20"})
    assert made.status_code == 201
    other = await logged_in(Role.MERCHANT)
    theirs = await other.post(f"/merchant/stores/{store_id}/deposit-addresses", json={"network": "BEP20"})
    assert theirs.status_code == 404
    assert (await other.get(f"/merchant/stores/{store_id}/deposits")).status_code == 404


async def test_the_whole_way_in_through_http_and_a_worker(
    trader_api: Any, admin_api: Any, session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain,
    networks: Networks, worker: Any,
) -> None:  # fmt: skip
    from jivapay.worker.scheduler import enqueue_deposit_polls_job, relay_outbox_job

    open_chains(networks, bsc, confirmations=4)
    address = (await trader_api.post("/trader/deposit-addresses", json={"network": "BEP20"})).json()["address"]
    before = (await trader_api.get("/trader/balance")).json()["available"]
    bsc.send(address, bsc.usdt("123.456789"))

    async def tick_until(predicate: Any) -> Any:
        for _ in range(100):
            await enqueue_deposit_polls_job()
            await relay_outbox_job(100)
            page = (await trader_api.get("/trader/deposits")).json()
            if predicate(page):
                return page
            await asyncio.sleep(0.2)
        raise AssertionError(f"not reached: {page}")

    page = await tick_until(lambda p: p["data"] and p["data"][0]["status"] == "pending")
    assert page["data"][0]["confirmations_required"] == 4
    assert (await trader_api.get("/trader/balance")).json()["available"] == before
    bsc.anvil.mine(3)
    page = await tick_until(lambda p: p["data"][0]["status"] == "credited")
    deposit = page["data"][0]
    assert deposit["amount"] == "123.456789"
    assert deposit["to_address"] == address
    balance = (await trader_api.get("/trader/balance")).json()
    assert (balance["available"], balance["total_deposited"], balance["total_withdrawn"]) == (
        "123.456789",
        "123.456789",
        "0.000000",
    )

    exported = await trader_api.get("/trader/deposits.csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["status"], r["amount"], r["network"]) for r in rows] == [("credited", "123.456789", "BEP20")]
    listed = await admin_api.get("/admin/deposits", params={"network": "bep20", "status": "credited"})
    assert (await admin_api.get("/admin/deposits", params={"owner_type": "user"})).status_code == 422
    assert (await admin_api.get("/admin/deposits", params={"owner_id": "x"})).status_code == 422
    assert listed.status_code == 200
    assert listed.json()["data"][0]["owner_id"] == trader_api.user.id
    async with session_factory() as session:
        assert (await audit_platform(session)).ok


async def test_a_store_deposit_sends_the_merchant_a_callback(
    merchant_api: Any, session_factory: async_sessionmaker[AsyncSession], arbitrum: EvmChain, networks: Networks
) -> None:
    from sqlalchemy import select

    from jivapay.adapters.chains.clients import client_for
    from jivapay.adapters.db.models import CallbackEvent, Store
    from jivapay.adapters.db.uow import atomic
    from jivapay.networks import get_network
    from jivapay.services.wallet.monitor import poll

    open_chains(networks, arbitrum, confirmations=1)
    store_id = await make_store(session_factory, merchant_api.user.id)
    async with atomic(session_factory) as session:
        store = await session.get(Store, store_id)
        assert store is not None
        store.settings = {**(store.settings or {}), "callback_url": "https://shop.example/hook"}
    address = (
        await merchant_api.post(f"/merchant/stores/{store_id}/deposit-addresses", json={"network": "ARBITRUM"})
    ).json()["address"]
    arbitrum.send(address, arbitrum.usdt("50"))
    network = get_network("ARBITRUM")
    assert network is not None
    await poll(network, session_factory, client_for)
    async with session_factory() as session:
        [event] = list(await session.scalars(select(CallbackEvent).where(CallbackEvent.store_id == store_id)))
    assert event.type == "deposit.credited"
    assert event.payload["deposit"]["amount"] == "50.000000"
    assert event.payload["deposit"]["store_id"] == store_id
    msgspec.convert(event.payload, DepositEvent)  # what the OpenAPI document's webhooks promise
    history = await merchant_api.get(f"/merchant/stores/{store_id}/deposits")
    assert history.json()["data"][0]["status"] == "credited"
    balance = (await merchant_api.get("/merchant/balance")).json()
    assert [b["available"] for b in balance if b["store_id"] == store_id] == ["50.000000"]


async def test_metrics_and_the_admins_network_view_show_each_monitor(
    client: Any, admin_api: Any, session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain, networks: Networks
) -> None:
    from jivapay.adapters.chains.clients import client_for
    from jivapay.networks import get_network
    from jivapay.services.wallet.monitor import poll

    open_chains(networks, bsc)
    network = get_network("BEP20")
    assert network is not None
    bsc.anvil.mine(2)
    await poll(network, session_factory, client_for)
    head = bsc.anvil.head()
    metrics = (await client.get("/metrics")).text
    assert f'jivapay_wallet_chain_head{{network="BEP20"}} {float(head)}' in metrics
    assert 'jivapay_wallet_lag_blocks{network="BEP20"} 0.0' in metrics
    assert 'jivapay_wallet_network_enabled{network="TRC20"} 0.0' in metrics
    view = await admin_api.get("/admin/wallet/networks")
    assert view.status_code == 200
    bep20 = next(n for n in view.json() if n["network"] == "BEP20")
    assert bep20["enabled"] is True
    assert bep20["scanned_height"] == head
    assert bep20["rpc_urls"] == 1
    assert bsc.anvil.url not in view.text


async def test_a_teamlead_deposits_too(
    teamlead_api: Any, session_factory: async_sessionmaker[AsyncSession], arbitrum: EvmChain, networks: Networks
) -> None:
    from jivapay.adapters.chains.clients import client_for
    from jivapay.networks import get_network
    from jivapay.services.wallet.monitor import poll

    open_chains(networks, arbitrum, confirmations=1)
    made = await teamlead_api.post("/teamlead/deposit-addresses", json={"network": "ARBITRUM"})
    assert made.status_code == 201
    arbitrum.send(made.json()["address"], arbitrum.usdt("7.25"))
    network = get_network("ARBITRUM")
    assert network is not None
    await poll(network, session_factory, client_for)
    balance = (await teamlead_api.get("/teamlead/balance")).json()
    assert (balance["available"], balance["frozen"], balance["total_deposited"]) == ("7.250000", "0.000000", "7.250000")
    history = (await teamlead_api.get("/teamlead/deposits")).json()["data"]
    assert [(d["status"], d["amount"]) for d in history] == [("credited", "7.250000")]
