"""Soak: the whole platform as processes (api + worker + scheduler) under mixed HTTP load for minutes.

Starts ``jivapay api``, ``jivapay worker`` and ``jivapay scheduler`` on a fresh database, then
``--clients`` merchants run order lifecycles back to back through the gateway: a pay-in (the
customer confirms, the trader completes) or a pay-out (the trader uploads a receipt and says
paid; the scheduler completes it), each with a callback URL. Traders work through the trader
API. After the window the platform drains (bounded) and the script reads from the database:

- lifecycles/s: orders created in the window that were completed, settled and whose
  ``*.completed`` callback reached the merchant, per second of window;
- p50/p99 of init → assigned and completed → settled; the outbox lag (commit → relayed);
- each process's RSS (its whole tree) at the start and at the end;
- the chaos checks' invariants (tests/chaos/checks.py) on the result.

In the same run, pgbench (TPC-B-like, 8 clients, same server) is the baseline.

    uv run python bench/soak.py [--minutes 5 | --seconds 60] [--clients 16] [--pgbench-seconds 15]

Uses JIVAPAY_TEST_DATABASE_URL / JIVAPAY_TEST_REDIS_URL when set (the Redis db is flushed
first), embedded servers otherwise. The last line is one JSON object: metric, value, unit,
baseline, ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.chaos.checks import Snapshot, check_all, drain, reference
from tests.chaos.load import Api, LoadStats, Merchants, Profile, TraderBot
from tests.chaos.platform import Platform, platform_env
from tests.chaos.world import World, WorldSpec, create_world
from tests.e2e.conftest import REPO, run_jivapay
from tests.fixtures.receiver import Receiver
from tests.services import ServiceHarness

from bench.common import percentile
from bench.ledger import _pgbench

CONFIG: dict[str, Any] = {
    "RATE_LIMIT_DEFAULT": "100000000/minute",
    "RATE_LIMIT_LOGIN": "100000000/minute",
    "IP_BLOCK_THRESHOLD": 1_000_000_000,
    "PAYOUT_CONFIRMATION_TIMEOUT_MINUTES": 0,  # the merchant never disputes: the scheduler completes
    "FRAUD_VELOCITY_MAX_PER_IP": 1_000_000,
}
PROFILE = Profile(think_seconds=(0.0, 0.0), trader_tick_seconds=0.5, status_poll_seconds=0.25)
MERCHANT_DONE = {
    "payin": {"completed", "canceled", "expired", "disputed", "failed", "rejected"},
    "payout": {"trader_paid", "completed", "declined", "expired", "canceled", "failed", "rejected"},
}


async def _load(platform: Platform, world: World, receiver_url: str, clients: int, seconds: float) -> LoadStats:
    api = Api(platform.base_url, LoadStats(), connections=clients * 2 + 16)
    merchants = Merchants(api, world, seed=0, profile=PROFILE, callback_url=receiver_url)
    end = time.monotonic() + seconds
    deadline = end + 60  # a lifecycle started just before the end may finish
    stop = asyncio.Event()
    bots = [TraderBot(api, trader, 0, PROFILE, everything=True) for trader in world.traders]
    bot_tasks = [asyncio.create_task(bot.run(stop, lambda: deadline)) for bot in bots]
    numbers = itertools.count()

    async def merchant() -> None:
        while time.monotonic() < end:
            lifecycle = await merchants.init(next(numbers), deadline)
            if lifecycle is None:
                continue
            if lifecycle.direction == "payin":
                await merchants.customer(lifecycle, deadline, always=True)
            await merchants.wait_for(lifecycle, MERCHANT_DONE[lifecycle.direction].__contains__, deadline, wait=10)

    try:
        await asyncio.wait_for(asyncio.gather(*(merchant() for _ in range(clients))), seconds + 90)
    finally:
        stop.set()
        await asyncio.gather(*bot_tasks, return_exceptions=True)
        await api.close()
    return api.stats


def _seconds(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"p50 {percentile(values, 0.5) * 1000:.0f} ms, p99 {percentile(values, 0.99) * 1000:.0f} ms"


def _measure(snapshot: Snapshot, received: list[dict[str, Any]], window: tuple[Any, Any]) -> dict[str, Any]:
    """Lifecycles finished end to end, and the latencies of their steps, from the database."""
    delivered: set[tuple[str, str]] = set()  # (the order's id in the API, event type)
    for request in received:
        try:
            payload = json.loads(request["body"])
            delivered.add((str(payload["order"]["id"]), str(payload["type"])))
        except (ValueError, KeyError, TypeError):
            continue
    first_order: dict[int, Any] = {}
    for order in snapshot.orders.values():
        first_order.setdefault(order["incoming_order_id"], order)
    started, ended = window
    in_window = [i for i in snapshot.incoming.values() if started <= i["created_at"] <= ended]
    finished = 0
    assigned_after: list[float] = []
    for incoming in in_window:
        order = first_order.get(incoming["id"])
        if order is None:
            continue
        assigned_after.append((order["created_at"] - incoming["created_at"]).total_seconds())
        current = snapshot.orders.get(incoming["order_id"]) if incoming["order_id"] else None
        if (
            current is not None
            and current["status"] == "completed"
            and current["id"] in snapshot.settlements
            and (reference(incoming), f"{incoming['direction']}.completed") in delivered
        ):
            finished += 1
    settled_after = [
        (snapshot.settlements[o]["created_at"] - snapshot.orders[o]["completed_at"]).total_seconds()
        for o in snapshot.settlements
        if snapshot.orders[o]["completed_at"] is not None
    ]
    outbox_lag = [(r["sent_at"] - r["created_at"]).total_seconds() for r in snapshot.outbox if r["sent_at"]]
    return {
        "orders": len(in_window),
        "finished": finished,
        "init_to_assigned": assigned_after,
        "completed_to_settled": settled_after,
        "outbox_lag": outbox_lag,
    }


async def _soak(args: argparse.Namespace, harness: ServiceHarness, workdir: Path) -> dict[str, Any]:
    import redis

    redis.Redis.from_url(harness.redis_url).flushdb()
    env = platform_env(harness.database_url, harness.redis_url, workdir / "data", LOG_LEVEL="WARNING")
    done = run_jivapay(["migrate"], env, REPO, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(done.stdout + done.stderr)
    world = create_world(
        WorldSpec(traders=args.traders, trader_collateral_usdt=10**6, store_float_usdt=10**6, config=CONFIG), env
    )
    platform = Platform(env, workdir / "logs", workers=1, worker_processes=args.worker_processes, worker_threads=4)
    with Receiver() as receiver:
        try:
            platform.start()
            await platform.wait_ready()
            platform.supervise()
            await asyncio.sleep(2)  # the workers finish booting
            rss_start = platform.rss()
            window_start = (await Snapshot.read(harness.database_url)).now
            stats = await _load(platform, world, receiver.url, args.clients, args.seconds)
            window_end = (await Snapshot.read(harness.database_url)).now
            await _settle_down(harness.database_url)
            rss_end = platform.rss()
            await platform.stop()
            snapshot = await Snapshot.read(harness.database_url)
            received = list(receiver.requests)
        finally:
            platform.stop_now()
    findings, _ = check_all(snapshot, world, stats, received)
    return {
        "measured": _measure(snapshot, received, (window_start, window_end)),
        "rss": (rss_start, rss_end),
        "findings": findings,
        "stats": stats,
    }


async def _settle_down(url: str) -> None:
    """Up to 90 s for what the last lifecycles set off: settlements, callbacks, and the pay-outs
    the scheduler's sweep completes (every order past its deadline is waited for)."""
    await drain(url, 90, deadline_slack=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--minutes", type=float, default=5)
    length.add_argument("--seconds", type=float)
    parser.add_argument("--clients", type=int, default=16, help="merchants running lifecycles back to back")
    parser.add_argument("--traders", type=int, default=4)
    parser.add_argument("--worker-processes", type=int, default=2)
    parser.add_argument("--pgbench-seconds", type=int, default=15)
    args = parser.parse_args()
    args.seconds = args.seconds or args.minutes * 60

    harness = ServiceHarness()
    harness.start()
    try:
        with tempfile.TemporaryDirectory(prefix="jivapay-soak-") as folder:
            result = asyncio.run(_soak(args, harness, Path(folder)))
        tps = _pgbench(harness, 8, args.pgbench_seconds)
    finally:
        harness.stop()

    measured, findings = result["measured"], result["findings"]
    rate = measured["finished"] / args.seconds
    print(
        f"{args.seconds:.0f} s of load, {args.clients} merchants, {args.traders} traders, "
        f"{args.worker_processes} worker processes, {os.cpu_count()} CPUs"
    )
    print(
        f"lifecycles (init → completed → settled → callback delivered): {measured['finished']} of "
        f"{measured['orders']} orders created, {rate:.2f}/s"
    )
    print(f"init → assigned: {_seconds(measured['init_to_assigned'])}")
    print(f"completed → settled: {_seconds(measured['completed_to_settled'])}")
    lag = measured["outbox_lag"]
    print(f"outbox lag (commit → relayed): {_seconds(lag)}, max {max(lag, default=0) * 1000:.0f} ms")
    rss_start, rss_end = result["rss"]
    for name in rss_start:
        print(f"RSS {name}: {rss_start[name] / 2**20:.0f} MiB at start, {rss_end[name] / 2**20:.0f} MiB at end")
    problems = {check: len(messages) for check, messages in findings.violations.items() if messages}
    print(f"invariants (tests/chaos/checks.py): {'all hold' if findings.ok else problems}")
    for check, messages in findings.violations.items():
        for message in messages[:3]:
            print(f"  {check}: {message}")
    print(f"pgbench tpcb-like, 8 clients, same server: {tps:.1f} tps")
    print(
        json.dumps(
            {
                "metric": "order_lifecycles_per_second",
                "value": round(rate, 2),
                "unit": "lifecycles/s",
                "baseline": round(tps, 1),
                "ratio": round(rate / tps, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
