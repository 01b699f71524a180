"""The teamlead cabinet: the team's traders, their traffic, their statistics, and the teamlead's
reward share of the platform's profit — over the real API, PostgreSQL and Redis."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import (
    AuditLogEntry,
    ExchangeRate,
    LedgerTransaction,
    OrderDispute,
    OrderHistory,
    OrderStatusChange,
    Requisite,
    SettledOrder,
    TraderProfile,
)
from jivapay.adapters.db.orders.orders import OrderRepository
from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import Role
from jivapay.domain.ledger import posting as L
from jivapay.domain.orders.status import Party
from jivapay.services.identity import users as user_service
from jivapay.services.ledger import posting
from jivapay.services.orders import status as order_status
from tests.factories import SYSTEM, MadeUser, bearer, make_store, make_user, token_for
from tests.integration.conftest import World
from tests.integration.ledger.helpers import assert_ledger_sound, balance

RATE = Decimal("90")
UTC = dt.UTC


@dataclasses.dataclass
class Team:
    world: World
    client: Any
    lead: MadeUser
    headers: dict[str, str]

    async def trader(self, **kwargs: Any) -> int:
        """A trader with collateral on this team."""
        trader_id = await self.world.trader(**kwargs)
        await join_team(self.world.session_factory, trader_id, self.lead.id)
        return trader_id


async def join_team(session_factory: async_sessionmaker[AsyncSession], trader_id: int, teamlead_id: int) -> None:
    async with atomic(session_factory) as session:  # the admin's path
        await user_service.update_user(session, SYSTEM, trader_id, changes={}, profile={"teamlead_id": teamlead_id})


@pytest.fixture
async def world(seeded: None, session_factory: async_sessionmaker[AsyncSession]) -> World:
    merchant = await make_user(session_factory, Role.MERCHANT)
    store_id = await make_store(session_factory, merchant.id)
    async with atomic(session_factory) as session:
        session.add(ExchangeRate(currency="RUB", rate=RATE, source="manual"))
    return World(session_factory, store_id)


async def _team(world: World, client: Any) -> Team:
    lead = await make_user(world.session_factory, Role.TEAMLEAD)
    return Team(world, client, lead, bearer(await token_for(client, Role.TEAMLEAD, lead.login)))


@pytest.fixture
async def team(world: World, client: Any) -> Team:
    return await _team(world, client)


async def _order(
    world: World,
    trader_id: int,
    *,
    created: dt.datetime,
    status: str = "pending_payment",
    direction: str = "payin",
    amount: int = 100_000,
    currency: str = "RUB",
    completed: dt.datetime | None = None,
) -> int:
    async with atomic(world.session_factory) as session:
        order = await OrderRepository(session).add(
            OrderHistory(
                store_id=world.store_id,
                trader_id=trader_id,
                direction=direction,
                status=status,
                currency=currency,
                amount=amount,
                rate=RATE,
                store_commission=Decimal("0.05"),
                trader_commission=Decimal("0.03"),
                created_at=created,
                completed_at=completed,
            )
        )
    return order.id


async def _assigned_trader(world: World, outcome: Any) -> int:
    assert outcome.status == "assigned", outcome
    async with world.session_factory() as session:
        order = await session.get(OrderHistory, outcome.order_id)
    assert order is not None
    return order.trader_id


# --- isolation -----------------------------------------------------------------------------


async def test_a_teamlead_sees_and_touches_only_their_own_traders(team: Team, world: World, client: Any) -> None:
    mine = await team.trader()
    other_team = await _team(world, client)
    theirs = await other_team.trader()
    teamless = await world.trader()

    listed = await client.get("/teamlead/traders", headers=team.headers)
    assert listed.status_code == 200, listed.text
    assert [t["id"] for t in listed.json()] == [mine]
    assert [t["id"] for t in (await client.get("/teamlead/traders", headers=other_team.headers)).json()] == [theirs]

    for trader_id in (theirs, teamless, 999_999):
        traffic = await client.put(
            f"/teamlead/traders/{trader_id}/traffic", headers=team.headers, json={"in_work": False}
        )
        assert traffic.status_code == 404, traffic.text
        assert traffic.json()["error"]["code"] == "not_found"
        stats = await client.get(f"/teamlead/traders/{trader_id}/stats", headers=team.headers)
        assert stats.status_code == 404, stats.text
    async with world.session_factory() as session:
        profile = await session.get(TraderProfile, theirs)
    assert profile is not None
    assert profile.in_work  # untouched

    assert (await client.get(f"/teamlead/traders/{mine}/stats", headers=team.headers)).status_code == 200
    trader_token = await token_for(client, Role.TRADER, (await _login_of(world, mine)))
    assert (await client.get("/teamlead/traders", headers=bearer(trader_token))).status_code == 403


async def _login_of(world: World, user_id: int) -> str:
    async with world.session_factory() as session:
        view = await user_service.get_user(session, user_id)
    return view.user.login


# --- the list ------------------------------------------------------------------------------


async def test_the_list_shows_balances_open_orders_and_todays_turnover(team: Team, world: World) -> None:
    trader = await team.trader(collateral=500 * 10**6, priority=7)
    idle = await team.trader(collateral=0, in_work=False)
    async with atomic(world.session_factory) as session:
        await posting.freeze(session, "trader", trader, 12_345_678, "test-hold")
    now = dt.datetime.now(UTC)
    midnight = dt.datetime.combine(now.date(), dt.time.min, tzinfo=UTC)
    yesterday = midnight - dt.timedelta(hours=2)
    for status in ("pending_payment", "client_confirmed", "disputed", "canceled", "expired"):
        await _order(world, trader, created=now, status=status)
    await _order(world, trader, created=now, status="pending", direction="payout")
    await _order(world, trader, created=now, status="completed", amount=150_000, completed=now)
    await _order(world, trader, created=yesterday, status="completed", amount=20_050, completed=midnight)
    await _order(world, trader, created=now, status="completed", amount=7_001, currency="KZT", completed=now)
    await _order(world, trader, created=yesterday, status="completed", amount=999_999, completed=yesterday)

    response = await team.client.get("/teamlead/traders", headers=team.headers)
    assert response.status_code == 200, response.text
    first, second = response.json()
    assert first == {
        "id": trader,
        "login": await _login_of(world, trader),
        "is_active": True,
        "in_work": True,
        "traffic_priority": 7,
        "available": "487.654322",
        "frozen": "12.345678",
        "open_orders": 4,  # pending_payment, client_confirmed, disputed, pending
        "turnover_today": [{"currency": "KZT", "amount": "70.01"}, {"currency": "RUB", "amount": "1700.50"}],
    }
    assert second["id"] == idle
    assert (second["in_work"], second["available"], second["frozen"]) == (False, "0.000000", "0.000000")
    assert (second["open_orders"], second["turnover_today"]) == (0, [])


# --- traffic -------------------------------------------------------------------------------


async def test_traffic_off_takes_the_trader_out_of_selection_at_once(team: Team, world: World) -> None:
    trader = await team.trader()
    await world.requisite(trader)
    url = f"/teamlead/traders/{trader}/traffic"

    off = await team.client.put(url, headers=team.headers, json={"in_work": False})
    assert off.status_code == 200, off.text
    assert off.json()["in_work"] is False
    outcome = await world.process(await world.incoming(150_000, merchant_order_id="off"))
    assert outcome.status == "retrying"
    assert "requisite_not_found" in (outcome.reason or "")

    on = await team.client.put(url, headers=team.headers, json={"in_work": True})
    assert on.status_code == 200, on.text
    incoming = await world.incoming(160_000, merchant_order_id="on")
    assert await _assigned_trader(world, await world.process(incoming)) == trader
    async with world.session_factory() as session:
        entries = (
            await session.scalars(
                select(AuditLogEntry).where(AuditLogEntry.action == "trader.traffic").order_by(AuditLogEntry.id)
            )
        ).all()
    assert [(e.actor_id, e.target_id, e.details) for e in entries] == [
        (str(team.lead.id), str(trader), {"in_work": False, "before": {"in_work": True}, "teamlead_id": team.lead.id}),
        (str(team.lead.id), str(trader), {"in_work": True, "before": {"in_work": False}, "teamlead_id": team.lead.id}),
    ]


async def test_a_priority_change_decides_who_selection_serves_first(team: Team, world: World) -> None:
    first = await team.trader(priority=100)
    second = await team.trader(priority=100)
    requisites = {await world.requisite(first): first, await world.requisite(second): second}

    async def set_priority(trader_id: int, priority: int) -> None:
        response = await team.client.put(
            f"/teamlead/traders/{trader_id}/traffic", headers=team.headers, json={"traffic_priority": priority}
        )
        assert response.status_code == 200, response.text
        assert (response.json()["traffic_priority"], response.json()["in_work"]) == (priority, True)

    await set_priority(second, 10)
    async with world.session_factory() as session:
        stored = {r.id: r.priority for r in (await session.scalars(select(Requisite))).all()}
    assert {requisites[r]: p for r, p in stored.items()} == {first: 100, second: 10}
    for n in range(2):  # the favoured trader every time, whatever the round robin says
        incoming = await world.incoming(100_000 + n * 100, merchant_order_id=f"p{n}")
        assert await _assigned_trader(world, await world.process(incoming)) == second
    await set_priority(first, 5)
    incoming = await world.incoming(120_000, merchant_order_id="p-first")
    assert await _assigned_trader(world, await world.process(incoming)) == first


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"traffic_priority": 1001},
        {"traffic_priority": -1},
        {"in_work": "yes"},
        {"in_work": None},
        {"in_work": True, "teamlead_id": 1},
    ],
)
async def test_bad_traffic_bodies_are_422(team: Team, body: dict[str, Any]) -> None:
    trader = await team.trader()
    response = await team.client.put(f"/teamlead/traders/{trader}/traffic", headers=team.headers, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_failed"


# --- statistics ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Seeded:
    created: dt.datetime
    direction: str
    status: str
    amount: int
    currency: str
    completed: dt.datetime | None
    disputed: bool


def _recount(orders: list[Seeded]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What the stats must say, counted in Python from the seeded orders."""

    def line(key: Any, group: list[Seeded]) -> dict[str, Any]:
        done = [o for o in group if o.status == "completed"]
        turnover: dict[str, int] = defaultdict(int)
        for o in done:
            turnover[o.currency] += o.amount
        seconds = [int((o.completed - o.created).total_seconds()) for o in done if o.completed]
        return {
            "day": key,
            "orders": len(group),
            "completed": len(done),
            "conversion": str((Decimal(len(done)) / Decimal(len(group))).quantize(Decimal("0.0001"))),
            "turnover": [{"currency": c, "amount": L.format_amount(a, 2)} for c, a in sorted(turnover.items())],
            "avg_confirm_seconds": sum(seconds) // len(seconds) if seconds else None,
            "disputes": sum(o.disputed for o in group),
        }

    by_day: dict[tuple[str, str], list[Seeded]] = defaultdict(list)
    by_direction: dict[str, list[Seeded]] = defaultdict(list)
    for o in orders:
        by_day[(o.created.date().isoformat(), o.direction)].append(o)
        by_direction[o.direction].append(o)
    days = [{**line(day, group), "direction": direction} for (day, direction), group in sorted(by_day.items())]
    totals = [{**line(None, group), "direction": direction} for direction, group in sorted(by_direction.items())]
    return days, totals


async def test_stats_equal_a_recount_of_the_orders(team: Team, world: World, client: Any) -> None:
    trader = await team.trader()
    stranger = await world.trader()
    base = dt.datetime(2026, 3, 10, tzinfo=UTC)
    plan = [
        # day offset, hour, direction, status, amount, currency, seconds to complete, how it was disputed
        (0, 1, "payin", "completed", 150_000, "RUB", 600, None),
        (0, 5, "payin", "completed", 20_001, "RUB", 95, "dispute_row"),
        (0, 9, "payin", "canceled", 30_000, "RUB", None, None),
        (0, 23, "payin", "completed", 7_000, "KZT", 1_000, None),
        (0, 12, "payout", "completed", 50_000, "RUB", 4_000, "history"),
        (0, 13, "payout", "declined", 60_000, "RUB", None, None),
        (1, 0, "payin", "disputed", 70_000, "RUB", None, "status"),
        (1, 2, "payin", "expired", 10_000, "RUB", None, None),
        (3, 22, "payout", "completed", 80_000, "RUB", 59, None),
        (3, 23, "payin", "pending_payment", 90_000, "RUB", None, None),
    ]
    seeded: list[Seeded] = []
    for offset, hour, direction, status, amount, currency, seconds, disputed in plan:
        created = base + dt.timedelta(days=offset, hours=hour, minutes=30)
        completed = created + dt.timedelta(seconds=seconds) if seconds is not None else None
        order_id = await _order(
            world,
            trader,
            created=created,
            status=status,
            direction=direction,
            amount=amount,
            currency=currency,
            completed=completed,
        )
        async with atomic(world.session_factory) as session:
            if disputed == "dispute_row":
                session.add(OrderDispute(order_id=order_id, party="merchant", opened_by="tests", sla_deadline=created))
            if disputed == "history":  # history alone does not count: revision 0011 gave such orders their row
                for before, after in (("pending", "trader_paid"), ("trader_paid", "disputed"), ("disputed", status)):
                    session.add(
                        OrderStatusChange(
                            order_id=order_id, from_status=before, to_status=after, party="support", actor="tests"
                        )
                    )
        counted = disputed in ("dispute_row", "status")
        seeded.append(Seeded(created, direction, status, amount, currency, completed, counted))
    # outside the range, or someone else's: never counted
    await _order(world, trader, created=base - dt.timedelta(seconds=1), status="completed", completed=base)
    await _order(world, trader, created=base + dt.timedelta(days=4), status="completed", completed=base)
    await _order(world, stranger, created=base + dt.timedelta(hours=3), status="completed", completed=base)

    response = await client.get(
        f"/teamlead/traders/{trader}/stats", headers=team.headers, params={"from": "2026-03-10", "to": "2026-03-13"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    days, totals = _recount(seeded)
    assert (body["trader_id"], body["date_from"], body["date_to"]) == (trader, "2026-03-10", "2026-03-13")
    assert body["days"] == days
    assert body["totals"] == totals
    # spot checks of the recount itself, so a shared mistake cannot pass unnoticed
    assert body["days"][0]["conversion"] == "0.7500"
    assert body["days"][0]["turnover"] == [
        {"currency": "KZT", "amount": "70.00"},
        {"currency": "RUB", "amount": "1700.01"},
    ]
    assert body["days"][0]["avg_confirm_seconds"] == (600 + 95 + 1_000) // 3
    assert [t["disputes"] for t in body["totals"]] == [2, 0]  # the pay-out with history only is not counted

    one_day = await client.get(
        f"/teamlead/traders/{trader}/stats", headers=team.headers, params={"from": "2026-03-11", "to": "2026-03-11"}
    )
    assert [(d["day"], d["orders"], d["completed"], d["conversion"]) for d in one_day.json()["days"]] == [
        ("2026-03-11", 2, 0, "0.0000")
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-03-02", "to": "2026-03-01"},
        {"from": "2025-03-01", "to": "2026-03-02"},  # 367 days
        {"from": "yesterday", "to": "2026-03-02"},
        {"from": "2026-02-30", "to": "2026-03-02"},
    ],
)
async def test_bad_stats_ranges_are_422(team: Team, params: dict[str, str]) -> None:
    trader = await team.trader()
    response = await team.client.get(f"/teamlead/traders/{trader}/stats", headers=team.headers, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_failed"


async def test_a_whole_year_of_stats_is_allowed(team: Team) -> None:
    trader = await team.trader()
    response = await team.client.get(
        f"/teamlead/traders/{trader}/stats",
        headers=team.headers,
        params={"from": "2025-03-02", "to": "2026-03-02"},  # 366 days, both included
    )
    assert response.status_code == 200, response.text
    assert response.json()["days"] == []


# --- the reward share ----------------------------------------------------------------------


async def _admin_headers(client: Any, session_factory: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    admin = await make_user(session_factory, Role.ADMIN)
    return bearer(await token_for(client, Role.ADMIN, admin.login))


@pytest.mark.parametrize("share", [0.1, "1", "1.5", "-0.1", "0.12345", "abc", "NaN", None, True])
async def test_the_reward_share_is_a_decimal_string_in_0_to_1(
    team: Team, world: World, client: Any, share: Any
) -> None:
    admin = await _admin_headers(client, world.session_factory)
    response = await client.patch(
        f"/admin/users/{team.lead.id}", headers=admin, json={"profile": {"reward_share": share}}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"]["field"] == "reward_share"


async def _settled_payin(team: Team, world: World, trader: int, amount: int, reference: str) -> OrderHistory:
    await world.requisite(trader)
    outcome = await world.process(await world.incoming(amount, merchant_order_id=reference))
    assert outcome.status == "assigned", outcome
    async with atomic(world.session_factory) as session:
        await order_status.change_status(
            session, outcome.order_id, "completed", party=Party.TRADER, actor=SYSTEM, trader_id=trader
        )
    async with atomic(world.session_factory) as session:
        await posting.settle_completed_order(session, outcome.order_id)
    async with world.session_factory() as session:
        order = await session.get(OrderHistory, outcome.order_id)
    assert order is not None
    return order


async def test_a_settled_order_pays_the_teamlead_their_share_once(team: Team, world: World, client: Any) -> None:
    admin = await _admin_headers(client, world.session_factory)
    configured = await client.patch(
        f"/admin/users/{team.lead.id}", headers=admin, json={"profile": {"reward_share": "0.1234"}}
    )
    assert configured.status_code == 200, configured.text
    assert Decimal(configured.json()["profile"]["reward_share"]) == Decimal("0.1234")
    trader = await team.trader()
    order = await _settled_payin(team, world, trader, 150_000, "reward")

    split = L.payin_split(order.amount, 2, order.rate, order.store_commission, order.trader_commission)
    assert split.platform_profit > 0
    reward = int((split.platform_profit * Decimal("0.1234")).to_integral_value(rounding=ROUND_FLOOR))
    assert reward > 0
    teamlead_account = L.AccountKey("teamlead", team.lead.id, L.USDT, "available")
    assert await balance(world.session_factory, teamlead_account) == reward
    assert await balance(world.session_factory, L.platform_profit()) == split.platform_profit - reward
    assert await balance(world.session_factory, L.store_available(world.store_id)) == split.store_credit
    async with world.session_factory() as session:
        settled = await session.get(SettledOrder, order.id)
        assert settled is not None
        settlement_tx = await session.get(LedgerTransaction, settled.transaction_id)
    assert settlement_tx is not None
    assert settled.platform_profit == split.platform_profit - reward
    assert settlement_tx.details["teamlead_reward"] == {
        "teamlead_id": team.lead.id,
        "share": "0.1234",
        "platform_profit_before": split.platform_profit,
        "amount": reward,
    }
    await assert_ledger_sound(world.session_factory)

    # settling again (a redelivered message) pays nothing more, even after the share changed
    async with atomic(world.session_factory) as session:
        await user_service.update_user(session, SYSTEM, team.lead.id, changes={}, profile={"reward_share": "0.5"})
    async with atomic(world.session_factory) as session:
        again = await posting.settle_completed_order(session, order.id)
    assert again.replayed
    assert again.transaction_id == settled.transaction_id
    assert await balance(world.session_factory, teamlead_account) == reward
    assert await balance(world.session_factory, L.platform_profit()) == split.platform_profit - reward
    await assert_ledger_sound(world.session_factory)

    listed = await client.get("/teamlead/me", headers=team.headers)
    assert Decimal(listed.json()["profile"]["reward_share"]) == Decimal("0.5")
    # the teamlead sees what they earned, and each credit with its order
    own = await client.get("/teamlead/balance", headers=team.headers)
    assert own.status_code == 200, own.text
    assert own.json()["available"] == L.format_amount(reward, L.USDT_DECIMALS)
    history = (await client.get("/teamlead/balance/history", headers=team.headers)).json()
    assert [(line["order_id"], line["amount"]) for line in history["data"]] == [
        (order.public_id, L.format_amount(reward, L.USDT_DECIMALS))
    ]


async def test_no_share_or_no_teamlead_leaves_the_whole_profit_to_the_platform(
    team: Team, world: World, client: Any
) -> None:
    on_team = await team.trader()  # the teamlead's share is 0 (the default)
    alone = await world.trader(priority=1)  # served before the team trader
    first = await _settled_payin(team, world, on_team, 150_000, "zero-share")
    second = await _settled_payin(team, world, alone, 170_000, "no-team")
    profit = sum(
        L.payin_split(o.amount, 2, o.rate, o.store_commission, o.trader_commission).platform_profit
        for o in (first, second)
    )
    assert await balance(world.session_factory, L.platform_profit()) == profit
    assert await balance(world.session_factory, L.AccountKey("teamlead", team.lead.id, L.USDT, "available")) == 0
    async with world.session_factory() as session:
        details = (await session.scalars(select(LedgerTransaction.details))).all()
    assert not any("teamlead_reward" in d for d in details)
    await assert_ledger_sound(world.session_factory)
