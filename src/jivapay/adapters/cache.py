"""Redis clients (cache, counters, pub/sub) built from REDIS_URL."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis import exceptions as redis_errors

from jivapay.domain.errors import CacheError
from jivapay.settings import Settings


def create_redis(settings: Settings) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        settings.require_redis_url(),
        decode_responses=True,
        socket_timeout=5,
        socket_connect_timeout=5,
        health_check_interval=30,
    )


def cache_outage(exc: BaseException) -> CacheError | None:
    """``exc`` as a CacheError when Redis cannot serve (unreachable, connection lost, timed out,
    loading, a read-only replica); None for anything else."""
    if isinstance(exc, CacheError):
        return exc
    if isinstance(exc, redis_errors.ConnectionError | redis_errors.TimeoutError | redis_errors.ReadOnlyError):
        return CacheError(reason=type(exc).__name__)
    return None
