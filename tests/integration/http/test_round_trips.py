"""Round trips per request on the hot endpoints: what a request costs, counted instead of timed.

A request's price is mostly its trips to PostgreSQL and Redis. Each hot endpoint is called
twice (the first warms the per-process caches: the API key, the configuration) and the
second is counted: every statement, BEGIN and COMMIT sent to PostgreSQL and every packet of
commands sent to Redis (a pipeline or a script is one). The budgets are what the code does
today; one more trip fails the test, so a regression is seen here, not in production
(docs/performance.md, bench/gateway.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

from redis.asyncio.connection import AbstractConnection
from sqlalchemy import event
from sqlalchemy.engine import Engine

from jivapay.adapters.db import raw
from jivapay.domain.identity.roles import Role
from tests.factories import make_api_key, make_user, token_for
from tests.integration.conftest import World


@dataclasses.dataclass
class Trips:
    sql: list[str] = dataclasses.field(default_factory=list)
    redis: list[str] = dataclasses.field(default_factory=list)

    def __str__(self) -> str:
        return f"{len(self.sql)} SQL {self.sql}, {len(self.redis)} Redis {self.redis}"


@contextlib.contextmanager
def counted() -> Iterator[Trips]:
    """Every engine's statements and every Redis connection's sends while the block runs."""
    trips = Trips()

    def statement(conn: Any, cursor: Any, sql: str, *_: Any) -> None:
        trips.sql.append(" ".join(sql.split())[:60])

    def sent(conn: Any) -> bool:  # an autocommit connection sends no BEGIN, COMMIT or ROLLBACK
        return bool(conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT")

    def begin(conn: Any) -> None:
        if sent(conn):
            trips.sql.append("BEGIN")

    def commit(conn: Any) -> None:
        if sent(conn):
            trips.sql.append("COMMIT")

    def rollback(conn: Any) -> None:
        if sent(conn):
            trips.sql.append("ROLLBACK")

    send = AbstractConnection.send_packed_command

    async def send_counted(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        packets = command if isinstance(command, list) else [command]
        first = bytes(packets[0])[:40] if packets else b""
        trips.redis.append(first.split(b"\r\n")[2].decode() if first.count(b"\r\n") >= 2 else "?")
        await send(self, command, check_health)

    def counting(name: str, function: Any) -> Any:  # statements sent on the driver (adapters/db/raw.py)
        async def counted_call(session: Any, statement: Any, params: Any) -> Any:
            trips.sql.append("raw " + " ".join(statement.sql.split())[:56])
            return await function(session, statement, params)

        return counted_call

    originals = {name: getattr(raw, name) for name in ("fetch", "fetchrow", "execute")}
    for name, function in originals.items():
        setattr(raw, name, counting(name, function))
    AbstractConnection.send_packed_command = send_counted  # type: ignore[method-assign]
    listeners = (("before_cursor_execute", statement), ("begin", begin), ("commit", commit), ("rollback", rollback))
    for name, listener in listeners:
        event.listen(Engine, name, listener)
    try:
        yield trips
    finally:
        AbstractConnection.send_packed_command = send  # type: ignore[method-assign]
        for name, function in originals.items():
            setattr(raw, name, function)
        for name, listener in listeners:
            event.remove(Engine, name, listener)


async def _twice(client: Any, method: str, url: str, **kwargs: Any) -> Trips:
    first = await client.request(method, url, **kwargs)
    assert first.status_code < 300, first.text
    with counted() as trips:
        answer = await client.request(method, url, **kwargs)
    assert answer.status_code < 300, answer.text
    return trips


# the budgets: (SQL round trips, Redis round trips) of one warm request. Reads run without a
# transaction (no BEGIN/COMMIT); the rate limit, the IP block and, for an API key, the IP's
# bucket are one Lua script.
BUDGETS = {
    "GET /gateway/store": (1, 1),  # the store
    "GET /gateway/payin/status": (1, 1),  # the order, its assignment and requisite in one statement
    "GET /merchant/orders": (3, 1),  # the token's user and session, the page, the totals
    # one transaction: the key's reservation, the store, the order, its outbox row and audit entry, the answer
    "POST /gateway/payin/init": (8, 1),
}


async def test_hot_endpoints_stay_within_their_round_trips(world: World, client: Any) -> None:
    from jivapay.adapters.db.uow import atomic
    from jivapay.services.merchants.stores import get_store

    async with atomic(world.session_factory) as session:
        merchant_id = (await get_store(session, world.store_id)).merchant_id
    _, key = await make_api_key(world.session_factory, merchant_id, world.store_id)
    headers = {"X-API-Key": key}
    found: dict[str, Trips] = {}

    found["GET /gateway/store"] = await _twice(client, "GET", "/gateway/store", headers=headers)

    body = {"amount": "1500.00", "currency": "RUB", "payment_method": "card", "merchant_order_id": "rt-1"}
    await client.post("/gateway/payin/init", json={**body, "merchant_order_id": "rt-0"}, headers=headers)
    with counted() as trips:
        answer = await client.post("/gateway/payin/init", json=body, headers={**headers, "Idempotency-Key": "rt-1"})
    assert answer.status_code == 201, answer.text
    found["POST /gateway/payin/init"] = trips
    reference = answer.json()["id"]
    trader = await world.trader()
    await world.requisite(trader)
    assert (await world.process(reference)).status == "assigned"  # the status shows the requisite

    found["GET /gateway/payin/status"] = await _twice(
        client, "GET", f"/gateway/payin/status/{reference}", headers=headers
    )
    merchant = await make_user(world.session_factory, Role.MERCHANT)
    token = await token_for(client, Role.MERCHANT, merchant.login)
    found["GET /merchant/orders"] = await _twice(
        client, "GET", "/merchant/orders", headers={"Authorization": f"Bearer {token}"}
    )
    report = "\n".join(f"{name}: {trips}" for name, trips in found.items())
    print(report)
    for name, (sql, redis) in BUDGETS.items():
        assert len(found[name].sql) <= sql, report
        assert len(found[name].redis) <= redis, report
