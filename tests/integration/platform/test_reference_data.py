from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.uow import atomic
from jivapay.adapters.rates import HttpJsonRateSource, RateSourceError
from jivapay.domain.errors import NotFound, ValidationFailed
from jivapay.domain.identity.roles import AdminPermission, Role
from jivapay.domain.platform.audit import Actor
from jivapay.services.platform import reference_data
from jivapay.services.platform.reference_data import get_bank, get_exchange_rate, refresh_rates, set_exchange_rate
from tests.factories import bearer, make_user, token_for

ADMIN = Actor.user(1)


async def _set(session_factory: async_sessionmaker[AsyncSession], currency: str, rate: str) -> None:
    async with atomic(session_factory) as session:
        await set_exchange_rate(session, currency, Decimal(rate), actor=ADMIN)


async def test_rates_are_cached_and_invalidated_after_commit(
    seeded: None, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await _set(session_factory, "RUB", "92.5")
    assert await get_exchange_rate("RUB") == Decimal("92.5")
    async with atomic(session_factory) as session:  # behind the cache's back
        await session.execute(text("UPDATE exchange_rates SET rate = 1 WHERE currency = 'RUB'"))
    assert await get_exchange_rate("rub") == Decimal("92.5")  # served from Redis
    with pytest.raises(RuntimeError):
        async with atomic(session_factory) as session:
            await set_exchange_rate(session, "RUB", Decimal("95"), actor=ADMIN)
            raise RuntimeError
    assert await get_exchange_rate("RUB") == Decimal("92.5")  # a rollback does not invalidate
    await _set(session_factory, "RUB", "93.25")
    assert await get_exchange_rate("RUB") == Decimal("93.25")


async def test_missing_and_bad_rates(seeded: None, session_factory: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(NotFound):
        await get_exchange_rate("KZT")
    for currency, rate in (("RUB", "0"), ("RUB", "-1"), ("RUB", "1.123456789"), ("XXX", "10")):
        with pytest.raises(ValidationFailed):
            await _set(session_factory, currency, rate)
    with pytest.raises(NotFound):
        await get_exchange_rate("RUB")


async def test_redis_outage_falls_back_to_the_database(
    seeded: None, session_factory: async_sessionmaker[AsyncSession], resources: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redis.asyncio import Redis

    await _set(session_factory, "RUB", "90")
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    monkeypatch.setattr(resources, "redis", dead)
    try:
        assert await get_exchange_rate("RUB") == Decimal("90")
        assert (await get_bank(1)).code == "sber"
    finally:
        await dead.aclose()


async def test_banks_and_methods_are_cached(seeded: None) -> None:
    bank = await get_bank(1)
    assert (bank.code, bank.currency) == ("sber", "RUB")
    assert (await get_bank(1)) == bank
    assert (await reference_data.get_payment_method(2)).code == "sbp"
    with pytest.raises(NotFound):
        await get_bank(9999)


class _Source:
    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, str]] = {}


@pytest.fixture
def rate_server() -> Iterator[tuple[str, _Source]]:
    source = _Source()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            currency = self.path.rsplit("/", 1)[-1]
            status, body = source.answers.get(currency, (404, "{}"))
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/rates/{{currency}}", source
    server.shutdown()


async def test_http_rate_source(rate_server: tuple[str, _Source]) -> None:
    url, source = rate_server
    source.answers = {
        "RUB": (200, '{"rate": 92.123456789012345}'),
        "KZT": (200, json.dumps({"data": {"rate": "470.5"}})),
        "UZS": (200, "not json"),
        "USD": (500, "{}"),
        "EUR": (200, '{"other": 1}'),
        "AZN": (200, '{"rate": -1}'),
    }
    assert await HttpJsonRateSource(url).fetch("RUB") == Decimal("92.123456789012345")  # exact, no float
    assert await HttpJsonRateSource(url, "data.rate").fetch("KZT") == Decimal("470.5")
    for currency in ("UZS", "USD", "EUR", "AZN"):
        with pytest.raises(RateSourceError):
            await HttpJsonRateSource(url).fetch(currency)


async def test_refresh_accepts_small_moves_refuses_jumps(
    seeded: None, session_factory: async_sessionmaker[AsyncSession], rate_server: tuple[str, _Source]
) -> None:
    url, source = rate_server
    await _set(session_factory, "RUB", "90")
    await _set(session_factory, "KZT", "470")
    await _set(session_factory, "USD", "1")
    source.answers = {"RUB": (200, '{"rate": "91"}'), "KZT": (200, '{"rate": "900"}'), "USD": (500, "{}")}
    outcome = await refresh_rates(HttpJsonRateSource(url))
    assert outcome["RUB"].startswith("updated")
    assert outcome["KZT"].startswith("refused")
    assert outcome["USD"].startswith("failed")
    assert await get_exchange_rate("RUB") == Decimal("91")
    assert await get_exchange_rate("KZT") == Decimal("470")


async def test_refresh_refuses_a_rate_with_more_places_than_the_column_keeps(
    seeded: None, session_factory: async_sessionmaker[AsyncSession], rate_server: tuple[str, _Source]
) -> None:
    url, source = rate_server
    await _set(session_factory, "RUB", "90")
    await _set(session_factory, "KZT", "470")
    source.answers = {"RUB": (200, '{"rate": 90.123456789}'), "KZT": (200, '{"rate": "471.12345678"}')}
    outcome = await refresh_rates(HttpJsonRateSource(url))
    assert outcome["RUB"] == "failed: rate has more than 8 decimal places"  # never rounded to 90.12345679
    assert outcome["KZT"].startswith("updated")  # one bad currency does not stop the others
    assert await get_exchange_rate("RUB") == Decimal("90")
    assert await get_exchange_rate("KZT") == Decimal("471.12345678")


async def test_admin_rate_endpoints(
    seeded: None, client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    admin = await make_user(session_factory, Role.ADMIN)
    headers = bearer(await token_for(client, Role.ADMIN, admin.login))
    made = await client.put("/admin/rates/rub", headers=headers, json={"rate": "92.50"})
    assert made.status_code == 200, made.text
    assert made.json()["rate"] == "92.50000000"
    assert [r["currency"] for r in (await client.get("/admin/rates", headers=headers)).json()] == ["RUB"]
    for bad in ({"rate": 92.5}, {"rate": "abc"}, {"rate": "0"}, {}):
        assert (await client.put("/admin/rates/RUB", headers=headers, json=bad)).status_code == 422, bad
    assert (await client.put("/admin/rates/XXX", headers=headers, json={"rate": "1"})).status_code == 422
    limited = await make_user(session_factory, Role.ADMIN, permissions={AdminPermission.MANAGE_USERS})
    limited_headers = bearer(await token_for(client, Role.ADMIN, limited.login))
    assert (await client.get("/admin/rates", headers=limited_headers)).status_code == 403
