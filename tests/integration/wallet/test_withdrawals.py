"""Withdrawals on anvil: through HTTP from the request to the confirmed transfer, approval and
rejection, and exactly one on-chain transfer whatever fails (a crash between signing and sending,
between sending and recording, duplicate checks, a dropped or underpriced transaction, a short
hot wallet, a reverted transfer)."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from web3 import Web3

from jivapay.adapters.chains.clients import client_for
from jivapay.adapters.chains.keys import HOT_WALLET_ACCOUNT, KeyProvider, key_provider
from jivapay.adapters.db.models import Withdrawal, WithdrawalAttempt
from jivapay.adapters.db.uow import atomic
from jivapay.http.merchants.webhooks import WithdrawalEvent
from jivapay.networks import get_network
from jivapay.services.ledger import posting
from jivapay.services.ledger.audit import audit_platform
from jivapay.services.wallet import sender
from jivapay.settings import get_settings
from tests.fixtures.chains import EvmChain, Networks, network_entry

pytestmark = pytest.mark.usefixtures("seeded")
RECIPIENT = "0x00000000000000000000000000000000000BEEF1"  # not ours, not zero


TRON_ADDRESS = "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH"


def miscased(address: str) -> str:
    """The EIP-55 form with one letter's case flipped: a typo only the checksum catches."""
    from web3 import Web3

    good = Web3.to_checksum_address(address)
    at = next(n for n, c in enumerate(good) if n > 1 and c.isalpha())
    return good[:at] + good[at].swapcase() + good[at + 1 :]


async def attempts_of(session: AsyncSession, withdrawal_id: int) -> list[WithdrawalAttempt]:
    query = select(WithdrawalAttempt).where(WithdrawalAttempt.withdrawal_id == withdrawal_id)
    return list(await session.scalars(query.order_by(WithdrawalAttempt.id)))


def keys() -> KeyProvider:
    return key_provider(get_settings().wallet_mnemonic)


def hot(chain: EvmChain) -> str:
    return keys().address("evm", 0, HOT_WALLET_ACCOUNT)


def fund_hot(chain: EvmChain, usdt: str = "100000") -> None:
    chain.send(hot(chain), chain.usdt(usdt))
    chain.anvil.rpc("anvil_setBalance", hot(chain), hex(10**20))


def drain_hot(chain: EvmChain) -> None:
    """The hot wallet's USDT goes back to the funder (the chains live for the whole session)."""
    held = chain.anvil.balance_of(chain.token, hot(chain))
    if held:
        chain.anvil.rpc("anvil_impersonateAccount", hot(chain))
        chain.anvil.rpc("anvil_setBalance", hot(chain), hex(10**20))
        chain.anvil.transfer(chain.token, hot(chain), chain.funder, held)
        chain.anvil.rpc("anvil_stopImpersonatingAccount", hot(chain))


def zero_hot_balance(chain: EvmChain) -> None:
    """Set the hot wallet's token balance to 0 in the contract's storage (balanceOf is slot 3),
    without a transaction of the hot wallet (its nonces stay as they are)."""
    slot = Web3.keccak(bytes.fromhex(hot(chain)[2:].lower().rjust(64, "0") + "3".rjust(64, "0"))).hex()
    chain.anvil.rpc("anvil_setStorageAt", chain.token, "0x" + slot.removeprefix("0x"), "0x" + "0" * 64)
    assert chain.anvil.balance_of(chain.token, hot(chain)) == 0


def open_chain(networks: Networks, chain: EvmChain, **overrides: Any) -> None:
    networks.configure({chain.name: network_entry(chain, **overrides)}, {chain.name: [chain.anvil.url]})


async def credit(session_factory: async_sessionmaker[AsyncSession], owner: tuple[str, int], usdt: int) -> None:
    async with atomic(session_factory) as session:
        await posting.credit_deposit(session, *owner, "BEP20", usdt * 10**6, f"seed-{owner}-{usdt}")


async def check(session_factory: async_sessionmaker[AsyncSession], name: str) -> sender.CheckReport:
    network = get_network(name)
    assert network is not None
    return await sender.check(network, session_factory, client_for, keys())


async def row(session_factory: async_sessionmaker[AsyncSession], public_id: str) -> Withdrawal:
    async with session_factory() as session:
        found = await session.scalar(select(Withdrawal).where(Withdrawal.public_id == public_id))
    assert found is not None
    return found


def transfers_to(chain: EvmChain, address: str) -> int:
    """Token Transfer events to ``address`` on the chain: the number of on-chain transfers."""
    topic = "0x" + address.lower().removeprefix("0x").rjust(64, "0")
    logs = chain.anvil.rpc(
        "eth_getLogs",
        {
            "fromBlock": "0x0",
            "toBlock": "latest",
            "address": chain.token,
            "topics": ["0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef", None, topic],
        },
    )
    return len(logs)


async def balances(api: Any) -> tuple[str, str]:
    body = (await api.get(f"/{api.user.role.value}/balance")).json()
    return body["available"], body["frozen"]


async def test_a_withdrawal_from_request_to_confirmed_transfer_through_http(
    trader_api: Any, admin_api: Any, session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain,
    networks: Networks,
) -> None:  # fmt: skip
    open_chain(networks, bsc, withdrawal_fee="0.5")
    fund_hot(bsc)
    await credit(session_factory, ("trader", trader_api.user.id), 500)
    recipient = Web3.to_checksum_address("0x00000000000000000000000000000000000beef2")
    before_onchain = bsc.anvil.balance_of(bsc.token, recipient)
    body = {"network": "BEP20", "to_address": recipient.lower(), "amount": "120.25"}
    made = await trader_api.post("/trader/withdrawals", json=body, headers={"Idempotency-Key": "w-1"})
    assert made.status_code == 201, made.text
    w = made.json()
    assert (w["status"], w["amount"], w["fee"], w["total"]) == ("requested", "120.250000", "0.500000", "120.750000")
    assert w["approval_reasons"] == ["new_address"]
    assert w["to_address"] == recipient  # stored checksummed
    assert await balances(trader_api) == ("379.250000", "120.750000")
    again = await trader_api.post("/trader/withdrawals", json=body, headers={"Idempotency-Key": "w-1"})
    assert (again.status_code, again.json()["id"]) == (200, w["id"])
    other = await trader_api.post(
        "/trader/withdrawals", json={**body, "amount": "50"}, headers={"Idempotency-Key": "w-1"}
    )
    assert other.status_code == 409
    queue = (await admin_api.get("/admin/withdrawals", params={"status": "requested"})).json()["data"]
    assert [q["id"] for q in queue] == [w["id"]]

    approved = await admin_api.post(f"/admin/withdrawals/{w['id']}/approve")
    assert approved.json()["status"] == "approved"
    report = await check(session_factory, "BEP20")
    assert (report.signed, report.sent) == (1, 1)
    sent = (await trader_api.get(f"/trader/withdrawals/{w['id']}")).json()
    assert sent["status"] == "broadcast"
    assert sent["tx_hash"].startswith("0x")
    canceled = await trader_api.post(f"/trader/withdrawals/{w['id']}/cancel")
    assert canceled.status_code == 409  # signed: only the chain ends it now
    bsc.anvil.mine(2)  # 3 confirmations
    assert (await check(session_factory, "BEP20")).completed == 1
    done = (await trader_api.get(f"/trader/withdrawals/{w['id']}")).json()
    assert done["status"] == "completed"
    assert done["block_number"] is not None
    assert bsc.anvil.balance_of(bsc.token, recipient) - before_onchain == 120_250_000_000_000_000_000
    assert await balances(trader_api) == ("379.250000", "0.000000")
    balance = (await trader_api.get("/trader/balance")).json()
    assert balance["total_withdrawn"] == "120.750000"
    listed = (await trader_api.get("/trader/withdrawals")).json()
    assert [x["status"] for x in listed["data"]] == ["completed"]
    assert listed["next_cursor"] is None
    async with session_factory() as session:
        assert (await audit_platform(session)).ok

    # the second withdrawal to the same address, below the threshold: approved by the rules
    second = await trader_api.post("/trader/withdrawals", json={**body, "amount": "10"})
    assert second.json()["status"] == "approved"
    assert second.json()["approval_reasons"] == []


async def test_rejection_and_cancel_release_the_hold(
    trader_api: Any, admin_api: Any, session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain,
    networks: Networks,
) -> None:  # fmt: skip
    open_chain(networks, bsc)
    await credit(session_factory, ("trader", trader_api.user.id), 100)
    body = {"network": "BEP20", "to_address": RECIPIENT, "amount": "40"}
    first = (await trader_api.post("/trader/withdrawals", json=body)).json()
    second = (await trader_api.post("/trader/withdrawals", json=body)).json()
    assert await balances(trader_api) == ("19.000000", "81.000000")
    no_reason = await admin_api.post(f"/admin/withdrawals/{first['id']}/reject", json={})
    assert no_reason.status_code == 422
    rejected = await admin_api.post(f"/admin/withdrawals/{first['id']}/reject", json={"reason": "unknown wallet"})
    assert (rejected.json()["status"], rejected.json()["decision_reason"]) == ("rejected", "unknown wallet")
    canceled = await trader_api.post(f"/trader/withdrawals/{second['id']}/cancel")
    assert canceled.json()["status"] == "canceled"
    assert await balances(trader_api) == ("100.000000", "0.000000")
    again = await admin_api.post(f"/admin/withdrawals/{first['id']}/approve")
    assert again.status_code == 409
    async with session_factory() as session:
        assert (await audit_platform(session)).ok


async def test_bad_requests_are_clear_4xx_and_change_nothing(
    trader_api: Any, logged_in: Any, session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain,
    networks: Networks,
) -> None:  # fmt: skip
    from jivapay.adapters.chains.keys import DEPOSIT_ACCOUNT
    from jivapay.domain.identity.roles import Role

    open_chain(networks, bsc)
    await credit(session_factory, ("trader", trader_api.user.id), 100)
    own = (await trader_api.post("/trader/deposit-addresses", json={"network": "BEP20"})).json()["address"]
    cases = {
        "no network": ({"to_address": RECIPIENT, "amount": "10"}, 422),
        "closed network": (
            {"network": "TRC20", "to_address": "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH", "amount": "10"},
            422,
        ),
        "not an address": ({"network": "BEP20", "to_address": "0x1234", "amount": "10"}, 422),
        "bad checksum": (
            {"network": "BEP20", "to_address": "0x00000000000000000000000000000000000beeF1", "amount": "10"},
            422,
        ),
        "zero address": ({"network": "BEP20", "to_address": "0x" + "0" * 40, "amount": "10"}, 422),
        "our deposit address": ({"network": "BEP20", "to_address": own, "amount": "10"}, 422),
        "the hot wallet": ({"network": "BEP20", "to_address": hot(bsc), "amount": "10"}, 422),
        "below the minimum": ({"network": "BEP20", "to_address": RECIPIENT, "amount": "1"}, 422),
        "too precise": ({"network": "BEP20", "to_address": RECIPIENT, "amount": "10.1234567"}, 422),
        "negative": ({"network": "BEP20", "to_address": RECIPIENT, "amount": "-10"}, 422),
        "more than the balance": ({"network": "BEP20", "to_address": RECIPIENT, "amount": "100"}, 409),
        "an unknown field": ({"network": "BEP20", "to_address": RECIPIENT, "amount": "10", "fee": "0"}, 422),
        "the token contract": ({"network": "BEP20", "to_address": bsc.token, "amount": "10"}, 422),
        "zero": ({"network": "BEP20", "to_address": RECIPIENT, "amount": "0"}, 422),
    }
    for name, (body, status) in cases.items():
        answer = await trader_api.post("/trader/withdrawals", json=body)
        assert answer.status_code == status, (name, answer.text)
        assert "error" in answer.json(), name
    assert DEPOSIT_ACCOUNT == 0
    assert await balances(trader_api) == ("100.000000", "0.000000")
    assert (await trader_api.get("/trader/withdrawals")).json()["data"] == []
    stranger = await logged_in(Role.TRADER)
    assert (await stranger.get("/trader/withdrawals/wd_aaaaaaaaaaaaaaaaaaaa")).status_code == 404


async def test_limits_per_request_and_per_day(
    trader_api: Any, admin_api: Any, session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain,
    networks: Networks,
) -> None:  # fmt: skip
    open_chain(networks, bsc)
    await credit(session_factory, ("trader", trader_api.user.id), 1000)
    limits = {
        "trader": {"per_request": "100", "daily": "150"},
        "store": {"per_request": "100", "daily": "150"},
        "teamlead": {"per_request": "100", "daily": "150"},
    }
    changed = await admin_api.put("/admin/settings/WITHDRAWAL_LIMITS_USDT", json={"value": limits})
    assert changed.status_code == 200, changed.text
    body = {"network": "BEP20", "to_address": RECIPIENT}
    assert (await trader_api.post("/trader/withdrawals", json={**body, "amount": "101"})).status_code == 422
    assert (await trader_api.post("/trader/withdrawals", json={**body, "amount": "100"})).status_code == 201
    over = await trader_api.post("/trader/withdrawals", json={**body, "amount": "60"})
    assert over.status_code == 422
    assert over.json()["error"]["details"]["withdrawn"] == "100.000000"
    assert (await trader_api.post("/trader/withdrawals", json={**body, "amount": "50"})).status_code == 201
    reserved = await trader_api.post(
        "/trader/withdrawals", json={**body, "amount": "5"}, headers={"Idempotency-Key": "jivapay:daily-payout:x"}
    )
    assert reserved.status_code == 422


async def test_two_requests_at_once_cannot_pass_the_daily_limit_together(
    trader_api: Any, admin_api: Any, session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain,
    networks: Networks,
) -> None:  # fmt: skip
    open_chain(networks, bsc)
    await credit(session_factory, ("trader", trader_api.user.id), 1000)
    limits = {kind: {"per_request": "100", "daily": "150"} for kind in ("trader", "store", "teamlead")}
    await admin_api.put("/admin/settings/WITHDRAWAL_LIMITS_USDT", json={"value": limits})
    body = {"network": "BEP20", "to_address": RECIPIENT, "amount": "100"}
    answers = await asyncio.gather(*(trader_api.post("/trader/withdrawals", json=body) for _ in range(3)))
    assert sorted(a.status_code for a in answers) == [201, 422, 422]


async def _approved(session_factory: async_sessionmaker[AsyncSession], owner_id: int, amount: str) -> str:
    """A withdrawal requested and approved by an admin (as the services do it), its public id."""
    from jivapay.domain.platform.audit import Actor
    from jivapay.services.wallet import withdrawals

    async with atomic(session_factory) as session:
        made, _ = await withdrawals.request_withdrawal(
            session,
            Actor.user(owner_id),
            "trader",
            owner_id,
            network="BEP20",
            to_address=RECIPIENT,
            amount=amount,
            idempotency_key=None,
        )
    if made.status == "requested":
        async with atomic(session_factory) as session:
            await withdrawals.approve(session, Actor.system("tests"), made.id)
    return made.id


async def _trader(session_factory: async_sessionmaker[AsyncSession], usdt: int = 1000) -> int:
    from jivapay.domain.identity.roles import Role
    from tests.factories import make_user

    trader = await make_user(session_factory, Role.TRADER)
    await credit(session_factory, ("trader", trader.id), usdt)
    return trader.id


async def test_a_crash_between_signing_and_sending_still_sends_once(
    session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain, networks: Networks
) -> None:
    open_chain(networks, bsc, confirmations=1)
    fund_hot(bsc)
    before = transfers_to(bsc, RECIPIENT)
    public_id = await _approved(session_factory, await _trader(session_factory), "15")
    w = await row(session_factory, public_id)
    network = get_network("BEP20")
    assert network is not None
    client = client_for(network)
    prepared = await client.prepare(hot(bsc))
    signed = await sender._sign(
        session_factory, network, client, keys(), w.id, hot(bsc), prepared, sender.CheckReport("BEP20")
    )
    assert signed  # the worker dies here: signed and stored, never sent
    await client.close()
    assert transfers_to(bsc, RECIPIENT) == before
    await asyncio.gather(check(session_factory, "BEP20"), check(session_factory, "BEP20"))  # two workers
    await check(session_factory, "BEP20")
    assert (await row(session_factory, public_id)).status == "completed"
    assert transfers_to(bsc, RECIPIENT) == before + 1
    async with session_factory() as session:
        attempts = await attempts_of(session, w.id)
    assert len(attempts) == 1


async def test_a_crash_between_sending_and_recording_still_sends_once(
    session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain, networks: Networks
) -> None:
    open_chain(networks, bsc, confirmations=1)
    fund_hot(bsc)
    before = transfers_to(bsc, RECIPIENT)
    public_id = await _approved(session_factory, await _trader(session_factory), "16")
    w = await row(session_factory, public_id)
    network = get_network("BEP20")
    assert network is not None
    client = client_for(network)
    await sender._sign(
        session_factory, network, client, keys(), w.id, hot(bsc), await client.prepare(hot(bsc)),
        sender.CheckReport("BEP20"),
    )  # fmt: skip
    async with session_factory() as session:
        [attempt] = list(
            await session.scalars(select(WithdrawalAttempt).where(WithdrawalAttempt.withdrawal_id == w.id))
        )
    assert (await client.send(attempt.signed)).accepted  # sent; the worker dies before recording it
    await client.close()
    await check(session_factory, "BEP20")
    await check(session_factory, "BEP20")
    assert (await row(session_factory, public_id)).status == "completed"
    assert transfers_to(bsc, RECIPIENT) == before + 1


async def test_a_dropped_then_underpriced_transaction_is_replaced_with_the_same_nonce(
    session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain, networks: Networks
) -> None:
    open_chain(networks, bsc, confirmations=1, stuck_after_seconds=1, max_gas_price_gwei=100)
    fund_hot(bsc)
    before = transfers_to(bsc, RECIPIENT)
    public_id = await _approved(session_factory, await _trader(session_factory), "17")
    bsc.anvil.rpc("evm_setAutomine", False)
    try:
        await check(session_factory, "BEP20")  # signed and sent, not mined
        first = await row(session_factory, public_id)
        bsc.anvil.rpc("anvil_dropTransaction", first.tx_hash)  # the node forgets it
        await check(session_factory, "BEP20")  # re-sent: the same bytes
        assert bsc.anvil.rpc("eth_getTransactionByHash", first.tx_hash) is not None
        await asyncio.sleep(1.5)
        report = await check(session_factory, "BEP20")  # stuck: sped up with the same nonce
        assert report.sped_up == 1
        async with session_factory() as session:
            attempts = list(
                await session.scalars(
                    select(WithdrawalAttempt)
                    .where(WithdrawalAttempt.withdrawal_id == first.id)
                    .order_by(WithdrawalAttempt.id)
                )
            )
        assert len(attempts) == 2
        assert attempts[0].nonce == attempts[1].nonce
        assert int(attempts[1].gas_price or 0) > int(attempts[0].gas_price or 0)
        bsc.anvil.mine(1)
    finally:
        bsc.anvil.rpc("evm_setAutomine", True)
    await check(session_factory, "BEP20")
    done = await row(session_factory, public_id)
    assert done.status == "completed"
    assert done.tx_hash == attempts[1].tx_hash
    assert transfers_to(bsc, RECIPIENT) == before + 1


async def test_a_short_hot_wallet_makes_the_withdrawal_wait_then_it_resumes(
    session_factory: async_sessionmaker[AsyncSession], arbitrum: EvmChain, networks: Networks
) -> None:
    networks.configure({"ARBITRUM": network_entry(arbitrum, confirmations=1)}, {"ARBITRUM": [arbitrum.anvil.url]})
    drain_hot(arbitrum)
    trader_id = await _trader(session_factory)
    from jivapay.domain.platform.audit import Actor
    from jivapay.services.wallet import withdrawals

    async with atomic(session_factory) as session:
        made, _ = await withdrawals.request_withdrawal(
            session, Actor.user(trader_id), "trader", trader_id, network="ARBITRUM", to_address=RECIPIENT,
            amount="500", idempotency_key=None,
        )  # fmt: skip
        await withdrawals.approve(session, Actor.system("tests"), made.id)
    report = await check(session_factory, "ARBITRUM")
    assert report.waiting == 1
    waiting = await row(session_factory, made.id)
    assert (waiting.status, waiting.waiting_reason) == ("approved", "hot_wallet_short_of_usdt")
    fund_hot(arbitrum, "1000")
    await check(session_factory, "ARBITRUM")
    await check(session_factory, "ARBITRUM")
    assert (await row(session_factory, made.id)).status == "completed"


async def test_a_transfer_that_reverts_fails_the_withdrawal_and_releases_the_hold(
    session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain, networks: Networks
) -> None:
    open_chain(networks, bsc, confirmations=1)
    fund_hot(bsc, "50")
    trader_id = await _trader(session_factory, 100)
    public_id = await _approved(session_factory, trader_id, "30")
    w = await row(session_factory, public_id)
    network = get_network("BEP20")
    assert network is not None
    client = client_for(network)
    await sender._sign(
        session_factory, network, client, keys(), w.id, hot(bsc), await client.prepare(hot(bsc)),
        sender.CheckReport("BEP20"),
    )  # fmt: skip
    await client.close()
    zero_hot_balance(bsc)  # the hot wallet's USDT is gone before the signed transfer goes out: it reverts
    await check(session_factory, "BEP20")
    await check(session_factory, "BEP20")
    failed = await row(session_factory, public_id)
    assert failed.status == "failed"
    assert "reverted" in (failed.failure_reason or "")
    async with session_factory() as session:
        from jivapay.services.ledger import balances as ledger_balances

        found = (await ledger_balances.owner_balances(session, "trader", [trader_id]))[trader_id]
    assert (found["available"].text, found["frozen"].text) == ("100.000000", "0.000000")
    async with session_factory() as session:
        assert (await audit_platform(session)).ok


async def test_a_hot_wallet_nonce_spent_elsewhere_fails_the_withdrawal_and_says_so(
    session_factory: async_sessionmaker[AsyncSession], bsc: EvmChain, networks: Networks
) -> None:
    open_chain(networks, bsc, confirmations=1, stuck_after_seconds=1)
    fund_hot(bsc)
    trader_id = await _trader(session_factory, 100)
    public_id = await _approved(session_factory, trader_id, "20")
    w = await row(session_factory, public_id)
    network = get_network("BEP20")
    assert network is not None
    client = client_for(network)
    await sender._sign(
        session_factory, network, client, keys(), w.id, hot(bsc), await client.prepare(hot(bsc)),
        sender.CheckReport("BEP20"),
    )  # fmt: skip
    await client.close()
    drain_hot(bsc)  # someone uses the hot wallet's key outside the platform: the nonce is gone
    fund_hot(bsc)
    before = transfers_to(bsc, RECIPIENT)
    await check(session_factory, "BEP20")
    seen = await row(session_factory, public_id)
    assert (seen.status, seen.waiting_reason) == ("broadcast", "nonce_spent_elsewhere")  # not decided on one look
    await asyncio.sleep(1.5)
    await check(session_factory, "BEP20")
    failed = await row(session_factory, public_id)
    assert failed.status == "failed"
    assert "nonce" in (failed.failure_reason or "")
    assert transfers_to(bsc, RECIPIENT) == before
    async with session_factory() as session:
        assert (await audit_platform(session)).ok


async def test_stores_and_teamleads_withdraw_too_with_callbacks_and_mail(
    merchant_api: Any, teamlead_api: Any, admin_api: Any, session_factory: async_sessionmaker[AsyncSession],
    bsc: EvmChain, networks: Networks,
) -> None:  # fmt: skip
    from jivapay.adapters.db.models import CallbackEvent, OutboxMessage, Store
    from tests.factories import make_store

    open_chain(networks, bsc)
    store_id = await make_store(session_factory, merchant_api.user.id)
    async with atomic(session_factory) as session:
        store = await session.get(Store, store_id)
        assert store is not None
        store.settings = {**(store.settings or {}), "callback_url": "https://shop.example/hook"}
    await credit(session_factory, ("store", store_id), 200)
    await credit(session_factory, ("teamlead", teamlead_api.user.id), 50)
    body = {"network": "BEP20", "to_address": RECIPIENT, "amount": "100"}
    made = await merchant_api.post(f"/merchant/stores/{store_id}/withdrawals", json=body)
    assert made.status_code == 201, made.text
    reward = await teamlead_api.post("/teamlead/withdrawals", json={**body, "amount": "45"})
    assert reward.status_code == 201, reward.text
    assert (await teamlead_api.get("/teamlead/balance")).json()["frozen"] == "45.500000"
    rejected = await admin_api.post(f"/admin/withdrawals/{made.json()['id']}/reject", json={"reason": "KYC"})
    assert rejected.json()["status"] == "rejected"
    async with session_factory() as session:
        events = list(await session.scalars(select(CallbackEvent).where(CallbackEvent.store_id == store_id)))
        mails = list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.actor_name == "wallet.withdrawal_notice"))
        )
    assert [e.type for e in sorted(events, key=lambda e: e.id)] == ["withdrawal.requested", "withdrawal.rejected"]
    assert events[-1].payload["withdrawal"]["decision_reason"] == "KYC"
    for event in events:  # what the OpenAPI document's webhooks promise
        msgspec.convert(event.payload, WithdrawalEvent)
    assert len(mails) == 3
    other_store = await merchant_api.get(f"/merchant/stores/{store_id + 999}/withdrawals")
    assert other_store.status_code == 404
