"""Login throughput and p99 latency with the configured argon2id parameters.

Runs the real API in-process (ASGI) against PostgreSQL and Redis — the machine's when
JIVAPAY_TEST_DATABASE_URL / JIVAPAY_TEST_REDIS_URL are set, embedded ones otherwise — on a
fresh database. The baseline is the bare argon2id verification rate with the same
parameters and the same concurrency: the ceiling a login can reach on this machine.

    uv run python bench/login.py [--logins 200] [--concurrency 8]

The last line is one JSON object: metric, value, unit, baseline, ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.services import ServiceHarness


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * q), len(ordered) - 1)]


async def _run(logins: int, concurrency: int) -> dict[str, float]:
    from litestar.testing import AsyncTestClient

    from jivapay.adapters.db.uow import atomic
    from jivapay.adapters.resources import close_resources, get_resources
    from jivapay.domain.identity.roles import Role
    from jivapay.domain.platform.audit import Actor
    from jivapay.http.app import create_asgi_app
    from jivapay.services.identity.users import create_user
    from jivapay.services.platform.config import set_config
    from jivapay.services.platform.seed import seed_all
    from jivapay.settings import get_settings

    settings = get_settings()
    resources = get_resources()
    async with atomic(resources.session_factory) as session:
        await seed_all(session)
        for key, value in (
            ("RATE_LIMIT_LOGIN", "1000000/minute"),
            ("RATE_LIMIT_DEFAULT", "1000000/minute"),
            ("IP_BLOCK_THRESHOLD", 10_000_000),
        ):
            await set_config(session, key, value, actor=Actor.system("bench"))
        await create_user(
            session,
            settings,
            Actor.system("bench"),
            login="bench-merchant",
            password="bench-password-1",
            role=Role.MERCHANT,
        )

    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(logins):
        queue.put_nowait(n)

    async with AsyncTestClient(app=create_asgi_app()) as client:
        # one warm-up login (connection pools, caches)
        await client.post("/merchant/auth/token", data={"username": "bench-merchant", "password": "bench-password-1"})

        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                started = time.perf_counter()
                response = await client.post(
                    "/merchant/auth/token", data={"username": "bench-merchant", "password": "bench-password-1"}
                )
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"login failed: {response.status_code} {response.text}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    await close_resources()
    return {"throughput": logins / elapsed, "p50": statistics.median(latencies), "p99": _percentile(latencies, 0.99)}


def _baseline(seconds: float, concurrency: int) -> float:
    from jivapay.adapters.security import hash_password, verify_password
    from jivapay.settings import get_settings

    settings = get_settings()
    stored = hash_password(settings, "bench-password-1")
    deadline = time.perf_counter() + seconds

    def spin() -> int:
        count = 0
        while time.perf_counter() < deadline:
            verify_password(settings, stored, "bench-password-1")
            count += 1
        return count

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        total = sum(pool.map(lambda _: spin(), range(concurrency)))
    return total / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    harness = ServiceHarness()
    harness.start()
    try:
        os.environ.update(
            {
                "JIVAPAY_ENV": "test",
                "DATABASE_URL": harness.database_url,
                "REDIS_URL": harness.redis_url,
                "LOG_LEVEL": "WARNING",
                "LOG_FORMAT": "console",
            }
        )
        from jivapay.adapters.db.migrations import upgrade_to_head
        from jivapay.logs import configure_logging
        from jivapay.settings import get_settings

        configure_logging("WARNING", "console")
        upgrade_to_head(harness.database_url)
        settings = get_settings()
        result = asyncio.run(_run(args.logins, args.concurrency))
        baseline = _baseline(5.0, args.concurrency)
    finally:
        harness.stop()

    params = f"argon2id t={settings.argon2_time_cost} m={settings.argon2_memory_kib}KiB p={settings.argon2_parallelism}"
    print(f"{params}, {os.cpu_count()} CPUs, {args.logins} logins, concurrency {args.concurrency}")
    print(
        f"login throughput: {result['throughput']:.1f} logins/s "
        f"(p50 {result['p50'] * 1000:.1f} ms, p99 {result['p99'] * 1000:.1f} ms)"
    )
    print(f"baseline (bare argon2id verify, same threads): {baseline:.1f} verifications/s")
    print(
        json.dumps(
            {
                "metric": "login_throughput",
                "value": round(result["throughput"], 2),
                "unit": "logins/s",
                "baseline": round(baseline, 2),
                "ratio": round(result["throughput"] / baseline, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
