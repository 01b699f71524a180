"""Which failures are outages (503 database_unavailable / cache_unavailable) and which stay bugs.

The exceptions are the drivers' own, raised for real where possible (a refused connection)."""

from __future__ import annotations

import asyncpg
import pytest
import redis.asyncio as aioredis
from redis import exceptions as redis_errors
from sqlalchemy import exc as sa_exc

from jivapay.adapters.cache import cache_outage
from jivapay.adapters.db.errors import database_outage
from jivapay.domain.errors import CacheError, DatabaseError
from tests.fixtures.outages import free_port


def _wrapped(orig: Exception, *, invalidated: bool = False) -> sa_exc.DBAPIError:
    return sa_exc.DBAPIError("SELECT 1", {}, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.exceptions.CrashShutdownError("terminating connection because of crash of another server process"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.InterfaceError("connection is closed"),
        _wrapped(asyncpg.CannotConnectNowError("the database system is starting up")),
        _wrapped(Exception("connection reset"), invalidated=True),
        sa_exc.OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly")),
        sa_exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_database_outages(exc: Exception) -> None:
    assert isinstance(database_outage(exc), DatabaseError)
    assert cache_outage(exc) is None


async def test_a_refused_connection_raised_by_the_driver_is_a_database_outage() -> None:
    with pytest.raises(ConnectionRefusedError) as refused:
        await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", timeout=5)
    outage = database_outage(refused.value)
    assert isinstance(outage, DatabaseError)
    assert outage.status_code == 503
    assert outage.code == "database_unavailable"


def test_other_errors_stay_bugs() -> None:
    with pytest.raises(FileNotFoundError) as not_the_database:
        open("/nonexistent/jivapay")  # noqa: SIM115
    assert database_outage(not_the_database.value) is None
    assert database_outage(sa_exc.ProgrammingError("SELEC 1", {}, Exception("syntax error"))) is None
    assert database_outage(_wrapped(asyncpg.UndefinedColumnError("column x does not exist"))) is None
    assert database_outage(RuntimeError("a bug")) is None
    assert cache_outage(redis_errors.ResponseError("WRONGTYPE Operation against a key")) is None


async def test_redis_unreachable_is_a_cache_outage() -> None:
    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=2)
    try:
        with pytest.raises(redis_errors.ConnectionError) as refused:
            await client.ping()
    finally:
        await client.aclose()
    outage = cache_outage(refused.value)
    assert isinstance(outage, CacheError)
    assert (outage.status_code, outage.code) == (503, "cache_unavailable")
    assert isinstance(cache_outage(redis_errors.TimeoutError("Timeout reading from socket")), CacheError)
    assert isinstance(cache_outage(redis_errors.BusyLoadingError("Redis is loading the dataset")), CacheError)
