"""Daily payouts: a store's USDT above its reserve goes out once a day to an approved address,
through the withdrawal pipeline, once per day even under two schedulers."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from web3 import Web3

from jivapay.adapters.db.models import Withdrawal
from jivapay.adapters.db.uow import atomic
from jivapay.services.ledger import posting
from jivapay.services.wallet import payouts
from tests.factories import make_store
from tests.fixtures.chains import EvmChain, Networks, network_entry

pytestmark = pytest.mark.usefixtures("seeded")
PAYEE = "0x00000000000000000000000000000000000BEEF3"
OF_STORE = select(Withdrawal).where(Withdrawal.owner_type == "store")


async def test_a_store_is_paid_out_once_a_day_above_its_reserve(
    merchant_api: Any, admin_api: Any, session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain,
    networks: Networks,
) -> None:  # fmt: skip
    networks.configure({"BEP20": network_entry(bsc, withdrawal_fee="0.5")}, {"BEP20": [bsc.anvil.url]})
    store_id = await make_store(session_factory, merchant_api.user.id)
    async with atomic(session_factory) as session:
        await posting.credit_deposit(session, "store", store_id, "BEP20", 300_000_000, "float")
    assert (await merchant_api.get(f"/merchant/stores/{store_id}/daily-payout")).status_code == 404
    settings = {"enabled": True, "network": "BEP20", "to_address": PAYEE, "reserve": "50", "hour_utc": 6}
    bad = await merchant_api.put(f"/merchant/stores/{store_id}/daily-payout", json={**settings, "hour_utc": 24})
    assert bad.status_code == 422
    made = await merchant_api.put(f"/merchant/stores/{store_id}/daily-payout", json=settings)
    assert made.status_code == 200, made.text
    assert made.json()["approved"] is False

    day = dt.datetime(2026, 12, 3, 7, 0, tzinfo=dt.UTC)
    assert await payouts.run_due(session_factory, day) == 0  # not approved yet
    queue = (await admin_api.get("/admin/daily-payouts")).json()
    assert [q["store_id"] for q in queue] == [store_id]
    approved = await admin_api.post(f"/admin/stores/{store_id}/daily-payout/approve")
    assert approved.json()["approved"] is True
    assert await payouts.run_due(session_factory, day.replace(hour=5)) == 0  # before its hour

    runs = await asyncio.gather(payouts.run_due(session_factory, day), payouts.run_due(session_factory, day))
    assert sum(runs) == 1  # two schedulers, one payout
    assert await payouts.run_due(session_factory, day.replace(hour=23)) == 0  # once a day
    async with session_factory() as session:
        [paid] = list(await session.scalars(OF_STORE.where(Withdrawal.owner_id == store_id)))
    assert (paid.source, paid.amount, paid.fee) == ("daily_payout", 249_500_000, 500_000)
    assert paid.to_address == Web3.to_checksum_address(PAYEE)
    assert paid.status == "approved"  # the approved address needs no second approval (below the threshold)
    balance = [b for b in (await merchant_api.get("/merchant/balance")).json() if b["store_id"] == store_id]
    assert balance[0]["available"] == "50.000000"

    # the next day: only what came in since, above the reserve
    async with atomic(session_factory) as session:
        await posting.credit_deposit(session, "store", store_id, "BEP20", 100_000_000, "more")
    assert await payouts.run_due(session_factory, day + dt.timedelta(days=1)) == 1
    async with session_factory() as session:
        amounts = sorted(
            w.amount for w in await session.scalars(select(Withdrawal).where(Withdrawal.owner_id == store_id))
        )
    assert amounts == [99_500_000, 249_500_000]

    # a new address withdraws the approval
    moved = await merchant_api.put(
        f"/merchant/stores/{store_id}/daily-payout", json={**settings, "to_address": PAYEE.replace("F3", "F4")}
    )
    assert moved.json()["approved"] is False
    assert await payouts.run_due(session_factory, day + dt.timedelta(days=2)) == 0
