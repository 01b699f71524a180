from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.chains.keys import generate_mnemonic
from tests.services import ServiceHarness

_services: ServiceHarness | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Start/choose the servers and point the settings at them before anything imports them."""
    global _services
    config.addinivalue_line("markers", "redis: exercises Redis commands; CI runs these on the embedded Redis 6.2 too")
    if hasattr(config, "workerinput"):  # pragma: no cover - xdist workers are not used
        return
    _services = ServiceHarness()
    _services.start()
    os.environ.update(
        {
            "JIVAPAY_ENV": "test",
            "DATABASE_URL": _services.database_url,
            "REDIS_URL": _services.redis_url,
            "BROKER_URL": _services.redis_url,
            "LOG_FORMAT": "console",
            "JIVAPAY_DATA_DIR": str(_services.tmp / "data"),  # local file store etc. stay out of the tree
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
            "SECRET_KEY": "test-secret-key-0123456789abcdef0123456789",
            "API_KEY_PEPPER": "test-api-key-pepper-0123456789abcdef012345",
            # OWASP's floor, the cheapest the settings allow: tests hash many passwords
            "ARGON2_MEMORY_KIB": "19456",
            "ARGON2_TIME_COST": "2",
            "ARGON2_PARALLELISM": "1",
            # spawned workers serve no metrics unless a test asks (one port for all would clash)
            "WORKER_METRICS_PORT": "0",
            # the tests' callback receivers listen on 127.0.0.1
            "CALLBACK_ALLOW_PRIVATE": "true",
            # a new HD seed for every run: no mnemonic is ever written in the repository
            "WALLET_MNEMONIC": generate_mnemonic(),
        }
    )
    for key in [k for k in os.environ if k.startswith("CHAIN_") or k == "WALLET_NETWORKS_FILE"]:
        os.environ.pop(key)  # no chain is configured unless a test configures one
    for key in ("SENTRY_DSN", "GEOIP_DB_PATH", "SMTP_HOST", "PROMETHEUS_MULTIPROC_DIR"):
        os.environ.pop(key, None)
    from jivapay.adapters.db.migrations import upgrade_to_head

    upgrade_to_head(_services.database_url)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _services is not None:
        _services.stop()


@pytest.fixture(scope="session")
def test_services() -> ServiceHarness:
    assert _services is not None
    return _services


@pytest.fixture(scope="session")
async def resources() -> AsyncIterator[Any]:
    from jivapay.adapters.resources import close_resources, get_resources

    yield get_resources()
    await close_resources()


@pytest.fixture
def session_factory(resources: Any) -> async_sessionmaker[AsyncSession]:
    return resources.session_factory  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
async def _clean_state(resources: Any) -> AsyncIterator[None]:
    """Every test starts with empty tables (migrations applied) and an empty Redis db."""
    yield
    from jivapay.adapters.db.models import Base
    from jivapay.adapters.memo import clear_all_caches

    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with resources.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await resources.redis.flushdb()
    clear_all_caches()  # every in-process cache (adapters/memo.py lists them)


@pytest.fixture
async def seeded(session_factory: async_sessionmaker[AsyncSession]) -> None:
    from jivapay.adapters.db.uow import atomic
    from jivapay.services.platform.seed import seed_all

    async with atomic(session_factory) as session:
        await seed_all(session)


GENEROUS_LIMITS = {
    "RATE_LIMIT_DEFAULT": "100000/minute",
    "RATE_LIMIT_LOGIN": "100000/minute",
    "IP_BLOCK_THRESHOLD": 1_000_000,
}


@pytest.fixture
async def client(resources: Any) -> AsyncIterator[Any]:
    """The API as uvicorn serves it; limits are lifted unless a test sets its own."""
    from litestar.testing import AsyncTestClient

    from jivapay.adapters.db.uow import atomic
    from jivapay.domain.platform.audit import Actor
    from jivapay.http.app import create_asgi_app
    from jivapay.services.platform.config import set_config

    async with atomic(resources.session_factory) as session:
        for key, value in GENEROUS_LIMITS.items():
            await set_config(session, key, value, actor=Actor.system("tests"))

    async with AsyncTestClient(app=create_asgi_app()) as test_client:  # type: ignore[arg-type]
        yield test_client


@pytest.fixture
def logged_in(client: Any, session_factory: async_sessionmaker[AsyncSession]) -> Any:
    """``await logged_in(Role.ADMIN, permissions={...})``: a new user of that role, signed in."""
    from tests.factories import sign_in

    async def make(role: Any, **user: Any) -> Any:
        return await sign_in(client, session_factory, role, **user)

    return make


def _signed_in_as(role: str) -> Any:
    async def signed_in(logged_in: Any) -> Any:
        from jivapay.domain.identity.roles import Role

        return await logged_in(Role(role))

    signed_in.__doc__ = f"A new {role}, signed in: the API client that sends their token."
    return pytest.fixture(name=f"{role}_api")(signed_in)


# one line per role: a signed-in user with the API client that sends their token
admin_api = _signed_in_as("admin")
merchant_api = _signed_in_as("merchant")
trader_api = _signed_in_as("trader")
teamlead_api = _signed_in_as("teamlead")
support_api = _signed_in_as("support")


@pytest.fixture
def worker() -> Iterator[Any]:
    """A real dramatiq worker on the test Redis, in this process."""
    import dramatiq

    from jivapay.worker import actors  # noqa: F401
    from jivapay.worker.broker import broker

    running = dramatiq.Worker(broker, worker_timeout=50, worker_threads=2)
    running.start()
    yield running
    # bounded: dramatiq's default waits up to 10 minutes for a stuck worker thread
    running.stop(timeout=15_000)
