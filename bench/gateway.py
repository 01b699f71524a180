"""Pay-in init throughput and p99 against `jivapay api`, next to a trivial endpoint of the same app.

Starts `jivapay api` (uvicorn, one process) on a fresh database, then drives it with 32
concurrent HTTP clients: first `GET /health` (the baseline: what the app serves when a
request does nothing), then `POST /gateway/payin/init` with a new merchant_order_id and an
Idempotency-Key each time. Both phases run for the same number of seconds in this run.

    uv run python bench/gateway.py [--clients 32] [--seconds 10]

Uses JIVAPAY_TEST_DATABASE_URL / JIVAPAY_TEST_REDIS_URL when set, embedded servers otherwise.
The last line is one JSON object: metric, value, unit, baseline, ratio (target ≥ 0.25).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.services import ServiceHarness

from bench.common import percentile, use_harness


async def _prepare() -> str:
    """Seed, lift the rate limits, and make a merchant with a store and an API key."""
    from decimal import Decimal

    from jivapay.adapters.db.uow import atomic
    from jivapay.adapters.resources import close_resources, get_resources
    from jivapay.domain.identity.roles import Role
    from jivapay.domain.platform.audit import Actor
    from jivapay.services.identity.users import create_user
    from jivapay.services.merchants import stores
    from jivapay.services.platform.config import set_config
    from jivapay.services.platform.reference_data import set_exchange_rate
    from jivapay.services.platform.seed import seed_all
    from jivapay.settings import get_settings

    settings = get_settings()
    system = Actor.system("bench")
    async with atomic(get_resources().session_factory) as session:
        await seed_all(session)
        await set_exchange_rate(session, "RUB", Decimal("92.5"), actor=system)
        for key, value in (("RATE_LIMIT_DEFAULT", "100000000/minute"), ("IP_BLOCK_THRESHOLD", 10**9)):
            await set_config(session, key, value, actor=system)
        merchant = await create_user(
            session, settings, system, login="bench-merchant", password="bench-password-1", role=Role.MERCHANT
        )
        store, _ = await stores.create_store(session, settings, system, merchant_id=merchant.user.id, name="bench")
        issued = await stores.issue_api_key(session, settings, system, merchant_id=merchant.user.id, store_id=store.id)
    await close_resources()
    return issued.plaintext


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _drive(base: str, clients: int, seconds: float, request: Any) -> tuple[float, list[float], int]:
    import httpx

    latencies: list[float] = []
    errors = 0
    counter = itertools.count()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
        deadline = time.perf_counter() + seconds

        async def one_client() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                ok = await request(http, next(counter))
                latencies.append(time.perf_counter() - started)
                errors += 0 if ok else 1

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return elapsed, latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()

    harness = ServiceHarness()
    harness.start()
    api = None
    try:
        use_harness(harness, SECRET_KEY="bench-secret-key-0123456789abcdef0123", WORKER_METRICS_PORT="0")
        from jivapay.adapters.db.migrations import upgrade_to_head
        from jivapay.logs import configure_logging

        configure_logging("WARNING", "console")
        upgrade_to_head(harness.database_url)
        api_key = asyncio.run(_prepare())
        port = _free_port()
        api = subprocess.Popen(
            [sys.executable, "-m", "jivapay", "api", "--port", str(port)],
            env={**os.environ, "LOG_LEVEL": "WARNING"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        import httpx

        for _ in range(300):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        headers = {"X-API-Key": api_key}

        async def health(http: Any, _: int) -> bool:
            return bool((await http.get("/health")).status_code == 200)

        async def payin(http: Any, n: int) -> bool:
            body = {"amount": "1500.00", "currency": "RUB", "payment_method": "card", "merchant_order_id": f"b-{n}"}
            response = await http.post(
                "/gateway/payin/init", json=body, headers={**headers, "Idempotency-Key": f"bench-{n}"}
            )
            return bool(response.status_code == 201)

        asyncio.run(_drive(base, args.clients, 1, health))  # warm-up
        base_elapsed, base_latencies, base_errors = asyncio.run(_drive(base, args.clients, args.seconds, health))
        elapsed, latencies, errors = asyncio.run(_drive(base, args.clients, args.seconds, payin))
    finally:
        if api is not None:
            api.terminate()
            api.wait(timeout=20)
        harness.stop()

    baseline = len(base_latencies) / base_elapsed
    rate = len(latencies) / elapsed
    print(
        f"GET /health: {baseline:.0f} req/s (p99 {percentile(base_latencies, 0.99) * 1000:.1f} ms, "
        f"{base_errors} errors), {args.clients} clients, {args.seconds:.0f} s"
    )
    print(
        f"POST /gateway/payin/init: {rate:.0f} req/s (p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, {errors} errors)"
    )
    print(
        json.dumps(
            {
                "metric": "payin_init_requests_per_second",
                "value": round(rate, 1),
                "unit": "requests/s",
                "baseline": round(baseline, 1),
                "ratio": round(rate / baseline, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
