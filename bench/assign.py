"""Order assignment throughput, and selection latency against history size.

Seeds 10k traders with 100k requisites (10 each) and 1M historical orders, then assigns
incoming pay-ins with 8 concurrent clients (in 2 processes, like the worker) through
`process_incoming_order`, and in the same run measures pgbench (TPC-B-like, 8 clients) on
the same server. Selection p99 is measured with 10k and with 1M history rows: selection
reads per-requisite counters, never the history, so the two should be within 1.2×.

The history comes with the per-requisite daily usage counters it implies, as in a live system.
Before the measured orders, a warm-up batch is assigned and the tables it changed are analyzed,
standing in for autovacuum's pass in a live system (at most a minute with revision 0012's
settings); ``--warmup 0`` measures a cold start, on plans made while the counters were empty.
Only assigned orders count. ``--explain`` prints the selection's generic plan after the run.

    uv run python bench/assign.py [--traders 10000] [--history 1000000] [--orders 2000] [--warmup 500]
                                  [--explain]

Uses JIVAPAY_TEST_DATABASE_URL / JIVAPAY_TEST_REDIS_URL when set, embedded servers otherwise.
The last line is one JSON object: metric, value, unit, baseline, ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.services import ServiceHarness

from bench.common import emit_result, percentile, run_in_processes, use_harness
from bench.ledger import _pgbench

REQUISITES_PER_TRADER = 10


async def _seed(traders: int) -> None:
    from decimal import Decimal

    from sqlalchemy import text

    from jivapay.adapters.db.uow import atomic
    from jivapay.adapters.resources import close_resources, get_resources
    from jivapay.domain.platform.audit import Actor
    from jivapay.services.platform.config import set_config
    from jivapay.services.platform.reference_data import set_exchange_rate
    from jivapay.services.platform.seed import seed_all

    factory = get_resources().session_factory
    async with atomic(factory) as session:
        await seed_all(session)
        await set_exchange_rate(session, "RUB", Decimal("92.5"), actor=Actor.system("bench"))
        await set_config(session, "MAX_ORDER_RETRIES", 1000, actor=Actor.system("bench"))
        statements = [
            f"INSERT INTO users (id, login, password_hash, role) SELECT g, 't' || g, '!', 'trader' "
            f"FROM generate_series(1, {traders}) g",
            f"INSERT INTO users (id, login, password_hash, role) VALUES ({traders + 1}, 'm', '!', 'merchant')",
            "SELECT setval('users_id_seq', (SELECT max(id) FROM users))",
            f"INSERT INTO trader_profiles (user_id, in_work, traffic_priority) SELECT g, true, g % 10 "
            f"FROM generate_series(1, {traders}) g",
            f"INSERT INTO stores (id, merchant_id, name) VALUES (1, {traders + 1}, 'bench')",
            "SELECT setval('stores_id_seq', 1)",
            # collateral: balances through a real posting would take minutes; one balanced bulk posting
            "INSERT INTO ledger_transactions (id, idempotency_key, kind, legs_hash) "
            "VALUES (1, 'bench-seed', 'deposit', '')",
            "SELECT setval('ledger_transactions_id_seq', 1)",
            "INSERT INTO accounts (id, owner_type, owner_id, currency, kind, label, balance) VALUES "
            f"(1, 'external', 0, 'USDT', 'external', 'TRC20', -{traders} * 1000000000000)",
            f"INSERT INTO accounts (id, owner_type, owner_id, currency, kind, balance) SELECT g + 1, 'trader', g, "
            f"'USDT', 'available', 1000000000000 FROM generate_series(1, {traders}) g",
            "SELECT setval('accounts_id_seq', (SELECT max(id) FROM accounts))",
            "INSERT INTO ledger_entries (transaction_id, account_id, currency, amount, balance_after) "
            "SELECT 1, id, 'USDT', balance, balance FROM accounts",
            f"INSERT INTO requisites (trader_id, type, bank_id, payment_method_id, currency, owner_name, "
            f"number_encrypted, number_last4, number_fingerprint, direction, max_open_orders, priority) "
            f"SELECT (g % {traders}) + 1, 'card', 1, 1, 'RUB', 'Bench', 'x', lpad((g % 10000)::text, 4, '0'), "
            f"md5(g::text), 'both', 5, ((g % {traders}) + 1) % 10 "
            f"FROM generate_series(1, {traders * REQUISITES_PER_TRADER}) g",
        ]
        for statement in statements:
            await session.execute(text(statement))
    await _vacuum()
    await close_resources()


async def _add_history(rows: int) -> None:
    from sqlalchemy import text

    from jivapay.adapters.db.uow import atomic
    from jivapay.adapters.resources import close_resources, get_resources

    async with atomic(get_resources().session_factory) as session:
        await session.execute(
            text(
                "INSERT INTO order_history (public_id, store_id, trader_id, direction, status, currency, amount, rate, "
                "store_commission, trader_commission, requisite_id, created_at) "
                "SELECT 'ord_' || substr(md5(random()::text || g::text), 1, 22), "
                "1, (g % (SELECT count(*) FROM trader_profiles)) + 1, 'payin', 'completed', 'RUB', "
                "100000 + g % 1000, 92.5, 0.05, 0.03, (g % (SELECT count(*) FROM requisites)) + 1, "
                f"now() - (g % 90) * interval '1 day' FROM generate_series(1, {rows}) g"
            )
        )
        # the counters the history implies (every assignment counts itself there)
        await session.execute(text("TRUNCATE requisite_daily_usage"))
        await session.execute(
            text(
                "INSERT INTO requisite_daily_usage (requisite_id, day, turnover, orders) "
                "SELECT requisite_id, (created_at AT TIME ZONE 'UTC')::date, sum(amount), count(*) "
                "FROM order_history GROUP BY 1, 2"
            )
        )
    await _vacuum()
    await close_resources()


async def _outside_transaction(*statements: str) -> None:
    from sqlalchemy import text

    from jivapay.adapters.resources import get_resources

    async with get_resources().engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        for statement in statements:
            await autocommit.execute(text(statement))


async def _vacuum() -> None:
    """VACUUM ANALYZE and CHECKPOINT now, so neither autovacuum on the fresh rows nor the
    checkpointer flushing them competes with a measurement."""
    await _outside_transaction("VACUUM ANALYZE", "CHECKPOINT")


async def _analyze() -> None:
    """What autovacuum does within a minute of a table's growth in a live system."""
    from jivapay.adapters.resources import close_resources

    await _outside_transaction("ANALYZE requisite_open_amounts, requisite_daily_usage, requisites")
    await close_resources()


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, list):
        return "'{" + ",".join(map(str, value)) + "}'"
    return str(value) if isinstance(value, int) else f"'{value}'"


async def _explain_selection() -> str:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of the selection's *generic* plan — the one a worker's
    connection caches after five runs and keeps — with a pay-in's values (rolled back)."""
    import datetime as dt

    import asyncpg

    from jivapay.adapters.db.orders.selection import _FIND
    from jivapay.settings import get_settings

    today = dt.datetime.now(dt.UTC).date()
    params = {
        "direction": "payin",
        "currency": "RUB",
        "payment_method_id": 1,
        "bank_id": None,
        "amount": 100_000,
        "collateral": 10**6,
        "today": today,
        "month_start": today.replace(day=1),
        "exclude": [],
    }
    connection = await asyncpg.connect(get_settings().require_database_url())
    transaction = connection.transaction()
    await transaction.start()
    try:
        await connection.execute(f"PREPARE bench_selection AS {_FIND.sql}")
        await connection.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        # EXPLAIN takes no bound parameters: the values go in as literals (all ours, none quoted)
        literals = ", ".join(_literal(value) for value in _FIND.arguments(params))
        rows = await connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_selection({literals})")
        return "\n".join(row[0] for row in rows)
    finally:
        await transaction.rollback()  # nothing the selection locked is kept
        await connection.close()


async def _selection_p99(samples: int, warmup: int = 200) -> float:
    """Latency of the selection statement alone (rolled back: nothing is booked), after
    ``warmup`` untimed runs: the bulk history load just pushed the requisites out of the
    buffer cache, and steady state is what a worker sees."""
    import datetime as dt

    from jivapay.adapters.db.orders.selection import SelectionRepository
    from jivapay.adapters.resources import close_resources, get_resources

    latencies = []
    factory = get_resources().session_factory
    for n in range(warmup + samples):
        async with factory() as session, session.begin():
            started = time.perf_counter()
            await SelectionRepository(session).find(
                direction="payin",
                currency="RUB",
                payment_method_id=1,
                bank_id=None,
                amount=100_000 + n,
                collateral=10**6,
                today=dt.datetime.now(dt.UTC).date(),
                exclude=[],
            )
            if n >= warmup:
                latencies.append(time.perf_counter() - started)
            await session.rollback()
    await close_resources()
    return percentile(latencies, 0.99)


async def _make_incoming(orders: int) -> list[int]:
    from sqlalchemy import text

    from jivapay.adapters.db.uow import atomic
    from jivapay.adapters.resources import close_resources, get_resources

    async with atomic(get_resources().session_factory) as session:
        rows = await session.execute(
            text(
                "INSERT INTO incoming_orders (public_id, store_id, direction, amount, currency, payment_method_id, "
                "merchant_order_id) SELECT 'ord_' || substr(md5(random()::text || g::text), 1, 22), "
                "1, 'payin', 100000 + g, 'RUB', 1, 'bench-' || g "
                f"FROM generate_series(1, {orders}) g RETURNING id"
            )
        )
        ids = sorted(int(r[0]) for r in rows.all())
    await _vacuum()
    await close_resources()
    return ids


def _worker_main(clients: int, ids: list[int]) -> None:
    from jivapay.logs import configure_logging

    configure_logging("WARNING", "console")

    async def run() -> dict[str, object]:
        import jivapay.services.orders.processing as processor
        from jivapay.adapters.resources import close_resources, get_resources

        factory = get_resources().session_factory
        async with get_resources().engine.connect():
            pass
        queue: asyncio.Queue[int] = asyncio.Queue()
        for incoming_id in ids:
            queue.put_nowait(incoming_id)
        latencies: list[float] = []
        statuses: dict[str, int] = {}

        async def client() -> None:
            while not queue.empty():
                incoming_id = queue.get_nowait()
                begin = time.perf_counter()
                outcome = await processor.process_incoming_order(factory, incoming_id)
                latencies.append(time.perf_counter() - begin)
                statuses[outcome.status] = statuses.get(outcome.status, 0) + 1

        started = time.time()
        await asyncio.gather(*(client() for _ in range(clients)))
        finished = time.time()
        await close_resources()
        return {"latencies": latencies, "started": started, "finished": finished, "statuses": statuses}

    from jivapay.eventloop import use_uvloop

    use_uvloop()  # as the worker does
    emit_result(asyncio.run(run()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traders", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=2_000)
    parser.add_argument("--explain", action="store_true", help="print the selection's plan after the run")
    parser.add_argument("--warmup", type=int, default=500, help="orders assigned before the measured ones")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--pgbench-seconds", type=int, default=15)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker_main(int(args.worker[0]), [int(x) for x in args.worker[1].split(",") if x])
        return

    harness = ServiceHarness()
    harness.start()
    try:
        use_harness(harness)
        from jivapay.adapters.db.migrations import upgrade_to_head
        from jivapay.logs import configure_logging

        configure_logging("WARNING", "console")
        upgrade_to_head(harness.database_url)
        seed_started = time.perf_counter()
        asyncio.run(_seed(args.traders))
        asyncio.run(_add_history(10_000))
        p99_small = asyncio.run(_selection_p99(1000))
        asyncio.run(_add_history(args.history - 10_000))
        p99_large = asyncio.run(_selection_p99(1000))
        seeded = time.perf_counter() - seed_started
        ids = asyncio.run(_make_incoming(args.warmup + args.orders))
        if args.warmup:
            run_in_processes(__file__, ids[: args.warmup], args.clients, args.processes)
            asyncio.run(_analyze())
        elapsed, latencies, results = run_in_processes(__file__, ids[args.warmup :], args.clients, args.processes)
        statuses: dict[str, int] = {}
        for result in results:
            for status, count in result["statuses"].items():
                statuses[status] = statuses.get(status, 0) + count
        plan = asyncio.run(_explain_selection()) if args.explain else ""
        tps = _pgbench(harness, args.clients, args.pgbench_seconds)
    finally:
        harness.stop()

    rate = statuses.get("assigned", 0) / elapsed  # only what was assigned counts
    print(
        f"{args.traders} traders, {args.traders * REQUISITES_PER_TRADER} requisites, {args.history} history rows "
        f"(seeded in {seeded:.0f} s); {args.orders} incoming pay-ins after {args.warmup} warm-up ones, "
        f"{args.clients} clients in {args.processes} processes; outcomes {statuses}"
    )
    print(
        f"assignments: {rate:.1f}/s (p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms)"
    )
    print(
        f"selection p99: {p99_small * 1000:.2f} ms at 10k history rows, {p99_large * 1000:.2f} ms at "
        f"{args.history} ({p99_large / p99_small:.2f}x; target within 1.2x)"
    )
    if plan:
        print(f"selection plan after the run:\n{plan}")
    print(f"pgbench tpcb-like, {args.clients} clients, same server: {tps:.1f} tps")
    print(
        json.dumps(
            {
                "metric": "order_assignments_per_second",
                "value": round(rate, 1),
                "unit": "assignments/s",
                "baseline": round(tps, 1),
                "ratio": round(rate / tps, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
