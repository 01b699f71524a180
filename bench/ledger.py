"""Ledger settlement throughput next to pgbench on the same PostgreSQL server.

Prepares completed pay-in orders with their collateral frozen (10 traders, 10 stores),
then settles them through `settle_completed_order` with 8 concurrent clients, each
settlement its own transaction, as the `ledger.settle` actor does. In the same run,
pgbench (TPC-B-like, 8 clients) measures what the server does with its own simple
transactions. The ratio is settlements/s ÷ pgbench TPS (target ≥ 0.15).

Uses JIVAPAY_TEST_DATABASE_URL / JIVAPAY_TEST_REDIS_URL when set, embedded servers
otherwise.  uv run python bench/ledger.py [--orders 2000] [--clients 8] [--processes 2] [--pgbench-seconds 15]
The clients are split over processes as `jivapay worker` runs them: each process has one
event loop and its own connection pool.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.services import ServiceHarness

from bench.common import emit_result, percentile, run_in_processes, use_harness

TRADERS = STORES = 10


async def _prepare(orders: int) -> list[int]:
    from sqlalchemy import insert, text

    from jivapay.adapters.db.models import OrderHistory
    from jivapay.adapters.db.uow import atomic
    from jivapay.adapters.resources import get_resources
    from jivapay.domain.ledger import posting as L
    from jivapay.services.ledger import posting
    from jivapay.services.platform.seed import seed_all

    resources = get_resources()
    async with atomic(resources.session_factory) as session:
        await seed_all(session)
        await session.execute(
            text(
                "INSERT INTO users (id, login, password_hash, role) SELECT g, 'bench-' || g, '!', "
                f"CASE WHEN g <= {TRADERS} THEN 'trader' ELSE 'merchant' END FROM generate_series(1, {TRADERS + 1}) g"
            )
        )
        await session.execute(
            text(
                f"INSERT INTO stores (id, merchant_id, name) "
                f"SELECT g, {TRADERS + 1}, 'bench' FROM generate_series(1, {STORES}) g"
            )
        )
        for trader in range(1, TRADERS + 1):
            await posting.credit_deposit(session, "trader", trader, "TRC20", 10**15, f"bench-{trader}")
        rows = [
            {
                "store_id": n % STORES + 1,
                "trader_id": n % TRADERS + 1,
                "direction": "payin",
                "status": "completed",
                "currency": "RUB",
                "amount": 100_000 + n,
                "rate": Decimal("92.5"),
                "store_commission": Decimal("0.05"),
                "trader_commission": Decimal("0.03"),
            }
            for n in range(orders)
        ]
        ids = list((await session.execute(insert(OrderHistory).returning(OrderHistory.id), rows)).scalars())
    # collateral frozen at assignment, as the order engine will do
    for start in range(0, len(ids), 500):
        async with atomic(resources.session_factory) as session:
            for order_id, row in zip(ids[start : start + 500], rows[start : start + 500], strict=True):
                split = L.payin_split(row["amount"], 2, row["rate"], row["store_commission"], row["trader_commission"])
                await posting.freeze(
                    session, "trader", row["trader_id"], split.trader_hold, posting.order_hold_reference(order_id)
                )
    return ids


def _worker_main(clients: int, ids: list[int]) -> None:
    from jivapay.logs import configure_logging

    configure_logging("WARNING", "console")

    async def run() -> dict[str, object]:
        from sqlalchemy import text

        import jivapay.services.ledger.posting  # noqa: F401 - imported before the clock starts
        from jivapay.adapters.resources import close_resources, get_resources

        async with get_resources().engine.connect() as conn:  # warm the pool
            await conn.execute(text("SELECT 1"))
        started = time.time()
        elapsed, latencies = await _settle_all(ids, clients)
        await close_resources()
        return {"latencies": latencies, "started": started, "finished": started + elapsed}

    emit_result(asyncio.run(run()))


async def _settle_all(ids: list[int], clients: int) -> tuple[float, list[float]]:
    from jivapay.adapters.db.uow import atomic
    from jivapay.adapters.resources import get_resources
    from jivapay.services.ledger.posting import settle_completed_order

    factory = get_resources().session_factory
    queue: asyncio.Queue[int] = asyncio.Queue()
    for order_id in ids:
        queue.put_nowait(order_id)
    latencies: list[float] = []

    async def client() -> None:
        while not queue.empty():
            order_id = queue.get_nowait()
            started = time.perf_counter()
            async with atomic(factory, name="bench.settle") as session:
                await settle_completed_order(session, order_id)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started, latencies


def _pgbench(harness: ServiceHarness, clients: int, seconds: int) -> float:
    binary = shutil.which("pgbench") or next(
        (str(p) for p in (Path("/usr/lib/postgresql").glob("*/bin/pgbench"))), None
    )
    if binary is None:
        import pgserver

        binary = str(Path(pgserver.__file__).parent / "pginstall" / "bin" / "pgbench")
    name = f"{harness.database_name}_pgbench"
    asyncio.run(harness.create_database(name))
    parts = urlsplit(harness.url_for(name).replace("postgresql+asyncpg://", "postgresql://"))
    env = dict(os.environ)
    env["PGHOST"] = parts.hostname or parse_qs(parts.query).get("host", [""])[0]
    if parts.port:
        env["PGPORT"] = str(parts.port)
    env["PGUSER"] = parts.username or "postgres"
    if parts.password:
        env["PGPASSWORD"] = parts.password
    try:
        subprocess.run([binary, "-i", "-q", "-s", "1", name], env=env, check=True, capture_output=True)
        result = subprocess.run(
            [binary, "-c", str(clients), "-j", "2", "-T", str(seconds), name],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        asyncio.run(harness.drop_database(name))
    match = re.search(r"tps = ([0-9.]+)", result.stdout)
    if match is None:
        raise RuntimeError(f"pgbench printed no tps:\n{result.stdout}")
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--pgbench-seconds", type=int, default=15)
    parser.add_argument("--processes", type=int, default=2, help="settling processes (clients are split)")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker_main(int(args.worker[0]), [int(x) for x in args.worker[1].split(",") if x])
        return

    harness = ServiceHarness()
    harness.start()
    try:
        use_harness(harness, DATABASE_POOL_SIZE=str(args.clients))
        from jivapay.adapters.db.migrations import upgrade_to_head
        from jivapay.logs import configure_logging

        configure_logging("WARNING", "console")
        upgrade_to_head(harness.database_url)

        async def prepare() -> list[int]:
            from jivapay.adapters.resources import close_resources

            ids = await _prepare(args.orders)
            await close_resources()
            return ids

        async def audit() -> bool:
            from jivapay.adapters.resources import close_resources, get_resources
            from jivapay.services.ledger.audit import audit_ledger

            async with get_resources().session_factory() as session, session.begin():
                sound = (await audit_ledger(session)).ok
            await close_resources()
            return sound

        ids = asyncio.run(prepare())
        elapsed, latencies, _ = run_in_processes(__file__, ids, args.clients, args.processes)
        sound = asyncio.run(audit())
        tps = _pgbench(harness, args.clients, args.pgbench_seconds)
    finally:
        harness.stop()

    rate = args.orders / elapsed
    print(
        f"{args.orders} settlements, {args.clients} concurrent clients in {args.processes} processes, "
        f"{os.cpu_count()} CPUs; ledger audit "
        f"{'passed' if sound else 'FAILED'}"
    )
    print(
        f"settlements: {rate:.1f}/s (p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms)"
    )
    print(f"pgbench tpcb-like, {args.clients} clients, same server: {tps:.1f} tps")
    print(
        json.dumps(
            {
                "metric": "ledger_settlements_per_second",
                "value": round(rate, 1),
                "unit": "settlements/s",
                "baseline": round(tps, 1),
                "ratio": round(rate / tps, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
