"""`/admin/stats` p99 for a 90-day range over 1M orders, served from the daily rollups.

Seeds 1M orders over the last 90 days with bulk SQL (3 stores, 1000 traders, every outcome:
completed mostly settled, canceled, expired, declined, open, disputed), builds the rollups
from scratch, then refreshes them after touching 1000 recent orders and after touching 1000
orders spread over the whole range. Starts `jivapay api` (uvicorn, one process), signs in as
an admin and measures `GET /admin/stats?from=<89 days ago>&to=<today>&group_by=day` (and
group_by=trader) from one client. The baseline is the same aggregate computed directly over
the order history (order_history ⟕ order_settlements ⟕ order_disputes, grouped by day and
currency) — what the endpoint would cost without the rollups — so ratio = baseline / value.

    uv run python bench/stats.py [--orders 1000000] [--traders 1000] [--requests 200]

Uses JIVAPAY_TEST_DATABASE_URL / JIVAPAY_TEST_REDIS_URL when set, embedded servers otherwise.
The last line is one JSON object: metric, value, unit, baseline, ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.services import ServiceHarness

from bench.common import percentile, use_harness
from bench.gateway import _free_port

STORES = 3
DAYS = 90
ADMIN_LOGIN = "bench-admin"
ADMIN_PASSWORD = "bench-password-1"
FIRST_TRADER = 100_001
# the brute-force aggregate the rollups replace (the baseline)
BRUTE_FORCE = """
SELECT (o.created_at AT TIME ZONE 'UTC')::date AS day, o.currency, count(*),
       count(*) FILTER (WHERE o.status = 'completed'),
       count(*) FILTER (WHERE o.status IN ('canceled', 'expired', 'declined')),
       count(*) FILTER (WHERE o.status = 'disputed' OR d.order_id IS NOT NULL),
       coalesce(sum(o.amount) FILTER (WHERE o.status = 'completed'), 0),
       coalesce(sum(s.platform_profit), 0),
       coalesce(sum(floor(extract(epoch FROM o.completed_at - o.created_at)))
                FILTER (WHERE o.status = 'completed'), 0)
FROM order_history o
LEFT JOIN order_settlements s ON s.order_id = o.id
LEFT JOIN order_disputes d ON d.order_id = o.id
WHERE o.created_at >= CAST(:date_from AS date)::timestamp AT TIME ZONE 'UTC'
  AND o.created_at < (CAST(:date_to AS date) + 1)::timestamp AT TIME ZONE 'UTC'
GROUP BY 1, 2 ORDER BY 1, 2
"""


async def _seed(orders: int, traders: int) -> None:
    """Reference data, an admin, traders and stores, then the orders in a few bulk statements.

    Order g: trader by g, store, outcome and age from multiplicative hashes of g (spread, but
    the same every run); a trader keeps one direction, payment method and currency.
    """
    from sqlalchemy import text

    from jivapay.adapters.db.uow import atomic
    from jivapay.adapters.resources import close_resources, get_resources
    from jivapay.domain.identity.roles import ALL_ADMIN_PERMISSIONS, Role
    from jivapay.domain.platform.audit import Actor
    from jivapay.services.identity.users import create_user
    from jivapay.services.platform.config import set_config
    from jivapay.services.platform.seed import seed_all
    from jivapay.settings import get_settings

    system = Actor.system("bench")
    last_trader = FIRST_TRADER + traders - 1
    async with atomic(get_resources().session_factory) as session:
        await seed_all(session)
        for key, value in (("RATE_LIMIT_DEFAULT", "100000000/minute"), ("IP_BLOCK_THRESHOLD", 10**9)):
            await set_config(session, key, value, actor=system)
        await create_user(
            session,
            get_settings(),
            system,
            login=ADMIN_LOGIN,
            password=ADMIN_PASSWORD,
            role=Role.ADMIN,
            permissions=sorted(ALL_ADMIN_PERMISSIONS),
        )
        statements = [
            f"INSERT INTO users (id, login, password_hash, role) SELECT g, 't' || g, '!', 'trader' "
            f"FROM generate_series({FIRST_TRADER}, {last_trader}) g",
            "INSERT INTO users (id, login, password_hash, role) VALUES (100000, 'bench-merchant', '!', 'merchant')",
            "SELECT setval('users_id_seq', (SELECT max(id) FROM users))",
            f"INSERT INTO stores (id, merchant_id, name) SELECT g, 100000, 'store ' || g "
            f"FROM generate_series(1, {STORES}) g",
            "SELECT setval('stores_id_seq', (SELECT max(id) FROM stores))",
            "INSERT INTO ledger_transactions (id, idempotency_key, kind, legs_hash) "
            "VALUES (1, 'bench-settlements', 'settlement', '')",
            "SELECT setval('ledger_transactions_id_seq', 1)",
            # h: a hash of g in [0, 1000) picks the outcome; age: seconds back from now, up to 90 days
            "INSERT INTO order_history (id, public_id, store_id, trader_id, direction, status, currency, amount, "
            "rate, store_commission, trader_commission, payment_method_id, created_at, updated_at, completed_at) "
            "SELECT g, 'ord_' || substr(md5(random()::text || g::text), 1, 22), 1 + (g * 7) % 3, t, "
            "CASE WHEN t % 4 = 0 THEN 'payout' ELSE 'payin' END, "
            "CASE WHEN h < 600 THEN 'completed' WHEN h < 700 THEN 'canceled' WHEN h < 820 THEN 'expired' "
            "WHEN h < 840 THEN 'disputed' WHEN h < 860 AND t % 4 = 0 THEN 'declined' "
            "WHEN t % 4 = 0 THEN 'pending' ELSE 'pending_payment' END, "
            "CASE WHEN t % 10 < 8 THEN 'RUB' ELSE 'KZT' END, 100000 + (g * 7919) % 9900000, 92.5, 0.05, 0.03, "
            "CASE WHEN t % 7 = 0 THEN NULL ELSE 1 + t % 3 END, now() - age, now() - age + interval '10 minutes', "
            "CASE WHEN h < 600 THEN now() - age + (60 + (g * 13) % 1800) * interval '1 second' END "
            f"FROM (SELECT g, {FIRST_TRADER} + (g * 31) % {traders} AS t, (g * 2654435761) % 1000 AS h, "
            f"((g * 40503) % ({DAYS} * 86400 - 3600) + 3600) * interval '1 second' AS age "
            f"FROM generate_series(1::bigint, {orders}) g) x",
            "SELECT setval('order_history_id_seq', (SELECT max(id) FROM order_history))",
            # nine in ten completed orders are settled: profit F/R·(s−t) in micro-USDT
            "INSERT INTO order_settlements (order_id, direction, transaction_id, platform_profit, created_at) "
            "SELECT id, direction, 1, amount * 2000 / 925, completed_at FROM order_history "
            "WHERE status = 'completed' AND id % 10 <> 0",
            # open disputes, and one in fifty completed or canceled orders went through one
            "INSERT INTO order_disputes (order_id, party, opened_by, opened_at, sla_deadline, resolved_at, resolution) "
            "SELECT id, 'merchant', 'merchant:100000', created_at + interval '1 minute', "
            "created_at + interval '121 minutes', CASE WHEN status <> 'disputed' THEN updated_at END, "
            "CASE WHEN status <> 'disputed' THEN status END FROM order_history "
            "WHERE status = 'disputed' OR (status IN ('completed', 'canceled') AND id % 50 = 0)",
        ]
        for statement in statements:
            await session.execute(text(statement))
    await _vacuum()
    await close_resources()


async def _vacuum() -> None:
    from sqlalchemy import text

    from jivapay.adapters.resources import get_resources

    async with get_resources().engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE"))
        await autocommit.execute(text("CHECKPOINT"))


async def _refresh(touch: str | None = None) -> tuple[float, int, int]:
    """(seconds, days rebuilt, rollup rows) of one refresh, after ``touch`` (an UPDATE) commits."""
    from sqlalchemy import text

    from jivapay.adapters.db.uow import atomic
    from jivapay.adapters.resources import close_resources, get_resources
    from jivapay.services.staff.stats import refresh_rollups

    factory = get_resources().session_factory
    if touch:
        async with atomic(factory) as session:
            await session.execute(text(touch))
    started = time.perf_counter()
    async with atomic(factory) as session:
        days = await refresh_rollups(session)
    elapsed = time.perf_counter() - started
    async with factory() as session:
        rows = int((await session.execute(text("SELECT count(*) FROM order_daily_stats"))).scalar_one())
    await close_resources()
    return elapsed, days, rows


# 1000 open orders completed: the newest (what changes in practice), or spread over the range
TOUCH_RECENT = (
    "UPDATE order_history SET status = 'completed', completed_at = now(), updated_at = now() WHERE id IN "
    "(SELECT id FROM order_history WHERE status IN ('pending_payment', 'pending') ORDER BY created_at DESC "
    "LIMIT 1000)"
)
TOUCH_SPREAD = (
    "UPDATE order_history SET status = 'canceled', updated_at = now() WHERE id IN "
    "(SELECT id FROM order_history WHERE status IN ('pending_payment', 'pending') AND id % 97 = 0 LIMIT 1000)"
)


async def _brute_force(date_from: dt.date, date_to: dt.date, samples: int) -> tuple[float, int]:
    from sqlalchemy import text

    from jivapay.adapters.resources import close_resources, get_resources

    latencies = []
    rows = 0
    async with get_resources().session_factory() as session:
        for _ in range(samples):
            started = time.perf_counter()
            rows = len((await session.execute(text(BRUTE_FORCE), {"date_from": date_from, "date_to": date_to})).all())
            latencies.append(time.perf_counter() - started)
            await session.rollback()
    await close_resources()
    return percentile(latencies, 0.99), rows


async def _measure(base: str, token: str, params: dict[str, str], requests: int) -> tuple[list[float], int]:
    import httpx

    latencies: list[float] = []
    rows = 0
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        for n in range(requests + 10):
            started = time.perf_counter()
            response = await http.get("/admin/stats", params=params)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"/admin/stats answered {response.status_code}: {response.text[:300]}")
            if n >= 10:  # the first ones warm the connection pool and the caches
                latencies.append(elapsed)
            rows = len(response.json()["data"])
    return latencies, rows


def _serve_and_measure(params: dict[str, str], requests: int) -> tuple[list[float], int, list[float], int]:
    """Start `jivapay api`, sign in as the admin, time /admin/stats by day and by trader."""
    import httpx

    port = _free_port()
    api = subprocess.Popen(
        [sys.executable, "-m", "jivapay", "api", "--port", str(port)],
        env={**os.environ, "LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        signed_in = httpx.post(
            f"{base}/admin/auth/token", data={"username": ADMIN_LOGIN, "password": ADMIN_PASSWORD}, timeout=30
        )
        signed_in.raise_for_status()
        token = signed_in.json()["access_token"]
        by_day, day_rows = asyncio.run(_measure(base, token, {**params, "group_by": "day"}, requests))
        by_trader, trader_rows = asyncio.run(_measure(base, token, {**params, "group_by": "trader"}, requests))
    finally:
        api.terminate()
        api.wait(timeout=20)
    return by_day, day_rows, by_trader, trader_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--traders", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--baseline-samples", type=int, default=20)
    args = parser.parse_args()

    harness = ServiceHarness()
    harness.start()
    try:
        use_harness(harness, SECRET_KEY="bench-secret-key-0123456789abcdef0123", WORKER_METRICS_PORT="0")
        from jivapay.adapters.db.migrations import upgrade_to_head
        from jivapay.logs import configure_logging

        configure_logging("WARNING", "console")
        upgrade_to_head(harness.database_url)
        seed_started = time.perf_counter()
        asyncio.run(_seed(args.orders, args.traders))
        seeded = time.perf_counter() - seed_started
        full_seconds, full_days, rollup_rows = asyncio.run(_refresh())
        asyncio.run(_vacuum())
        idle_seconds, idle_days, _ = asyncio.run(_refresh())
        recent_seconds, recent_days, _ = asyncio.run(_refresh(TOUCH_RECENT))
        spread_seconds, spread_days, _ = asyncio.run(_refresh(TOUCH_SPREAD))

        date_to = dt.datetime.now(dt.UTC).date()
        date_from = date_to - dt.timedelta(days=DAYS - 1)
        baseline, baseline_rows = asyncio.run(_brute_force(date_from, date_to, args.baseline_samples))

        params = {"from": date_from.isoformat(), "to": date_to.isoformat()}
        by_day, day_rows, by_trader, trader_rows = _serve_and_measure(params, args.requests)
    finally:
        harness.stop()

    p99 = percentile(by_day, 0.99)
    print(
        f"{args.orders} orders over {DAYS} days, {STORES} stores, {args.traders} traders (seeded in {seeded:.0f} s); "
        f"{rollup_rows} rollup rows"
    )
    print(
        f"refresh: full rebuild {full_seconds:.2f} s ({full_days} days); nothing changed {idle_seconds:.2f} s "
        f"({idle_days} days); 1000 recent orders touched {recent_seconds:.2f} s ({recent_days} days); "
        f"1000 orders spread over the range touched {spread_seconds:.2f} s ({spread_days} days)"
    )
    print(
        f"GET /admin/stats {DAYS} days group_by=day: p50 {percentile(by_day, 0.5) * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms ({day_rows} rows, {args.requests} requests, one client)"
    )
    print(
        f"GET /admin/stats {DAYS} days group_by=trader: p50 {percentile(by_trader, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(by_trader, 0.99) * 1000:.1f} ms ({trader_rows} rows)"
    )
    print(
        f"brute-force aggregate over order_history (same range, by day and currency): p99 {baseline * 1000:.1f} ms "
        f"({baseline_rows} rows, {args.baseline_samples} samples, SQL only, no HTTP)"
    )
    print(
        json.dumps(
            {
                "metric": "admin_stats_p99_ms",
                "value": round(p99 * 1000, 1),
                "unit": "ms",
                "baseline": round(baseline * 1000, 1),
                "ratio": round(baseline / p99, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
