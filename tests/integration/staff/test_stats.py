"""Statistics rollups: totals equal a brute-force recount, incremental refresh, `/admin/stats`."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import datetime as dt
import io
import random
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import FiatCurrency, LedgerTransaction, OrderDispute, OrderHistory, SettledOrder
from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import AdminPermission, Role
from jivapay.services.staff.stats import INDEXED_DAYS, StatsGroup, StatsReport, conversion, query_stats, refresh_rollups
from tests.factories import bearer, make_user, token_for

UTC = dt.UTC
TODAY = dt.datetime.now(UTC).date()
STATUSES = (
    "pending_payment",
    "client_confirmed",
    "pending",
    "trader_paid",
    "disputed",
    "completed",
    "completed",
    "completed",
    "canceled",
    "expired",
    "declined",
)
MINOR_UNITS = {"RUB": 2, "JPY": 0}
Factory = async_sessionmaker[AsyncSession]


@dataclasses.dataclass(frozen=True)
class Seeded:
    stores: list[int]
    traders: list[int]


async def _seed_world(session_factory: Factory) -> Seeded:
    """Two stores, four traders and a currency without minor units (raw rows: argon2 is slow)."""
    async with atomic(session_factory) as session:
        session.add(FiatCurrency(code="JPY", name="Japanese yen", minor_units=0))
        ids = (
            await session.execute(
                text(
                    "INSERT INTO users (login, password_hash, role) SELECT 'stat' || g, '!', "
                    "CASE WHEN g = 0 THEN 'merchant' ELSE 'trader' END FROM generate_series(0, 4) g RETURNING id"
                )
            )
        ).scalars()
        merchant, *traders = sorted(ids)
        stores = (
            await session.execute(
                text("INSERT INTO stores (merchant_id, name) VALUES (:m, 'a'), (:m, 'b') RETURNING id"), {"m": merchant}
            )
        ).scalars()
    return Seeded(sorted(stores), traders)


def _at(day: dt.date, seconds: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), UTC) + dt.timedelta(seconds=seconds)


async def _seed_orders(session_factory: Factory, world: Seeded, count: int, rng: random.Random) -> None:
    """Orders on 12 days (2 to 13 days ago), right up to the day boundaries, every status;
    completed ones mostly settled; some disputed (still open, or resolved either way). Every
    timestamp is a day old or more, so a refresh after the full rebuild sees no change."""
    async with atomic(session_factory) as session:
        for n in range(count):
            day = TODAY - dt.timedelta(days=rng.randrange(2, 14))
            created = _at(day, rng.choice([0, 1, 43_199, 86_399, rng.randrange(86_400)]))
            created += dt.timedelta(microseconds=rng.randrange(1_000_000))
            status = rng.choice(STATUSES)
            currency = rng.choice(["RUB", "RUB", "JPY"])
            order = OrderHistory(
                store_id=rng.choice(world.stores),
                trader_id=rng.choice(world.traders),
                direction=rng.choice(["payin", "payout"]),
                status=status,
                currency=currency,
                amount=rng.randrange(1, 10_000_000),
                rate=Decimal("92.5"),
                store_commission=Decimal("0.05"),
                trader_commission=Decimal("0.03"),
                payment_method_id=rng.choice([1, 2, 3, None]),
                completed_at=created + dt.timedelta(seconds=rng.randrange(10, 5000), microseconds=rng.randrange(10**6))
                if status == "completed"
                else None,
                created_at=created,
                updated_at=created + dt.timedelta(minutes=1),
            )
            session.add(order)
            await session.flush()
            if status == "completed" and rng.random() < 0.8:
                await _settle(session, order.id, order.direction, rng.randrange(1, 10**9), created)
            if status == "disputed" or (status in ("completed", "canceled") and rng.random() < 0.2):
                session.add(
                    OrderDispute(
                        order_id=order.id,
                        party="merchant",
                        opened_by=f"merchant:{n}",
                        opened_at=created,
                        sla_deadline=created + dt.timedelta(hours=2),
                        resolved_at=None if status == "disputed" else created + dt.timedelta(minutes=2),
                        resolution=None if status == "disputed" else status,
                    )
                )


async def _settle(session: AsyncSession, order_id: int, direction: str, profit: int, at: dt.datetime) -> None:
    tx = LedgerTransaction(idempotency_key=f"settle-{order_id}", kind="settlement", order_id=order_id, legs_hash="")
    session.add(tx)
    await session.flush()
    session.add(
        SettledOrder(
            order_id=order_id, direction=direction, transaction_id=tx.id, platform_profit=profit, created_at=at
        )
    )


# --- the brute-force recount ------------------------------------------------------------------


async def _recount(
    session_factory: Factory, date_from: dt.date, date_to: dt.date, group_by: StatsGroup, **filters: Any
) -> dict[tuple[str, str], dict[str, Any]]:
    """Every order read back and counted in Python: no rollup, no SQL aggregate."""
    async with session_factory() as session:
        orders = (await session.scalars(select(OrderHistory))).all()
        profits = {s.order_id: s.platform_profit for s in (await session.scalars(select(SettledOrder))).all()}
        disputes = set((await session.scalars(select(OrderDispute.order_id))).all())
    sums: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for o in orders:
        day = o.created_at.astimezone(UTC).date()
        method = o.payment_method_id or 0
        if not date_from <= day <= date_to:
            continue
        values: dict[str, object] = {"store_id": o.store_id, "trader_id": o.trader_id, "payment_method_id": method}
        values |= {"direction": o.direction, "currency": o.currency}
        if any(values[name] != wanted for name, wanted in filters.items()):
            continue
        key = {"day": day.isoformat(), "store": o.store_id, "trader": o.trader_id, "payment_method": method}
        for group in (key[group_by.value], "total"):
            s = sums[(str(group), o.currency)]
            s["orders"] += 1
            s["completed"] += o.status == "completed"
            s["canceled"] += o.status in ("canceled", "expired", "declined")
            s["disputed"] += o.status == "disputed" or o.id in disputes
            s["profit"] += profits.get(o.id, 0)
            if o.status == "completed":
                assert o.completed_at is not None
                s["turnover"] += o.amount
                s["seconds"] += (o.completed_at - o.created_at) // dt.timedelta(seconds=1)
    return {
        key: {
            "orders": s["orders"],
            "completed": s["completed"],
            "canceled": s["canceled"],
            "disputed": s["disputed"],
            "conversion": str((Decimal(s["completed"]) / s["orders"]).quantize(Decimal("0.0001"))),
            "turnover": f"{Decimal(s['turnover']).scaleb(-MINOR_UNITS[key[1]]):f}",
            "platform_profit": f"{Decimal(s['profit']).scaleb(-6):f}",
            "avg_confirm_seconds": s["seconds"] // s["completed"] if s["completed"] else None,
        }
        for key, s in sums.items()
    }


def _as_dict(report: StatsReport) -> dict[tuple[str, str], dict[str, Any]]:
    result = {}
    for row in [*report.data, *report.totals]:
        fields = dataclasses.asdict(row)
        result[(fields.pop("key"), fields.pop("currency"))] = fields
    return result


async def _assert_matches_recount(session_factory: Factory, date_from: dt.date, date_to: dt.date) -> None:
    cases: list[dict[str, Any]] = [{}, {"direction": "payout"}, {"currency": "JPY"}, {"payment_method_id": 0}]
    for group in StatsGroup:
        for filters in cases:
            async with session_factory() as session:
                report = await query_stats(session, date_from=date_from, date_to=date_to, group_by=group, **filters)
            expected = await _recount(session_factory, date_from, date_to, group, **filters)
            assert _as_dict(report) == expected, (group, filters)
            assert [(r.key, r.currency) for r in report.data] == sorted(
                ((r.key, r.currency) for r in report.data),
                key=lambda k: (dt.date.fromisoformat(k[0]).toordinal() if group == "day" else int(k[0]), k[1]),
            )


async def _refresh(session_factory: Factory) -> int:
    async with atomic(session_factory) as session:
        return await refresh_rollups(session)


# --- tests ----------------------------------------------------------------------------------


async def test_rollups_equal_a_brute_force_recount(session_factory: Factory, seeded: None) -> None:
    world = await _seed_world(session_factory)
    await _seed_orders(session_factory, world, 400, random.Random(7))

    assert await _refresh(session_factory) == 12  # the first refresh rebuilds every day
    await _assert_matches_recount(session_factory, TODAY - dt.timedelta(days=13), TODAY)
    await _assert_matches_recount(session_factory, TODAY - dt.timedelta(days=8), TODAY - dt.timedelta(days=5))
    for trader in world.traders[:2]:
        async with session_factory() as session:
            report = await query_stats(
                session, date_from=TODAY - dt.timedelta(days=30), date_to=TODAY, group_by="day", trader_id=trader
            )
        expected = await _recount(
            session_factory, TODAY - dt.timedelta(days=30), TODAY, StatsGroup.DAY, trader_id=trader
        )
        assert _as_dict(report) == expected
    async with session_factory() as session:
        store = await query_stats(
            session,
            date_from=TODAY - dt.timedelta(days=3),
            date_to=TODAY - dt.timedelta(days=2),
            group_by="store",
            store_id=world.stores[1],
            currency="rub",
        )
        assert {r.key for r in store.data} <= {str(world.stores[1])}
        assert [t.currency for t in store.totals] == ["RUB"]
        empty = await query_stats(session, date_from=TODAY + dt.timedelta(days=1), date_to=TODAY + dt.timedelta(days=2))
        assert (empty.data, empty.totals) == ([], [])
        assert empty.refreshed_at is not None


def test_conversion_is_a_four_place_decimal_string() -> None:
    assert [conversion(1, 3), conversion(2, 3), conversion(3, 3), conversion(0, 5), conversion(0, 0)] == [
        "0.3333",
        "0.6667",
        "1.0000",
        "0.0000",
        "0",
    ]


async def test_incremental_refresh_rebuilds_only_the_changed_days(session_factory: Factory, seeded: None) -> None:
    world = await _seed_world(session_factory)
    rng = random.Random(11)
    await _seed_orders(session_factory, world, 300, rng)
    assert await _refresh(session_factory) == 12
    assert await _refresh(session_factory) == 0  # nothing changed since (the seeded changes are old)

    async with session_factory() as session:
        orders = (await session.scalars(select(OrderHistory).order_by(OrderHistory.id))).all()
        settled = set((await session.scalars(select(SettledOrder.order_id))).all())
        disputed = set((await session.scalars(select(OrderDispute.order_id))).all())
    open_orders = [o for o in orders if o.status in ("pending_payment", "client_confirmed", "pending", "trader_paid")]
    completing, canceling = open_orders[:6], open_orders[6:10]
    unsettled = [o for o in orders if o.status == "completed" and o.id not in settled][:3]
    undisputed = [o for o in orders if o.status == "canceled" and o.id not in disputed][:2]
    changed_days = {o.created_at.astimezone(UTC).date() for o in [*completing, *canceling, *unsettled, *undisputed]}
    now = dt.datetime.now(UTC)
    async with atomic(session_factory) as session:
        # status changes through the ORM: updated_at moves with them
        for o in completing:
            await session.execute(
                update(OrderHistory).where(OrderHistory.id == o.id).values(status="completed", completed_at=now)
            )
            await _settle(session, o.id, o.direction, 1_234_567, now)
        await session.execute(
            update(OrderHistory).where(OrderHistory.id.in_([o.id for o in canceling])).values(status="canceled")
        )
        # a settlement and a dispute that do not touch the order row are seen too
        for o in unsettled:
            await _settle(session, o.id, o.direction, 7, now)
        for o in undisputed:
            session.add(
                OrderDispute(
                    order_id=o.id, party="support", opened_by="support:1", sla_deadline=now + dt.timedelta(hours=2)
                )
            )
        # a new order on a day that had none
        new_day = TODAY - dt.timedelta(days=20)
        session.add(
            OrderHistory(
                store_id=world.stores[0],
                trader_id=world.traders[0],
                direction="payin",
                status="completed",
                currency="RUB",
                amount=123_45,
                rate=Decimal(90),
                store_commission=Decimal("0.05"),
                trader_commission=Decimal("0.03"),
                payment_method_id=2,
                created_at=_at(new_day, 3600),
                completed_at=_at(new_day, 3661),
            )
        )
    changed_days.add(new_day)

    assert await _refresh(session_factory) == len(changed_days)
    await _assert_matches_recount(session_factory, TODAY - dt.timedelta(days=25), TODAY)
    async with session_factory() as session:
        report = await query_stats(session, date_from=new_day, date_to=new_day, group_by="payment_method")
    assert [(r.key, r.orders, r.turnover, r.avg_confirm_seconds) for r in report.data] == [("2", 1, "123.45", 61)]
    # within the overlap the same days are rebuilt again, to the same numbers
    assert await _refresh(session_factory) == len(changed_days)
    await _assert_matches_recount(session_factory, TODAY - dt.timedelta(days=25), TODAY)

    # more days than INDEXED_DAYS changed: rebuilt in one pass over the history
    async with atomic(session_factory) as session:
        expiring = (
            await session.scalars(select(OrderHistory).where(OrderHistory.status.in_(["pending_payment", "pending"])))
        ).all()
        for o in expiring:
            o.status = "expired"
        older = [TODAY - dt.timedelta(days=n) for n in (30, 31, 32)]
        for day in older:
            session.add(
                OrderHistory(
                    store_id=world.stores[1],
                    trader_id=world.traders[1],
                    direction="payout",
                    status="declined",
                    currency="JPY",
                    amount=500,
                    rate=Decimal("0.6"),
                    store_commission=Decimal("0.05"),
                    trader_commission=Decimal("0.03"),
                    created_at=_at(day, 86_399),
                )
            )
    touched = changed_days | {o.created_at.astimezone(UTC).date() for o in expiring} | set(older)
    assert len(touched) > INDEXED_DAYS
    assert await _refresh(session_factory) == len(touched)
    await _assert_matches_recount(session_factory, TODAY - dt.timedelta(days=40), TODAY)


async def test_two_refreshes_never_run_at_once(session_factory: Factory, seeded: None) -> None:
    world = await _seed_world(session_factory)
    await _seed_orders(session_factory, world, 20, random.Random(3))
    async with atomic(session_factory) as first:
        await refresh_rollups(first)
        second = asyncio.create_task(_refresh(session_factory))
        await asyncio.sleep(0.5)
        assert not second.done()  # waits for the first one's advisory lock
    assert await asyncio.wait_for(second, 10) == 0
    async with session_factory() as session:
        count = (await session.execute(text("SELECT sum(orders) FROM order_daily_stats"))).scalar_one()
    assert count == 20


async def test_scheduler_enqueues_one_refresh_per_period_and_the_worker_runs_it(
    session_factory: Factory, seeded: None, resources: Any, worker: Any
) -> None:
    from jivapay.worker.scheduler import enqueue_stats_refresh_job

    world = await _seed_world(session_factory)
    await _seed_orders(session_factory, world, 30, random.Random(9))
    await enqueue_stats_refresh_job()
    await enqueue_stats_refresh_job()  # within STATS_REFRESH_SECONDS: not enqueued again
    assert 0 < await resources.redis.ttl("jivapay:stats:refresh") <= 60
    for _ in range(200):
        async with session_factory() as session:
            done = (await session.execute(text("SELECT details FROM rollup_watermarks"))).scalar_one_or_none()
        if done is not None:
            break
        await asyncio.sleep(0.05)
    async with session_factory() as session:
        days = await session.scalar(
            text("SELECT count(DISTINCT (created_at AT TIME ZONE 'UTC')::date) FROM order_history")
        )
        assert done == {"days_rebuilt": days}
        assert await session.scalar(text("SELECT sum(orders) FROM order_daily_stats")) == 30
    await asyncio.sleep(0.5)  # a second refresh (had one been sent) would record 0 days rebuilt
    async with session_factory() as session:
        assert await session.scalar(text("SELECT details FROM rollup_watermarks")) == {"days_rebuilt": days}


async def test_admin_stats_api_json_csv_validation_and_permission(
    session_factory: Factory, seeded: None, client: Any
) -> None:
    world = await _seed_world(session_factory)
    await _seed_orders(session_factory, world, 120, random.Random(5))
    await _refresh(session_factory)
    admin = await make_user(session_factory, Role.ADMIN)
    headers = bearer(await token_for(client, Role.ADMIN, admin.login))
    date_from, date_to = (TODAY - dt.timedelta(days=13)).isoformat(), TODAY.isoformat()
    params = {"from": date_from, "to": date_to, "group_by": "trader"}

    answer = await client.get("/admin/stats", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"data", "totals", "refreshed_at"}
    assert body["refreshed_at"] is not None
    expected = await _recount(session_factory, TODAY - dt.timedelta(days=13), TODAY, StatsGroup.TRADER)
    got = {(r["key"], r["currency"]): dict(r) for r in [*body["data"], *body["totals"]]}
    for fields in got.values():
        del fields["key"], fields["currency"]
    assert got == expected
    assert {t["currency"] for t in body["totals"]} == {"RUB", "JPY"}
    assert sum(t["orders"] for t in body["totals"]) == 120
    default = await client.get("/admin/stats", headers=headers)  # the last 30 days by day
    assert default.status_code == 200
    assert all(len(r["key"]) == 10 for r in default.json()["data"])
    assert default.json()["totals"] == body["totals"]
    filtered = await client.get(
        "/admin/stats", params={**params, "trader_id": world.traders[0], "direction": "payin"}, headers=headers
    )
    assert {r["key"] for r in filtered.json()["data"]} <= {str(world.traders[0])}

    exported = await client.get("/admin/stats.csv", params=params, headers=headers)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0] == [
        "key",
        "currency",
        "orders",
        "completed",
        "canceled",
        "disputed",
        "conversion",
        "turnover",
        "platform_profit",
        "avg_confirm_seconds",
    ]
    assert len(rows) == 1 + len(body["data"]) + len(body["totals"])
    first = body["data"][0]
    assert rows[1] == [str(first[c]) for c in rows[0]]
    assert rows[-1][0] == "total"
    csv_totals = {r[1]: r for r in rows if r[0] == "total"}
    for total in body["totals"]:
        assert csv_totals[total["currency"]][2] == str(total["orders"])
        assert csv_totals[total["currency"]][7] == total["turnover"]
        assert csv_totals[total["currency"]][8] == total["platform_profit"]

    bad = [
        {"from": date_to, "to": date_from},
        {**params, "group_by": "month"},
        {"from": "2024-01-01", "to": "2025-01-01"},  # 367 days
        {**params, "direction": "sideways"},
        {**params, "from": "yesterday"},
    ]
    for query in bad:
        for path in ("/admin/stats", "/admin/stats.csv"):
            refused = await client.get(path, params=query, headers=headers)
            assert refused.status_code == 422, (path, query, refused.text)
            assert refused.json()["error"]["code"] == "validation_failed"
    year = await client.get("/admin/stats", params={"from": "2024-01-01", "to": "2024-12-31"}, headers=headers)
    assert year.status_code == 200  # 366 days (a leap year) is allowed

    clerk = await make_user(session_factory, Role.ADMIN, permissions={AdminPermission.MANAGE_USERS})
    clerk_headers = bearer(await token_for(client, Role.ADMIN, clerk.login))
    for path in ("/admin/stats", "/admin/stats.csv"):
        assert (await client.get(path, params=params, headers=clerk_headers)).status_code == 403
    merchant = await make_user(session_factory, Role.MERCHANT)
    merchant_headers = bearer(await token_for(client, Role.MERCHANT, merchant.login))
    assert (await client.get("/admin/stats", headers=merchant_headers)).status_code == 403
