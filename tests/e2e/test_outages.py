"""Outages are 503s: a real API process on PostgreSQL and Redis of this test's own, which it
crashes, holds in recovery and brings back. Every answer meanwhile is a 503 with the error
body (never a 500), and the same requests succeed once the server is back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.e2e.conftest import free_port, jivapay_env, run_jivapay, spawn_jivapay
from tests.fixtures.outages import PrivatePostgres, PrivateRedis

pytestmark = pytest.mark.slow
RECOVERY_SECONDS = 60

_ASSIGN = """
import asyncio, sys
from sqlalchemy import select
from jivapay.adapters.db.models import IncomingOrder
from jivapay.adapters.resources import close_resources, get_resources
from jivapay.services.orders.processing import process_incoming_order

async def main() -> None:
    try:
        factory = get_resources().session_factory
        async with factory() as session:
            incoming_id = await session.scalar(select(IncomingOrder.id).where(IncomingOrder.public_id == sys.argv[1]))
        outcome = await process_incoming_order(factory, incoming_id)
        print(outcome.status, outcome.reference)
    finally:
        await close_resources()

asyncio.run(main())
"""


@dataclass
class Platform:
    api: str
    pg: PrivatePostgres
    redis: PrivateRedis
    admin: dict[str, str]
    support: dict[str, str]
    order_id: str  # the order's public reference
    log: Path

    def ensure_up(self) -> None:
        """A failed test must not leave the next one without its servers."""
        if self.redis.process is None:
            self.redis.start()
        with contextlib.suppress(subprocess.CalledProcessError):  # already running
            self.pg.start()


def _token(api: str, role: str, user: dict[str, str]) -> dict[str, str]:
    if role == "support":
        response = httpx.post(f"{api}/support/auth/login", json=user, timeout=30)
    else:
        form = {"username": user["login"], "password": user["password"]}
        response = httpx.post(f"{api}/{role}/auth/token", data=form, timeout=30)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    tmp = tmp_path_factory.mktemp("outages")
    pg, redis = PrivatePostgres(), PrivateRedis()
    api_process = None
    try:
        pg.start()
        redis.start()
        port = free_port()
        env = jivapay_env(
            DATABASE_URL=pg.url,
            REDIS_URL=redis.url,
            BROKER_URL=None,
            JIVAPAY_DATA_DIR=str(tmp / "data"),
            LOG_LEVEL="INFO",  # the access log is checked for 500s
        )
        for step in (["migrate"], ["seed", "--demo-file", str(tmp / "demo.json")]):
            done = run_jivapay(step, env, tmp, timeout=180)
            assert done.returncode == 0, done.stdout + done.stderr
        demo = json.loads((tmp / "demo.json").read_text())
        log = tmp / "api.log"
        api_process = spawn_jivapay(["api", "--port", str(port)], env, tmp, log)
        api = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            assert api_process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)

        # a pay-in, assigned to the demo trader: something for support to move
        created = httpx.post(
            f"{api}/gateway/payin/init",
            headers={"X-API-Key": demo["store"]["api_key"]},
            json={"amount": "1500.00", "currency": "RUB", "payment_method": "card", "merchant_order_id": "outage-1"},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        assigned = subprocess.run(
            [sys.executable, "-c", _ASSIGN, str(created.json()["id"])],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        status, order_id = assigned.stdout.split()[-2:]
        assert status == "assigned", assigned.stdout + assigned.stderr
        users = demo["users"]
        yield Platform(
            api,
            pg,
            redis,
            _token(api, "admin", users["admin"]),
            _token(api, "support", users["support"]),
            order_id,
            log,
        )
    finally:
        if api_process is not None and api_process.poll() is None:
            os.killpg(api_process.pid, signal.SIGTERM)
            try:
                api_process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(api_process.pid, signal.SIGKILL)
        redis.cleanup()
        pg.cleanup()


def _assert_unavailable(response: httpx.Response, code: str) -> None:
    assert response.status_code == 503, f"{response.status_code}: {response.text}"
    body = response.json()
    assert set(body) == {"error", "request_id"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert isinstance(body["error"]["details"], dict)
    assert body["request_id"] == response.headers["x-request-id"]


def _assert_no_500(log: Path) -> None:
    """Not one 500 in the API's access log ("GET /admin/orders 503")."""
    served = re.findall(r"\b(?:GET|POST) (/\S+) (\d{3})\b", log.read_text(errors="replace"))
    assert served
    assert not [line for line in served if line[1] == "500"], served


def _until_served(request: Callable[[], httpx.Response], code: str) -> httpx.Response:
    """Ask again until it is served; every answer before that must be the 503 of an outage."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    while True:
        response = request()
        if response.status_code < 500:
            return response
        _assert_unavailable(response, code)
        assert time.monotonic() < deadline, "not served again after the outage"
        time.sleep(0.3)


def test_database_down_or_starting_is_a_503_then_served_again(platform: Platform) -> None:
    platform.ensure_up()
    api = platform.api

    def admin_list() -> httpx.Response:
        return httpx.get(f"{api}/admin/orders", headers=platform.admin, timeout=30)

    def support_move(status: str) -> Callable[[], httpx.Response]:
        return lambda: httpx.post(
            f"{api}/support/orders/{platform.order_id}/status",
            headers=platform.support,
            json={"status": status, "reason": "customer asked to cancel"},
            timeout=30,
        )

    assert admin_list().status_code == 200
    # bad input is still a 4xx, not an outage
    assert support_move("no-such-status")().status_code == 422

    platform.pg.stop("immediate")  # a crash: pooled connections die, new ones are refused
    for _ in range(3):
        _assert_unavailable(admin_list(), "database_unavailable")
        _assert_unavailable(support_move("canceled")(), "database_unavailable")

    platform.pg.start(recovering=True)  # up, but "not yet accepting connections" (57P03)
    with pytest.raises(asyncpg.CannotConnectNowError):
        asyncio.run(asyncpg.connect(platform.pg.url, timeout=10))
    for _ in range(3):
        _assert_unavailable(admin_list(), "database_unavailable")
        _assert_unavailable(support_move("canceled")(), "database_unavailable")

    platform.pg.stop("immediate")
    platform.pg.start()  # crash recovery, then serving
    assert _until_served(admin_list, "database_unavailable").status_code == 200
    moved = _until_served(support_move("canceled"), "database_unavailable")
    assert moved.status_code == 200, moved.text
    assert moved.json()["order"]["status"] == "canceled"
    _assert_no_500(platform.log)


def test_redis_down_is_a_503_where_redis_is_needed_and_served_elsewhere(platform: Platform) -> None:
    platform.ensure_up()
    api = platform.api

    def ip_blocks() -> httpx.Response:
        return httpx.get(f"{api}/admin/ip-blocks", headers=platform.admin, timeout=30)

    assert ip_blocks().status_code == 200
    platform.redis.kill()
    for _ in range(3):
        _assert_unavailable(ip_blocks(), "cache_unavailable")
        # what only needs the database goes on, unlimited (rate limits fail open)
        assert httpx.get(f"{api}/admin/orders", headers=platform.admin, timeout=30).status_code == 200
    platform.redis.start()
    assert _until_served(ip_blocks, "cache_unavailable").status_code == 200
    _assert_no_500(platform.log)
